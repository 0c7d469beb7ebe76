package agentxml_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
)

// A download for a disabled, locked or no-right user's device, which
// anyone holding a lost phone's Id can repeat, costs no write
// transaction: it keeps the answer protocol.md gives it, is counted in
// memory and charged to the refused-request bucket like an unknown Id,
// so past the bucket the source gets 429 before its request is read,
// and the administrator sees one aggregated line per reason.
func TestServer_SecurityStringsRefusedForUserStateWriteNothing(t *testing.T) {
	const burst = 10
	tests := []struct {
		name   string
		change func(u *core.User)
		error  string // the <Error> of the reply, as before
		reason string
	}{
		{"locked", func(u *core.User) { u.Locked = true }, "AGENT_ERROR_USER_LOCKED",
			`security-string download refused: User "bob" is locked.`},
		{"disabled", func(u *core.User) { u.Disabled = true }, "AGENT_ERROR_USER_DISABLED",
			`security-string download refused: User "bob" is disabled.`},
		{"no mobile right", func(u *core.User) { u.MobileAllowed = false }, "AGENT_ERROR_USER_NOT_IN_GROUP",
			`security-string download refused: User "bob" may not use the mobile client.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limits := agentxmltest.NoLimits()
			limits.Refused = agentxml.Rate{PerSecond: 0.001, Burst: burst}
			e := newLogEnv(t, limits)
			if _, err := e.svc.UpdateUser("bob", func(u *core.User) error { tt.change(u); return nil }); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			hc, err := agentxmltest.PinnedClient(e.fp)
			if err != nil {
				t.Fatal(err)
			}
			req := agentxmltest.SASRequest("Version", "3.6", "Action", "securitystrings", "Id", e.bob.DeviceID())
			size, writes, logs := fileSize(t, e.st.Path()), e.writes.n.Load(), countLog(t, e.svc)
			var answered, limited int
			for i := range 100 {
				resp, err := hc.Post(e.srv.URL()+"/proxy/AgentXML", "application/xml", strings.NewReader(req))
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				switch resp.StatusCode {
				case http.StatusOK:
					want := "<Error>" + tt.error + "</Error>"
					if limited > 0 || !bytes.Contains(b, []byte("<Result>FAIL</Result>")) || !bytes.Contains(b, []byte(want)) || bytes.Contains(b, []byte("<SecurityStrings>")) {
						t.Fatalf("request %d (after %d answers of 429): %s, want FAIL %s", i, limited, b, want)
					}
					answered++
				case http.StatusTooManyRequests:
					limited++
				default:
					t.Fatalf("request %d = %d %s", i, resp.StatusCode, b)
				}
			}
			if answered != burst || limited != 100-burst {
				t.Fatalf("%d answered and %d limited, want %d and %d", answered, limited, burst, 100-burst)
			}
			if got := e.writes.n.Load(); got != writes {
				t.Fatalf("%d write transactions for 100 refused downloads", got-writes)
			}
			if got := fileSize(t, e.st.Path()); got != size {
				t.Fatalf("the data file grew from %d to %d bytes", size, got)
			}
			if got := countLog(t, e.svc); got != logs {
				t.Fatalf("%d log lines before the flush", got-logs)
			}
			if err := e.svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			wantLog(t, e.svc,
				fmt.Sprintf("%d refused requests from 127.0.0.1 in the last minute: %s", burst, tt.reason),
				fmt.Sprintf("%d refused requests from 127.0.0.1 in the last minute: rate limited", 100-burst))
			if got := countLog(t, e.svc); got != logs+2 {
				t.Fatalf("the flush wrote %d lines, want 2", got-logs)
			}
		})
	}
}

// TestServer_SecurityStringsLineNamesTheAddress: the audit line of a
// download over AgentXML names the phone's source address, as the lines
// of a provision and of a self-service request do, and holds no string.
func TestServer_SecurityStringsLineNamesTheAddress(t *testing.T) {
	e := newEnv(t)
	m := e.provisioned(t, "alice", "9132")
	entries, err := e.svc.LogTail(50)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, le := range entries {
		if !strings.Contains(le.Message, "Security strings fetched") {
			continue
		}
		found++
		if le.Actor != "a phone at 127.0.0.1" {
			t.Errorf("download line %q: actor %q, want %q", le.Message, le.Actor, "a phone at 127.0.0.1")
		}
		for _, s := range m.Strings() {
			if strings.Contains(le.Message+le.Actor, string(s[:])) {
				t.Errorf("download line %q holds a security string", le.Message)
			}
		}
	}
	if found != 1 {
		t.Fatalf("%d download lines, want 1", found)
	}
}
