package adminapi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/backup"
	"provisio/core/certs"
	"provisio/core/mailer"
	"provisio/core/oathkey"
	"provisio/core/store"
)

// docs/admin-api.md is executable: every ```http block that starts with
// a request line is sent, in order, to a real Server on a Unix socket over
// a real data file, and the ```http block after it (starting "HTTP/1.1")
// must match the answer's status and JSON. In an expected JSON body the
// string "..." matches any value, a string ending in "..." any string
// that starts with the rest, and "..." as the last element of an
// array matches any further elements. The event stream (GET /v1/events)
// is opened before the first example; its documented events must arrive,
// in that order, among the events the examples caused. After a
// reprovision example the test provisions a phone with the code it
// returned, as the document says.

const adminDoc = "../../docs/admin-api.md"

type example struct {
	line               int
	method, path       string
	reqBody            string
	status             int
	respHead, respBody string
}

func readExamples(t *testing.T) []example {
	t.Helper()
	f, err := os.Open(adminDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []struct {
		line int
		text string
	}
	sc := bufio.NewScanner(f)
	n, in, start := 0, false, 0
	var buf []string
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case !in && l == "```http":
			in, start, buf = true, n, nil
		case in && l == "```":
			in = false
			blocks = append(blocks, struct {
				line int
				text string
			}{start, strings.Join(buf, "\n")})
		case in:
			buf = append(buf, l)
		}
	}
	var out []example
	for i := 0; i+1 < len(blocks); i += 2 {
		req, resp := blocks[i], blocks[i+1]
		rh, rb, _ := strings.Cut(req.text, "\n\n")
		first := strings.Fields(strings.SplitN(rh, "\n", 2)[0])
		sh, sb, _ := strings.Cut(resp.text, "\n\n")
		sf := strings.Fields(strings.SplitN(sh, "\n", 2)[0])
		if len(first) < 2 || len(sf) < 2 || sf[0] != "HTTP/1.1" {
			t.Fatalf("%s:%d: a request block must be followed by a response block", adminDoc, req.line)
		}
		status, err := strconv.Atoi(sf[1])
		if err != nil {
			t.Fatalf("%s:%d: bad status line", adminDoc, resp.line)
		}
		out = append(out, example{line: req.line, method: first[0], path: first[1], reqBody: rb, status: status, respHead: sh, respBody: sb})
	}
	if len(out) < 8 {
		t.Fatalf("%s has %d examples; expected the whole API", adminDoc, len(out))
	}
	return out
}

// match reports whether got fits want, with "..." as a wildcard.
func match(want, got any) bool {
	switch w := want.(type) {
	case string:
		if w == "..." {
			return true
		}
		g, ok := got.(string)
		if p, cut := strings.CutSuffix(w, "..."); cut {
			return ok && strings.HasPrefix(g, p)
		}
		return ok && g == w
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok || !match(v, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok {
			return false
		}
		if len(w) > 0 && w[len(w)-1] == "..." {
			if len(g) < len(w)-1 {
				return false
			}
			w, g = w[:len(w)-1], g[:len(w)-1]
		}
		if len(g) != len(w) {
			return false
		}
		for i := range w {
			if !match(w[i], g[i]) {
				return false
			}
		}
		return true
	default:
		b1, _ := json.Marshal(want)
		b2, _ := json.Marshal(got)
		return bytes.Equal(b1, b2)
	}
}

// newServer opens a real data file in a temp dir and serves the API on
// its admin socket.
// pinOnStream finds the documentation's PIN, 9132, standing alone.
var pinOnStream = regexp.MustCompile(`(^|[^0-9.])9132($|[^0-9])`)

func newServer(t *testing.T) (*core.Service, string) {
	t.Helper()
	dir, keyDir := t.TempDir(), t.TempDir()
	st, err := store.Open(dir, store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// OATH keys as the program wires them (app/env.go).
	svc, err := core.NewService(st, core.WithOATHKeys(oathkey.Keys{}))
	if err != nil {
		t.Fatal(err)
	}
	// The backup engine the program wires (app/cli_data.go), over this
	// store and its data key.
	svc.SetBackupWriter(&backup.Engine{Snapshot: func(w io.Writer) (map[string]int, uint64, string, error) {
		info, err := st.Snapshot(w)
		return info.Counts, info.LogLast, info.LogHead, err
	}, Files: map[string]string{backup.KeyName: filepath.Join(keyDir, store.KeyFileName)}})
	// The mail transport's tools, as app wires them, for the test send.
	svc.SetMailTools(mailer.Tools{})
	// And what the program reports of the server it runs (app/env.go).
	svc.SetServerStatus(func() core.ServerStatus {
		return core.ServerStatus{URLs: []string{"https://192.0.2.10:8443"},
			Certificate: core.CertificateStatus{Fingerprint: "AB:CD", Names: []string{"192.0.2.10"}, NotAfter: time.Date(2036, 11, 30, 0, 0, 0, 0, time.UTC)},
			Store:       core.StoreStatus{Where: filepath.Join(dir, store.FileName)},
			DataDir:     dir, KeyDir: keyDir}
	})
	sock := filepath.Join(dir, adminapi.SocketName)
	srv, err := adminapi.Listen(sock, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	// The remote listener too, so a pairing code shows its address and
	// certificate as in production.
	cert, err := certs.LoadOrCreateIn(dir, keyDir, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	remote, err := adminapi.ListenRemote("127.0.0.1:0", svc, adminapi.RemoteOptions{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil },
		CA:             certs.NewConsoleCA(keyDir)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { remote.Close() })
	svc.SetConsoleEndpoint(remote.Addr(), func() string { return certs.Fingerprint(cert) })
	return svc, sock
}

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

func TestAdminAPIDoc(t *testing.T) {
	svc, sock := newServer(t)
	hc := unixClient(sock)
	examples := readExamples(t)

	// The stream is open before anything happens.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://provisio/v1/events", nil)
	stream, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if ct := stream.Header.Get("Content-Type"); stream.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("events: %s %q", stream.Status, ct)
	}
	events := make(chan adminapi.Event, 256)
	var raw bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		adminapi.ReadEvents(io.TeeReader(stream.Body, &raw), func(e adminapi.Event) bool {
			select {
			case events <- e:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()

	for _, ex := range examples {
		if ex.path == "/v1/events" {
			checkEvents(t, ex, events)
			continue
		}
		var body io.Reader
		if ex.reqBody != "" {
			body = strings.NewReader(ex.reqBody)
		}
		r, _ := http.NewRequest(ex.method, "http://provisio"+ex.path, body)
		resp, err := hc.Do(r)
		if err != nil {
			t.Fatalf("%s:%d: %v", adminDoc, ex.line, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != ex.status {
			t.Errorf("%s:%d: %s %s: status %d, the document says %d\n%s", adminDoc, ex.line, ex.method, ex.path, resp.StatusCode, ex.status, got)
			continue
		}
		if strings.Contains(ex.respHead, "application/octet-stream") {
			checkBackupAnswer(t, ex, resp, got)
			continue
		}
		if ex.respBody == "" {
			if len(bytes.TrimSpace(got)) != 0 {
				t.Errorf("%s:%d: expected no body, got %s", adminDoc, ex.line, got)
			}
			continue
		}
		var want, have any
		if err := json.Unmarshal([]byte(ex.respBody), &want); err != nil {
			t.Fatalf("%s:%d: the documented response is not JSON: %v", adminDoc, ex.line, err)
		}
		if err := json.Unmarshal(got, &have); err != nil || !match(want, have) {
			t.Errorf("%s:%d: %s %s answered\n%s\nthe document says\n%s", adminDoc, ex.line, ex.method, ex.path, got, ex.respBody)
		}
		// A phone uses the code just issued, as the document describes.
		if strings.HasSuffix(ex.path, "/reprovision") && resp.StatusCode == 201 {
			var ic adminapi.Issued
			if err := json.Unmarshal(got, &ic); err != nil || ic.Code == "" {
				t.Fatalf("reprovision answer %s", got)
			}
			if _, err := svc.Provision("127.0.0.1", ic.User, ic.Code, "Android"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// No secret on the stream: not the PIN, nor any code. The stream ends
	// first, so its reader no longer writes raw.
	cancel()
	<-readDone
	// The PIN as a number of its own: "9132" inside a timestamp's
	// nanoseconds (…16.191320643Z, 1 run in 5) is no PIN.
	if s := raw.String(); pinOnStream.MatchString(s) || strings.Contains(s, `"code"`) {
		t.Errorf("the event stream carries a secret:\n%s", s)
	}
}

// checkEvents waits for each documented event, in order, on the stream.
func checkEvents(t *testing.T, ex example, events <-chan adminapi.Event) {
	t.Helper()
	if ex.status != 200 || !strings.Contains(ex.respHead, "text/event-stream") {
		t.Errorf("%s:%d: the events example must answer 200 text/event-stream", adminDoc, ex.line)
	}
	var wants []any
	for _, l := range strings.Split(ex.respBody, "\n") {
		if d, ok := strings.CutPrefix(l, "data: "); ok {
			var w any
			if err := json.Unmarshal([]byte(d), &w); err != nil {
				t.Fatalf("%s:%d: event data is not JSON: %v", adminDoc, ex.line, err)
			}
			wants = append(wants, w)
		}
	}
	timeout := time.After(10 * time.Second)
	var seen []string
	for i := 0; i < len(wants); {
		select {
		case e := <-events:
			b, _ := json.Marshal(e)
			var have any
			_ = json.Unmarshal(b, &have)
			seen = append(seen, string(b))
			if match(wants[i], have) {
				i++
			}
		case <-timeout:
			w, _ := json.Marshal(wants[i])
			t.Fatalf("%s:%d: event %s never came; the stream had:\n%s", adminDoc, ex.line, w, strings.Join(seen, "\n"))
		}
	}
}

// checkBackupAnswer checks a binary backup answer as the document
// describes it: the headers it lists, a body that starts with the
// documented lines (up to "..."), both trailers, and an age file that
// the request's passphrase decrypts into a backup whose manifest counts
// the users the examples made.
func checkBackupAnswer(t *testing.T, ex example, resp *http.Response, got []byte) {
	t.Helper()
	for _, l := range strings.Split(ex.respHead, "\n")[1:] {
		k, v, _ := strings.Cut(l, ": ")
		if k == "Trailer" {
			// The client moves the announced names into resp.Trailer.
			for _, name := range strings.Split(v, ", ") {
				if _, ok := resp.Trailer[http.CanonicalHeaderKey(name)]; !ok {
					t.Errorf("%s:%d: trailer %s missing", adminDoc, ex.line, name)
				}
			}
			continue
		}
		if resp.Header.Get(k) != v {
			t.Errorf("%s:%d: header %s is %q, the document says %q", adminDoc, ex.line, k, resp.Header.Get(k), v)
		}
	}
	prefix, _ := strings.CutSuffix(ex.respBody, "...")
	if !bytes.HasPrefix(got, []byte(prefix)) {
		t.Errorf("%s:%d: the backup starts %q, the document says %q", adminDoc, ex.line, got[:min(len(got), 40)], prefix)
	}
	if resp.Trailer.Get(adminapi.TrailerBackupUsers) == "" || resp.Trailer.Get(adminapi.TrailerBackupLogLast) == "" {
		t.Errorf("%s:%d: no trailers: %v", adminDoc, ex.line, resp.Trailer)
	}
	var req struct{ Passphrase string }
	if err := json.Unmarshal([]byte(ex.reqBody), &req); err != nil {
		t.Fatal(err)
	}
	id, err := backup.PassphraseIdentity(req.Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	m, members, err := backup.Read(bytes.NewReader(got), id)
	if err != nil {
		t.Fatalf("%s:%d: the backup does not read back: %v", adminDoc, ex.line, err)
	}
	if len(members[backup.DataName]) == 0 || strconv.Itoa(m.Counts["users"]) != resp.Trailer.Get(adminapi.TrailerBackupUsers) {
		t.Errorf("%s:%d: manifest counts %v, trailer %v", adminDoc, ex.line, m.Counts, resp.Trailer)
	}
}

// apiError reads resp's body, and closes it, as the admin API's JSON
// error: its code and message, and the body itself for a test's message.
// A body that is not one fails the test.
func apiError(t *testing.T, resp *http.Response) (code, message string, body []byte) {
	t.Helper()
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: %.300s is not a JSON error", resp.Status, body)
	}
	return got.Error.Code, got.Error.Message, body
}
