package webclient

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"provisio/core"
)

// logRequest is the body of "Send diagnostic log": the device Id and the
// app's own log, never a PIN, code or string (app.js keeps it).
type logRequest struct {
	ID  string `json:"id"`
	Log string `json:"log"`
}

// maxLogBody bounds the request: the log's text is at most
// core.MaxClientLogUpload bytes, and JSON escaping may double it.
const maxLogBody = 2*core.MaxClientLogUpload + 1<<10

// clientLog stores the diagnostic log a person sent from the app's Help
// section (#14) through core.Service.UploadClientLog, which accepts it
// only from the user's current device with client logging on in their
// profile, and refuses every other case with one sentence, counted in
// memory. Unlike status, it never answers "replaced": a refused upload
// says nothing about the device.
func (h *Handler) clientLog(w http.ResponseWriter, r *http.Request) {
	ip := sourceIP(r)
	if !h.limits.allow(addrKey("log", ip), logsPerAddress, logWindow) {
		h.svc.Refuse(ip, "diagnostic log uploads over the rate limit")
		writeJSON(w, http.StatusTooManyRequests, apiReply{State: "refused", Message: "Too many logs sent from here; wait a few minutes and try again."})
		return
	}
	var req logRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLogBody)).Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiReply{State: "refused", Message: "The log is too large to send."})
			return
		}
		writeJSON(w, http.StatusBadRequest, apiReply{State: "refused", Message: "The request could not be read."})
		return
	}
	_, err := h.svc.UploadClientLog(ip, strings.TrimSpace(req.ID), "", req.Log)
	switch core.ErrorCode(err) {
	case "":
		writeJSON(w, http.StatusOK, apiReply{State: "ok"})
	case core.CodeInvalid:
		writeJSON(w, http.StatusOK, apiReply{State: "refused", Message: core.ErrorMessage(err)})
	default:
		h.svc.RequestFailed("Web client diagnostic log upload", err)
		writeJSON(w, http.StatusInternalServerError, apiReply{State: "refused", Message: "The server could not store the log; try again later."})
	}
}
