package webclient_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// errDeviceRead is the internal failure faultyTx injects (storetest.Faulty).
var errDeviceRead = errors.New("read device: input/output error")

type faultyTx struct{ core.Tx }

func (faultyTx) DeviceUser(string) (string, error) { return "", errDeviceRead }

// TestHandler_InternalFailuresAreCounted: the authenticator's calls that
// fail inside Provisio answer "refused" with a 500 and cost no write
// each: N failures are one line after the flush, with the count and the
// error.
func TestHandler_InternalFailuresAreCounted(t *testing.T) {
	const n = 6
	for _, api := range []string{"status", "strings"} {
		t.Run(api, func(t *testing.T) {
			st := &storetest.Faulty{Store: storetest.MustOpen(t), Break: func(tx core.Tx) core.Tx { return faultyTx{tx} }}
			w := newWorldOn(t, st, time.Millisecond)
			hc := w.client(t)
			before := w.logCount(t)
			st.Broken.Store(true)
			writes := st.Writes.Load()
			for i := 0; i < n; i++ {
				r, err := hc.Post(w.url+"/userportal/app/api/"+api, "application/json", strings.NewReader(`{"id":"0123456789abcdef0123456789abcdef"}`))
				if err != nil {
					t.Fatal(err)
				}
				var rep struct{ State string }
				if err := json.Unmarshal([]byte(body(t, r)), &rep); err != nil || r.StatusCode != http.StatusInternalServerError || rep.State != "refused" {
					t.Fatalf("%s with a failing store: %d %v %+v", api, r.StatusCode, err, rep)
				}
			}
			if got := st.Writes.Load() - writes; got != 0 {
				t.Errorf("%d failed requests tried %d writes", n, got)
			}
			st.Broken.Store(false)
			if got := w.logCount(t) - before; got != 0 {
				t.Errorf("failed requests wrote %d lines before the flush", got)
			}
			if err := w.svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			tail, err := w.svc.LogTail(w.logCount(t) - before)
			if err != nil {
				t.Fatal(err)
			}
			want := "Web client request failed 6 times in the last minute, error: " + errDeviceRead.Error()
			if len(tail) != 1 || tail[0].Message != want {
				t.Errorf("after the flush the log has %+v; want the one line %q", tail, want)
			}
		})
	}
}
