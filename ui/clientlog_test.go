package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"provisio/core"
)

// The console shows a user's uploaded diagnostic logs (#14): the Edit
// form sums them up, Client log… lists them newest first with time and
// size, shows the selected one, copies it with where it came from, and
// clears them after a confirmation, which the audit log records. A new
// upload while the dialog is open appears in it.
func TestClientLogView(t *testing.T) {
	h := newHarness(t)
	r := h.listUser("alice")
	p := core.Profile{Name: "Diagnostics", ClientPolicies: core.DefaultClientPolicies(h.svc.Settings().MobileClient)}
	p.SupportEmail, p.Logging = "help@example.org", true
	if err := h.svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.AssignProfileToUser("Diagnostics", "alice"); err != nil {
		t.Fatal(err)
	}
	ic, err := h.svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	prov, err := h.svc.Provision("127.0.0.1", "alice", ic.Code, "Android 15")
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"09:00 app opened\n09:00 status: ok", "09:05 download failed: offline"} {
		if _, err := h.svc.UploadClientLog("127.0.0.1", prov.DeviceID, "", text); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(5 * time.Minute)
	}
	h.settle()

	h.c.users.openForm(&r.User)
	f := h.c.users.form
	if f == nil || f.clientLog == nil || !strings.HasPrefix(f.clientLog.Text, "Client log: 2 uploads (") {
		t.Fatalf("form summary = %q", f.clientLog.Text)
	}
	test.Tap(f.clientLogBtn)
	v := h.c.clientLog
	if v == nil {
		t.Fatal("Client log… opened nothing")
	}
	if len(v.entries) != 2 || v.list.Length() != 2 {
		t.Fatalf("%d logs listed", len(v.entries))
	}
	if v.text.Text != "09:05 download failed: offline" || !strings.HasPrefix(v.summary.Text, "2 uploads") {
		t.Fatalf("newest first: shown %q (%s)", v.text.Text, v.summary.Text)
	}
	if got := clientLogTitle(v.entries[1]); got != "2025-06-02 09:00:00 — 33 bytes" {
		t.Fatalf("older log's title = %q", got)
	}
	v.list.Select(1)
	if v.text.Text != "09:00 app opened\n09:00 status: ok" {
		t.Fatalf("selected older log shows %q", v.text.Text)
	}
	test.Tap(v.copyBtn)
	if got := h.c.app.Clipboard().Content(); !strings.Contains(got, "Client log of alice, uploaded 2025-06-02 09:00:00") || !strings.HasSuffix(got, "09:00 status: ok\n") {
		t.Fatalf("clipboard = %q", got)
	}

	// A new upload while the dialog is open shows at once.
	if _, err := h.svc.UploadClientLog("127.0.0.1", prov.DeviceID, "", "09:10 sent again"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the new log", func() bool { return len(v.entries) == 3 && v.text.Text == "09:10 sent again" })

	test.Tap(v.clearBtn)
	if v.confirm == nil {
		t.Fatal("Clear did not ask first")
	}
	v.confirm.Confirm()
	h.settle()
	if len(v.entries) != 0 || !strings.HasPrefix(v.summary.Text, "No diagnostic log uploaded.") || !v.copyBtn.Disabled() {
		t.Fatalf("after Clear: %d logs, %q", len(v.entries), v.summary.Text)
	}
	if logs, _ := h.svc.ClientLogs("alice"); len(logs) != 0 {
		t.Fatal("Clear left logs in the store")
	}
	tail, _ := h.svc.LogTail(5)
	found := false
	for _, e := range tail {
		found = found || e.Message == `Client log of user "alice" cleared (3 uploads)` && e.Actor == "the console"
	}
	if !found {
		t.Fatal("the audit log does not record the Clear")
	}
	v.dlg.Hide()
	if h.c.clientLog != nil {
		t.Fatal("the closed dialog is still registered")
	}
}
