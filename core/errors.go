package core

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an Error so that each front end (AgentXML, console, CLI)
// can map it to its own wording in one place.
type Code string

// Error codes. The AgentXML server maps them to AGENT_ERROR_* values and the
// console to sentences.
const (
	CodeInvalid       Code = "invalid"        // input failed validation
	CodeNotFound      Code = "not_found"      // no such user, agent or key
	CodeConflict      Code = "conflict"       // already exists
	CodeLocked        Code = "locked"         // user is locked
	CodeDisabled      Code = "disabled"       // user is disabled
	CodeNoPIN         Code = "no_pin"         // user has no PIN
	CodeNoOTC         Code = "no_otc"         // login without an OTC
	CodeBadOTC        Code = "bad_otc"        // OTC missing or malformed
	CodeWrongOTC      Code = "wrong_otc"      // OTC well formed but not right
	CodeNoStrings     Code = "no_strings"     // user has no security strings
	CodeNotInGroup    Code = "not_in_group"   // user lacks the mobile right
	CodeSession       Code = "session"        // unknown or revoked device id
	CodeProvision     Code = "provision"      // provision code wrong, used or expired
	CodeAgentAccess   Code = "agent_access"   // agent not authorised
	CodeTriesExceeded Code = "tries_exceeded" // user just got locked
	CodeInternal      Code = "internal"       // store or system failure

	// Codes of the agent and admin APIs (api_*.go).
	CodeNoTransport Code = "no_transport" // user has no address to send to
	CodeNoAttribute Code = "no_attribute" // user lacks the named attribute
	CodeDeleted     Code = "deleted"      // user is deleted, awaiting purge
	// CodeUnavailable is an admin API client's, never a server's: the
	// service did not answer (stopped, restarting, out of reach).
	CodeUnavailable Code = "unavailable"
)

// Error is the one application error type. Message is a sentence fit for a
// person; Field names the input at fault, when there is one.
type Error struct {
	Code    Code
	Field   string
	Message string
	Err     error // underlying cause, never shown to users
}

// Error is the message, followed by the underlying cause when there is
// one: for logs. People are shown Message (ErrorMessage).
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the underlying cause, for errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns a CodeInvalid error about one input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Code of err, CodeInternal for foreign errors and ""
// for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the human sentence of err. Foreign errors (I/O,
// encoding) become a generic sentence; their detail belongs in the log.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if err == nil {
		return ""
	}
	return "Something went wrong inside Provisio; the log has the details."
}

// FieldErrors lists the *Error values in err, which may join several
// (Settings.SetValues reports every key that does not parse), so a form
// can mark each field at fault. Foreign errors are left out.
func FieldErrors(err error) []*Error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*Error
		for _, e := range j.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

// ErrNotFound is returned by Tx lookups for a missing record.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}

// ErrStoreUnreachable is wrapped in the cause of a store's error when the
// store could not be reached (an etcd cluster without a quorum): nothing
// in the request was at fault, and the same request may work once the
// store answers again.
var ErrStoreUnreachable = errors.New("the store could not be reached")

// RewordEnding returns err with the ending from of its sentence replaced
// by to, when err is an *Error whose message ends so; any other error is
// returned as it is. It lets a caller put core's advice in its own words
// (a flag, a query parameter) without a second copy of the rule.
func RewordEnding(err error, from, to string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	head, ok := strings.CutSuffix(e.Message, from)
	if !ok {
		return err
	}
	c := *e
	c.Message = head + to
	return &c
}
