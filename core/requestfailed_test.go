package core_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"provisio/core"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// downStore is a store whose writes fail while down is set, as a store
// without quorum or on a full disk refuses them; it counts the writes
// tried.
type downStore struct {
	*store.Store
	down   atomic.Bool
	writes atomic.Int64
}

var errStoreDown = errors.New("etcdserver: request timed out")

func (d *downStore) Update(fn func(core.Tx) error) error {
	d.writes.Add(1)
	if d.down.Load() {
		return errStoreDown
	}
	return d.Store.Update(fn)
}

func (d *downStore) Batch(fn func(core.Tx) error) error {
	d.writes.Add(1)
	if d.down.Load() {
		return errStoreDown
	}
	return d.Store.Batch(fn)
}

// reports collects what the Service reports for a person (SetReport).
type reports struct {
	mu   sync.Mutex
	msgs []string
}

func (r *reports) add(msg string) { r.mu.Lock(); r.msgs = append(r.msgs, msg); r.mu.Unlock() }

// failures returns the reports of failed requests, leaving out health.
func (r *reports) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		if strings.Contains(m, " failed, error: ") {
			out = append(out, m)
		}
	}
	return out
}

// TestService_RequestFailed: requests that fail inside Provisio are
// counted in memory, never written one by one; the first of each kind is
// reported at once with its error, and a flush writes one line per
// request and reason with the count and that first error.
func TestService_RequestFailed(t *testing.T) {
	internal := &core.Error{Code: core.CodeInternal, Message: "The etcd cluster did not answer; nothing was changed.", Err: errors.New("context deadline exceeded")}
	tests := []struct {
		name        string
		fail        func(svc *core.Service)
		wantLines   []string // the flushed lines, in order
		wantReports []string // the prompt reports, in order
	}{
		{name: "one kind, many times",
			fail: func(svc *core.Service) {
				for i := 0; i < 25; i++ {
					svc.RequestFailed("AgentXML login request", fmt.Errorf("user %d: %w", i, internal))
				}
			},
			wantLines:   []string{"AgentXML login request failed 25 times in the last minute, error: user 0: The etcd cluster did not answer; nothing was changed.: context deadline exceeded"},
			wantReports: []string{"AgentXML login request failed, error: user 0: The etcd cluster did not answer; nothing was changed.: context deadline exceeded (repeats are counted in the audit log once a minute)"}},
		{name: "two requests, two reasons",
			fail: func(svc *core.Service) {
				svc.RequestFailed("Web client setup", errors.New("disk I/O error"))
				svc.RequestFailed("AgentXML login request", internal)
				svc.RequestFailed("AgentXML login request", errors.New("disk I/O error"))
				svc.RequestFailed("AgentXML login request", internal)
			},
			wantLines: []string{
				"AgentXML login request failed once in the last minute, error: disk I/O error",
				"AgentXML login request failed 2 times in the last minute, error: The etcd cluster did not answer; nothing was changed.: context deadline exceeded",
				"Web client setup failed once in the last minute, error: disk I/O error",
			},
			wantReports: []string{
				"Web client setup failed, error: disk I/O error (repeats are counted in the audit log once a minute)",
				"AgentXML login request failed, error: The etcd cluster did not answer; nothing was changed.: context deadline exceeded (repeats are counted in the audit log once a minute)",
				"AgentXML login request failed, error: disk I/O error (repeats are counted in the audit log once a minute)",
			}},
		{name: "a multi-line error stays one line",
			fail: func(svc *core.Service) {
				svc.RequestFailed("Page", errors.New("template: x\nline 2"))
			},
			wantLines:   []string{"Page failed once in the last minute, error: template: x line 2"},
			wantReports: []string{"Page failed, error: template: x line 2 (repeats are counted in the audit log once a minute)"}},
		{name: "no error, nothing counted",
			fail: func(svc *core.Service) { svc.RequestFailed("AgentXML login request", nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &downStore{Store: storetest.MustOpen(t)}
			svc := storetest.MustServiceOn(t, st)
			var rep reports
			svc.SetReport(rep.add)
			before, writes := countLogs(t, svc), st.writes.Load()
			tt.fail(svc)
			if got := st.writes.Load() - writes; got != 0 {
				t.Fatalf("RequestFailed tried %d writes; it must only count", got)
			}
			if got := strings.Join(rep.failures(), "\n"); got != strings.Join(tt.wantReports, "\n") {
				t.Errorf("reported:\n%s\nwant:\n%s", got, strings.Join(tt.wantReports, "\n"))
			}
			if err := svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			logs, err := svc.Logs(0, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range logs[before:] {
				if e.Level != core.LevelError {
					t.Errorf("line %q at level %s, want ERROR", e.Message, e.Level)
				}
				got = append(got, e.Message)
			}
			if strings.Join(got, "\n") != strings.Join(tt.wantLines, "\n") {
				t.Errorf("flushed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantLines, "\n"))
			}
			// Flushed means cleared: the next flush writes nothing, and
			// the next failure of a kind is reported again.
			n := countLogs(t, svc)
			if err := svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			if got := countLogs(t, svc); got != n {
				t.Errorf("a second flush wrote %d lines", got-n)
			}
		})
	}
}

// TestService_RequestFailedKeptWhileStoreDown: while the store refuses
// writes, failures are counted without trying one and reported once per
// kind; a flush fails, in the background, and keeps the counts, which the
// first flush after the store is back writes in full. The kinds counted
// are bounded: past the bound they are folded into one line.
func TestService_RequestFailedKeptWhileStoreDown(t *testing.T) {
	st := &downStore{Store: storetest.MustOpen(t)}
	svc := storetest.MustServiceOn(t, st)
	var rep reports
	svc.SetReport(rep.add)
	before := countLogs(t, svc)
	st.down.Store(true)
	for round := 0; round < 3; round++ {
		writes := st.writes.Load()
		for i := 0; i < 10; i++ {
			svc.RequestFailed("AgentXML login request", errStoreDown)
		}
		if got := st.writes.Load() - writes; got != 0 {
			t.Fatalf("round %d: %d writes tried for failed requests", round, got)
		}
		if err := svc.FlushRefused(); err == nil {
			t.Fatalf("round %d: the flush succeeded on a store that is down", round)
		}
	}
	if got := rep.failures(); len(got) != 1 {
		t.Errorf("30 failures of one kind reported %d times, want once: %q", len(got), got)
	}
	for i := 0; i < 200; i++ {
		svc.RequestFailed(fmt.Sprintf("request %03d", i), errStoreDown)
	}
	st.down.Store(false)
	if err := svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	logs, err := svc.Logs(0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range logs[before:] {
		if e.Level == core.LevelError {
			lines = append(lines, e.Message)
		}
	}
	if len(lines) == 0 || lines[0] != "AgentXML login request failed 30 times in the last minute, error: "+errStoreDown.Error() {
		t.Fatalf("first line after the store is back: %q", lines)
	}
	if len(lines) > 65 {
		t.Errorf("%d lines for 201 kinds of failure; want at most 64 and the folded rest", len(lines))
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "Other requests failed ") {
		t.Errorf("last line %q; want the folded kinds", last)
	}
	total := 0
	for _, l := range lines {
		var n int
		if _, err := fmt.Sscanf(l[strings.Index(l, " failed ")+len(" failed "):], "%d times", &n); err != nil {
			n = 1 // "once"
		}
		total += n
	}
	if total != 230 {
		t.Errorf("the lines count %d failures, want 230", total)
	}
}
