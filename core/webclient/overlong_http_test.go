package webclient_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
	"provisio/core/webclient"
)

// TestHandler_OverlongNamesCappedAsLimiterKeys: the per-name limit of
// code requests keys on the name as typed, so a name longer than any
// username (core.MaxUsernameLen) is cut to that length before it becomes
// a key: a flood of distinct names of a few KiB each holds a few dozen
// bytes per key, not kilobytes. An overlong name is otherwise answered as
// any unknown name is, status, headers and page byte for byte, and costs
// no write.
func TestHandler_OverlongNamesCappedAsLimiterKeys(t *testing.T) {
	st := &storetest.Faulty{Store: storetest.MustOpen(t)}
	svc := storetest.MustServiceOn(t, st)
	var h *webclient.Handler
	srv, fp := agentxmltest.MustServer(t, svc, agentxmltest.WithLimits(agentxmltest.NoLimits()), func(o *agentxml.Options) {
		h = webclient.New(svc, webclient.Options{Fingerprint: o.Fingerprint, RequestFloor: time.Millisecond})
		o.Portal = h
	})
	if err := svc.SetSetting("policy.selfreset.allow_self_provision", "Yes"); err != nil {
		t.Fatal(err)
	}
	// answer is what a client sees, but the Date header.
	answer := func(hc *http.Client, name string) string {
		t.Helper()
		r, err := hc.PostForm(srv.URL()+"/userportal/request", url.Values{"username": {name}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		var hs []string
		for k, v := range r.Header {
			if k != "Date" {
				hs = append(hs, k+": "+strings.Join(v, ", "))
			}
		}
		sort.Strings(hs)
		return fmt.Sprintf("%d\n%s\n\n%s", r.StatusCode, strings.Join(hs, "\n"), b)
	}
	unknown := answer(clientFrom(t, fp, "127.0.2.1"), "nobody")
	if !strings.HasPrefix(unknown, "200\n") || !strings.Contains(unknown, "If the account can receive codes, one is on its way.") {
		t.Fatalf("unknown name answered\n%s", unknown)
	}
	// Names of 4,000 bytes (the form allows 4 KiB), each distinct in its
	// first characters; 9 per source address, within that address's
	// limit of 10.
	const names = 36
	writes := st.Writes.Load()
	for i := range names {
		hc := clientFrom(t, fp, fmt.Sprintf("127.0.2.%d", 10+i/9))
		name := fmt.Sprintf("n%03d", i) + strings.Repeat("x", 4000-4)
		if got := answer(hc, name); got != unknown {
			t.Fatalf("a name of %d bytes is answered\n%s\nwhere an unknown name is answered\n%s", len(name), got, unknown)
		}
	}
	if n := st.Writes.Load() - writes; n != 0 {
		t.Errorf("overlong names cost %d writes", n)
	}
	userKeys, bytes := 0, 0
	for _, k := range webclient.LimiterKeys(h) {
		if !strings.HasPrefix(k, "user\x00") {
			continue
		}
		userKeys++
		bytes += len(k)
		if len(k) > len("user\x00")+core.MaxUsernameLen {
			t.Errorf("a limiter key of %d bytes (%.20q…); names are cut to %d", len(k), k, core.MaxUsernameLen)
		}
	}
	if userKeys != names+1 {
		t.Errorf("%d per-name keys, want %d (one per distinct name)", userKeys, names+1)
	}
	t.Logf("%d per-name keys hold %d bytes", userKeys, bytes)
}
