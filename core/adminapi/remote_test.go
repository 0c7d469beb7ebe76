package adminapi_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/certs"
	"provisio/core/store"
)

// clock is a clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// remoteEnv is a real data file, a real server certificate and console CA
// in temp directories, and the remote admin listener on 127.0.0.1.
type remoteEnv struct {
	svc   *core.Service
	st    *store.Store
	clk   *clock
	srv   *adminapi.RemoteServer
	addr  string
	fp    string
	admin adminapi.Local
}

func newRemote(t *testing.T, opt adminapi.RemoteOptions) *remoteEnv {
	t.Helper()
	dir, keyDir := t.TempDir(), t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Now()}
	svc, err := core.NewService(st, core.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := certs.LoadOrCreateIn(dir, keyDir, []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	opt.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }
	opt.CA = certs.NewConsoleCA(keyDir)
	srv, err := adminapi.ListenRemote("127.0.0.1:0", svc, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	fp := certs.Fingerprint(cert)
	svc.SetConsoleEndpoint(srv.Addr(), func() string { return fp })
	return &remoteEnv{svc: svc, st: st, clk: clk, srv: srv, addr: srv.Addr(), fp: fp, admin: adminapi.Local{Svc: svc}}
}

// pair makes a code on the server and pairs a console with it, as
// `provisio --connect` does, keeping the identity in a temp config dir.
func (e *remoteEnv) pair(t *testing.T, name string, role core.Role) *adminapi.Identity {
	t.Helper()
	p, err := e.admin.PairConsole(name, role)
	if err != nil {
		t.Fatal(err)
	}
	if p.Fingerprint != e.fp || p.Listen != e.addr {
		t.Fatalf("pairing shows %s at %s, the listener is %s at %s", p.Fingerprint, p.Listen, e.fp, e.addr)
	}
	fp, serverPEM, err := adminapi.ServerFingerprint(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	if fp != p.Fingerprint {
		t.Fatalf("the console sees %s, the server shows %s", fp, p.Fingerprint)
	}
	// Typed as a person reads it: grouped, lower case.
	id, err := adminapi.Pair(e.addr, fp, serverPEM, strings.ToLower(core.GroupPairingCode(p.Code)))
	if err != nil {
		t.Fatal(err)
	}
	dir := adminapi.IdentityDir(t.TempDir(), e.addr)
	if err := id.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"console.json", "client.pem", "client.key", "server.pem"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want mode 0600", f, fi, err)
		}
	}
	back, err := adminapi.LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func (e *remoteEnv) log(t *testing.T) string {
	t.Helper()
	if err := e.svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	entries, err := e.svc.LogTail(1000)
	if err != nil {
		t.Fatal(err)
	}
	// Each line is "[ACTOR] MESSAGE": who acted, then what.
	var b strings.Builder
	for _, l := range entries {
		b.WriteString("[" + l.Actor + "] " + l.Message + "\n")
	}
	return b.String()
}

// TestRemoteConsole_HelpdeskOverMutualTLS is #12's remote-console
// done-when test: a console pairs over mutual TLS on loopback, a helpdesk
// reprovision makes a code that provisions a phone, the helpdesk
// actions work and are logged with the operator's name and role; a
// helpdesk asking an admin action, an unpaired client and a revoked one
// are refused with a JSON sentence, and the refusals reach the audit log.
func TestRemoteConsole_HelpdeskOverMutualTLS(t *testing.T) {
	e := newRemote(t, adminapi.RemoteOptions{})
	if _, err := e.admin.AddUser(adminapi.NewUser{Name: "alice", PIN: "9132", Email: "alice@example.org"}); err != nil {
		t.Fatal(err)
	}
	id := e.pair(t, "desk-2", core.RoleHelpdesk)
	if id.Name != "desk-2" || id.Role != core.RoleHelpdesk || id.ServerFingerprint != e.fp {
		t.Fatalf("identity %+v", id)
	}
	api, err := adminapi.DialRemote(id)
	if err != nil {
		t.Fatal(err)
	}
	me, err := api.Me()
	if err != nil || me.Name != "desk-2" || me.Role != core.RoleHelpdesk || !me.Remote {
		t.Fatalf("me = %+v, %v", me, err)
	}
	// An event stream opened now ends once the console is revoked.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := api.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The helpdesk's work.
	users, err := api.Users()
	if err != nil || len(users) != 1 || users[0].Name != "alice" {
		t.Fatalf("users %+v, %v", users, err)
	}
	ic, err := api.Reprovision("alice", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Provision("127.0.0.1", "alice", ic.Code, "Android"); err != nil {
		t.Fatalf("the code the helpdesk issued does not provision: %v", err)
	}
	if _, err := e.svc.UpdateUser("alice", func(u *core.User) error { u.Locked = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if u, err := api.Unlock("alice"); err != nil || u.Locked {
		t.Fatalf("unlock: %+v, %v", u, err)
	}
	if u, _ := e.svc.User("alice"); u.Locked {
		t.Fatal("alice is still locked on the server")
	}
	r, err := api.ResetPIN("alice", false)
	if err != nil || len(r.PIN) < 4 {
		t.Fatalf("reset PIN: %+v, %v", r, err)
	}
	if err := api.RevokeDevice("alice"); err != nil {
		t.Fatal(err)
	}
	if u, _ := e.svc.User("alice"); u.Provisioned() {
		t.Fatal("alice's device was not revoked")
	}

	// Admin actions are refused to the helpdesk, with a JSON sentence.
	forbidden := []struct {
		name string
		do   func() error
	}{
		{"settings set", func() error { _, err := api.SetSetting("server.advertise", "evil.example"); return err }},
		{"agent put", func() error {
			_, err := api.PutAgent(adminapi.NewAgent{Name: "vpn", Host: "127.0.0.1", Secret: "s3cret-123"})
			return err
		}},
		{"user add", func() error { _, err := api.AddUser(adminapi.NewUser{Name: "mallory"}); return err }},
		{"user delete", func() error { return api.DeleteUser("alice") }},
		{"settings read", func() error { _, err := api.Settings(); return err }},
		{"console pair", func() error { _, err := api.PairConsole("desk-3", core.RoleAdmin); return err }},
	}
	for _, f := range forbidden {
		err := f.do()
		var ce *core.Error
		if !errors.As(err, &ce) || ce.Code != core.CodeForbidden || !strings.Contains(ce.Message, `Console "desk-2" has the helpdesk role`) {
			t.Errorf("%s as helpdesk: %v, want a forbidden sentence", f.name, err)
		}
	}
	if s, _ := e.admin.Setting("server.advertise"); s.Value == "evil.example" {
		t.Error("the helpdesk changed a setting")
	}
	if _, err := e.svc.User("mallory"); err == nil {
		t.Error("the helpdesk added a user")
	}

	// An unpaired client: a certificate from another CA, and none.
	otherCA := certs.NewDeviceCA(t.TempDir())
	for _, tc := range []struct {
		name string
		cert *tls.Certificate
	}{{"no certificate", nil}, {"a certificate of another CA", clientCert(t, otherCA)}} {
		status, body := rawGet(t, e.addr, e.fp, tc.cert, "/v1/users")
		if status != http.StatusForbidden || !strings.Contains(body, `"code": "not_paired"`) || strings.Contains(body, "alice") {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
	}

	// Revoked: refused from the next request on, stream closed.
	if err := e.admin.RevokeConsole("desk-2"); err != nil {
		t.Fatal(err)
	}
	_, err = api.Users()
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Code != core.CodeNotPaired || !strings.Contains(ce.Message, "revoked") {
		t.Errorf("a revoked console: %v", err)
	}
	if _, err := adminapi.DialRemote(id); err == nil {
		t.Error("a revoked console connected again")
	}
	_ = e.svc.Log(core.LevelInfo, "", "an event after the revoke")
	deadline := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-events:
		case <-deadline:
			t.Fatal("the revoked console's event stream stayed open")
		}
	}

	log := e.log(t)
	for _, want := range []string{
		`Console "desk-2" paired (role helpdesk`,
		// The use cases' own lines name the console; the admin API adds none.
		`[console "desk-2" (helpdesk) at 127.0.0.1] Provision code created for user "alice"`,
		`[console "desk-2" (helpdesk) at 127.0.0.1] User "alice" changed: unlocked.`,
		`[console "desk-2" (helpdesk) at 127.0.0.1] PIN reset for user "alice"; the new PIN was shown to the administrator.`,
		`[console "desk-2" (helpdesk) at 127.0.0.1] Device of user "alice" revoked`,
		`refused request from console "desk-2" at 127.0.0.1 in the last minute: console role helpdesk may not do settings.write`,
		`from console "desk-2" at 127.0.0.1 in the last minute: console role helpdesk may not do agents.write`,
		`from 127.0.0.1 in the last minute: remote admin API request without a console certificate`,
		`from 127.0.0.1 in the last minute: remote admin API request with a certificate the console CA did not sign`,
		`from 127.0.0.1 in the last minute: remote admin API request from a revoked or unpaired console`,
		`Console "desk-2" (role helpdesk) revoked`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, r.PIN) || strings.Contains(log, ic.Code) {
		t.Error("a PIN or code reached the audit log")
	}
}

// TestRemoteConsole_PairingCode: a pairing code works once, not after
// it expires, not when wrong; wrong codes are counted, never written
// each; and the admin role may do what the helpdesk may not.
func TestRemoteConsole_PairingCode(t *testing.T) {
	e := newRemote(t, adminapi.RemoteOptions{PairBurst: 100, PairEvery: time.Millisecond})
	fp, serverPEM, err := adminapi.ServerFingerprint(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.admin.PairConsole("admin-desk", core.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	id, err := adminapi.Pair(e.addr, fp, serverPEM, p.Code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adminapi.Pair(e.addr, fp, serverPEM, p.Code); core.ErrorCode(err) != core.CodeNotPaired {
		t.Errorf("the code worked twice: %v", err)
	}
	api, err := adminapi.DialRemote(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.SetSetting("server.advertise", "vpn.example.org"); err != nil {
		t.Errorf("admin console: %v", err)
	}
	if _, err := api.PairConsole("admin-desk", core.RoleHelpdesk); core.ErrorCode(err) != core.CodeConflict {
		t.Errorf("a paired name was offered a new code: %v", err)
	}

	// Expiry.
	p2, err := e.admin.PairConsole("late", core.RoleHelpdesk)
	if err != nil {
		t.Fatal(err)
	}
	e.clk.add(core.PairingValidity + time.Second)
	if _, err := adminapi.Pair(e.addr, fp, serverPEM, p2.Code); core.ErrorCode(err) != core.CodeNotPaired {
		t.Errorf("an expired code worked: %v", err)
	}
	// A wrong code costs no durable write.
	before, _ := e.svc.LogTail(1000)
	for i := 0; i < 5; i++ {
		if _, err := adminapi.Pair(e.addr, fp, serverPEM, "WRONGWRONG22"); core.ErrorCode(err) != core.CodeNotPaired {
			t.Errorf("a wrong code: %v", err)
		}
	}
	after, _ := e.svc.LogTail(1000)
	if len(after) != len(before) {
		t.Errorf("wrong codes wrote %d log entries", len(after)-len(before))
	}
	if log := e.log(t); !strings.Contains(log, "7 refused requests from 127.0.0.1 in the last minute: wrong console pairing code") {
		t.Errorf("the wrong codes are not counted in the log:\n%s", log)
	}
	list, err := e.admin.Consoles()
	if err != nil || len(list) != 2 || list[0].State != "paired" || list[1].State != "expired" {
		t.Errorf("consoles %+v, %v", list, err)
	}
}

// TestRemoteConsole_RateLimit: pairing needs no certificate, so it is
// rate-limited per address.
func TestRemoteConsole_RateLimit(t *testing.T) {
	e := newRemote(t, adminapi.RemoteOptions{PairBurst: 2, PairEvery: time.Hour})
	fp, serverPEM, err := adminapi.ServerFingerprint(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := adminapi.Pair(e.addr, fp, serverPEM, "WRONGWRONG22"); core.ErrorCode(err) != core.CodeNotPaired {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	p, _ := e.admin.PairConsole("desk", core.RoleHelpdesk)
	_, err = adminapi.Pair(e.addr, fp, serverPEM, p.Code)
	if core.ErrorCode(err) != "rate_limited" {
		t.Fatalf("third attempt: %v", err)
	}
	if log := e.log(t); !strings.Contains(log, "console pairing requests over the rate limit") {
		t.Errorf("the limit is not in the log:\n%s", log)
	}
}

// TestRemoteConsole_WrongPinnedCertificate: a console refuses a server
// whose certificate is not the pinned one, before sending anything: a
// pairing code is not spent on it, a paired console does not connect.
func TestRemoteConsole_WrongPinnedCertificate(t *testing.T) {
	e := newRemote(t, adminapi.RemoteOptions{})
	id := e.pair(t, "desk", core.RoleHelpdesk)
	other, err := certs.LoadOrCreate(t.TempDir(), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	wrong := certs.Fingerprint(other)
	id.ServerFingerprint = wrong
	if _, err := adminapi.DialRemote(id); !errors.Is(err, adminapi.ErrServerChanged) {
		t.Errorf("a wrong pin: %v, want ErrServerChanged", err)
	}
	p, _ := e.admin.PairConsole("desk-b", core.RoleHelpdesk)
	if _, err := adminapi.Pair(e.addr, wrong, nil, p.Code); !errors.Is(err, adminapi.ErrServerChanged) {
		t.Errorf("pairing with the wrong fingerprint: %v", err)
	}
	fp, serverPEM, _ := adminapi.ServerFingerprint(e.addr)
	if _, err := adminapi.Pair(e.addr, fp, serverPEM, p.Code); err != nil {
		t.Errorf("the code was spent on a refused server: %v", err)
	}
}

// clientCert makes a client certificate signed by ca.
func clientCert(t *testing.T, ca *certs.DeviceCA) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, _ := x509.ParseCertificateRequest(der)
	certPEM, _, _, err := ca.SignDevice("mallory", csr)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	c, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// rawGet sends one request with cert (or none) to the pinned server.
func rawGet(t *testing.T, addr, fp string, cert *tls.Certificate, path string) (int, string) {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		if core.CertFingerprint(cs.PeerCertificates[0].Raw) != fp {
			return errors.New("not the test server")
		}
		return nil
	}}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("https://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !json.Valid(b) {
		t.Errorf("not JSON: %s", b)
	}
	return resp.StatusCode, string(b)
}

// TestRemoteConsole_ConnectionCap: the remote admin port is open to the
// network, and a connection that never speaks costs nothing to open but
// holds the server's memory until a timeout. One address gets at most
// MaxConnsPerAddr at once, the rest are closed at once and counted, and a
// console on another address still pairs.
func TestRemoteConsole_ConnectionCap(t *testing.T) {
	const perAddr = 4
	e := newRemote(t, adminapi.RemoteOptions{MaxConnsPerAddr: perAddr})
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 40; i++ {
		c, err := d.Dial("tcp", e.addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	// A connection the server closed reads EOF at once; one it holds
	// waits for a TLS hello. One it has not accepted (or not yet closed)
	// waits like a held one: count again until the server has caught up
	// with the dials, which on a loaded machine takes its time; for 3 s
	// at most, well within the 10 s it holds a silent connection.
	held := 0
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		held = 0
		for _, c := range conns {
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			var b [1]byte
			if _, err := c.Read(b[:]); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					held++
				}
			}
		}
		if held <= perAddr || time.Now().After(deadline) {
			break
		}
	}
	if held == 0 || held > perAddr {
		t.Errorf("the server holds %d connections from one address, cap %d", held, perAddr)
	}
	e.pair(t, "desk", core.RoleHelpdesk) // from 127.0.0.1
	if log := e.log(t); !strings.Contains(log, "refused requests from 127.0.0.2 in the last minute: remote admin API connections over the cap") {
		t.Errorf("the closed connections are not counted:\n%s", log)
	}
}

// TestRemoteConsole_RequestsTheMuxAnswersNeedACertificate: net/http
// answers some requests before any route checks who asks (OPTIONS *,
// CONNECT, a path it redirects to its clean form). Without a paired
// console's certificate they get the refusal of every other route,
// counted, and nothing else.
func TestRemoteConsole_RequestsTheMuxAnswersNeedACertificate(t *testing.T) {
	e := newRemote(t, adminapi.RemoteOptions{})
	for _, line := range []string{"OPTIONS * HTTP/1.1", "CONNECT 127.0.0.1:1 HTTP/1.1", "GET /v1//users HTTP/1.1", "POST /v1/./pair HTTP/1.1"} {
		c, err := tls.Dial("tcp", e.addr, &tls.Config{InsecureSkipVerify: true}) // no secret is sent
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "%s\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n", line)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.Close()
		var eb struct{ Error struct{ Code core.Code } }
		if resp.StatusCode != http.StatusForbidden || json.Unmarshal(b, &eb) != nil || eb.Error.Code != core.CodeNotPaired {
			t.Errorf("%s without a certificate = %d %q, want 403 not_paired", line, resp.StatusCode, b)
		}
	}
	if log := e.log(t); !strings.Contains(log, "4 refused requests from 127.0.0.1 in the last minute: remote admin API request without a console certificate") {
		t.Errorf("the refusals are not counted:\n%s", log)
	}
}

// TestRemoteConsole_RefusedRequestsLimited: the remote admin port is open
// to the network, and every route but pairing refuses a client without a
// paired console's certificate. Such refusals need no secret, so each
// source address gets a budget of them (60 at once, then 2 a second, as
// on the phones' port) and then 429 rate_limited before its certificate
// is even checked, counted in memory, also with a certificate the console
// CA did not sign; a paired console on another address is still served.
func TestRemoteConsole_RefusedRequestsLimited(t *testing.T) {
	e := newRemote(t, adminapi.RemoteOptions{})
	id := e.pair(t, "desk", core.RoleHelpdesk) // from 127.0.0.1
	stranger := clientCert(t, certs.NewDeviceCA(t.TempDir()))
	for _, row := range []struct {
		name string
		ip   string
		cert *tls.Certificate
	}{
		{"no certificate", "127.0.0.4", nil},
		{"a certificate the console CA did not sign", "127.0.0.5", stranger},
	} {
		t.Run(row.name, func(t *testing.T) {
			cfg := &tls.Config{InsecureSkipVerify: true} // no secret is sent
			if row.cert != nil {
				cfg.Certificates = []tls.Certificate{*row.cert}
			}
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(row.ip)}, Timeout: 5 * time.Second}
			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DialContext: d.DialContext}}
			defer hc.CloseIdleConnections()
			statuses := map[int]int{}
			for i := 0; i < 100; i++ {
				resp, err := hc.Get("https://" + e.addr + "/v1/users")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				statuses[resp.StatusCode]++
				if resp.StatusCode == http.StatusTooManyRequests && !strings.Contains(string(b), `"rate_limited"`) {
					t.Errorf("429 without rate_limited: %s", b)
				}
			}
			if statuses[http.StatusForbidden] > 62 || statuses[http.StatusTooManyRequests] < 30 {
				t.Errorf("100 refused requests from one address: %v, want about 60 refusals, then 429", statuses)
			}
		})
	}
	c, err := adminapi.DialRemote(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Users(); err != nil {
		t.Errorf("the paired console on another address: %v", err)
	}
	if log := e.log(t); !strings.Contains(log, "refused requests from 127.0.0.4 in the last minute: rate limited") {
		t.Errorf("the limited requests are not counted:\n%s", log)
	}
}
