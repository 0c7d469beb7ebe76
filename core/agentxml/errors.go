package agentxml

import "provisio/core"

// Protocol error values sent in <Error>. They are the AgentXML names from
// protocol.md §2; the Go error text never reaches the wire.
const (
	errAgentAccess    = "AGENT_ERROR_AGENT_ACCESS"
	errNoUser         = "AGENT_ERROR_NO_USER_FOUND"
	errLocked         = "AGENT_ERROR_USER_LOCKED"
	errDisabled       = "AGENT_ERROR_USER_DISABLED"
	errNoPIN          = "AGENT_ERROR_NO_PIN"
	errNoOTC          = "AGENT_ERROR_NO_OTC"
	errBadOTC         = "AGENT_ERROR_BAD_OTC"
	errNoStrings      = "AGENT_ERROR_NO_SECURITY_STRINGS"
	errNotInGroup     = "AGENT_ERROR_USER_NOT_IN_GROUP"
	errSession        = "AGENT_ERROR_SESSION"
	errTriesExceeded  = "AGENT_ERROR_USER_LOGIN_TRIES_EXCEEDED"
	errGeneral        = "AGENT_ERROR_GENERAL"
	errProvision      = "PROVISION_FAILURE"
	errMalformed      = "AGENT_ERROR_MALFORMED"
	errUnknownAction  = "AGENT_ERROR_UNKNOWN_ACTION"
	errAdminNotOffers = "ADMIN_ERROR_NOT_OFFERED"
)

// protocolErrors is the one place where core error codes become AgentXML
// errors. An empty value means a bare FAIL: a wrong OTC must not tell an
// attacker anything beyond "no". Codes missing from the table (internal,
// invalid, conflict, ...) become AGENT_ERROR_GENERAL.
var protocolErrors = map[core.Code]string{
	core.CodeNotFound:      errNoUser,
	core.CodeLocked:        errLocked,
	core.CodeDisabled:      errDisabled,
	core.CodeNoPIN:         errNoPIN,
	core.CodeNoOTC:         errNoOTC,
	core.CodeBadOTC:        errBadOTC,
	core.CodeWrongOTC:      "",
	core.CodeNoStrings:     errNoStrings,
	core.CodeNotInGroup:    errNotInGroup,
	core.CodeSession:       errSession,
	core.CodeProvision:     errProvision,
	core.CodeTriesExceeded: errTriesExceeded,
	core.CodeAgentAccess:   errAgentAccess,
}

// protocolError returns the <Error> value for err ("" for a bare FAIL).
func protocolError(err error) string {
	if e, ok := protocolErrors[core.ErrorCode(err)]; ok {
		return e
	}
	return errGeneral
}
