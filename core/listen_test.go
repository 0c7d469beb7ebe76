package core

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestListenProblem(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 443}
	listen := func(errno syscall.Errno) error {
		return fmt.Errorf("start the server on 127.0.0.1:443: %w",
			&net.OpError{Op: "listen", Net: "tcp", Addr: addr, Err: os.NewSyscallError("bind", errno)})
	}
	for _, tt := range []struct {
		name string
		err  error
		want string // "" for none
	}{
		{"port taken", listen(syscall.EADDRINUSE), "another program already uses 127.0.0.1:443. Choose another port, or stop the other program."},
		{"low port", listen(syscall.EACCES), "this user may not listen on 127.0.0.1:443: ports below 1024 need administrator rights, which the service installed with 'provisio service install' has; otherwise use 8443."},
		{"no such address", listen(syscall.EADDRNOTAVAIL), "this computer has no such address. Use 0.0.0.0 to listen on all of its addresses."},
		{"unknown host", &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}, "the listen address names a host that cannot be found."},
		// A certificate file this user may not read is not a port problem.
		{"unreadable file", &fs.PathError{Op: "open", Path: "/etc/provisio/server.key", Err: syscall.EACCES}, ""},
		{"other", errors.New("disk on fire"), ""},
		{"none", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ListenProblem(tt.err); got != tt.want {
				t.Errorf("ListenProblem(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
