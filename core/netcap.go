package core

import (
	"net"
	"net/netip"
	"sync"
)

// LimitConns caps the concurrent connections ln accepts: at most max in
// all and perSource from one source (SourceKey: an IPv4 address, or an
// IPv6 /64); 0 means no cap. A connection over a cap is accepted and
// closed at once, so the kernel's queue keeps moving for everyone else,
// and refuse, when set, is told its source (for Service.Refuse: counted,
// never logged one by one). Every listener open to the network needs it:
// connections that never send a byte cost nothing to open and hold a
// goroutine and buffers each until a timeout. With both caps 0, ln is
// returned as is.
func LimitConns(ln net.Listener, max, perSource int, refuse func(source string)) net.Listener {
	if max <= 0 && perSource <= 0 {
		return ln
	}
	return &capListener{Listener: ln, max: max, perAddr: perSource, refuse: refuse, per: map[netip.Addr]int{}}
}

// capListener caps concurrent connections in total and per source.
type capListener struct {
	net.Listener
	max, perAddr int
	refuse       func(addr string)

	mu    sync.Mutex
	total int
	per   map[netip.Addr]int
}

// Accept returns the next connection within the caps; connections over a
// cap are closed at once and counted as refused.
func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := SourceKey(c.RemoteAddr().String())
		l.mu.Lock()
		over := (l.max > 0 && l.total >= l.max) || (l.perAddr > 0 && l.per[key] >= l.perAddr)
		if !over {
			l.total++
			l.per[key]++
		}
		l.mu.Unlock()
		if over {
			// Counted before the close: a client that saw its
			// connection closed finds the refusal counted.
			if l.refuse != nil {
				l.refuse(key.String())
			}
			_ = c.Close()
			continue
		}
		return &capConn{Conn: c, l: l, key: key}, nil
	}
}

func (l *capListener) release(key netip.Addr) {
	l.mu.Lock()
	l.total--
	if l.per[key]--; l.per[key] <= 0 {
		delete(l.per, key)
	}
	l.mu.Unlock()
}

// capConn gives its slot back once, on the first Close.
type capConn struct {
	net.Conn
	l    *capListener
	key  netip.Addr
	once sync.Once
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}
