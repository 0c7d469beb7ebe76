package agentxml_test

import (
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

const (
	agentSecret  = "vpn-shared-secret"
	remoteSecret = "remote-shared-secret"
	wantCT       = "application/xml; charset=utf-8"
	wantProlog   = `<?xml version="1.0" encoding="UTF-8"?>`
)

// env is a running server over a real bbolt store, with one agent on
// 127.0.0.1 ("vpn") and one that may only call from 10.9.9.9 ("remote").
type env struct {
	svc   *core.Service
	srv   *agentxml.Server
	fp    string
	agent *agentxmltest.AgentClient
}

func newEnv(t testing.TB, opts ...core.Option) *env {
	t.Helper()
	return newEnvWith(t, nil, opts...)
}

func newEnvWith(t testing.TB, srvOpts []agentxmltest.Option, opts ...core.Option) *env {
	t.Helper()
	svc := storetest.MustService(t, opts...)
	if err := svc.SetSetting("server.siteid", "office-1"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []core.Agent{
		{Name: "vpn", Host: "127.0.0.1", Secret: agentSecret},
		{Name: "remote", Host: "10.9.9.9", Secret: remoteSecret},
	} {
		if err := svc.PutAgent(a); err != nil {
			t.Fatal(err)
		}
	}
	srv, fp := agentxmltest.MustServer(t, svc, srvOpts...)
	ac, err := agentxmltest.NewAgentClient(srv.URL(), fp, agentSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, srv: srv, fp: fp, agent: ac}
}

// provisioned adds a user with pin and returns a phone that has
// provisioned and downloaded strings.
func (e *env) provisioned(t testing.TB, name, pin string) *agentxmltest.MobileClient {
	t.Helper()
	storetest.MustAddUser(t, e.svc, name, pin)
	return e.reprovision(t, name)
}

// reprovision creates a code for an existing user and provisions a new
// phone with it.
func (e *env) reprovision(t testing.TB, name string) *agentxmltest.MobileClient {
	t.Helper()
	m := e.phone(t, name)
	if err := m.Provision("Android 15"); err != nil {
		t.Fatalf("provision %s: %v", name, err)
	}
	if err := m.DownloadStrings(); err != nil {
		t.Fatalf("download strings for %s: %v", name, err)
	}
	return m
}

// phone creates a provision code and a phone holding its URL.
func (e *env) phone(t testing.TB, name string) *agentxmltest.MobileClient {
	t.Helper()
	ic, err := e.svc.CreateProvisionCode(name)
	if err != nil {
		t.Fatalf("create provision code for %s: %v", name, err)
	}
	m, err := agentxmltest.NewMobileClient(ic.URL, e.fp)
	if err != nil {
		t.Fatalf("mobile client: %v", err)
	}
	return m
}

// wantLog fails unless a recent audit log entry contains each line.
func wantLog(t testing.TB, svc *core.Service, lines ...string) {
	t.Helper()
	entries, err := svc.LogTail(200)
	if err != nil {
		t.Fatal(err)
	}
next:
	for _, want := range lines {
		for _, e := range entries {
			if strings.Contains(e.Message, want) {
				continue next
			}
		}
		var got []string
		for _, e := range entries[max(0, len(entries)-15):] {
			got = append(got, e.Message)
		}
		t.Errorf("log lacks %q; last entries:\n%s", want, strings.Join(got, "\n"))
	}
}

// wantRefused flushes the counted refusals and fails unless the log has
// an aggregated line for each reason.
func wantRefused(t testing.TB, svc *core.Service, reasons ...string) {
	t.Helper()
	if err := svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	lines := make([]string, len(reasons))
	for i, r := range reasons {
		lines[i] = " in the last minute: " + r
	}
	wantLog(t, svc, lines...)
}

// failCode returns the protocol error of a *FailError, or "!" + err for
// any other error, so table tests can compare one string.
func failCode(err error) string {
	if err == nil {
		return "PASS"
	}
	if fe, ok := err.(*agentxmltest.FailError); ok {
		return "FAIL " + fe.Code
	}
	return "!" + err.Error()
}
