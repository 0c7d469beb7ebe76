package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestAttached_LiveUsersReprovisionAndEvents drives the attached console
// headless over the in-process admin API on a real store: it lists the
// users, issues a code from the window, and shows the phone's
// provisioning as it happens; the status bar says it is attached.
func TestAttached_LiveUsersReprovisionAndEvents(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	if _, err := svc.AddUser(core.User{Name: "alice", FullName: "Alice Smith", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	queue := make(chan func(), 1024)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	at := NewAttached(w, AttachedDeps{API: core.LocalAdmin{Svc: svc, Operator: "test"}, DataDir: "/tmp/x", do: func(fn func()) { queue <- fn }})
	t.Cleanup(at.Close)
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for !cond() {
			select {
			case fn := <-queue:
				fn()
			case <-time.After(5 * time.Millisecond):
			case <-deadline:
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	if at.state.Text != AttachedState || !strings.HasPrefix(at.status.Text, attachedNote) {
		t.Errorf("status bar %q %q", at.state.Text, at.status.Text)
	}
	waitFor("alice listed", func() bool { return len(at.users) == 1 && at.users[0].Name == "alice" })
	if line := attachedUserLine(at.users[0]); line != "alice · Alice Smith · no device" {
		t.Errorf("row %q", line)
	}
	if !at.reprovBtn.Disabled() {
		t.Error("Reprovision is enabled with no user selected")
	}
	at.userList.Select(0)
	test.Tap(at.reprovBtn)
	waitFor("the code dialog", func() bool { return at.issued.Code != "" })
	if !strings.Contains(at.issuedBox.Text, groupCode(at.issued.Code)) || !strings.Contains(at.issuedBox.Text, at.issued.URL) {
		t.Errorf("dialog %q", at.issuedBox.Text)
	}
	waitFor("pending code in the list", func() bool { return len(at.users) == 1 && at.users[0].PendingUntil != nil })
	if at.selected != 0 || at.reprovBtn.Disabled() {
		t.Error("the reload after the new code lost the selection")
	}

	// A phone provisions elsewhere: the window shows it live.
	if _, err := svc.Provision("127.0.0.1", "alice", at.issued.Code, "TestOS"); err != nil {
		t.Fatal(err)
	}
	waitFor("Device provisioned in the activity", func() bool {
		for _, l := range at.Activity() {
			if strings.HasSuffix(l, "Device provisioned: alice (TestOS)") {
				return true
			}
		}
		return false
	})
	waitFor("the device in the list", func() bool {
		return len(at.users) == 1 && strings.Contains(attachedUserLine(at.users[0]), "provisioned ") && strings.HasSuffix(attachedUserLine(at.users[0]), "(TestOS)")
	})
	for _, l := range at.Activity() {
		if strings.Contains(l, at.issued.Code) {
			t.Errorf("the code is in the activity list: %q", l)
		}
	}
}
