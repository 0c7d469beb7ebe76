package etcdstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// Why Connect could not open the store, in words. etcd's client waits for
// a usable connection until its deadline and then answers only "context
// deadline exceeded", whatever kept it from one: no quorum, no member
// listening, or a TLS handshake that failed. A timeout is said as one; a
// TLS problem is found by shaking hands with each member as the client
// would, and its cause is kept, since it is the one clue to which file is
// wrong.

// tlsProbeTimeout bounds each member's handshake in tlsProblem, which
// runs only after Connect failed.
const tlsProbeTimeout = time.Second

// connectError is Connect's error after its first read failed with err.
func connectError(cfg Config, err error) error {
	where := strings.Join(cfg.Endpoints, ",")
	if p := tlsProblem(cfg); p != "" {
		return errors.New(p)
	}
	if unavailable(err) {
		return &connError{msg: fmt.Sprintf("etcd at %s did not answer within %s (are most of its members running and reachable?)", where, seconds(cfg.DialTimeout)), err: err}
	}
	return fmt.Errorf("etcd at %s refused the first read: %w", where, err)
}

// connError is a sentence with the error it stands for, kept for
// errors.Is and errors.As but not repeated in the text.
type connError struct {
	msg string
	err error
}

func (e *connError) Error() string { return e.msg }
func (e *connError) Unwrap() error { return e.err }

// tlsProblem shakes hands with each member as the client would and says
// what failed, "" when nothing points at TLS (a member that is not
// listening, or that takes too long, says nothing of TLS).
func tlsProblem(cfg Config) string {
	where := strings.Join(cfg.Endpoints, ",")
	found := make([]string, len(cfg.Endpoints))
	var wg sync.WaitGroup
	for i, ep := range cfg.Endpoints {
		wg.Add(1)
		go func() {
			defer wg.Done()
			found[i] = probeTLS(cfg.TLS, ep)
		}()
	}
	wg.Wait()
	for i, p := range found {
		switch {
		case p == "":
		case p == noTLS:
			return fmt.Sprintf("etcd at %s does not serve TLS (%s answers without it) and Provisio was given TLS files: "+
				"remove --etcd-ca, --etcd-cert and --etcd-key, or give the members TLS certificates", where, cfg.Endpoints[i])
		case cfg.TLS == nil:
			return fmt.Sprintf("etcd at %s serves TLS (%s does) and Provisio was given no TLS files: "+
				"give the CA that signed the members' certificates with --etcd-ca, and a client certificate with --etcd-cert and --etcd-key if they ask for one", where, cfg.Endpoints[i])
		default:
			return fmt.Sprintf("etcd at %s could not be reached over TLS: %s: %s "+
				"(does the member serve TLS, does --etcd-ca hold the CA that signed its certificate, and do --etcd-cert and --etcd-key hold a client certificate it accepts?)", where, cfg.Endpoints[i], p)
		}
	}
	return ""
}

// noTLS is probeTLS's answer for a member that hung up on the handshake
// and speaks HTTP/2 without TLS.
const noTLS = "no TLS"

// probeTLS is tlsProblem for one member. With tc nil it reports only that
// the member completed a TLS handshake ("TLS"), which a plain member
// never does.
func probeTLS(tc *tls.Config, ep string) string {
	host, _, err := net.SplitHostPort(ep)
	if err != nil {
		return ""
	}
	d := &net.Dialer{Timeout: tlsProbeTimeout}
	raw, err := d.Dial("tcp", ep)
	if err != nil {
		return "" // not listening, or unreachable: a timeout says so
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(tlsProbeTimeout))
	var c *tls.Config
	if tc == nil {
		c = &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}} // only to learn that it speaks TLS
	} else {
		c = tc.Clone()
		c.NextProtos = []string{"h2"}
		if c.ServerName == "" {
			c.ServerName = host
		}
	}
	conn := tls.Client(raw, c)
	if err := conn.Handshake(); err != nil {
		if tc == nil || isTimeout(err) {
			return ""
		}
		if plainH2(ep) {
			return noTLS
		}
		return tlsCause(err)
	}
	if tc == nil {
		return "TLS"
	}
	// Under TLS 1.3 a member refuses a client certificate after the
	// client's side of the handshake is done: its alert comes with the
	// first read, where a member that accepted sends its HTTP/2 settings.
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil && !isTimeout(err) && strings.Contains(err.Error(), "tls:") {
		return tlsCause(err)
	}
	return ""
}

// plainH2 reports whether the member at ep answers HTTP/2's client
// preface with a SETTINGS frame, as a member without TLS does.
func plainH2(ep string) bool {
	conn, err := net.DialTimeout("tcp", ep, tlsProbeTimeout)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(tlsProbeTimeout))
	// The preface, then an empty SETTINGS frame of our own.
	if _, err := conn.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")); err != nil {
		return false
	}
	var h [9]byte // a frame header: length (3), type (1), flags, stream
	if _, err := io.ReadFull(conn, h[:]); err != nil {
		return false
	}
	return h[3] == 0x4 // SETTINGS
}

// tlsCause is a handshake's error without the addresses Go puts in it; an
// alert the member sent is said to be its answer ("it answered tls:
// certificate required").
func tlsCause(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		if op.Op == "remote error" {
			return "it answered " + op.Err.Error()
		}
		err = op.Err
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
