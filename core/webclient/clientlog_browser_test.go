package webclient_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"provisio/core"
)

// With client logging on in the user's profile (#14), the web client
// keeps a diagnostic log of its own events and its Help section has
// "Send diagnostic log": a tap uploads it and the page says "Sent"; the
// server keeps it under the user, without the device Id or any string.
// When the profile's logging is turned off meanwhile, a tap gets a clear
// sentence instead. A user whose profile has logging off sees no button.
func TestWebClient_SendDiagnosticLog(t *testing.T) {
	w := newWorld(t)
	p := core.Profile{Name: "Diagnostics", ClientPolicies: core.DefaultClientPolicies(w.svc.Settings().MobileClient)}
	p.Logging = true
	if err := w.svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	w.addUser(t, "lena", "9132", "")
	w.addUser(t, "omar", "9132", "")
	if err := w.svc.AssignProfileToUser("Diagnostics", "lena"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, budget(t))

	phone := b.another()
	phone.do(chromedp.Navigate(w.code(t, "lena").URL))
	phone.visible("#setup-phone")
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	phone.visible("#send-log")
	phone.do(chromedp.Tap(chromedp.CSS("#send-log")))
	phone.waitText("#diag-status", "Sent")
	if dir := os.Getenv("PROVISIO_WEB_SHOTS"); dir != "" {
		phone.do(chromedp.ScrollIntoView(chromedp.CSS("#diag")))
		phone.screenshot(dir, "phone-diag-light.png")
	}

	logs, err := w.svc.ClientLogs("lena")
	if err != nil || len(logs) != 1 {
		t.Fatalf("logs of lena = %d, %v", len(logs), err)
	}
	text := logs[0].Text
	for _, want := range []string{"app opened: ", "status: ok, ", "diagnostic log sent from "} {
		if !strings.Contains(text, want) {
			t.Errorf("the log lacks %q:\n%s", want, text)
		}
	}
	u, _ := w.svc.User("lena")
	stored := phone.eval(`ProvisioStore.load().then(function (s) { return s.deviceId + ';' + s.strings.join(';'); })`)
	for _, secret := range strings.Split(stored, ";") {
		if secret != "" && strings.Contains(text, secret) {
			t.Fatalf("the log holds the device Id or a string (%s)", secret)
		}
	}
	if u.DeviceID == "" {
		t.Fatal("lena has no device")
	}

	// Logging turned off on the server while the page is open: the tap
	// gets the server's sentence.
	if err := w.svc.SetProfileValue("Diagnostics", "logging", "no"); err != nil {
		t.Fatal(err)
	}
	phone.do(chromedp.Tap(chromedp.CSS("#send-log")))
	phone.waitText("#diag-status", "Not sent: This server does not accept a diagnostic log from this device")
	if logs, _ := w.svc.ClientLogs("lena"); len(logs) != 1 {
		t.Fatalf("%d logs after a refused upload", len(logs))
	}

	// A user on the Default profile (logging off) has no button.
	other := b.another()
	other.do(chromedp.Navigate(w.code(t, "omar").URL))
	other.visible("#setup-phone")
	other.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	other.visible("#pin-view")
	if got := other.eval(`String(document.getElementById('diag').hidden)`); got != "true" {
		t.Fatalf("diagnostic section shown with logging off: %s", got)
	}
	if got := other.eval(`ProvisioStore.load().then(function (s) { return String(!!s.diag); })`); got != "false" {
		t.Fatal("the phone kept a diagnostic log with logging off")
	}
}

// waitText waits until the element's text starts with want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		if got = b.text(sel); strings.HasPrefix(got, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("%s says %q, want %q", sel, got, want)
}
