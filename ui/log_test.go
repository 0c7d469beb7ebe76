package ui

import (
	"fmt"
	"testing"

	"fyne.io/fyne/v2/test"

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
