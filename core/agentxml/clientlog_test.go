package agentxml_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// writeCounter counts the write transactions that reach the store; it
// keeps the store's other abilities (keyed hashes of device Ids).
type writeCounter struct {
	*store.Store
	n atomic.Int64
}

func (w *writeCounter) Update(fn func(core.Tx) error) error {
	w.n.Add(1)
	return w.Store.Update(fn)
}

func (w *writeCounter) Batch(fn func(core.Tx) error) error {
	w.n.Add(1)
	return w.Store.Batch(fn)
}

// logEnv is a server over a sealed store whose writes are counted, with
// alice on a profile with client logging on and bob on the Default
// (logging off), both provisioned over HTTPS.
type logEnv struct {
	*env
	st         *store.Store
	writes     *writeCounter
	alice, bob *agentxmltest.MobileClient
}

func newLogEnv(t *testing.T, limits agentxml.Limits) *logEnv {
	t.Helper()
	st := storetest.MustOpenSealed(t)
	wc := &writeCounter{Store: st}
	svc := storetest.MustServiceOn(t, wc)
	srv, fp := agentxmltest.MustServer(t, svc, agentxmltest.WithLimits(limits))
	e := &logEnv{env: &env{svc: svc, srv: srv, fp: fp}, st: st, writes: wc}
	p := core.Profile{Name: "Diagnostics", ClientPolicies: core.DefaultClientPolicies(svc.Settings().MobileClient)}
	p.SupportEmail, p.Logging = "help@example.org", true
	if err := svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	e.alice = e.provisioned(t, "alice", "1357")
	if err := svc.AssignProfileToUser("Diagnostics", "alice"); err != nil {
		t.Fatal(err)
	}
	e.bob = e.provisioned(t, "bob", "2468")
	return e
}

// upload posts a clientlog request with device Id id and returns the
// HTTP status and the raw body.
func (e *logEnv) upload(t *testing.T, id, text string) (int, []byte) {
	t.Helper()
	hc, err := agentxmltest.PinnedClient(e.fp)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Post(e.srv.URL()+"/proxy/AgentXML", "application/xml",
		strings.NewReader(agentxmltest.SASRequest("Version", "3.6", "Action", "clientlog", "Id", id, "Log", text)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Over real HTTPS: a device whose user has client logging on uploads its
// log, which is stored cleaned, sealed (not in the data file's bytes)
// and audit-logged without its content; an unknown device and a known
// device with logging off get byte-identical refusals; an oversized log
// is refused before the device is looked at.
func TestServer_ClientLog(t *testing.T) {
	e := newLogEnv(t, agentxmltest.NoLimits())
	const marker = "clientlog-marker-91d2 opened the app"
	r, err := e.alice.SendClientLog(marker + "\r\n\u202estatus ok")
	if err != nil || !r.Pass() {
		t.Fatalf("upload with logging on: %+v, %v", r, err)
	}
	logs, err := e.svc.ClientLogs("alice")
	if err != nil || len(logs) != 1 || logs[0].Text != marker+"\nstatus ok" {
		t.Fatalf("stored logs = %+v, %v", logs, err)
	}
	wantLog(t, e.svc, "Client log uploaded by alice (")
	entries, _ := e.svc.LogTail(50)
	for _, en := range entries {
		if strings.Contains(en.Message, "marker-91d2") {
			t.Fatalf("the audit log holds the log's content: %q", en.Message)
		}
	}
	raw, err := os.ReadFile(e.st.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("marker-91d2")) {
		t.Fatal("the uploaded log is in the data file in plain text")
	}

	sUnknown, unknown := e.upload(t, "00112233445566778899aabbccddeeff", "hello")
	sOff, off := e.upload(t, e.bob.DeviceID(), "hello")
	if sUnknown != sOff || !bytes.Equal(unknown, off) {
		t.Fatalf("answers differ:\nunknown device: %d %s\nlogging off:    %d %s", sUnknown, unknown, sOff, off)
	}
	if sOff != http.StatusOK || !bytes.Contains(off, []byte("<Result>FAIL</Result>")) || !bytes.Contains(off, []byte("client logging is off")) {
		t.Fatalf("refusal = %d %s", sOff, off)
	}
	if logs, _ := e.svc.ClientLogs("bob"); len(logs) != 0 {
		t.Fatal("a log was stored for a user with logging off")
	}

	r, err = e.alice.SendClientLog(strings.Repeat("x", core.MaxClientLogUpload+1))
	if err != nil || r.Pass() || !strings.Contains(r.Message, "larger than 32 KiB") {
		t.Fatalf("oversized upload: %+v, %v", r, err)
	}
	sBig, big := e.upload(t, "00112233445566778899aabbccddeeff", strings.Repeat("x", core.MaxClientLogUpload+1))
	if sBig != http.StatusOK || !bytes.Contains(big, []byte("larger than 32 KiB")) {
		t.Fatalf("oversized from an unknown device = %d %s", sBig, big)
	}
}

// Refused uploads cost no durable write: 300 from unknown devices and a
// device with logging off leave the store unwritten, the data file the
// same size and the audit log as it was, until the aggregated refusal
// line is flushed.
func TestServer_ClientLogRefusalsWriteNothing(t *testing.T) {
	e := newLogEnv(t, agentxmltest.NoLimits())
	if err := e.svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	size, writes, logs := fileSize(t, e.st.Path()), e.writes.n.Load(), countLog(t, e.svc)
	for i := 0; i < 300; i++ {
		id := e.bob.DeviceID()
		if i%2 == 0 {
			id = strings.Repeat("ab", 16)
		}
		if status, b := e.upload(t, id, "junk log "+strings.Repeat("z", i)); status != http.StatusOK || !bytes.Contains(b, []byte("FAIL")) {
			t.Fatalf("refusal %d = %d %s", i, status, b)
		}
	}
	if got := e.writes.n.Load(); got != writes {
		t.Fatalf("%d write transactions for refused uploads", got-writes)
	}
	if got := fileSize(t, e.st.Path()); got != size {
		t.Fatalf("the data file grew from %d to %d bytes", size, got)
	}
	if got := countLog(t, e.svc); got != logs {
		t.Fatalf("%d log lines for refused uploads before the flush", got-logs)
	}
	if err := e.svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, e.svc, "300 refused requests from 127.0.0.1 in the last minute: diagnostic log upload from a device that may not send one")
}

// Uploads are limited per source address: with the default limits, the
// fourth at once gets 429 and nothing is stored for it.
func TestServer_ClientLogRateLimit(t *testing.T) {
	e := newLogEnv(t, agentxml.DefaultLimits())
	for i := 0; i < 3; i++ {
		if r, err := e.alice.SendClientLog("log"); err != nil || !r.Pass() {
			t.Fatalf("upload %d: %+v, %v", i, r, err)
		}
	}
	if status, b := e.upload(t, e.alice.DeviceID(), "log"); status != http.StatusTooManyRequests {
		t.Fatalf("fourth upload = %d %s, want 429", status, b)
	}
	if logs, _ := e.svc.ClientLogs("alice"); len(logs) != 3 {
		t.Fatalf("%d logs stored, want 3", len(logs))
	}
}

// A mutual-auth user's phone (#14) uploads its log only with its device
// certificate on the mutual-TLS listener, as it downloads strings;
// without it the answer is the neutral refusal.
func TestServer_ClientLogMutualAuth(t *testing.T) {
	e, _ := mtlsEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	p := core.Profile{Name: "Secure", ClientPolicies: core.DefaultClientPolicies(core.MobileClientPolicy{SupportEmail: "it@example.org"})}
	p.MutualAuth, p.Logging = true, true
	if err := e.svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AssignProfileToUser("Secure", "alice"); err != nil {
		t.Fatal(err)
	}
	m := e.phone(t, "alice")
	if err := m.UseMutualAuth(); err != nil {
		t.Fatal(err)
	}
	if err := m.Provision("Android 15"); err != nil {
		t.Fatal(err)
	}
	r, err := m.SendClientLog("without the certificate")
	if err != nil || r.Pass() || r.Message != core.ErrClientLogRefused.Message {
		t.Fatalf("upload on the normal listener: %+v, %v", r, err)
	}
	cert, err := m.ClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.UseMTLS(e.srv.MTLSAddr().String(), &cert); err != nil {
		t.Fatal(err)
	}
	if r, err := m.SendClientLog("with the certificate"); err != nil || !r.Pass() {
		t.Fatalf("upload on the mutual-TLS listener: %+v, %v", r, err)
	}
	if logs, _ := e.svc.ClientLogs("alice"); len(logs) != 1 || logs[0].Text != "with the certificate" {
		t.Fatalf("stored: %+v", logs)
	}
}
