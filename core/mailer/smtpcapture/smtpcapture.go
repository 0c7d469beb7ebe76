// Package smtpcapture is a small, real SMTP server that keeps every message
// it receives in memory. Tests send to it on 127.0.0.1 instead of mocking
// the client, and `make mailcatcher` runs it with Options.Echo so a person
// can watch the mail Provisio sends without a real mail server.
//
// It is built on github.com/emersion/go-smtp's server, so STARTTLS,
// implicit TLS, AUTH PLAIN and LOGIN and the reply codes are the same
// protocol a real server speaks. It is not meant to face a network: it
// holds everything in memory and accepts any sender.
package smtpcapture

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configure New. The zero value is a plain server on a free port of
// 127.0.0.1 that accepts mail without a login.
type Options struct {
	// Addr is the listen address; empty means "127.0.0.1:0", a free
	// loopback port.
	Addr string
	// Username and Password, when Username is set, make AUTH mandatory
	// before MAIL; the server answers 530 otherwise.
	Username, Password string
	// AuthMechanisms limits what AUTH offers; nil means PLAIN and LOGIN.
	AuthMechanisms []string
	// TLS enables STARTTLS (or, with ImplicitTLS, TLS from the first byte).
	// With TLS set, AUTH is offered only once the connection is encrypted,
	// as real servers do; without it, AUTH is offered in plain text so the
	// login can still be exercised.
	TLS *tls.Config
	// ImplicitTLS serves TLS from the first byte, like port 465. It needs
	// TLS.
	ImplicitTLS bool
	// RequireTLS refuses MAIL on an unencrypted session with 530 5.7.0
	// "Must issue a STARTTLS command first", as Postfix does with
	// smtpd_tls_security_level = encrypt. It needs TLS.
	RequireTLS bool
	// RejectRecipients are answered 550 at RCPT TO; matched without regard
	// to case.
	RejectRecipients []string
	// SMTPUTF8 offers RFC 6531's SMTPUTF8, which a client must ask for in
	// MAIL FROM to use an address with non-ASCII letters before the @.
	// Without it such an address is refused with 553 5.6.7, as real
	// servers do (Gmail, Postfix).
	SMTPUTF8 bool
	// MaxMessageBytes is the largest message taken, advertised as SIZE
	// (RFC 1870): a MAIL FROM declaring more, or a message that turns out
	// larger, is refused with 552 5.3.4. Zero means 32 MiB.
	MaxMessageBytes int64
	// Echo, when set, receives a summary line and the raw text of each
	// message as it arrives, and the server's own error log.
	Echo io.Writer
}

// Captured is one message as the server received it.
type Captured struct {
	From     string   // MAIL FROM
	To       []string // RCPT TO, in order
	Data     []byte   // the message as sent after DATA, CRLF line endings
	Username string   // who logged in; "" without AUTH
	TLS      bool     // whether the session was encrypted
	UTF8     bool     // whether MAIL FROM asked for SMTPUTF8
}

// Server is a running capture server. Its methods are safe for concurrent
// use.
type Server struct {
	opt  Options
	srv  *smtp.Server
	ln   *trackingListener
	addr *net.TCPAddr

	served    chan error
	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	msgs    []Captured
	arrived chan struct{} // closed and replaced whenever a message arrives
	closed  bool
}

// New listens on opt.Addr and serves in the background until Close. It
// listens before returning, so a port already in use is an error here and
// Addr is ready to dial at once.
func New(opt Options) (*Server, error) {
	if opt.ImplicitTLS && opt.TLS == nil {
		return nil, errors.New("smtpcapture: ImplicitTLS needs a TLS config")
	}
	if opt.RequireTLS && opt.TLS == nil {
		return nil, errors.New("smtpcapture: RequireTLS needs a TLS config")
	}
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:0"
	}
	if opt.AuthMechanisms == nil {
		opt.AuthMechanisms = []string{sasl.Plain, sasl.Login}
	}
	raw, err := net.Listen("tcp", opt.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtpcapture: listen: %w", err)
	}
	s := &Server{
		opt:     opt,
		ln:      &trackingListener{Listener: raw, conns: map[net.Conn]struct{}{}},
		addr:    raw.Addr().(*net.TCPAddr),
		served:  make(chan error, 1),
		arrived: make(chan struct{}),
	}

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.TLSConfig = opt.TLS
	srv.AllowInsecureAuth = opt.TLS == nil
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 32 << 20
	if opt.MaxMessageBytes > 0 {
		srv.MaxMessageBytes = opt.MaxMessageBytes
	}
	srv.EnableSMTPUTF8 = opt.SMTPUTF8
	logTo := io.Discard
	if opt.Echo != nil {
		logTo = &lockedWriter{s: s}
	}
	srv.ErrorLog = log.New(logTo, "smtpcapture: ", 0)
	s.srv = srv

	var l net.Listener = s.ln
	if opt.ImplicitTLS {
		l = tls.NewListener(s.ln, opt.TLS)
	}
	go func() { s.served <- srv.Serve(l) }()
	return s, nil
}

// Addr returns the address to dial, host:port.
func (s *Server) Addr() string { return s.addr.String() }

// Host returns the IP address the server listens on.
func (s *Server) Host() string { return s.addr.IP.String() }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.addr.Port }

// Messages returns a copy of the messages received so far, oldest first.
func (s *Server) Messages() []Captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneAll(s.msgs)
}

// Wait returns the messages once at least n have arrived, or the ones so
// far and an error after timeout.
func (s *Server) Wait(n int, timeout time.Duration) ([]Captured, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, arrived := cloneAll(s.msgs), s.arrived
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-arrived:
		case <-deadline.C:
			return msgs, fmt.Errorf("smtpcapture: %d of %d messages arrived within %v", len(msgs), n, timeout)
		}
	}
}

// Close stops the server, ends open sessions and waits until every
// connection handler has returned, so nothing writes to Echo afterwards.
// Calling it again returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		// Our listener first: go-smtp only learns of it once its Serve
		// goroutine runs, so a Close right after New could otherwise leave
		// Accept blocked forever. Closing it also ends open sessions (see
		// trackingListener), which Shutdown alone would wait for.
		err := s.ln.Close()
		// Shutdown then waits for the connection handlers to return;
		// Server.Close would not wait.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if serr := s.srv.Shutdown(ctx); err == nil {
			err = serr
		}
		// Serve reports the closed listener it was blocked on; expected.
		if serr := <-s.served; err == nil && serr != nil && !errors.Is(serr, net.ErrClosed) {
			err = serr
		}
		s.closeErr = err
	})
	return s.closeErr
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

// record stores a message and wakes Wait.
func (s *Server) record(m Captured) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	if w := s.opt.Echo; w != nil {
		// Under the lock, so messages from concurrent sessions never
		// interleave.
		fmt.Fprintf(w, "----- message %d from <%s> to <%s>, %d bytes, tls=%t, user=%q -----\n",
			len(s.msgs), m.From, strings.Join(m.To, ">, <"), len(m.Data), m.TLS, m.Username)
		w.Write(bytes.ReplaceAll(m.Data, []byte("\r\n"), []byte("\n")))
		fmt.Fprintf(w, "----- end of message %d -----\n", len(s.msgs))
	}
}

func (s *Server) rejects(rcpt string) bool {
	return slices.ContainsFunc(s.opt.RejectRecipients, func(r string) bool { return strings.EqualFold(r, rcpt) })
}

// checkLogin compares credentials. A wrong login must be 535: go-smtp
// answers any other error with 454, which clients treat as "try later".
func (s *Server) checkLogin(username, password string) error {
	if username != s.opt.Username || password != s.opt.Password {
		return smtp.ErrAuthFailed
	}
	return nil
}

func cloneAll(msgs []Captured) []Captured {
	out := make([]Captured, len(msgs))
	for i, m := range msgs {
		m.To = slices.Clone(m.To)
		m.Data = slices.Clone(m.Data)
		out[i] = m
	}
	return out
}

// session is one SMTP session; go-smtp calls it from one goroutine.
type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
	utf8 bool // MAIL FROM asked for SMTPUTF8
}

var (
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errTLSRequired  = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	errUserUnknown  = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "User unknown"}
	errNeedsUTF8    = &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 6, 7}, Message: "Must declare SMTPUTF8 to send unicode address"}
)

func (ss *session) AuthMechanisms() []string {
	if ss.s.opt.Username == "" {
		return nil
	}
	return ss.s.opt.AuthMechanisms
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if !slices.ContainsFunc(ss.AuthMechanisms(), func(m string) bool { return strings.EqualFold(m, mech) }) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	login := func(username, password string) error {
		if err := ss.s.checkLogin(username, password); err != nil {
			return err
		}
		ss.user = username
		return nil
	}
	if strings.EqualFold(mech, sasl.Login) {
		return &loginServer{check: login}, nil
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		return login(username, password)
	}), nil
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if _, isTLS := ss.conn.TLSConnectionState(); ss.s.opt.RequireTLS && !isTLS {
		return errTLSRequired
	}
	if ss.s.opt.Username != "" && ss.user == "" {
		return errAuthRequired
	}
	ss.utf8 = opts != nil && opts.UTF8
	if !ss.utf8 && !isASCII(from) {
		return errNeedsUTF8
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !ss.utf8 && !isASCII(to) {
		return errNeedsUTF8
	}
	if ss.s.rejects(to) {
		return errUserUnknown
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.record(Captured{From: ss.from, To: slices.Clone(ss.to), Data: data, Username: ss.user, TLS: isTLS, UTF8: ss.utf8})
	return nil
}

func (ss *session) Reset() {
	ss.from, ss.to, ss.utf8 = "", nil, false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl implements
// only as a client. Clients may send the user name as an initial response
// or wait for the "Username:" challenge.
type loginServer struct {
	check    func(username, password string) error
	username string
	step     int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.username = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.username, string(response))
	}
}

// trackingListener remembers accepted connections so that closing the
// listener also ends their sessions; go-smtp's Shutdown would otherwise wait
// for idle clients forever.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

// Close is idempotent, because both Server.Close and go-smtp's Shutdown
// close it.
func (l *trackingListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	err := l.Listener.Close()
	for _, c := range conns {
		c.Close()
	}
	return err
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// lockedWriter serialises go-smtp's error log with the message echo.
type lockedWriter struct{ s *Server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.closed {
		return len(p), nil
	}
	return w.s.opt.Echo.Write(p)
}
