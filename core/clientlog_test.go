package core_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

func TestCleanClientLog(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "app opened\nstatus ok", "app opened\nstatus ok"},
		{"CRLF", "a\r\nb\r\n", "a\nb"},
		{"escape sequence", "red \x1b[31mtext\x1b[0m", "red [31mtext[0m"},
		{"NUL and bell", "a\x00b\x07c", "abc"},
		{"tab kept", "a\tb", "a\tb"},
		{"C1 control", "a\u0085b\u009bc", "abc"},
		{"bidi override", "file\u202Etxt.exe", "filetxt.exe"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"blank", " \n\t ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := core.CleanClientLog(tt.in); got != tt.want {
				t.Errorf("CleanClientLog(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// clientLogWorld is a service over a sealed store with alice provisioned
// and on a profile with client logging on; bob is provisioned on the
// Default profile (logging off).
type clientLogWorld struct {
	svc        *core.Service
	clock      *storetest.Clock
	path       string
	alice, bob string // device Ids
}

func newClientLogWorld(t *testing.T) *clientLogWorld {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	st := storetest.MustOpenSealed(t)
	svc := storetest.MustServiceOn(t, st, core.WithClock(clock))
	for _, n := range []string{"alice", "bob"} {
		storetest.MustAddUser(t, svc, n, "1357")
	}
	p := core.Profile{Name: "Diagnostics", ClientPolicies: core.DefaultClientPolicies(svc.Settings().MobileClient)}
	p.SupportEmail = "help@example.org"
	p.Logging = true
	if err := svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := svc.AssignProfileToUser("Diagnostics", "alice"); err != nil {
		t.Fatal(err)
	}
	a, _ := mustProvision(t, svc, "alice")
	b, _ := mustProvision(t, svc, "bob")
	return &clientLogWorld{svc: svc, clock: clock, path: st.Path(), alice: a, bob: b}
}

func TestService_UploadClientLog(t *testing.T) {
	w := newClientLogWorld(t)
	n, err := w.svc.UploadClientLog("10.0.0.5", w.alice, "", "12:00 app opened\r\n12:01 status ok\x1b")
	if err != nil || n != len("12:00 app opened\n12:01 status ok") {
		t.Fatalf("upload = %d, %v", n, err)
	}
	logs, err := w.svc.ClientLogs("ALICE")
	if err != nil || len(logs) != 1 || logs[0].Text != "12:00 app opened\n12:01 status ok" || !logs[0].Time.Equal(w.clock.Now()) {
		t.Fatalf("ClientLogs = %+v, %v", logs, err)
	}
	tail, _ := w.svc.LogTail(1)
	if want := "Client log uploaded by alice (" + strconv.Itoa(n) + " bytes)"; tail[0].Message != want {
		t.Fatalf("audit line %q, want %q", tail[0].Message, want)
	}

	refused := []struct{ name, device, text string }{
		{"unknown device", "00112233445566778899aabbccddeeff", "x"},
		{"logging off", w.bob, "x"},
		{"no device", "", "x"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.svc.UploadClientLog("10.0.0.5", tt.device, "", tt.text)
			if err != core.ErrClientLogRefused {
				t.Fatalf("err = %v, want the neutral refusal", err)
			}
		})
	}
	// Too large or empty: refused before the device is looked at.
	for _, text := range []string{strings.Repeat("x", core.MaxClientLogUpload+1), "\x00\x01 "} {
		if _, err := w.svc.UploadClientLog("10.0.0.5", w.alice, "", text); core.ErrorCode(err) != core.CodeInvalid || err == core.ErrClientLogRefused {
			t.Fatalf("upload of %d bytes: %v", len(text), err)
		}
	}
	// A disabled user's device may not send one either.
	if _, err := w.svc.UpdateUser("alice", func(u *core.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.UploadClientLog("10.0.0.5", w.alice, "", "x"); err != core.ErrClientLogRefused {
		t.Fatalf("disabled: %v", err)
	}
}

// Uploads keep the newest MaxClientLogKept bytes of a user, and a user
// may send ClientLogUploadsPerHour an hour.
func TestService_ClientLogBounds(t *testing.T) {
	w := newClientLogWorld(t)
	chunk := strings.Repeat("0123456789abcdef", core.MaxClientLogUpload/16)
	for i := 0; i < 12; i++ {
		w.clock.Advance(11 * time.Minute) // within the hourly limit
		if _, err := w.svc.UploadClientLog("10.0.0.5", w.alice, "", strconv.Itoa(i)+chunk[len(strconv.Itoa(i)):]); err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
	}
	logs, _ := w.svc.ClientLogs("alice")
	total := 0
	for _, e := range logs {
		total += e.Size()
	}
	if total > core.MaxClientLogKept || len(logs) != core.MaxClientLogKept/core.MaxClientLogUpload {
		t.Fatalf("kept %d logs, %d bytes", len(logs), total)
	}
	if !strings.HasPrefix(logs[0].Text, "11") || !logs[0].Time.After(logs[1].Time) {
		t.Fatalf("newest first: got %.4q first", logs[0].Text)
	}
	w.clock.Advance(2 * time.Hour)
	for i := 0; i < core.ClientLogUploadsPerHour; i++ {
		if _, err := w.svc.UploadClientLog("10.0.0.5", w.alice, "", "burst"); err != nil {
			t.Fatalf("burst %d: %v", i, err)
		}
	}
	if _, err := w.svc.UploadClientLog("10.0.0.5", w.alice, "", "one too many"); err != core.ErrClientLogTooOften {
		t.Fatalf("over the hourly limit: %v", err)
	}
	w.clock.Advance(time.Hour)
	if _, err := w.svc.UploadClientLog("10.0.0.5", w.alice, "", "an hour later"); err != nil {
		t.Fatalf("after an hour: %v", err)
	}
}

// The log is sealed at rest: its text is not in the data file's bytes.
// Clearing deletes it and says so in the audit log.
func TestService_ClientLogSealedAndCleared(t *testing.T) {
	w := newClientLogWorld(t)
	const marker = "diagnostic-marker-5c1f0e77 status ok"
	if _, err := w.svc.UploadClientLog("10.0.0.5", w.alice, "", marker); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "diagnostic-marker-5c1f0e77") {
		t.Fatal("the uploaded log is in the data file in plain text")
	}
	n, err := w.svc.ClearClientLogs("alice")
	if err != nil || n != 1 {
		t.Fatalf("clear = %d, %v", n, err)
	}
	if logs, _ := w.svc.ClientLogs("alice"); len(logs) != 0 {
		t.Fatalf("after clear: %d logs", len(logs))
	}
	tail, _ := w.svc.LogTail(1)
	if want := `Client log of user "alice" cleared (1 upload)`; tail[0].Message != want || tail[0].Actor != "the console" {
		t.Fatalf("audit line %q by %q, want %q by the console", tail[0].Message, tail[0].Actor, want)
	}
	if _, err := w.svc.ClientLogs("nobody"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("unknown user: %v", err)
	}
}
