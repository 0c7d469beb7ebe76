package agentxml

import (
	"strings"

	"provisio/core"
)

// OATH actions (issue #11, docs/api.md "oathsync"). Login with an OATH
// code needs nothing here: core.Service.Login knows the user's token.

// oathSync resynchronises a user's OATH token with two consecutive codes:
// <OTC> and <NextOTC>, or both in <OTC> separated by a comma or space for
// agents that can fill only one field. Like login, a wrong pair is a bare
// FAIL whatever the reason.
func (s *Server) oathSync(agent core.Agent, req *request) reply {
	first, next := req.OTC, req.NextOTC
	if next == "" {
		if f := strings.FieldsFunc(first, func(r rune) bool { return r == ',' || r == ' ' }); len(f) == 2 {
			first, next = f[0], f[1]
		}
	}
	if err := s.svc.OATHSync(agent, req.Username, first, next); err != nil {
		return s.failure("oathsync", err)
	}
	return passReply
}

// yesNo is the YES/NO of getServerDetails.
func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}
