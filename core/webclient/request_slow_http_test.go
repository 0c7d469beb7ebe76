package webclient_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"provisio/core/store/storetest"
)

// TestHandler_SlowIssueAnswersAtTheFloor: a self-service request for an
// account that can receive a code commits one; when that commit is slow
// (a busy disk, etcd without quorum), the answer must still come at the
// floor, as for a name that is no account, or its lateness would tell a
// stranger the account exists. The code is still made, once the store
// lets it.
//
// The test holds the store's writer: the request for "mailed" cannot
// commit until the answer has arrived, so an answer that waited for the
// commit never comes (up to the 20 s guard) and the test fails.
func TestHandler_SlowIssueAnswersAtTheFloor(t *testing.T) {
	st := storetest.MustOpen(t)
	w := newWorldOn(t, st, 50*time.Millisecond)
	if err := w.svc.SetSetting("policy.selfreset.allow_self_provision", "Yes"); err != nil {
		t.Fatal(err)
	}
	w.addUser(t, "mailed", "1357", "mailed@example.org")
	hc := w.client(t)

	release := storetest.HoldWriter(t, st)

	type answer struct {
		code int
		body string
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		r, err := hc.PostForm(w.url+"/userportal/request", url.Values{"username": {"mailed"}})
		if err != nil {
			got <- answer{err: err}
			return
		}
		got <- answer{code: r.StatusCode, body: body(t, r)}
	}()
	select {
	case a := <-got:
		if a.err != nil {
			t.Fatal(a.err)
		}
		if a.code != http.StatusOK || !strings.Contains(a.body, "If the account can receive codes, one is on its way.") {
			t.Fatalf("answer = %d %s", a.code, a.body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the answer waited for the slow commit: its delay tells a stranger the account exists")
	}

	release()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pend, err := w.svc.PendingCodes()
		if err != nil {
			t.Fatal(err)
		}
		if !pend["mailed"].IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no code was made once the store let the request commit")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
