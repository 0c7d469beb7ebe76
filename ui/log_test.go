package ui

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

func TestLogScreen_ShowsNewEntries(t *testing.T) {
	h := newHarness(t)
	l := h.c.log
	before := len(l.entries)

	// An action in the console...
	test.Tap(h.c.users.add)
	f := h.c.users.form
	test.Type(f.name.entry, "kim")
	test.Tap(f.save)
	h.waitFor("the add in the log", func() bool {
		return len(l.shown) > 0 && l.shown[0].Message == `User "kim" added.` && l.shown[0].User == "kim"
	})
	if len(l.entries) != before+1 {
		t.Errorf("%d entries, want %d: one per log line, no duplicates", len(l.entries), before+1)
	}

	// ...and one from elsewhere, newest first.
	if err := h.svc.Log(core.LevelWarn, "", "Agent %q refused.", "vpn"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the agent warning on top", func() bool {
		return len(l.shown) > 0 && l.shown[0].Message == `Agent "vpn" refused.` && l.shown[0].Level == core.LevelWarn
	})

	// The filter narrows the list as the admin types.
	test.Type(l.filter, "KIM")
	for _, e := range l.shown {
		if e.User != "kim" {
			t.Errorf("filter kim shows %+v", e)
		}
	}
	if len(l.shown) == 0 {
		t.Error("filter kim shows nothing")
	}
}

func TestLogScreen_KeepsNewest(t *testing.T) {
	h := newHarness(t)
	for i := range logKeep + 20 {
		if err := h.svc.Log(core.LevelInfo, "", "entry %d", i); err != nil {
			t.Fatal(err)
		}
	}
	l := h.c.log
	want := fmt.Sprintf("entry %d", logKeep+19)
	h.waitFor("the last entry", func() bool { return len(l.shown) > 0 && l.shown[0].Message == want })
	if len(l.entries) != logKeep {
		t.Errorf("holds %d entries, want %d", len(l.entries), logKeep)
	}
	for i := 1; i < len(l.entries); i++ {
		if l.entries[i].Seq != l.entries[i-1].Seq+1 {
			t.Fatalf("entries not consecutive at %d: %d after %d", i, l.entries[i].Seq, l.entries[i-1].Seq)
		}
	}
}

func TestLogScreen_FiltersByUserAndLevel(t *testing.T) {
	h := newHarness(t)
	l := h.c.log
	for _, e := range []struct {
		level core.Level
		user  string
		msg   string
	}{
		{core.LevelInfo, "kim", "Login successful for user: kim."},
		{core.LevelWarn, "kim", "Login failed for user: kim, error: wrong one-time code"},
		{core.LevelWarn, "lee", "Login failed for user: lee, error: wrong one-time code"},
		{core.LevelError, "", "The HTTPS listener stopped."},
	} {
		if err := h.svc.Log(e.level, e.user, "%s", e.msg); err != nil {
			t.Fatal(err)
		}
	}
	h.waitFor("entries", func() bool { return len(l.shown) > 0 && l.shown[0].Message == "The HTTPS listener stopped." })

	test.Type(l.user, "KI")
	l.level.SetSelected("WARN")
	if len(l.shown) != 1 || l.shown[0].Message != "Login failed for user: kim, error: wrong one-time code" {
		t.Errorf("kim's warnings: %v", l.shown)
	}
	l.user.SetText("")
	test.Type(l.filter, "wrong one-time")
	if len(l.shown) != 2 {
		t.Errorf("warnings with the text: %v", l.shown)
	}
	l.level.SetSelected("ERROR")
	l.filter.SetText("")
	if len(l.shown) != 1 || l.shown[0].Message != "The HTTPS listener stopped." {
		t.Errorf("errors: %v", l.shown)
	}
	// New entries that pass the filter appear at once; others do not.
	if err := h.svc.Log(core.LevelError, "", "Disk full."); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Log(core.LevelInfo, "", "Something fine."); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the new error on top", func() bool { return len(l.shown) == 2 && l.shown[0].Message == "Disk full." })
}

func TestLogScreen_Export(t *testing.T) {
	h := newHarness(t)
	l := h.c.log
	defer func(n int) { exportPage = n }(exportPage)
	exportPage = 7 // several pages
	for i := range 30 {
		if err := h.svc.Log(core.LevelInfo, "bulk", "entry %d", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.svc.Log(core.LevelWarn, "kim", `Login failed for user: kim, error: "quoted", with comma`); err != nil {
		t.Fatal(err)
	}
	h.settle()

	test.Tap(l.export)
	h.waitFor("export done", func() bool { return strings.HasPrefix(l.detail.Text, "Exported ") })
	data, err := os.ReadFile(h.saved)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 32 || strings.Join(rows[0], ",") != "time,level,user,message,by" {
		t.Fatalf("%d rows, header %q", len(rows), rows[0])
	}
	last := rows[len(rows)-1]
	if last[1] != "WARN" || last[2] != "kim" || last[3] != `Login failed for user: kim, error: "quoted", with comma` || last[4] != "the console" {
		t.Errorf("last row %q", last)
	}
	if want := fmt.Sprintf("Exported %d entries to %s.", len(rows)-1, h.saved); l.detail.Text != want {
		t.Errorf("detail %q, want %q", l.detail.Text, want)
	}

	// With a filter, and as text when the name says so.
	test.Type(l.user, "kim")
	var buf bytes.Buffer
	n, err := writeLog(&buf, h.svc, l.filterFunc(), true)
	if err != nil || n != 1 {
		t.Fatalf("%d entries, %v", n, err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || lines[0] != "time\tlevel\tuser\tmessage\tby" || !strings.HasSuffix(lines[1], "\tWARN\tkim\tLogin failed for user: kim, error: \"quoted\", with comma\tthe console") {
		t.Errorf("text export %q", lines)
	}
}

// TestLogScreen_ShowsWhoActed: the Log screen has a By column with who
// made each change, the detail line names them in full, the text filter
// finds them, and the CSV export has them in its "by" column. An entry
// from before the log named who acted shows none.
func TestLogScreen_ShowsWhoActed(t *testing.T) {
	h := newHarness(t)
	l := h.c.log
	// An entry as written before the log named who acted.
	if err := h.st.Update(func(tx core.Tx) error {
		_, err := tx.AppendLog(core.LogEntry{Time: h.clock.Now(), Level: core.LevelInfo, User: "kim", Message: "An old line."})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	remote := `console "desk-2" (helpdesk) at 192.0.2.7`
	if err := (core.LocalAdmin{Svc: h.svc, Operator: remote}).Note(core.LevelWarn, "kim", "Fire drill at 15:00."); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.AddUser(core.User{Name: "lee"}); err != nil {
		t.Fatal(err)
	}
	h.settle()
	l.load()
	if len(l.shown) < 3 || l.shown[0].Message != `User "lee" added.` || l.shown[1].Message != "Fire drill at 15:00." || l.shown[2].Message != "An old line." {
		t.Fatalf("shown %+v", l.shown[:min(3, len(l.shown))])
	}

	header := false
	for _, o := range test.LaidOutObjects(l.content) {
		if lb, ok := o.(*widget.Label); ok && lb.Text == "By" && lb.TextStyle.Bold {
			header = true
		}
	}
	if !header {
		t.Error("the Log screen has no By column header")
	}
	row := func(id int) []string {
		o := l.list.CreateItem()
		l.updateRow(id, o)
		var cells []string
		for _, c := range o.(*fyne.Container).Objects {
			cells = append(cells, c.(*widget.Label).Text)
		}
		return cells
	}
	for id, want := range []string{"the console", remote, ""} {
		if got := row(id); len(got) != 5 || got[3] != want || got[4] != l.shown[id].Message {
			t.Errorf("row %d = %q, want %q under By", id, got, want)
		}
	}
	l.list.Select(1)
	if want := "Fire drill at 15:00.  — by " + remote; !strings.HasSuffix(l.detail.Text, want) {
		t.Errorf("detail %q, want it to end %q", l.detail.Text, want)
	}
	l.list.Select(2)
	if !strings.HasSuffix(l.detail.Text, "An old line.") {
		t.Errorf("detail of an entry without an actor %q names one", l.detail.Text)
	}

	test.Type(l.filter, "desk-2")
	if len(l.shown) != 1 || l.shown[0].Actor != remote {
		t.Errorf("filter desk-2 shows %+v", l.shown)
	}
	l.filter.SetText("")

	var buf bytes.Buffer
	if _, err := writeLog(&buf, h.svc, func(e core.LogEntry) bool { return e.User == "kim" || e.User == "lee" }, false); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for _, r := range rows[1:] {
		if len(r) != 5 {
			t.Fatalf("export row %q, want 5 columns", r)
		}
		got = append(got, [2]string{r[3], r[4]})
	}
	want := [][2]string{{"An old line.", ""}, {"Fire drill at 15:00.", remote}, {`User "lee" added.`, "the console"}}
	if fmt.Sprint(got) != fmt.Sprint(want) || rows[0][4] != "by" {
		t.Errorf("export rows (message, by) = %q, want %q; header %q", got, want, rows[0])
	}
}

// TestLogScreen_DetailLineHintsUntilAPick: the list cuts long messages
// short, and the line under it shows one in full once it is picked.
// Until then that line says so, as the Outbox does, instead of standing
// empty; with no entries shown it says nothing, and a picked entry stays
// as new ones arrive.
func TestLogScreen_DetailLineHintsUntilAPick(t *testing.T) {
	h := newHarness(t)
	l := h.c.log
	if _, err := h.svc.AddUser(core.User{Name: "lee"}); err != nil {
		t.Fatal(err)
	}
	h.settle()
	l.load()
	if len(l.shown) == 0 || l.detail.Text != logHint {
		t.Fatalf("%d entries shown, detail line %q; want %q", len(l.shown), l.detail.Text, logHint)
	}
	l.filter.SetText("no entry says this")
	if len(l.shown) != 0 || l.detail.Text != "" {
		t.Errorf("%d entries shown, detail line %q; want none and no hint", len(l.shown), l.detail.Text)
	}
	l.filter.SetText("")
	if l.detail.Text != logHint {
		t.Errorf("detail line %q with the filter cleared, want %q", l.detail.Text, logHint)
	}
	l.list.Select(0)
	picked := logDetail(l.shown[0])
	if l.detail.Text != picked {
		t.Fatalf("detail line %q, want the picked entry %q", l.detail.Text, picked)
	}
	if _, err := h.svc.AddUser(core.User{Name: "max"}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the new entry", func() bool { return l.shown[0].Message == `User "max" added.` })
	if l.detail.Text != picked {
		t.Errorf("detail line %q after a new entry, want the picked one %q", l.detail.Text, picked)
	}
}
