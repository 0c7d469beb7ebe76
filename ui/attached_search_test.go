package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// The helpdesk window's users search: with thousands of users the
// helpdesk could only scroll; the window now has the full console's
// search, with its rule (usersearch.go), above its users list.

// searchOffice is the users the search tests find among.
var searchOffice = []core.User{
	{Name: "alice", FullName: "Alice Smith", Email: "alice@example.org", MobileAllowed: true, Locked: true},
	{Name: "bob", FullName: "Bob Jones", Email: "bjones@corp.example", MobileAllowed: true, Locked: true},
	{Name: "carol", FullName: "Carol White", Email: "c.white@example.org", MobileAllowed: true, Locked: true},
	{Name: "dave", MobileAllowed: true, Locked: true},
}

// addUsers adds users to svc.
func addUsers(t *testing.T, svc *core.Service, users []core.User) {
	t.Helper()
	for _, u := range users {
		if _, err := svc.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
}

// attachedRows are the names of the users in the list's rows, in order
// (drawnRows is what it draws).
func attachedRows(at *Attached) []string {
	var out []string
	for i := range at.userList.Length() {
		out = append(out, at.users[at.shown[i]].Name)
	}
	return out
}

// drawnRows are the lines the users list draws.
func drawnRows(at *Attached) []string {
	var out []string
	walk(at.userList, func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && l.Visible() && l.Text != "" {
			out = append(out, l.Text)
		}
	})
	slices.Sort(out)
	return out
}

// typeSearch types text into the window's search box key by key, as a
// person does, after clearing it.
func typeSearch(at *Attached, text string) {
	at.search.SetText("")
	at.win.Canvas().Focus(at.search)
	for _, r := range text {
		at.win.Canvas().Focused().TypedRune(r)
	}
}

// TestAttached_SearchFiltersAsYouType: what is typed in the helpdesk
// window's search box narrows its users list at each key, by username,
// full name or email, in any case, ignoring spaces around it; the list
// draws only those users.
func TestAttached_SearchFiltersAsYouType(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	addUsers(t, svc, searchOffice)
	at, w, waitFor := helpdeskWindow(t, svc)
	waitFor("the users listed", func() bool { return len(attachedRows(at)) == 4 })
	if w.Canvas().Focused() != at.search {
		t.Errorf("the window opens with the focus on %T, want the search box", w.Canvas().Focused())
	}
	for _, tt := range []struct {
		typed string
		want  []string
	}{
		{"", []string{"alice", "bob", "carol", "dave"}},
		{"o", []string{"alice", "bob", "carol"}}, // ".org" is alice's
		{"al", []string{"alice"}},
		{"SMITH", []string{"alice"}},                // full name, any case
		{"  jones ", []string{"bob"}},               // spaces around do not count
		{"example.org", []string{"alice", "carol"}}, // email
		{"corp", []string{"bob"}},
		{"bbob", nil}, // "bob" and "Bob Jones" are two fields
		{"zz", nil},
	} {
		t.Run(tt.typed, func(t *testing.T) {
			typeSearch(at, tt.typed)
			if got := attachedRows(at); !slices.Equal(got, tt.want) {
				t.Errorf("typed %q: the list shows %v, want %v", tt.typed, got, tt.want)
			}
			var lines []string
			for _, u := range at.users {
				if slices.Contains(tt.want, u.Name) {
					lines = append(lines, attachedUserLine(u))
				}
			}
			slices.Sort(lines)
			if got := drawnRows(at); !slices.Equal(got, lines) {
				t.Errorf("typed %q: the list draws %q, want %q", tt.typed, got, lines)
			}
		})
	}
}

// TestAttached_SearchIsTheFullConsoles: for the same users and the same
// typing, the helpdesk window finds exactly whom the full console's User
// Management finds, and says the same when it finds no one.
func TestAttached_SearchIsTheFullConsoles(t *testing.T) {
	h := newHarness(t)
	addUsers(t, h.svc, searchOffice)
	h.c.users.refresh()
	do, waitFor := uiQueue(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	at := NewAttached(w, AttachedDeps{API: helpdeskAPI(h.svc), Remote: "provisio.lan:8444", do: do})
	t.Cleanup(at.Close)
	waitFor("the users listed", func() bool { return len(attachedRows(at)) == 4 })
	for _, typed := range []string{"a", "AL", " smith", "example", "bjones@", "e w", "nobody", ""} {
		h.c.users.search.SetText(typed)
		typeSearch(at, typed)
		if full, got := shownNames(h.c.users), attachedRows(at); !slices.Equal(full, got) {
			t.Errorf("typed %q: the full console finds %v, the helpdesk window %v", typed, full, got)
		}
		full, got := "", ""
		if h.c.users.empty.Visible() {
			full = h.c.users.empty.Text
		}
		if at.noMatch.Visible() {
			got = at.noMatch.Text
		}
		if full != got {
			t.Errorf("typed %q: the full console says %q, the helpdesk window %q", typed, full, got)
		}
	}
}

// TestAttached_SearchNoMatchSaysSo: a search that finds no one says so
// where the rows were, in the full console's words; Escape in the box
// clears it and every user is back.
func TestAttached_SearchNoMatchSaysSo(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	addUsers(t, svc, searchOffice)
	at, w, waitFor := helpdeskWindow(t, svc)
	waitFor("the users listed", func() bool { return len(attachedRows(at)) == 4 })
	if at.noMatch.Visible() {
		t.Errorf("with nothing typed the list says %q", at.noMatch.Text)
	}
	typeSearch(at, "nobody ")
	const want = "No user matches “nobody”."
	if !at.noMatch.Visible() || at.noMatch.Text != want {
		t.Fatalf("the list says %q (shown %v), want %q", at.noMatch.Text, at.noMatch.Visible(), want)
	}
	if got := drawnText(w.Canvas().Content()); !strings.Contains(got, want) {
		t.Errorf("%q is not drawn: %q", want, got)
	}
	pressIn(w, fyne.KeyEscape)
	if at.search.Text != "" || len(attachedRows(at)) != 4 || at.noMatch.Visible() {
		t.Errorf("after Escape: search %q, rows %v, no-match sentence shown %v", at.search.Text, attachedRows(at), at.noMatch.Visible())
	}
}

// TestAttached_SearchActionsActOnTheUserShown: after a search, the row
// selected is the user its actions act on; a search that hides the
// selected user leaves nothing selected and every action off, instead of
// acting on whoever now has that row number; one that keeps them keeps
// them selected though their row moved.
func TestAttached_SearchActionsActOnTheUserShown(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	addUsers(t, svc, searchOffice)
	at, w, waitFor := helpdeskWindow(t, svc)
	waitFor("the users listed", func() bool { return len(attachedRows(at)) == 4 })
	locked := func(name string) bool {
		u, err := svc.User(name)
		if err != nil {
			t.Fatal(err)
		}
		return u.Locked
	}

	// Type, pick the first row: the action is on that user.
	typeSearch(at, "car")
	at.userList.Select(0)
	if !at.Press("Unlock") {
		t.Fatal("Unlock is off for carol, selected and locked")
	}
	waitFor("carol unlocked", func() bool { return !locked("carol") })
	if !locked("alice") || !locked("bob") || !locked("dave") {
		t.Error("Unlock on the filtered list unlocked someone besides carol")
	}

	// Enter in the box picks the first match, for Reprovision too.
	typeSearch(at, "jones")
	pressIn(w, fyne.KeyReturn)
	if u, ok := at.selectedUser(); !ok || u.Name != "bob" {
		t.Fatalf("Enter in the search selected %v %v, want bob", u.Name, ok)
	}
	test.Tap(at.reprovBtn)
	waitFor("the Reprovision dialog", func() bool { return at.reprov != nil })
	if at.reprov.user != "bob" || at.LastIssued().User != "bob" {
		t.Errorf("Reprovision made a code for %q (%q), want bob", at.reprov.user, at.LastIssued().User)
	}
	pressIn(w, fyne.KeyEscape)

	// The selected user stays selected while the search keeps them,
	// whatever their row.
	typeSearch(at, "")
	if !at.SelectUser("dave") {
		t.Fatal("dave is not listed")
	}
	typeSearch(at, "d")
	if u, ok := at.selectedUser(); !ok || u.Name != "dave" || at.userLine.Text != attachedUserLine(u) {
		t.Errorf(`typing "d" left %q selected (%v), line %q; want dave`, u.Name, ok, at.userLine.Text)
	}

	// A search that hides the selected user leaves no one selected.
	typeSearch(at, "")
	if !at.SelectUser("alice") {
		t.Fatal("alice is not listed")
	}
	typeSearch(at, "jones") // bob alone: row 0 is bob's now
	if u, ok := at.selectedUser(); ok {
		t.Errorf("alice hidden, %s is selected", u.Name)
	}
	for _, b := range []*widget.Button{at.reprovBtn, at.unlockBtn, at.pinBtn, at.revokeBtn, at.profileBtn} {
		if !b.Disabled() {
			t.Errorf("%s is on with the selected user hidden", b.Text)
		}
	}
	if at.userLine.Text != selectUserNote {
		t.Errorf("the line under the list reads %q", at.userLine.Text)
	}
	if at.Press("Unlock") || at.Press("Reset PIN…") {
		t.Error("an action ran with no user shown selected")
	}
	if !locked("alice") || !locked("bob") {
		t.Error("hiding alice unlocked someone")
	}
	// A click on the row alice's selection was on selects its user: the
	// list does not still hold that row as selected.
	at.userList.Select(0)
	if u, ok := at.selectedUser(); !ok || u.Name != "bob" || at.unlockBtn.Disabled() {
		t.Errorf("a click on bob's row selected %q (%v)", u.Name, ok)
	}
}

// TestAttached_SearchKeptOverEvents: a change made elsewhere reloads the
// list, and the reload keeps what was typed and whom it finds: a new
// user shows if the search finds them, and a selected user deleted
// elsewhere leaves no one selected.
func TestAttached_SearchKeptOverEvents(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	addUsers(t, svc, searchOffice)
	at, _, waitFor := helpdeskWindow(t, svc)
	waitFor("the users listed", func() bool { return len(attachedRows(at)) == 4 })
	typeSearch(at, "car")
	if !at.SelectUser("carol") {
		t.Fatal("carol is not listed")
	}
	addUsers(t, svc, []core.User{{Name: "carla", MobileAllowed: true}, {Name: "zed", MobileAllowed: true}})
	waitFor("the reload", func() bool { return len(at.users) == 6 })
	if at.search.Text != "car" {
		t.Errorf("the reload changed the search to %q", at.search.Text)
	}
	if got := attachedRows(at); !slices.Equal(got, []string{"carla", "carol"}) {
		t.Errorf("after the reload the list shows %v, want carla and carol", got)
	}
	if u, ok := at.selectedUser(); !ok || u.Name != "carol" || at.unlockBtn.Disabled() {
		t.Errorf("after the reload %q is selected (%v), want carol with Unlock on", u.Name, ok)
	}
	if err := svc.DeleteUser("carol"); err != nil {
		t.Fatal(err)
	}
	waitFor("the reload", func() bool { return len(at.users) == 5 })
	if got := attachedRows(at); !slices.Equal(got, []string{"carla"}) {
		t.Errorf("carol deleted, the list shows %v", got)
	}
	if u, ok := at.selectedUser(); ok || !at.unlockBtn.Disabled() || !at.pinBtn.Disabled() {
		t.Errorf("carol deleted, %q is selected", u.Name)
	}
}

// TestAttached_CtrlFFocusesSearch: Ctrl+F, the full console's Find
// user, puts the focus in the search box from the list and from nowhere,
// but not while a dialog is open.
func TestAttached_CtrlFFocusesSearch(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	addUsers(t, svc, searchOffice)
	at, w, waitFor := helpdeskWindow(t, svc)
	waitFor("the users listed", func() bool { return at.SelectUser("alice") })
	ctrlF := func() {
		s := &desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}
		if f, ok := w.Canvas().Focused().(fyne.Shortcutable); ok {
			f.TypedShortcut(s)
			return
		}
		w.Canvas().(fyne.Shortcutable).TypedShortcut(s)
	}
	for name, from := range map[string]fyne.Focusable{"the list": at.userList, "nowhere": nil} {
		if from == nil {
			w.Canvas().Unfocus()
		} else {
			w.Canvas().Focus(from)
		}
		ctrlF()
		if w.Canvas().Focused() != at.search {
			t.Errorf("Ctrl+F from %s: the focus is on %T, want the search box", name, w.Canvas().Focused())
		}
	}
	test.Tap(at.pinBtn)
	ctrlF()
	if w.Canvas().Focused() == at.search || w.Canvas().Overlays().Top() == nil {
		t.Error("Ctrl+F over the Reset PIN question left it for the search box")
	}
}

// TestAttached_SearchLayoutAt1280: at 1280×800, and at the 1100×700 the
// window opens at, the search box sits at the top of the Users pane,
// across it, above the list; the window needs no more width than it
// has, nothing is squashed, and the no-match sentence is drawn in full.
func TestAttached_SearchLayoutAt1280(t *testing.T) {
	test.NewTempApp(t)
	fyne.CurrentApp().Settings().SetTheme(Theme())
	svc := storetest.MustService(t)
	addUsers(t, svc, searchOffice)
	at, w, waitFor := helpdeskWindow(t, svc)
	waitFor("the users listed", func() bool { return len(attachedRows(at)) == 4 })
	for _, size := range []fyne.Size{fyne.NewSize(1280, 800), fyne.NewSize(1100, 700)} {
		w.Resize(size)
		typeSearch(at, "")
		content := w.Canvas().Content()
		sp, ok1 := absPos(content, at.search, fyne.Position{})
		lp, ok2 := absPos(content, at.userList, fyne.Position{})
		pp, ok3 := absPos(content, at.left, fyne.Position{})
		if !ok1 || !ok2 || !ok3 {
			t.Fatalf("at %v the search box, the list or the Users pane is not in the window", size)
		}
		if sp.Y+at.search.Size().Height > lp.Y || sp.Y > pp.Y+60 {
			t.Errorf("at %v the search box (y %.0f–%.0f) is not at the top of the pane (y %.0f), above the list (y %.0f)",
				size, sp.Y, sp.Y+at.search.Size().Height, pp.Y, lp.Y)
		}
		if at.search.Size().Width < at.left.Size().Width-2*theme.Padding() {
			t.Errorf("at %v the search box is %.0f px wide in a pane of %.0f", size, at.search.Size().Width, at.left.Size().Width)
		}
		hint := fyne.MeasureText(userSearchHint, theme.TextSize(), fyne.TextStyle{}).Width
		if at.search.Size().Width < hint+2*theme.InnerPadding()+theme.IconInlineSize() {
			t.Errorf("at %v the search box (%.0f px) cuts its hint %q", size, at.search.Size().Width, userSearchHint)
		}
		if m := content.MinSize(); m.Width > size.Width || m.Height > size.Height {
			t.Errorf("at %v the window needs %v", size, m)
		}
		typeSearch(at, "nobody")
		if bad := squashed(content); len(bad) > 0 {
			t.Errorf("at %v: %v", size, bad)
		}
		need := fyne.MeasureText(at.noMatch.Text, theme.TextSize(), fyne.TextStyle{}).Width
		if !at.noMatch.Visible() || at.noMatch.Size().Width < need || !strings.Contains(drawnText(content), at.noMatch.Text) {
			t.Errorf("at %v the sentence %q is not drawn in full (%.0f px for %.0f)", size, at.noMatch.Text, at.noMatch.Size().Width, need)
		}
		writeShot(t, "attached-search-"+map[bool]string{true: "1280x800", false: "1100x700"}[size.Width == 1280]+".png", w.Canvas().Capture())
	}
}
