package webclient_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/qr"
)

// plainText returns the decoded text/plain part of a captured message.
func plainText(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	var walk func(ct string, body io.Reader) string
	walk = func(ct string, body io.Reader) string {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			return ""
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					return ""
				}
				if s := walk(p.Header.Get("Content-Type"), p); s != "" {
					return s
				}
			}
		}
		if mt == "text/plain" {
			b, _ := io.ReadAll(body)
			return string(b)
		}
		return ""
	}
	return walk(m.Header.Get("Content-Type"), m.Body)
}

// TestWebClient_SelfService: a user asks for a code on /userportal/, the
// code arrives by mail (never on the page), and its link sets up a fresh
// browser. A pending code the administrator made is never replaced.
func TestWebClient_SelfService(t *testing.T) {
	w := newWorld(t)
	capture, err := smtpcapture.New(smtpcapture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { capture.Close() })
	for _, kv := range [][2]string{
		{"policy.selfreset.allow_self_provision", "Yes"},
		{"smtp.host", capture.Host()},
		{"smtp.port", strings.TrimPrefix(capture.Addr()[strings.LastIndex(capture.Addr(), ":"):], ":")},
		{"smtp.security", "none"},
		{"smtp.from", "provisio@example.org"},
	} {
		if err := w.svc.SetSetting(kv[0], kv[1]); err != nil {
			t.Fatalf("set %s: %v", kv[0], err)
		}
	}
	w.addUser(t, "dana", "1357", "dana@example.org")
	w.addUser(t, "erik", "2468", "erik@example.org")
	worker := &mailer.Worker{Service: w.svc, QRPNG: func(s string) ([]byte, error) { return qr.PNG(s, 300) }}
	ctx := budget(t)

	ask := func(b *browser, name string) string {
		b.do(chromedp.Navigate(w.url+"/userportal/"),
			chromedp.WaitVisible(chromedp.CSS("#username")),
			chromedp.SendKeys(chromedp.CSS("#username"), name),
			chromedp.Tap(chromedp.CSS("#get-code")),
			chromedp.WaitVisible(chromedp.CSS("#answer")))
		w.settled() // what the request issues is committed
		return b.text("#answer")
	}
	portal := newBrowser(t, ctx)

	// Unknown user, known user: the same answer, and no code on the page.
	if got := ask(portal, "nobody"); got != "If the account can receive codes, one is on its way." {
		t.Fatalf("answer for an unknown user = %q", got)
	}
	if got := ask(portal, "dana"); got != "If the account can receive codes, one is on its way." {
		t.Fatalf("answer for dana = %q", got)
	}
	pend, _ := w.svc.PendingCodes()
	if pend["dana"].IsZero() {
		t.Fatal("no code pending for dana")
	}
	if strings.Contains(portal.eval(`document.body.innerText`), "code=") {
		t.Fatal("the page shows the code")
	}

	// The administrator's pending code for erik survives a self-service
	// request.
	admin := w.code(t, "erik")
	if got := ask(portal, "erik"); got != "If the account can receive codes, one is on its way." {
		t.Fatalf("answer for erik = %q", got)
	}

	if err := worker.Flush(ctx); err != nil {
		t.Fatalf("deliver the outbox: %v (%s)", err, mailer.Describe(err))
	}
	msgs, err := capture.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].To[0] != "dana@example.org" {
		t.Fatalf("mail went to %v, want only dana", msgs)
	}
	link := regexp.MustCompile(`https://\S+/userportal/provision\?\S+`).FindString(plainText(t, msgs[0].Data))
	if link == "" {
		t.Fatalf("no Provision URL in the mail:\n%s", plainText(t, msgs[0].Data))
	}

	// erik's code from the administrator still works.
	if _, err := w.svc.Provision("127.0.0.1", "erik", admin.Code, "test"); err != nil {
		t.Fatalf("the administrator's code was replaced: %v", err)
	}

	// The mailed link sets up a fresh browser.
	phone := portal.another()
	phone.do(chromedp.Navigate(link), chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	if st := parseStored(t, phone.stored()); st.N != 100 || st.User != "dana" {
		t.Fatalf("stored %+v", st)
	}
}
