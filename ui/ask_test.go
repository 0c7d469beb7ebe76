package ui

import (
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// dialogButtonIn is the button labelled text in w's top dialog: Fyne's
// own or the console's (keys.go).
func dialogButtonIn(t *testing.T, w fyne.Window, text string) fyne.Focusable {
	t.Helper()
	top := w.Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog open to find %q in", text)
	}
	var found fyne.Focusable
	walk(top, func(o fyne.CanvasObject) {
		switch b := o.(type) {
		case *widget.Button:
			if b.Text == text {
				found = b
			}
		case *button:
			if b.Text == text {
				found = b
			}
		}
	})
	if found == nil {
		t.Fatalf("the dialog has no %q button: %q", text, visibleTexts(top))
	}
	return found
}

// focusDialogButton gives the focus to a button of w's top dialog, as
// Tab does.
func focusDialogButton(t *testing.T, w fyne.Window, text string) {
	t.Helper()
	b := dialogButtonIn(t, w, text)
	w.Canvas().Focus(b)
	if w.Canvas().Focused() != b {
		t.Fatalf("the %q button cannot take the focus", text)
	}
}

// buttonTexts are the labels of the buttons in o, in order.
func buttonTexts(o fyne.CanvasObject) []string {
	var out []string
	walk(o, func(o fyne.CanvasObject) {
		switch b := o.(type) {
		case *widget.Button:
			out = append(out, b.Text)
		case *button:
			out = append(out, b.Text)
		}
	})
	return out
}

// TestAsk_DeleteUserKeys: the Delete user question closes with Escape
// from either of its buttons, and Enter confirms only from a focused
// Delete button: Enter on No cancels and Enter with nothing focused does
// nothing. Fyne's buttons dropped Escape and Enter, so with a button
// focused neither key did anything. Texts and labels are as before.
func TestAsk_DeleteUserKeys(t *testing.T) {
	h := newHarness(t)
	h.listUser("pat")
	cv := h.win.Canvas()
	open := func() {
		t.Helper()
		test.Tap(h.c.users.del)
		if cv.Overlays().Top() == nil {
			t.Fatal("Delete… opened no question")
		}
	}
	open()
	top := cv.Overlays().Top()
	if got := buttonTexts(top); !slices.Equal(got, []string{"No", "Delete"}) {
		t.Errorf("buttons %q, want No, Delete", got)
	}
	const msg = "Delete pat? Their phone stops working and any pending provision code is cancelled. This cannot be undone."
	if texts := visibleTexts(top); !contains(texts, "Delete user") || !contains(texts, msg) {
		t.Errorf("the question reads %q", texts)
	}
	for _, b := range []string{"No", "Delete"} {
		focusDialogButton(t, h.win, b)
		h.press(fyne.KeyEscape)
		if cv.Overlays().Top() != nil {
			t.Fatalf("Escape on a focused %s did not close the question", b)
		}
		open()
	}
	h.press(fyne.KeyReturn) // nothing focused
	if cv.Overlays().Top() == nil {
		t.Fatal("Enter with nothing focused closed the question")
	}
	focusDialogButton(t, h.win, "No")
	h.press(fyne.KeyReturn)
	if cv.Overlays().Top() != nil {
		t.Fatal("Enter on a focused No did not cancel")
	}
	if _, err := h.svc.User("pat"); err != nil {
		t.Fatal("Enter on No or with nothing focused deleted pat")
	}
	open()
	focusDialogButton(t, h.win, "Delete")
	h.press(fyne.KeyReturn)
	if _, err := h.svc.User("pat"); err == nil {
		t.Error("Enter on a focused Delete did not delete")
	}
	if len(h.c.modals) != 0 || cv.Overlays().Top() != nil {
		t.Errorf("%d dialogs left open", len(h.c.modals))
	}
}

// TestAsk_MessagesTakeEscapeAndEnter: error sentences, information and
// the About box close with Escape and with Enter, from their focused
// button too (which took neither), and read as before.
func TestAsk_MessagesTakeEscapeAndEnter(t *testing.T) {
	h := newHarness(t)
	cv := h.win.Canvas()
	for _, tt := range []struct {
		name, button string
		open         func()
		texts        []string
	}{
		{"error", "OK", func() { h.c.showError(sentence("the file could not be read.")) }, []string{"Error", "The file could not be read."}},
		{"information", "OK", func() { h.c.showInfo("Documentation", "Read the README.") }, []string{"Documentation", "Read the README."}},
		{"About", "Close", h.c.showAbout, []string{"About Provisio"}},
	} {
		for _, key := range []fyne.KeyName{fyne.KeyEscape, fyne.KeyReturn} {
			tt.open()
			top := cv.Overlays().Top()
			if got := buttonTexts(top); !contains(got, tt.button) {
				t.Fatalf("%s: buttons %q", tt.name, got)
			}
			for _, want := range tt.texts {
				if !contains(visibleTexts(top), want) {
					t.Errorf("%s reads %q, want %q", tt.name, visibleTexts(top), want)
				}
			}
			focusDialogButton(t, h.win, tt.button)
			h.press(key)
			if cv.Overlays().Top() != nil {
				t.Fatalf("%s: %s on a focused %s did not close it", tt.name, key, tt.button)
			}
			if len(h.c.modals) != 0 {
				t.Fatalf("%s: %d dialogs still registered", tt.name, len(h.c.modals))
			}
		}
	}
}

// TestAsk_QuestionOverADialog: "Turn on authenticator apps?", asked over
// the Reprovision dialog, takes Escape and Enter itself. It was not
// registered, so Escape closed the Reprovision dialog beneath it and
// left the question; and Escape on Cancel of the "already has a phone"
// question did nothing.
func TestAsk_QuestionOverADialog(t *testing.T) {
	h := newOATHHarness(t)
	storetest.MustAddUser(t, h.svc, "bob", "1357")
	if err := h.svc.SetSetting("oath.enabled", "no"); err != nil {
		t.Fatal(err)
	}
	cv := h.win.Canvas()
	h.c.openReprovision("bob")
	radio := findRadio(cv.Overlays().Top())
	radio.SetSelected(choiceOATH)
	if h.c.offer == nil {
		t.Fatal("choosing OATH while it is off did not ask")
	}
	if got := buttonTexts(cv.Overlays().Top()); !slices.Equal(got, []string{"No", "Turn on"}) {
		t.Errorf("buttons %q, want No, Turn on", got)
	}
	h.press(fyne.KeyEscape)
	if h.c.reprov == nil {
		t.Fatal("Escape on the question closed the Reprovision dialog beneath it")
	}
	if len(cv.Overlays().List()) != 1 || radio.Selected != choiceStrings {
		t.Fatalf("Escape left %d dialogs, choice %q", len(cv.Overlays().List()), radio.Selected)
	}
	radio.SetSelected(choiceOATH)
	focusDialogButton(t, h.win, "Turn on")
	h.press(fyne.KeyReturn)
	if !h.svc.Settings().OATH.Enabled || h.c.oath == nil {
		t.Fatalf("Enter on Turn on: enabled %v, OATH dialog %v", h.svc.Settings().OATH.Enabled, h.c.oath)
	}
}

// TestAsk_RevokeConsoleKeys: the Revoke question over Paired consoles
// takes Escape itself and Enter alone does not revoke. It was not
// registered: Escape closed Paired consoles beneath it.
func TestAsk_RevokeConsoleKeys(t *testing.T) {
	h := newHarness(t)
	if _, err := h.svc.PairConsole("desk-2", core.RoleHelpdesk); err != nil {
		t.Fatal(err)
	}
	cv := h.win.Canvas()
	h.c.server.openConsoles()
	test.Tap(dialogButtonIn(t, h.win, "Revoke…").(fyne.Tappable))
	if n := len(cv.Overlays().List()); n != 2 {
		t.Fatalf("%d dialogs open, want Paired consoles and the question", n)
	}
	h.press(fyne.KeyReturn)
	focusDialogButton(t, h.win, "No")
	h.press(fyne.KeyEscape)
	if n := len(cv.Overlays().List()); n != 1 || !contains(buttonTexts(cv.Overlays().Top()), "Revoke…") {
		t.Fatalf("Escape on the question: %d dialogs left, %q", n, buttonTexts(cv.Overlays().Top()))
	}
	list, err := h.svc.Consoles()
	if err != nil || len(list) != 1 || list[0].Revoked {
		t.Fatalf("Enter or Escape revoked: %+v, %v", list, err)
	}
	h.press(fyne.KeyEscape)
	if cv.Overlays().Top() != nil {
		t.Error("Escape did not close Paired consoles")
	}
}

// TestAttached_QuestionKeys: in the attached console, Delete asks with
// No and Yes; Escape from a focused button closes the question, Enter
// alone does not delete, Enter on a focused Yes does; and the
// information that follows a refusal closes with Enter.
func TestAttached_QuestionKeys(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	for _, n := range []string{"alice", "bob"} {
		if _, err := svc.AddUser(core.User{Name: n, MobileAllowed: true}); err != nil {
			t.Fatal(err)
		}
	}
	do, waitFor := uiQueue(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	w.Resize(fyne.NewSize(1100, 700))
	at := NewAttached(w, AttachedDeps{API: core.LocalAdmin{Svc: svc, Operator: "test"}, do: do})
	t.Cleanup(at.Close)
	waitFor("alice listed", func() bool { return at.SelectUser("alice") })
	cv := w.Canvas()

	test.Tap(at.delBtn)
	if got := buttonTexts(cv.Overlays().Top()); !slices.Equal(got, []string{"No", "Yes"}) {
		t.Errorf("buttons %q, want No, Yes", got)
	}
	focusDialogButton(t, w, "Yes")
	pressIn(w, fyne.KeyEscape)
	if cv.Overlays().Top() != nil {
		t.Fatal("Escape on a focused Yes did not close the question")
	}
	test.Tap(at.delBtn)
	pressIn(w, fyne.KeyReturn)
	if cv.Overlays().Top() == nil {
		t.Fatal("Enter with nothing focused answered the Delete question")
	}
	focusDialogButton(t, w, "Yes")
	pressIn(w, fyne.KeyReturn)
	waitFor("alice deleted", func() bool { _, err := svc.User("alice"); return err != nil })

	// A refusal's sentence: Enter on its OK closes it.
	waitFor("bob listed", func() bool { return at.SelectUser("bob") })
	test.Tap(at.delBtn)
	if err := svc.DeleteUser("bob"); err != nil { // gone meanwhile
		t.Fatal(err)
	}
	tapDialogButton(t, w, "Yes")
	waitFor("the refusal", func() bool { return cv.Overlays().Top() != nil })
	focusDialogButton(t, w, "OK")
	pressIn(w, fyne.KeyReturn)
	if cv.Overlays().Top() != nil || len(at.modals) != 0 {
		t.Errorf("Enter on OK did not close the refusal (%d registered)", len(at.modals))
	}
}
