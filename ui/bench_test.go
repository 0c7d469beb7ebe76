package ui

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"provisio/core/mailer"
	"provisio/core/store/storetest"
)

// officeCSV returns a user import file of n people.
func officeCSV(n int) string {
	first := []string{"Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Karl", "Lena"}
	last := []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright"}
	var b strings.Builder
	b.WriteString("username,full_name,email,mobile,group,pin\n")
	for i := range n {
		f, l := first[i%len(first)], last[i/len(first)%len(last)]
		fmt.Fprintf(&b, "%s.%s%d,%s %s,%s.%s%d@example.org,+44 20 7946 %04d,%s,%04d\n",
			strings.ToLower(f), strings.ToLower(l), i, f, l, strings.ToLower(f), strings.ToLower(l), i,
			i%10000, []string{"sales", "support", "accounts", "it"}[i%4], 2000+i%7000)
	}
	return b.String()
}

func TestUsersScreen_Import10000ThenSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 10,000 users")
	}
	h := newHarness(t)
	h.win.Resize(fyne.NewSize(1280, 800))
	began := time.Now()
	ci := h.openCSV("everyone.csv", officeCSV(10_000))
	checked := time.Since(began)
	if !ci.pre.OK() || len(ci.pre.Rows) != 10_000 {
		t.Fatalf("preview: %d rows, %d bad", len(ci.pre.Rows), ci.pre.BadRows)
	}
	began = time.Now()
	test.Tap(ci.importBtn)
	// Its time is reported below, not judged: a minute only bounds a hang.
	h.waitWithin(time.Minute, "import finished", func() bool { return h.c.users.importer == nil })
	imported := time.Since(began)
	s := h.c.users
	if len(s.all) != 10_000 || len(s.shown) != 10_000 {
		t.Fatalf("%d users listed", len(s.shown))
	}
	t.Logf("10,000 rows: checked in %v, imported and listed in %v", checked, imported)

	// Type a name as the helpdesk would, one key at a time. Each prefix
	// is typed three times and the best time kept, so a garbage
	// collection after the import or another program on the machine does
	// not count against the screen.
	runtime.GC()
	var slowest time.Duration
	query := "grace.patel"
	for i := range query {
		best := time.Hour
		for range 3 {
			s.search.SetText(query[:i])
			began := time.Now()
			test.Type(s.search, query[i:i+1])
			best = min(best, time.Since(began))
		}
		slowest = max(slowest, best)
	}
	if got := shownNames(s); len(got) == 0 || !strings.HasPrefix(got[0], "grace.patel") {
		t.Fatalf("search shows %v", got[:min(3, len(got))])
	}
	// Speed is measured by BenchmarkUsersScreen_Search10000, not asserted
	// here: a shared machine makes a time budget in a test flaky.
	t.Logf("slowest keystroke at 10,000 users: %v", slowest)
	// Sorting 10,000 users is a click away too.
	s.search.SetText("")
	began = time.Now()
	test.Tap(s.sortBtns[sortByDevice])
	t.Logf("sort by device at 10,000 users: %v", time.Since(began))
}

// newBenchConsole returns a console over a store holding n users.
func newBenchConsole(b *testing.B, n int) *usersScreen {
	b.Helper()
	a := test.NewTempApp(b)
	svc := storetest.MustService(b)
	if err := svc.SetSetting("console.setup_done", "yes"); err != nil {
		b.Fatal(err)
	}
	if n > 0 {
		pre, err := svc.PreviewImport(strings.NewReader(officeCSV(n)))
		if err != nil || !pre.OK() {
			b.Fatalf("preview: %v %v", err, pre.Problems)
		}
		if _, err := svc.ImportUsers(pre.Rows, nil); err != nil {
			b.Fatal(err)
		}
	}
	w := test.NewTempWindow(b, nil)
	c := newConsole(a, w, Deps{Service: svc, Mail: mailer.Tools{}}, options{do: func(func()) {}})
	b.Cleanup(c.Close)
	w.Resize(fyne.NewSize(1280, 800))
	return c.users
}

// BenchmarkUsersScreen_Search10000 is one keystroke in the search box at
// 10,000 users: filter, redraw the visible rows, keep the selection.
func BenchmarkUsersScreen_Search10000(b *testing.B) {
	s := newBenchConsole(b, 10_000)
	queries := []string{"g", "gr", "gra", "grace.p", "patel", "example.org", "nobody", ""}
	i := 0
	for b.Loop() {
		s.search.SetText(queries[i%len(queries)])
		i++
	}
}

// BenchmarkUsersScreen_Refresh10000 reloads 10,000 users from the store,
// as the screen does after a change.
func BenchmarkUsersScreen_Refresh10000(b *testing.B) {
	s := newBenchConsole(b, 10_000)
	for b.Loop() {
		s.refresh()
	}
}

// BenchmarkUsersScreen_Sort10000 is one click on a column header at
// 10,000 users, going round name, last login and device, and redrawing.
func BenchmarkUsersScreen_Sort10000(b *testing.B) {
	s := newBenchConsole(b, 10_000)
	// Logins and devices spread out, as in an office that has run a
	// while (in memory only: the store holds the users as imported).
	now := s.c.svc.Now()
	for i := range s.all {
		r := &s.all[i]
		if i%5 != 0 {
			r.LastLogin = now.Add(-time.Duration(i*7919%10_000) * time.Minute)
		}
		if i%3 == 0 {
			r.DeviceID, r.ProvisionedAt = "d", now.Add(-time.Duration(i)*time.Hour)
		}
		if i%11 == 0 {
			r.pending = now.Add(time.Hour)
		}
	}
	cols := []userSort{sortByLastLogin, sortByDevice, sortByName}
	i := 0
	for b.Loop() {
		s.sortOn(cols[i%len(cols)])
		i++
	}
}

// BenchmarkImport10000 checks and imports a 10,000-row file in one
// transaction, on disk.
func BenchmarkImport10000(b *testing.B) {
	data := []byte(officeCSV(10_000))
	for b.Loop() {
		b.StopTimer()
		svc := storetest.MustService(b)
		b.StartTimer()
		pre, err := svc.PreviewImport(bytes.NewReader(data))
		if err != nil || !pre.OK() {
			b.Fatal(err)
		}
		if _, err := svc.ImportUsers(pre.Rows, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUsersFilter10000 is the search alone, without redrawing: the
// part that grows with the number of users.
func BenchmarkUsersFilter10000(b *testing.B) {
	s := newBenchConsole(b, 10_000)
	queries := []string{"g", "gr", "gra", "grace.p", "patel", "example.org", "nobody", ""}
	out := make([]*userRow, 0, len(s.all))
	i := 0
	for b.Loop() {
		out = filterRows(s.all, queries[i%len(queries)], out[:0])
		i++
	}
}

// BenchmarkUsersScreen_Heap10000 reports what the console keeps on the Go
// heap for 10,000 users over an empty one (live heap after a collection),
// the part of issue #15's memory target that Go code controls; the RSS of
// the real binary under Xvfb is in docs/benchmarks.md.
func BenchmarkUsersScreen_Heap10000(b *testing.B) {
	live := func() float64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc)
	}
	for range b.N {
		b.StopTimer()
		// A first console loads what every console shares (theme,
		// fonts), so the two measured below differ by their users only.
		runtime.KeepAlive(newBenchConsole(b, 0))
		base := live()
		empty := newBenchConsole(b, 0)
		withEmpty := live() - base
		base = live()
		full := newBenchConsole(b, 10_000)
		withFull := live() - base
		b.StartTimer()
		runtime.KeepAlive(empty)
		runtime.KeepAlive(full)
		b.ReportMetric((withFull-withEmpty)/1e6, "MB-over-empty")
	}
}

// BenchmarkAttached_Search10000 is one keystroke in the helpdesk window's
// search box at 10,000 users, as BenchmarkUsersScreen_Search10000 is in
// the full console's: filter, redraw the visible rows, keep the
// selection.
func BenchmarkAttached_Search10000(b *testing.B) {
	test.NewTempApp(b)
	svc := storetest.MustService(b)
	pre, err := svc.PreviewImport(strings.NewReader(officeCSV(10_000)))
	if err != nil || !pre.OK() {
		b.Fatalf("preview: %v %v", err, pre.Problems)
	}
	if _, err := svc.ImportUsers(pre.Rows, nil); err != nil {
		b.Fatal(err)
	}
	do, waitFor := uiQueue(b)
	w := test.NewTempWindow(b, nil)
	w.Resize(fyne.NewSize(1280, 800))
	at := NewAttached(w, AttachedDeps{API: helpdeskAPI(svc), Remote: "provisio.lan:8444", do: do})
	b.Cleanup(at.Close)
	waitFor("10,000 users listed", func() bool { return len(at.shown) == 10_000 })
	queries := []string{"g", "gr", "gra", "grace.p", "patel", "example.org", "nobody", ""}
	i := 0
	for b.Loop() {
		at.search.SetText(queries[i%len(queries)])
		i++
	}
}
