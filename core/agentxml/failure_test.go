package agentxml_test

import (
	"errors"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

// errUserRead is the internal failure faultyTx injects (storetest.Faulty).
var errUserRead = errors.New("read user: input/output error")

type faultyTx struct{ core.Tx }

func (faultyTx) User(string) (core.User, error) { return core.User{}, errUserRead }

// TestServer_InternalFailuresAreCounted: agent requests that fail inside
// Provisio answer their protocol's failure, and cost no audit write each:
// N failures of one kind are one line after the flush, with the count and
// the error, and the requests tried no write beyond their own.
func TestServer_InternalFailuresAreCounted(t *testing.T) {
	const n = 7
	tests := []struct {
		name     string
		request  func(e *env, otc string) (string, error)
		wantLine string
	}{
		{name: "login",
			request: func(e *env, otc string) (string, error) {
				res, code, err := e.agent.Login("alice", otc)
				return strings.TrimSpace(res + " " + code), err
			},
			wantLine: "AgentXML login request failed 7 times in the last minute, error: " + errUserRead.Error()},
		{name: "exists",
			request: func(e *env, _ string) (string, error) {
				r, err := e.agent.Action("exists", "Username", "alice")
				if err != nil {
					return "", err
				}
				return strings.TrimSpace(r.Result + " " + r.Error), nil
			},
			wantLine: "AgentXML exists request failed 7 times in the last minute, error: " + errUserRead.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &storetest.Faulty{Store: storetest.MustOpen(t), Break: func(tx core.Tx) core.Tx { return faultyTx{tx} }}
			e := newEnvOn(t, st)
			phone := e.provisioned(t, "alice", "9132")
			before := len(logMessages(t, e.svc))
			st.Broken.Store(true)
			writes := st.Writes.Load()
			for i := 0; i < n; i++ {
				otc, _ := phone.OTC("9132")
				got, err := tt.request(e, otc)
				if err != nil || got != "FAIL AGENT_ERROR_GENERAL" {
					t.Fatalf("request %d with a failing store: %q %v; want FAIL AGENT_ERROR_GENERAL", i, got, err)
				}
			}
			// A login is one write transaction (which fails); exists
			// none. Nothing else may be tried for the failures.
			maxWrites := int64(0)
			if tt.name == "login" {
				maxWrites = n
			}
			if got := st.Writes.Load() - writes; got > maxWrites {
				t.Errorf("%d failed requests tried %d writes, want at most %d", n, got, maxWrites)
			}
			st.Broken.Store(false)
			if got := logMessages(t, e.svc)[before:]; len(got) != 0 {
				t.Errorf("failed requests wrote %d lines before the flush: %q", len(got), got)
			}
			if err := e.svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			got := logMessages(t, e.svc)[before:]
			if len(got) != 1 || got[0] != tt.wantLine {
				t.Errorf("after the flush the log has %q; want the one line %q", got, tt.wantLine)
			}
		})
	}
}

// newEnvOn is newEnv over the store st.
func newEnvOn(t *testing.T, st core.Store) *env {
	t.Helper()
	svc := storetest.MustServiceOn(t, st)
	if err := svc.SetSetting("server.siteid", "office-1"); err != nil {
		t.Fatal(err)
	}
	if err := svc.PutAgent(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: agentSecret}); err != nil {
		t.Fatal(err)
	}
	srv, fp := agentxmltest.MustServer(t, svc)
	ac, err := agentxmltest.NewAgentClient(srv.URL(), fp, agentSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, srv: srv, fp: fp, agent: ac}
}

// logMessages is every audit log line's message, oldest first.
func logMessages(t *testing.T, svc *core.Service) []string {
	t.Helper()
	logs, err := svc.Logs(0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(logs))
	for i, e := range logs {
		out[i] = e.Message
	}
	return out
}
