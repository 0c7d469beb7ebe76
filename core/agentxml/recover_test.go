package agentxml

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"provisio/core/store/storetest"
)

// TestServer_RecoverPanicShowsNoStack checks the request boundary: a
// handler that panics answers a plain 500 over real HTTPS, and neither the
// reply, nor what the operator is told at once, nor the audit log's
// counted line carries a stack trace.
func TestServer_RecoverPanicShowsNoStack(t *testing.T) {
	svc := storetest.MustService(t)
	var mu sync.Mutex
	var reported []string
	svc.SetReport(func(msg string) { mu.Lock(); reported = append(reported, msg); mu.Unlock() })
	s := New(svc, Options{})
	var nilMap map[string]int
	tests := []struct {
		name    string
		handler func()
		wantLog string
	}{
		{"panic with a value", func() { panic("boom") }, "internal error: boom"},
		{"runtime error", func() { nilMap["x"] = 1 }, "internal error: assignment to entry in nil map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer s.recoverPanic(w)
				tt.handler()
			}))
			defer ts.Close()
			resp, err := ts.Client().Get(ts.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusInternalServerError || string(body) != "Internal server error.\n" {
				t.Fatalf("status %d, body %q", resp.StatusCode, body)
			}
			mu.Lock()
			got := reported[len(reported)-1]
			mu.Unlock()
			if !strings.Contains(got, tt.wantLog) || strings.Contains(got, "goroutine") || strings.Contains(got, ".go:") {
				t.Fatalf("reported %q", got)
			}
			// The log's line is the counted one, written by the flush.
			if err := svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			tail, err := svc.LogTail(1)
			if err != nil || len(tail) != 1 {
				t.Fatalf("log: %v", err)
			}
			last := tail[0]
			if !strings.Contains(last.Message, tt.wantLog) || strings.Contains(last.Message, "goroutine") || strings.Contains(last.Message, ".go:") {
				t.Fatalf("audit log line %q", last.Message)
			}
		})
	}
}
