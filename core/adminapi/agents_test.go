package adminapi_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/adminapi"
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
// agent form was open, or the attached console's Add agent form with the
// secret left empty, which sends the same request) asks for a secret in
// the console's words, as the local console's form does; it said "The
// shared secret needs at least 8 characters." of a secret nobody typed,
// then "There is no agent … to keep the shared secret of", which spoke
// of keeping to someone adding an agent. Nothing is created.
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
	want := "Enter a shared secret for the agent."
	if resp.StatusCode != http.StatusBadRequest || got.Error.Field != "secret" || got.Error.Message != want {
		t.Errorf("%s %s\nwant 400, field secret, %q", resp.Status, b, want)
	}
	if len(svc.Agents()) != 0 {
		t.Errorf("an agent was created: %+v", svc.Agents())
	}
}

// TestConsole_AddAgentWithoutSecret: the attached console's Add agent
// form with the secret left empty is told, beside the secret field, what
// the local console's form is told (ui's TestAgentForm_Validation),
// and nothing is created.
func TestConsole_AddAgentWithoutSecret(t *testing.T) {
	svc, sock := newServer(t)
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	err = adminapi.NewConsole(c).PutAgent(core.Agent{Name: "web", Host: "127.0.0.2", Modes: []string{core.AgentModeMobile}})
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Field != "secret" || ce.Message != "Enter a shared secret for the agent." {
		t.Errorf("got %v (%+v); want field secret: %q", err, ce, "Enter a shared secret for the agent.")
	}
	if len(svc.Agents()) != 0 {
		t.Errorf("an agent was created: %+v", svc.Agents())
	}
}
