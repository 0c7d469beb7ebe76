package agentxml

import (
	"errors"
	"net/http"

	"provisio/core"
)

// clientLog stores a phone's diagnostic log (#14): <Id> is the device Id,
// <Log> the text. It is authorised like a security-string download, by
// the device Id and, over the mutual-TLS listener, the device
// certificate; the user's profile must have client logging on. Every
// refusal gets the same FAIL whatever the reason (unknown device, logging
// off), counted in memory by the service; nothing is written for it.
func (s *Server) clientLog(r *http.Request, req *request) reply {
	_, err := s.svc.UploadClientLog(core.SourceIP(r.RemoteAddr), req.ID, clientCertSerial(r), req.Log)
	switch core.ErrorCode(err) {
	case "":
		return passReply
	case core.CodeInvalid:
		if errors.Is(err, core.ErrClientLogRefused) {
			s.lims.refused.charge(r.RemoteAddr)
		}
		return reply{errCode: errGeneral, message: core.ErrorMessage(err)}
	}
	return s.failure("clientlog", err)
}
