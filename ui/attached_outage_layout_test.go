package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core/store/storetest"
)

// TestConsole_AttachedOutageFitsAt1280: while the service is not
// answering, the status bar says so in full within a 1280-pixel window.
// (The sentence sat on one line beside the state and made the window's
// least width about 1500 px: the window grew past the screen, the end of
// the sentence off it, and stayed that wide once the service was back.)
func TestConsole_AttachedOutageFitsAt1280(t *testing.T) {
	h, stop := newAttachedHarness(t)
	h.win.Resize(fyne.NewSize(1280, 800))
	h.settle()
	stop()
	bar := func() string { return h.c.serverState.Text + " " + h.c.status.Text + " " + h.c.modeNote.Text }
	h.waitFor("the console notices", func() bool { return strings.Contains(bar(), "is not answering") })
	h.settle()
	if !strings.Contains(bar(), "reconnects by itself") {
		t.Errorf("the status bar says %q", bar())
	}
	if w := h.win.Content().MinSize().Width; w > 1280 {
		t.Errorf("the window needs %.0f px while the service is down", w)
	}
	for _, l := range []*widget.Label{h.c.serverState, h.c.status, h.c.modeNote} {
		if l.Wrapping != fyne.TextWrapOff {
			continue
		}
		need := fyne.MeasureText(l.Text, theme.TextSize(), l.TextStyle).Width + 2*theme.InnerPadding()
		if got := l.Size().Width; got < need {
			t.Errorf("%q is cut at 1280×800: %.0f px wide, needs %.0f", l.Text, got, need)
		}
	}
}

// TestAttached_OutageSaidInFullAt1280: the helpdesk window's status bar
// says in full why it is cut off from the server and that it reconnects,
// at 1280×800 and at the 1100-pixel width it opens at. (It ended in
// "this window reconnects by it…" at 1100 px and "when it answers
// again, …" at 1280: the half saying what typed stays was never read.)
func TestAttached_OutageSaidInFullAt1280(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	do, waitFor := uiQueue(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	at := NewAttached(w, AttachedDeps{API: helpdeskAPI(svc), Remote: "provisio.lan:8444", do: do})
	t.Cleanup(at.Close)
	waitFor("connected", func() bool { return at.me.Name == "desk-2" })
	// As adminapi's stream says it (follow.go).
	const why = "The Provisio server at provisio.lan:8444 is not answering (stopped, restarting or out of reach); " +
		"this window reconnects by itself when it answers again, and what you typed stays where it is."
	for _, size := range []fyne.Size{fyne.NewSize(1100, 700), fyne.NewSize(1280, 800)} {
		w.Resize(size)
		at.connection(why)
		if !strings.Contains(at.StatusText(), why) {
			t.Fatalf("status bar %q", at.StatusText())
		}
		if w := w.Content().MinSize().Width; w > size.Width {
			t.Errorf("at %v the window needs %.0f px", size, w)
		}
		for _, l := range []*widget.Label{at.state, at.status} {
			if l.Wrapping != fyne.TextWrapOff {
				continue
			}
			need := fyne.MeasureText(l.Text, theme.TextSize(), l.TextStyle).Width + 2*theme.InnerPadding()
			if got := l.Size().Width; got < need {
				t.Errorf("at %v %q is cut: %.0f px wide, needs %.0f", size, l.Text, got, need)
			}
		}
		// Back: one line again.
		at.connection("")
		if at.status.Text != attachedNote || at.status.Wrapping != fyne.TextWrapOff {
			t.Errorf("connected again, the status bar reads %q (wrapping %v)", at.status.Text, at.status.Wrapping)
		}
	}
}
