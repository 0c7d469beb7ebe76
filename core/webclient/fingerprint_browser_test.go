package webclient_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// fingerprintLines reports, for the fingerprint in the element sel, how
// many lines it takes, which of its text pieces ("AB:") a line break cuts
// in two, and its text as copied.
const fingerprintLines = `(() => {
  const el = document.querySelector(%q);
  if (!el) return 'missing';
  const tops = new Set(), split = [];
  for (const n of el.childNodes) {
    if (n.nodeType !== Node.TEXT_NODE) continue;
    const r = document.createRange();
    r.selectNodeContents(n);
    const rects = Array.from(r.getClientRects()).filter(x => x.width > 0);
    if (rects.length !== 1) split.push(n.textContent);
    rects.forEach(x => tops.add(Math.round(x.top)));
  }
  return tops.size + '|' + split.join(' ') + '|' + el.textContent;
})()`

// TestWebClient_FingerprintWrapsBetweenBytes: on a phone's narrow screen
// the certificate fingerprint takes several lines, and each break falls
// after a colon, never inside a byte ("F2:6" / "7:5E" reads as another
// fingerprint to the person comparing it with the console's), on the
// Provision URL page and in the web client alike; what is copied is the
// fingerprint as the console shows it.
func TestWebClient_FingerprintWrapsBetweenBytes(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "alice@example.org")
	ic := w.code(t, "alice")
	phone := newBrowser(t, budget(t))
	check := func(where, sel string) {
		t.Helper()
		got := strings.SplitN(phone.eval(strings.Replace(fingerprintLines, "%q", "'"+sel+"'", 1)), "|", 3)
		if len(got) != 3 {
			t.Fatalf("%s: no fingerprint at %s (%q)", where, sel, got)
		}
		if got[0] == "1" || got[0] == "0" {
			t.Errorf("%s: the fingerprint takes %s line(s) on a phone; the test needs it to wrap", where, got[0])
		}
		if got[1] != "" {
			t.Errorf("%s: a line break cuts %q", where, got[1])
		}
		if got[2] != w.fp {
			t.Errorf("%s: the fingerprint reads %q, want %q", where, got[2], w.fp)
		}
	}
	phone.do(chromedp.Navigate(ic.URL))
	phone.visible("#setup-phone")
	check("Provision URL page", "p.fp")
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	check("web client", "#fp")
}
