package adminapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"provisio/core"
)

// TestHandler_PutAgentAnswersTheAgentSaved: agent names are kept as
// given (the store keys them exactly, and "vpn" and "VPN" are two
// agents), so PUT /v1/agents/VPN answers VPN as saved. It answered
// whichever agent of that name in any case came last, here "vpn", so a
// script (and 'provisio agent add VPN') was shown another agent's host.
func TestHandler_PutAgentAnswersTheAgentSaved(t *testing.T) {
	svc, sock := newServer(t)
	if err := svc.PutAgent(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1"}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, "http://provisio/v1/agents/VPN",
		strings.NewReader(`{"host": "127.0.0.3", "secret": "vpn-secret-2", "helpdesk": true}`))
	resp, err := unixClient(sock).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct {
		Name, Host string
		Helpdesk   bool
	}
	if err := json.Unmarshal(b, &got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s", resp.Status, b)
	}
	if got.Name != "VPN" || got.Host != "127.0.0.3" || !got.Helpdesk {
		t.Errorf("answered %s, want the agent saved: VPN at 127.0.0.3 with the helpdesk right", b)
	}
}

// TestHandler_PutAgentKeepSecretOfNoAgent: keeping the stored secret of
// an agent that is not there (deleted by another console while the Edit
// agent form was open) says so; it said "The shared secret needs at
// least 8 characters." of a secret nobody typed. Nothing is created.
func TestHandler_PutAgentKeepSecretOfNoAgent(t *testing.T) {
	svc, sock := newServer(t)
	req, _ := http.NewRequest(http.MethodPut, "http://provisio/v1/agents/ghost",
		strings.NewReader(`{"host": "127.0.0.1", "keep_secret": true}`))
	resp, err := unixClient(sock).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct {
		Error struct{ Code, Field, Message string }
	}
	_ = json.Unmarshal(b, &got)
	want := `There is no agent "ghost" to keep the shared secret of; enter a shared secret to add it.`
	if resp.StatusCode != http.StatusBadRequest || got.Error.Field != "secret" || got.Error.Message != want {
		t.Errorf("%s %s\nwant 400, field secret, %q", resp.Status, b, want)
	}
	if len(svc.Agents()) != 0 {
		t.Errorf("an agent was created: %+v", svc.Agents())
	}
}
