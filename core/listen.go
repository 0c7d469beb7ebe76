package core

import (
	"errors"
	"net"
	"strings"
	"syscall"
)

// ListenProblem words why a listener could not open, for the failures an
// admin fixes in the settings or on the machine: the address taken, a port
// below 1024, an address this machine does not have, a host name that
// does not resolve. It returns "" for any other error. The console and
// 'provisio serve' both say these, so the rule is here once. The sentence
// starts in lower case: callers put "The server could not start: " before
// it.
func ListenProblem(err error) string {
	if err == nil {
		return ""
	}
	var op *net.OpError
	var dns *net.DNSError
	isOp := errors.As(err, &op)
	// The address is named: the server has up to three listeners (HTTPS,
	// device certificates, plain HTTP), and "that port" does not say which.
	where := "that port"
	if isOp && op.Addr != nil {
		where = op.Addr.String()
	}
	text := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, syscall.EADDRINUSE) || strings.Contains(text, "address already in use") ||
		strings.Contains(text, "only one usage of each socket address"):
		return "another program already uses " + where + ". Choose another port, or stop the other program."
	case isOp && op.Op == "listen" && errors.Is(err, syscall.EACCES):
		// Only a listener's refusal: a certificate file this user may
		// not read is another problem with another fix.
		return "this user may not listen on " + where + ": ports below 1024 need administrator rights, which the service installed with 'provisio service install' has; otherwise use 8443."
	case errors.Is(err, syscall.EADDRNOTAVAIL) || strings.Contains(text, "assign requested address"):
		return "this computer has no such address. Use 0.0.0.0 to listen on all of its addresses."
	case errors.As(err, &dns):
		return "the listen address names a host that cannot be found."
	}
	return ""
}
