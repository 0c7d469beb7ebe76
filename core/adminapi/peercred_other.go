//go:build !linux

package adminapi

import (
	"errors"
	"net"
)

// peerCred is only implemented on Linux (SO_PEERCRED); elsewhere every
// peer is refused until launchd/Windows support follows.
func peerCred(net.Conn) (uint32, int32, error) {
	return 0, 0, errors.New("peer credentials are not supported on this system")
}
