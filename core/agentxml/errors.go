package agentxml

import "provisio/core"

// Protocol error values sent in <Error>. The AGENT_ERROR names are those
// of protocol.md §2, the ADMIN_ERROR names those of docs/api.md; the Go
// error text never reaches the wire.
const (
	errAgentAccess   = "AGENT_ERROR_AGENT_ACCESS"
	errNoUser        = "AGENT_ERROR_NO_USER_FOUND"
	errLocked        = "AGENT_ERROR_USER_LOCKED"
	errDisabled      = "AGENT_ERROR_USER_DISABLED"
	errNoPIN         = "AGENT_ERROR_NO_PIN"
	errNoOTC         = "AGENT_ERROR_NO_OTC"
	errBadOTC        = "AGENT_ERROR_BAD_OTC"
	errNoStrings     = "AGENT_ERROR_NO_SECURITY_STRINGS"
	errNotInGroup    = "AGENT_ERROR_USER_NOT_IN_GROUP"
	errSession       = "AGENT_ERROR_SESSION"
	errTriesExceeded = "AGENT_ERROR_USER_LOGIN_TRIES_EXCEEDED"
	errGeneral       = "AGENT_ERROR_GENERAL"
	errProvision     = "PROVISION_FAILURE"
	errMalformed     = "AGENT_ERROR_MALFORMED"
	errUnknownAction = "AGENT_ERROR_UNKNOWN_ACTION"
	errNoTransport   = "AGENT_ERROR_NO_TRANSPORT"
	errNoAttribute   = "AGENT_ERROR_NO_ATTRIBUTE"

	errAdminVersion     = "ADMIN_ERROR_UNSUPPORTED_VERSION"
	errAdminUnknownOp   = "ADMIN_ERROR_UNKNOWN_OPERATION"
	errAdminNotRepo     = "ADMIN_ERROR_NOT_REPOSITORY"
	errAdminNoUser      = "ADMIN_ERROR_NO_USER"
	errAdminExists      = "ADMIN_ERROR_USER_EXISTS"
	errAdminDeleted     = "ADMIN_ERROR_USER_DELETED"
	errAdminInvalid     = "ADMIN_ERROR_INVALID"
	errAdminLocked      = "ADMIN_ERROR_USER_LOCKED"
	errAdminDisabled    = "ADMIN_ERROR_USER_DISABLED"
	errAdminNoStrings   = "ADMIN_ERROR_NO_SECURITY_STRINGS"
	errAdminNoTransport = "ADMIN_ERROR_NO_TRANSPORT"
	errAdminNoToken     = "ADMIN_ERROR_NO_TOKEN"
	errAdminGeneral     = "ADMIN_ERROR_GENERAL"
)

// wireErrors is what a core error code becomes on the wire.
type wireErrors struct {
	agent string // AgentXML; "" is a bare FAIL
	admin string // AdminXML; "" is ADMIN_ERROR_GENERAL
}

// protocolErrors is the one place where core error codes become protocol
// errors, for both APIs. A wrong OTC is a bare FAIL: it must not tell an
// attacker anything beyond "no". Codes missing from the table (internal,
// and for AgentXML invalid and conflict) become the GENERAL error of the
// API, with the reason in the log.
var protocolErrors = map[core.Code]wireErrors{
	core.CodeNotFound:      {errNoUser, errAdminNoUser},
	core.CodeDeleted:       {errNoUser, errAdminDeleted},
	core.CodeConflict:      {errGeneral, errAdminExists},
	core.CodeInvalid:       {errGeneral, errAdminInvalid},
	core.CodeLocked:        {errLocked, errAdminLocked},
	core.CodeDisabled:      {errDisabled, errAdminDisabled},
	core.CodeNoPIN:         {errNoPIN, ""},
	core.CodeNoOTC:         {errNoOTC, ""},
	core.CodeBadOTC:        {errBadOTC, ""},
	core.CodeWrongOTC:      {"", ""},
	core.CodeNoStrings:     {errNoStrings, errAdminNoStrings},
	core.CodeNotInGroup:    {errNotInGroup, errAdminNoUser},
	core.CodeSession:       {errSession, ""},
	core.CodeProvision:     {errProvision, ""},
	core.CodeTriesExceeded: {errTriesExceeded, ""},
	core.CodeAgentAccess:   {errAgentAccess, errAgentAccess},
	core.CodeNoTransport:   {errNoTransport, errAdminNoTransport},
	core.CodeNoAttribute:   {errNoAttribute, ""},
}

// protocolError returns the AgentXML <Error> value for err ("" for a bare
// FAIL).
func protocolError(err error) string {
	if e, ok := protocolErrors[core.ErrorCode(err)]; ok {
		return e.agent
	}
	return errGeneral
}

// adminError returns the AdminXML <Error> value for err.
func adminError(err error) string {
	if e, ok := protocolErrors[core.ErrorCode(err)]; ok && e.admin != "" {
		return e.admin
	}
	return errAdminGeneral
}
