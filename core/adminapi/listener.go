package adminapi

import (
	"fmt"
	"net"

	"provisio/core"
)

// peerListener admits only connections from the same user as this
// process, or root: the socket's mode already says so, the kernel's
// peer credentials (SO_PEERCRED) make sure of it.
type peerListener struct {
	net.Listener
	svc *core.Service
	// own is the uid served besides root: the server's own.
	own uint32
}

// peerConn is an admitted connection and who is at its other end.
type peerConn struct {
	net.Conn
	operator string
}

// Accept returns the next admitted connection; refused ones are closed
// and counted (svc.Refuse), never served and never a durable write each.
func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, pid, err := peerCred(c)
		if err != nil {
			// Counted before the close, so whoever sees the refusal
			// (a test's flush, an admin's log export) finds it counted.
			l.svc.Refuse("admin socket", "peer credentials unreadable")
			c.Close()
			continue
		}
		if uid != l.own && uid != 0 {
			l.svc.Refuse(fmt.Sprintf("admin socket uid %d", uid), "not the server's user nor root")
			c.Close()
			continue
		}
		return &peerConn{Conn: c, operator: fmt.Sprintf("a console or command on this machine (uid %d, pid %d)", uid, pid)}, nil
	}
}
