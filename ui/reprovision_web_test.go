package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/webclient"
)

// TestReprovision_WebClientShowsBrowser: a phone's browser that taps "Set
// up this phone" turns the dialog to "Device provisioned (web, …)".
func TestReprovision_WebClientShowsBrowser(t *testing.T) {
	h := newHarness(t)
	_, fingerprint := agentxmltest.MustServer(t, h.svc, func(o *agentxml.Options) {
		o.Portal = webclient.New(h.svc, webclient.Options{})
	})
	d := h.openFor("alice")
	u, err := url.Parse(d.issued.URL)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := agentxmltest.PinnedClient(fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"username": {"alice"}, "code": {d.issued.Code}}
	req, _ := http.NewRequest(http.MethodPost, u.Scheme+"://"+u.Host+"/userportal/setup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h.waitFor("provisioned status", func() bool { return d.status.Text == "Device provisioned (web, Chrome 131 on Android 14)" })
}
