package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// Tests for the defects of issue #8, one or more per item.

// Item 1: Send by email mails the code on screen; only New code makes a
// new one, and says so.
func TestReprovision_SendByEmailMailsCodeOnScreen(t *testing.T) {
	h := newHarness(t)
	d := h.openFor("alice")
	code, expires, img, url := d.issued.Code, d.issued.Expires, d.qrImage.Image, d.issued.URL
	shown := d.code.Text

	test.Tap(d.sendMail)
	if d.issued.Code != code || !d.issued.Expires.Equal(expires) || d.issued.URL != url || d.code.Text != shown || d.qrImage.Image != img {
		t.Fatalf("Send by email changed the code on screen: %q → %q", code, d.issued.Code)
	}
	m, err := h.svc.OutMessage(d.issued.MailID)
	if err != nil || m.Code != code || !m.Expires.Equal(expires) || m.State != core.MailQueued {
		t.Fatalf("queued message %+v, %v; want the code on screen %q", m, err, code)
	}
	// A phone that scanned the QR before the mail still provisions.
	if _, err := h.svc.Provision("127.0.0.1", "alice", code, ""); err != nil {
		t.Fatalf("the code on screen stopped working: %v", err)
	}
	if m, _ := h.svc.OutMessage(d.issued.MailID); m.State != core.MailWithdrawn {
		t.Errorf("the mail of a redeemed code is %s, want withdrawn", m.State)
	}

	// New code makes a new code and says the old one is dead.
	h.waitFor("provisioned", func() bool { return d.done })
	test.Tap(d.newCode)
	if d.issued.Code == code || d.status.Text != statusReplaced {
		t.Errorf("New code: code %q (was %q), status %q", d.issued.Code, code, d.status.Text)
	}
}

// Item 2: the Outbox and the status bar's pending count agree when a
// mailed code is replaced or expires.
func TestOutbox_DeadCodeWithdrawnAndCountsAgree(t *testing.T) {
	h := newHarness(t)
	s := h.c.outbox
	s.loc = time.UTC
	d := h.openFor("alice")
	test.Tap(d.sendMail)
	h.waitFor("message listed", func() bool { return len(s.shown) == 1 })
	test.Tap(d.newCode)
	h.waitFor("message withdrawn", func() bool { return len(s.shown) == 1 && s.shown[0].State == core.MailWithdrawn })
	if got := s.row(0); !contains(got, "withdrawn: the code is no longer valid") {
		t.Errorf("withdrawn row %q", got)
	}
	if !s.retry.Disabled() && s.selected == s.shown[0].ID {
		t.Error("Retry is offered for a withdrawn message")
	}
	d.dlg.Hide()

	// bob's mailed code expires: the pending count drops and his message
	// shows as withdrawn at the same time, before the sender looks.
	storetest.MustAddUser(t, h.svc, "bob", "1234")
	if _, err := h.svc.MailProvisionCode("bob"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("bob's message", func() bool { return len(s.shown) == 2 })
	h.waitFor("2 codes pending", func() bool { return strings.Contains(h.c.status.Text, "2 codes pending") })
	h.clock.Advance(601 * time.Second)
	h.waitFor("pending count after expiry", func() bool { return strings.Contains(h.c.status.Text, "0 codes pending") })
	h.waitFor("outbox after expiry", func() bool { return contains(s.row(0), "withdrawn: the code is no longer valid") })
}

// Item 3: a main menu with Quit, About and Documentation, and Ctrl+Q.
func TestMenu_QuitAboutDocumentation(t *testing.T) {
	h := newHarnessWith(t, func(_ *harness, d *Deps) {
		d.Version, d.DataDir = "0.1.0", "/home/admin/.config/provisio"
	})
	quits := 0
	h.c.opts.quit = func() { quits++ }
	menus := map[string][]string{}
	var about, quit *fyne.MenuItem
	for _, m := range h.c.menu.Items {
		for _, it := range m.Items {
			menus[m.Label] = append(menus[m.Label], it.Label)
			switch it.Label {
			case "About Provisio":
				about = it
			case "Quit":
				quit = it
			}
		}
	}
	if !contains(menus["File"], "Quit") || !contains(menus["Help"], "About Provisio") || !contains(menus["Help"], "Documentation") {
		t.Fatalf("menus %v", menus)
	}
	if !quit.IsQuit {
		t.Error("File → Quit is not the quit item")
	}
	quit.Action()
	h.shortcut(fyne.KeyQ) // nothing focused
	h.win.Canvas().Focus(h.c.users.search)
	h.shortcut(fyne.KeyQ) // while typing in the search box
	if quits != 3 {
		t.Errorf("quit %d times, want 3 (menu, Ctrl+Q, Ctrl+Q in an entry)", quits)
	}

	about.Action()
	top := h.win.Canvas().Overlays().Top()
	texts := visibleTexts(top)
	for _, want := range []string{"0.1.0", "/home/admin/.config/provisio", testFingerprint} {
		if !contains(texts, want) {
			t.Errorf("About lacks %q: %q", want, texts)
		}
	}
	test.Tap(h.c.aboutBox.copyFP)
	if got := h.c.app.Clipboard().Content(); got != testFingerprint {
		t.Errorf("clipboard %q, want the fingerprint", got)
	}
}

// Item 4: the notice a second copy shows when nobody reads stderr.
func TestShowNotice(t *testing.T) {
	a := test.NewTempApp(t)
	const text = "Another Provisio is already using the data directory /tmp/p."
	w := ShowNotice(a, "Provisio is already running", text)
	w.Show()
	if !contains(visibleTexts(w.Content()), text) {
		t.Fatalf("notice shows %q", visibleTexts(w.Content()))
	}
	if _, ok := a.Settings().Theme().(consoleTheme); !ok {
		t.Error("the notice does not use the readable theme")
	}
	w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	for _, o := range a.Driver().AllWindows() {
		if o == w {
			t.Fatal("Escape did not close the notice")
		}
	}
}

// Item 5: correcting the field takes the "Not saved" footer away.
func TestSettingsForm_FooterFollowsCorrection(t *testing.T) {
	h := newHarness(t)
	f := h.c.mobile
	fl := f.entries["policy.mobile.support_email"]
	test.Type(fl.entry, "not-an-address")
	test.Tap(f.apply)
	if f.result.Text != "Not saved: correct the fields marked in red." || !fl.msg.Visible() {
		t.Fatalf("footer %q, field message visible %v", f.result.Text, fl.msg.Visible())
	}
	fl.entry.SetText("helpdesk@example.org")
	if strings.HasPrefix(f.result.Text, "Not saved") {
		t.Errorf("footer still %q with nothing red", f.result.Text)
	}
	test.Tap(f.apply)
	if f.result.Text != "Saved." {
		t.Errorf("footer %q after a good save", f.result.Text)
	}
}

// placeholderOK says whether a placeholder reads as a hint: empty, an
// example ("e.g. …"), a note in brackets, or a search or filter prompt.
func placeholderOK(p string) bool {
	for _, prefix := range []string{"e.g. ", "(", "Search ", "Filter "} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return p == ""
}

// placeholders lists the placeholders of every entry inside o.
func placeholders(o fyne.CanvasObject) []string {
	var out []string
	walk(o, func(o fyne.CanvasObject) {
		switch e := o.(type) {
		case *widget.Entry:
			out = append(out, e.PlaceHolder)
		case *entry:
			out = append(out, e.PlaceHolder)
		case *selectEntry:
			out = append(out, e.PlaceHolder)
		}
	})
	return out
}

// Item 9: no placeholder reads like a value.
func TestPlaceholders_ReadAsHints(t *testing.T) {
	h := newHarness(t)
	var all []string
	for _, s := range h.c.screens {
		all = append(all, placeholders(s.content)...)
	}
	h.c.users.openForm(nil)
	all = append(all, placeholders(h.win.Canvas().Overlays().Top())...)
	h.c.escape()
	h.c.agents.openForm(nil)
	all = append(all, placeholders(h.win.Canvas().Overlays().Top())...)
	if len(all) < 20 {
		t.Fatalf("found only %d entries", len(all))
	}
	for _, p := range all {
		if !placeholderOK(p) {
			t.Errorf("placeholder %q reads like a value; write it as \"e.g. …\" or \"(…)\"", p)
		}
	}
}

// scrollOf returns the first scroll container inside o.
func scrollOf(o fyne.CanvasObject) *container.Scroll {
	var s *container.Scroll
	walk(o, func(o fyne.CanvasObject) {
		if sc, ok := o.(*container.Scroll); ok && s == nil {
			s = sc
		}
	})
	return s
}

// Item 10: the fields of scrolled forms stay clear of the scroll bar.
func TestForms_FieldsClearOfScrollBar(t *testing.T) {
	h := newHarness(t)
	d := fyne.CurrentApp().Driver()
	for _, content := range []fyne.CanvasObject{h.c.mobile.content, h.c.selfReset.content, h.c.pin.content,
		h.c.transport.content, h.c.server.content} {
		h.c.showScreen(content)
		relayout(h.c.body)
		sc := scrollOf(content)
		if sc == nil {
			t.Fatal("no scroll container")
		}
		barLeft := d.AbsolutePositionForObject(sc).X + sc.Size().Width - theme.ScrollBarSize()
		n := 0
		walk(sc.Content, func(o fyne.CanvasObject) {
			if _, ok := o.(*entry); !ok {
				return
			}
			n++
			if right := d.AbsolutePositionForObject(o).X + o.Size().Width; right > barLeft {
				t.Errorf("%s: an entry ends at %.0f, under the scroll bar from %.0f", h.c.navTitle(h.c.navIndex()), right, barLeft)
			}
		})
		if n == 0 {
			t.Errorf("%s: no entries found", h.c.navTitle(h.c.navIndex()))
		}
	}
}

// navIndex is the selected screen.
func (c *Console) navIndex() int {
	for i, s := range c.screens {
		if len(c.body.Objects) > 0 && c.body.Objects[0] == s.content {
			return i
		}
	}
	return -1
}

// Item 10: the mouse wheel over a template box scrolls the page.
func TestTransport_TemplateBoxesPassTheWheel(t *testing.T) {
	h := newHarness(t)
	s := h.c.transport
	h.c.showScreen(s.content)
	relayout(h.c.body)
	page := scrollOf(s.content)
	page.ScrollToBottom()
	before := page.Offset.Y
	if before <= 0 {
		t.Fatal("the Mail Transport page does not scroll at 1280×800")
	}
	d := fyne.CurrentApp().Driver()
	for _, box := range []*entry{s.template.text, s.template.html} {
		pos := d.AbsolutePositionForObject(box).Add(fyne.NewPos(20, 20))
		page.ScrollToBottom()
		test.Scroll(h.win.Canvas(), pos, 0, 40)
		if page.Offset.Y >= before {
			t.Errorf("the wheel over a template box left the page at %.0f (was %.0f)", page.Offset.Y, before)
		}
	}
}

// Item 10: the Outbox columns show the time, the address and the next
// attempt in full at 1280×800.
func TestOutbox_ColumnsFit(t *testing.T) {
	h := newHarness(t)
	s := h.c.outbox
	s.loc = time.UTC
	storetest.MustAddUser(t, h.svc, "alice", "1234")
	if _, err := h.svc.MailProvisionCode("alice"); err != nil {
		t.Fatal(err)
	}
	h.c.showScreen(s.content)
	h.waitFor("message listed", func() bool { return len(s.shown) == 1 })
	relayout(h.c.body)
	row := s.list.CreateItem()
	s.updateRow(0, row)
	row.Resize(fyne.NewSize(s.list.Size().Width, row.MinSize().Height))
	header := newHeader(outboxColumns, "Queued", "User", "To", "Kind", "State", "Attempts", "Next attempt", "Last error")
	header.Resize(fyne.NewSize(s.list.Size().Width, header.MinSize().Height))
	fits := func(l *widget.Label) bool {
		w := fyne.MeasureText(l.Text, theme.TextSize(), l.TextStyle).Width + 2*theme.InnerPadding()
		return w <= l.Size().Width
	}
	cells := row.(*fyne.Container).Objects
	for _, i := range []int{0, 2, 6} {
		if l := cells[i].(*widget.Label); !fits(l) {
			t.Errorf("column %d cuts %q (%.0f wide)", i, l.Text, l.Size().Width)
		}
	}
	for _, o := range header.(*fyne.Container).Objects {
		if l := o.(*widget.Label); !fits(l) {
			t.Errorf("header %q is cut (%.0f wide)", l.Text, l.Size().Width)
		}
	}
}

// Item 11: a spent QR code fades and its instruction goes.
func TestReprovision_SpentQRDimmed(t *testing.T) {
	h := newHarness(t)
	d := h.openFor("alice")
	if d.qrImage.Translucency != 0 || !strings.HasPrefix(d.where.Text, "Scan the QR code") {
		t.Fatalf("fresh code: translucency %v, %q", d.qrImage.Translucency, d.where.Text)
	}
	if _, err := h.svc.Provision("127.0.0.1", "alice", d.issued.Code, ""); err != nil {
		t.Fatal(err)
	}
	h.waitFor("provisioned", func() bool { return strings.HasPrefix(d.status.Text, statusProvisioned) })
	if d.qrImage.Translucency < 0.8 || strings.Contains(d.where.Text, "Scan") {
		t.Errorf("spent code: translucency %v, %q", d.qrImage.Translucency, d.where.Text)
	}
	test.Tap(d.newCode)
	if d.qrImage.Translucency != 0 {
		t.Error("a new code's QR is still faded")
	}
}

// Item 12: reprovisioning a user with a phone warns before a code is made.
func TestReprovision_WarnsAboutCurrentPhone(t *testing.T) {
	h := newHarness(t)
	storetest.MustAddUser(t, h.svc, "carol", "1234")
	ic, err := h.svc.CreateProvisionCode("carol")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Provision("127.0.0.1", "carol", ic.Code, "iOS 18"); err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.c.openReprovision("carol")
	if h.c.reprov != nil {
		t.Fatal("a code was made before the admin was warned")
	}
	if pending, _ := h.svc.PendingCodes(); len(pending) != 0 {
		t.Fatalf("pending codes %v before the answer", pending)
	}
	top := h.win.Canvas().Overlays().Top()
	text := strings.Join(visibleTexts(top), " ")
	if !strings.Contains(text, "carol already has a phone (iOS 18") || !strings.Contains(text, "stops working") {
		t.Fatalf("warning reads %q", text)
	}
	h.c.oldPhone.Confirm()
	if h.c.reprov == nil {
		t.Fatal("Make a code did not open the dialog")
	}
	if !strings.Contains(h.c.reprov.where.Text, oldPhoneNote) {
		t.Errorf("dialog lacks the reminder: %q", h.c.reprov.where.Text)
	}
	// A user without a phone goes straight to the code.
	h.c.reprov.dlg.Hide()
	storetest.MustAddUser(t, h.svc, "dan", "1234")
	h.c.openReprovision("dan")
	if h.c.reprov == nil || strings.Contains(h.c.reprov.where.Text, oldPhoneNote) {
		t.Error("a user without a phone was warned or got no code")
	}
}

// Item 13: PIN and lockout on a Policy screen; every Mobile Client check
// explained.
func TestPINPolicy_ScreenSaves(t *testing.T) {
	h := newHarness(t)
	found := false
	for _, s := range h.c.screens {
		found = found || s.title == "Policy → PIN & Lockout"
	}
	if !found {
		t.Fatal("no Policy → PIN & Lockout screen")
	}
	f := h.c.pin
	for k, v := range map[string]string{"policy.pin.min_length": "6", "policy.pin.max_length": "8", "policy.lockout.max_failures": "3"} {
		f.entries[k].entry.SetText(v)
	}
	test.Tap(f.apply)
	if set := h.svc.Settings(); set.PINMin != 6 || set.PINMax != 8 || set.MaxFailures != 3 || f.result.Text != "Saved." {
		t.Fatalf("saved %d-%d, lockout %d; footer %q", set.PINMin, set.PINMax, set.MaxFailures, f.result.Text)
	}
	f.entries["policy.pin.min_length"].entry.SetText("9")
	test.Tap(f.apply)
	if h.svc.Settings().PINMin != 6 || !strings.HasPrefix(f.result.Text, "Not saved") {
		t.Errorf("a shortest PIN above the longest was saved: footer %q", f.result.Text)
	}

	texts := visibleTexts(h.c.mobile.content)
	for _, k := range h.c.mobile.spec.checks {
		e := h.c.mobile.spec.explain[k]
		if e == "" || !contains(texts, e) {
			t.Errorf("%s has no explanation on screen", k)
		}
	}
}

// Item 14: a form with unsaved changes is marked, keeps its draft when
// the admin looks elsewhere, and loses the mark on Apply or Reset.
func TestSettingsForm_UnsavedMarked(t *testing.T) {
	h := newHarness(t)
	f := h.c.mobile
	h.c.showScreen(f.content)
	i := h.c.navIndex()
	f.entries["policy.mobile.support_phone"].entry.SetText("+44 20 7946 0001")
	if h.c.navTitle(i) != "Policy → Mobile Client"+unsavedMark || f.result.Text != unsavedNote {
		t.Fatalf("nav %q, footer %q", h.c.navTitle(i), f.result.Text)
	}
	h.c.showScreen(h.c.users.content)
	h.c.showScreen(f.content)
	if f.entries["policy.mobile.support_phone"].entry.Text != "+44 20 7946 0001" {
		t.Fatal("the draft was lost")
	}
	test.Tap(f.reset)
	if h.c.navTitle(i) != "Policy → Mobile Client" || f.result.Text != "" {
		t.Errorf("after Reset: nav %q, footer %q", h.c.navTitle(i), f.result.Text)
	}
	f.checks["policy.mobile.sync_index"].SetChecked(true)
	if h.c.navTitle(i) != "Policy → Mobile Client"+unsavedMark {
		t.Error("a changed check box is not marked")
	}
	test.Tap(f.apply)
	if h.c.navTitle(i) != "Policy → Mobile Client" || f.result.Text != "Saved." {
		t.Errorf("after Apply: nav %q, footer %q", h.c.navTitle(i), f.result.Text)
	}
}

// Item 14: Mail Transport and Server are marked too when the admin
// leaves them with changes, and unmarked once they are saved.
func TestForms_UnsavedMarkOnLeaving(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct {
		content fyne.CanvasObject
		edit    func()
	}{
		{h.c.transport.content, func() { h.c.transport.host.entry.SetText("smtp.example.org") }},
		{h.c.server.content, func() { h.c.server.name.entry.SetText("front-desk") }},
	} {
		h.c.showScreen(tt.content)
		i := h.c.navIndex()
		title := h.c.screens[i].title
		tt.edit()
		h.c.showScreen(h.c.users.content)
		if h.c.navTitle(i) != title+unsavedMark {
			t.Errorf("left %s with changes; nav reads %q", title, h.c.navTitle(i))
		}
	}
	h.c.showScreen(h.c.server.content)
	test.Tap(h.c.server.apply)
	h.waitFor("server unmarked", func() bool { return h.c.navTitle(h.c.navIndex()) == "Server" })
}

// Item 15: the window's size is remembered.
func TestWindow_SizeRemembered(t *testing.T) {
	h := newHarness(t)
	h.c.opts.quit = func() {}
	h.win.Resize(fyne.NewSize(1100, 720))
	h.c.quit()
	w := test.NewTempWindow(t, widget.NewLabel(""))
	c := newConsole(h.c.app, w, h.c.deps, h.options())
	defer c.Close()
	if got := w.Canvas().Size(); got != fyne.NewSize(1100, 720) {
		t.Errorf("second start at %v, want 1100×720", got)
	}
}

// Item 15: Escape clears the search box and Down moves into the list.
func TestUsers_SearchKeys(t *testing.T) {
	h := newHarness(t)
	storetest.MustAddUser(t, h.svc, "alice", "1234")
	storetest.MustAddUser(t, h.svc, "bob", "1234")
	s := h.c.users
	h.waitFor("users listed", func() bool { return len(s.shown) == 2 })
	h.win.Canvas().Focus(s.search)
	test.Type(s.search, "bo")
	h.press(fyne.KeyEscape)
	if s.search.Text != "" || len(s.shown) != 2 {
		t.Fatalf("after Escape: search %q, %d shown", s.search.Text, len(s.shown))
	}
	test.Type(s.search, "bo")
	h.press(fyne.KeyDown)
	if h.win.Canvas().Focused() != s.list {
		t.Fatal("Down did not move into the list")
	}
	if r, ok := s.selectedRow(); !ok || r.Name != "bob" {
		t.Errorf("selected %+v", r)
	}
}

// Item 15: the certificate fingerprint can be copied from the status bar.
func TestStatus_FingerprintCopyable(t *testing.T) {
	h := newHarness(t)
	test.Tap(h.c.copyFP)
	if got := h.c.app.Clipboard().Content(); got != testFingerprint {
		t.Errorf("clipboard %q, want %q", got, testFingerprint)
	}
}

// TestReprovision_AsksForTheMobileRight: for a user whose account does
// not allow the mobile client, core makes no mobile-client code (the
// phone would be refused its strings); the console asks first, and
// "Allow and make a code" allows it (logged) and opens the dialog, while
// Cancel changes nothing.
func TestReprovision_AsksForTheMobileRight(t *testing.T) {
	h := newHarness(t)
	for _, name := range []string{"frank", "gina"} {
		storetest.MustAddUser(t, h.svc, name, "1234")
		if _, err := h.svc.UpdateUser(name, func(u *core.User) error { u.MobileAllowed = false; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	h.settle()

	h.c.openReprovision("gina")
	if h.c.reprov != nil || h.c.oldPhone == nil {
		t.Fatal("no question before a code for a user without the mobile right")
	}
	text := strings.Join(visibleTexts(h.win.Canvas().Overlays().Top()), " ")
	if !strings.Contains(text, "gina may not use the mobile client") {
		t.Fatalf("question reads %q", text)
	}
	h.c.oldPhone.Dismiss()
	if u, _ := h.svc.User("gina"); u.MobileAllowed || h.c.reprov != nil {
		t.Errorf("Cancel: mobile right %v, dialog open %v", u.MobileAllowed, h.c.reprov != nil)
	}

	h.c.openReprovision("frank")
	h.c.oldPhone.Confirm()
	if u, _ := h.svc.User("frank"); !u.MobileAllowed {
		t.Error("Allow and make a code did not allow the mobile client")
	}
	if h.c.reprov == nil || h.c.reprov.issued.User != "frank" {
		t.Fatal("Allow and make a code did not open the Reprovision dialog")
	}
	if pending, _ := h.svc.PendingCodes(); len(pending) != 1 {
		t.Errorf("pending codes %v, want frank's", pending)
	}
	h.waitFor("the change in the log", func() bool {
		tail, _ := h.svc.LogTail(5)
		for _, e := range tail {
			if strings.Contains(e.Message, `User "frank" changed: mobile right Yes`) {
				return true
			}
		}
		return false
	})
}
