package ui

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// squashed lists the visible labels under o that are drawn shorter than
// their text needs: a wrapped sentence that grew after its container was
// laid out runs over whatever is below it. Scroll containers are not
// entered (their content may be taller than they are, by design).
func squashed(o fyne.CanvasObject) []string {
	var bad []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch c := o.(type) {
		case *container.Scroll:
			return
		case *widget.Label:
			// A label sized 0×0 is not drawn (Fyne's dialog keeps one
			// for measuring its title).
			if c.Text != "" && !c.Size().IsZero() && c.Size().Height+0.5 < c.MinSize().Height {
				bad = append(bad, fmt.Sprintf("%q is %.0f px high, needs %.0f", c.Text, c.Size().Height, c.MinSize().Height))
			}
			return
		case *fyne.Container:
			for _, ch := range c.Objects {
				walk(ch)
			}
		case fyne.Widget:
			for _, ch := range test.WidgetRenderer(c).Objects() {
				walk(ch)
			}
		}
	}
	walk(o)
	return bad
}

// TestReprovision_OutcomeDoesNotOverlapTheNote: when a code's life ends
// (finish) the status line gets a sentence of its own and the
// instruction under it is replaced, but nothing laid the dialog out
// again, so a two-line status ran over the line below it, as the
// authenticator-app dialog's did. Every way a code ends, from a dialog
// whose note names the user's phone.
func TestReprovision_OutcomeDoesNotOverlapTheNote(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(h *harness, d *reprovisionDialog)
	}{
		{"superseded", func(h *harness, d *reprovisionDialog) {
			if _, err := h.svc.CreateProvisionCode(d.user); err != nil {
				t.Fatal(err)
			}
		}},
		{"deleted", func(h *harness, d *reprovisionDialog) {
			if err := h.svc.DeleteUser(d.user); err != nil {
				t.Fatal(err)
			}
		}},
		{"failed", func(h *harness, d *reprovisionDialog) {
			// The right code for a disabled user is spent and refused.
			if _, err := h.svc.UpdateUser(d.user, func(u *core.User) error { u.Disabled = true; return nil }); err != nil {
				t.Fatal(err)
			}
			_, _ = h.svc.Provision("127.0.0.1", d.user, d.issued.Code, "Android 15")
		}},
		{"withdrawn", func(h *harness, d *reprovisionDialog) { w := h.c.withdrawal(d); w.done(w.work()) }},
		{"provisioned", func(h *harness, d *reprovisionDialog) {
			if _, err := h.svc.Provision("127.0.0.1", d.user, d.issued.Code, "Android 15 (Samsung Galaxy A54 5G, build UP1A.231005.007)"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.win.Resize(fyne.NewSize(1280, 800))
			// jay has a phone: the note under the status says it stops.
			storetest.MustAddUser(t, h.svc, "jay", "1234")
			ic, err := h.svc.CreateProvisionCode("jay")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.svc.Provision("127.0.0.1", "jay", ic.Code, "iOS 17"); err != nil {
				t.Fatal(err)
			}
			h.settle()
			selectUser(h, "jay")
			test.Tap(h.c.users.reprovision)
			if h.c.oldPhone != nil {
				h.c.oldPhone.Confirm()
			}
			d := h.c.reprov
			if d == nil {
				t.Fatal("no Reprovision dialog")
			}
			h.settle()
			if bad := squashed(h.win.Canvas().Overlays().Top()); len(bad) > 0 {
				t.Fatalf("before: %v", bad)
			}
			tc.end(h, d)
			h.waitFor("the code's end", func() bool { return d.done })
			h.settle()
			writeShot(t, "reprovision-end-"+tc.name+".png", h.win.Canvas().Capture())
			if bad := squashed(h.win.Canvas().Overlays().Top()); len(bad) > 0 {
				t.Errorf("status %q: %v", d.status.Text, bad)
			}
		})
	}
}

// TestConsole_HealthStateDoesNotOverlapItsSentence: the status bar's
// first line is the server's state on the left and the sentence beside
// it. The state's column was sized for "● Server running"; when it turned
// to "● Server needs attention" nothing laid the bar out again, so the
// red words were drawn over the start of the sentence that explains them
// (users-1024x768.png, and at every width).
func TestConsole_HealthStateDoesNotOverlapItsSentence(t *testing.T) {
	var free atomic.Uint64
	free.Store(10 << 30)
	h := newHarnessWith(t, func(h *harness, d *Deps) {
		svc := storetest.MustService(t, core.WithClock(h.clock), core.WithFreeSpace(func() (uint64, error) { return free.Load(), nil }))
		h.svc, d.Service = svc, svc
	})
	h.win.Resize(fyne.NewSize(1024, 768))
	h.settle()
	check := func(when string) {
		t.Helper()
		d := fyne.CurrentApp().Driver()
		state, status := h.c.serverState, h.c.status
		stateRight := d.AbsolutePositionForObject(state).X + state.Size().Width
		if state.Size().Width+0.5 < state.MinSize().Width || stateRight > d.AbsolutePositionForObject(status).X+0.5 {
			t.Errorf("%s: %q is %.0f px wide (needs %.0f) and ends at %.0f, over %q from %.0f", when, state.Text,
				state.Size().Width, state.MinSize().Width, stateRight, status.Text, d.AbsolutePositionForObject(status).X)
		}
	}
	check("healthy")
	free.Store(10 << 20)
	h.svc.CheckFreeSpace()
	h.settle()
	writeShot(t, "status-needs-attention-1024x768.png", h.win.Canvas().Capture())
	if h.c.serverState.Text != "● Server needs attention" {
		t.Fatalf("low disk: state %q", h.c.serverState.Text)
	}
	check("low disk")
}

// TestAsk_MessageIsNotTallerThanItsText: an error or information
// message was sized before its sentence had a width, when a wrapping
// label measures one word a line, so "OATH tokens are turned off; …"
// opened in a box 475 px high with one line of text at the top and the OK
// button far below (reprovision-oath-1024x768.png). The box is as high
// as the sentence wrapped at the box's width.
func TestAsk_MessageIsNotTallerThanItsText(t *testing.T) {
	for _, size := range []fyne.Size{{Width: 1024, Height: 768}, {Width: 1280, Height: 800}, {Width: 1920, Height: 1080}} {
		for _, msg := range []string{
			"OATH tokens are turned off; turn them on first: provisio settings set oath.enabled yes, or Yes when the console asks.",
			"The backup folder /mnt/backup/provisio does not exist; create it first, or choose another folder on Server → Backups, then back up now.",
			"Saved.",
		} {
			h := newHarness(t)
			h.win.Resize(size)
			h.c.showError(core.Errorf(core.CodeInvalid, "%s", msg))
			h.settle()
			d := h.win.Canvas().Overlays().Top()
			if d == nil {
				t.Fatal("no dialog")
			}
			var label *widget.Label
			walk(d, func(o fyne.CanvasObject) {
				if l, ok := o.(*widget.Label); ok && l.Text == msg {
					label = l
				}
			})
			if label == nil {
				t.Fatalf("%q is not shown: %q", msg, visibleTexts(d))
			}
			// The label is given the box's height less the title and the
			// button: any more than its text needs is blank box.
			if got, need := label.Size().Height, label.MinSize().Height; got > need+theme.Padding() {
				t.Errorf("%v %q: the sentence is given %.0f px, needs %.0f", size, msg, got, need)
			}
		}
	}
}

// blankBelow is how much taller the top dialog of h's window is than its
// content needs at the width it has: the height of blank box under the
// last line.
func blankBelow(t *testing.T, h *harness) float32 {
	t.Helper()
	p, ok := h.win.Canvas().Overlays().Top().(*widget.PopUp)
	if !ok {
		t.Fatalf("no dialog open: %T", h.win.Canvas().Overlays().Top())
	}
	return p.Content.Size().Height - p.Content.MinSize().Height
}

// TestDialogs_AsHighAsTheirContent: a dialog given its width after it was
// shown (Resize(w, 0)) took the height its content needed at the narrow
// width it was first laid out at, where a wrapping label counts a word,
// or a character, a line: About opened as high as the window with its
// four lines at the top (about-1024x768.png), the agent's code notice and
// Reset PIN had blank boxes under their text. Each is as high as its
// content at its width.
func TestDialogs_AsHighAsTheirContent(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(h *harness)
	}{
		{"about", func(h *harness) {
			h.c.deps.DataDir = "/home/admin/.config/provisio"
			h.c.showAbout()
		}},
		{"agent code", func(h *harness) {
			storetest.MustAddUser(t, h.svc, "jay", "1234")
			ic, err := h.svc.CreateProvisionCode("jay")
			if err != nil {
				t.Fatal(err)
			}
			h.c.showAgentCode(ic)
		}},
		{"reset PIN", func(h *harness) {
			storetest.MustAddUser(t, h.svc, "jay", "1234")
			h.settle()
			selectUser(h, "jay")
			h.c.users.openPINReset()
		}},
		{"reprovision question", func(h *harness) {
			storetest.MustAddUser(t, h.svc, "jay", "1234")
			ic, err := h.svc.CreateProvisionCode("jay")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.svc.Provision("127.0.0.1", "jay", ic.Code, "Android 15"); err != nil {
				t.Fatal(err)
			}
			h.settle()
			selectUser(h, "jay")
			test.Tap(h.c.users.reprovision)
		}},
		{"edit user", func(h *harness) {
			storetest.MustAddUser(t, h.svc, "jay", "1234")
			h.settle()
			selectUser(h, "jay")
			test.Tap(h.c.users.edit)
		}},
	} {
		for _, size := range []fyne.Size{{Width: 1024, Height: 768}, {Width: 1280, Height: 800}} {
			t.Run(fmt.Sprintf("%s %vx%v", tc.name, size.Width, size.Height), func(t *testing.T) {
				h := newHarnessWith(t, func(h *harness, d *Deps) { d.Fingerprint = shotFingerprint })
				h.win.Resize(size)
				tc.open(h)
				h.settle()
				writeShot(t, fmt.Sprintf("dialog-%s-%vx%v.png", strings.ReplaceAll(tc.name, " ", "-"), size.Width, size.Height), h.win.Canvas().Capture())
				if blank := blankBelow(t, h); blank > 1 {
					t.Errorf("%.0f px of blank box below the content", blank)
				}
			})
		}
	}
}

// TestUsersScreen_HeadersFit: the Username header with its sort arrow
// needed more than the column's 10 %; at 1024×768 the arrow was drawn
// over "Full name" (users-1024x768.png). Every header is as wide as its
// title, arrow included, at each window size.
func TestUsersScreen_HeadersFit(t *testing.T) {
	h := newHarness(t)
	// The console's own theme, whose text is wider than the test theme's.
	fyne.CurrentApp().Settings().SetTheme(Theme())
	s := h.c.users
	for _, size := range []fyne.Size{{Width: 1024, Height: 768}, {Width: 1280, Height: 800}, {Width: 1920, Height: 1080}} {
		h.win.Resize(size)
		h.c.showScreen(s.content)
		h.settle()
		for _, by := range []userSort{sortByName, sortByDevice, sortByLastLogin} {
			// Each sorted, so each shows its arrow.
			s.sortOn(by)
			h.settle()
			b := s.sortBtns[by]
			if b.Size().Width < b.MinSize().Width {
				t.Errorf("%.0f×%.0f: the %q header is %.0f px wide, needs %.0f", size.Width, size.Height, b.Text, b.Size().Width, b.MinSize().Width)
			}
		}
		walk(s.content, func(o fyne.CanvasObject) {
			l, ok := o.(*widget.Label)
			if !ok || !l.TextStyle.Bold || (l.Text != "Full name" && l.Text != "Email" && l.Text != "Account") {
				return
			}
			if need := fyne.MeasureText(l.Text, theme.TextSize(), l.TextStyle).Width + 2*theme.InnerPadding(); l.Size().Width < need {
				t.Errorf("%.0f×%.0f: the %q header is %.0f px wide, needs %.0f", size.Width, size.Height, l.Text, l.Size().Width, need)
			}
		})
	}
}

// TestUsersScreen_CellsFitAt1280: the room the Username header took came
// from Email and Account; at 1280×800 in the console's theme their usual
// text (a 19-character address: 23 characters were cut at the old 18 %
// too), and the longest device state, still fit.
func TestUsersScreen_CellsFitAt1280(t *testing.T) {
	h := newHarness(t)
	fyne.CurrentApp().Settings().SetTheme(Theme())
	s := h.c.users
	storetest.MustAddUser(t, h.svc, "frank", "1357")
	if _, err := h.svc.UpdateUser("frank", func(u *core.User) error {
		u.Email, u.MobileAllowed = "f.poole@example.org", false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, h.svc, "erin", "1357")
	ic, err := h.svc.CreateProvisionCode("erin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Provision("127.0.0.1", "erin", ic.Code, "Android 15"); err != nil {
		t.Fatal(err)
	}
	if _, err = h.svc.CreateProvisionCode("erin"); err != nil {
		t.Fatal(err)
	}
	h.win.Resize(fyne.NewSize(1280, 800))
	h.c.showScreen(s.content)
	h.waitFor("both listed", func() bool { return len(s.shown) == 2 })
	h.settle()
	var device string
	for _, r := range s.shown {
		if r.Name == "erin" {
			device = deviceState(*r, h.svc.Now())
		}
	}
	for _, want := range []string{"f.poole@example.org", "no mobile client", device} {
		var cell *widget.Label
		walk(s.list, func(o fyne.CanvasObject) {
			if l, ok := o.(*widget.Label); ok && l.Text == want {
				cell = l
			}
		})
		if cell == nil {
			t.Fatalf("no cell reads %q", want)
		}
		if need := fyne.MeasureText(want, theme.TextSize(), cell.TextStyle).Width + 2*theme.InnerPadding(); cell.Size().Width < need {
			t.Errorf("%q is cut at 1280×800: %.0f px wide, needs %.0f", want, cell.Size().Width, need)
		}
	}
}

// drawnText is the text the canvas.Text objects under o draw, line by
// line joined with spaces: what a person reads, ellipsis included.
func drawnText(o fyne.CanvasObject) string {
	var parts []string
	walk(o, func(o fyne.CanvasObject) {
		if t, ok := o.(*canvas.Text); ok && t.Visible() && t.Text != "" {
			parts = append(parts, strings.TrimSpace(t.Text))
		}
	})
	return strings.Join(parts, " ")
}

// TestConsole_HealthSentenceIsReadInFull: the status bar's sentence about
// a server that needs attention (a disk almost full, commits failing, a
// failed backup) is the one place the console says it, and it was cut
// with an ellipsis at 1280×800 and even 1920×1080 ("…refuses new
// provisioning and look…"), the counts after it gone. While the server
// needs attention the line wraps, so all of it is read; once healthy it
// is one line again.
func TestConsole_HealthSentenceIsReadInFull(t *testing.T) {
	var free atomic.Uint64
	free.Store(10 << 30)
	h := newHarnessWith(t, func(h *harness, d *Deps) {
		svc := storetest.MustService(t, core.WithClock(h.clock), core.WithFreeSpace(func() (uint64, error) { return free.Load(), nil }))
		for k, v := range map[string]string{"console.setup_done": "yes", "server.siteid": "office"} {
			if err := svc.SetSetting(k, v); err != nil {
				t.Fatal(err)
			}
		}
		h.svc, d.Service = svc, svc
		d.ServerURLs = func() []string { return []string{"https://192.168.1.10:8443/"} }
	})
	fyne.CurrentApp().Settings().SetTheme(Theme())
	h.settle()
	oneLine := h.c.status.Size().Height
	free.Store(10 << 20)
	h.svc.CheckFreeSpace()
	for _, size := range []fyne.Size{{Width: 1280, Height: 800}, {Width: 1920, Height: 1080}} {
		h.win.Resize(size)
		h.settle()
		writeShot(t, fmt.Sprintf("status-low-disk-%vx%v.png", size.Width, size.Height), h.win.Canvas().Capture())
		got := drawnText(h.c.status)
		for _, want := range []string{"Free some space.", "0 codes pending"} {
			if !strings.Contains(got, want) {
				t.Errorf("%v: the status bar reads %q, without %q", size, got, want)
			}
		}
		if bad := squashed(h.win.Content()); len(bad) > 0 {
			t.Errorf("%v: %v", size, bad)
		}
	}
	free.Store(10 << 30)
	h.svc.CheckFreeSpace()
	h.settle()
	if got := h.c.status.Size().Height; got != oneLine {
		t.Errorf("healthy again, the status line is %.0f px high, was %.0f", got, oneLine)
	}
}

// TestConsole_StatusLineWithSeveralAddresses: a server with an advertised
// name and two LAN addresses (an office with a VPN interface) listed
// three URLs first, and at 1280×800 the line was cut with an ellipsis,
// its Site ID and counts gone. The counts come first now; what is cut is
// the tail of the address list, the advertised address (what phones
// use) still read at 1280 px; the Server screen lists them all.
func TestConsole_StatusLineWithSeveralAddresses(t *testing.T) {
	urls := []string{"https://provisio.office.example:8443/", "https://192.168.100.210:8443/", "https://10.200.100.1:8443/"}
	h := newHarnessWith(t, func(h *harness, d *Deps) {
		d.ServerURLs = func() []string { return urls }
	})
	fyne.CurrentApp().Settings().SetTheme(Theme())
	for _, size := range []fyne.Size{{Width: 1280, Height: 800}, {Width: 1024, Height: 768}} {
		h.win.Resize(size)
		h.c.refreshStatus()
		h.settle()
		writeShot(t, fmt.Sprintf("status-three-urls-%vx%v.png", size.Width, size.Height), h.win.Canvas().Capture())
		got := drawnText(h.c.status)
		wants := []string{"Site ID office", "0 devices provisioned", "0 codes pending"}
		if size.Width >= 1280 {
			wants = append(wants, urls[0])
		}
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Errorf("%v: the status bar reads %q, without %q", size, got, want)
			}
		}
		if bad := squashed(h.win.Content()); len(bad) > 0 {
			t.Errorf("%v: %v", size, bad)
		}
	}
	h.c.showScreen(h.c.server.content)
	h.settle()
	if got := h.c.server.state.Text; !strings.Contains(got, strings.Join(urls, ", ")) {
		t.Errorf("the Server screen reads %q, without every address", got)
	}
}
