package ui

import (
	"errors"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The console's questions (Delete…? Revoke…?) and messages (errors,
// information, About): Fyne's confirm, information and custom dialogs
// rebuilt with the console's buttons (keys.go), which pass Escape on to
// the dialog and take Enter. Fyne's own buttons dropped both keys, so
// once Tab had put the focus on one, Escape and Enter did nothing.

// askSpec says what an ask dialog shows and how it answers.
type askSpec struct {
	title string
	// msg is a sentence, centred and wrapped as Fyne's dialogs show one;
	// content, when set, is shown instead.
	msg     string
	content fyne.CanvasObject
	icon    fyne.Resource
	// confirm labels the button that answers yes; "" makes a message,
	// whose one button is dismiss.
	confirm string
	dismiss string
	// danger draws the confirm button red and makes it guarded.
	danger bool
	// guarded: Enter confirms only from the focused confirm button,
	// never with the focus elsewhere, for what cannot be undone. Enter
	// on a focused Cancel cancels. On a message, Enter closes it only
	// from its focused button: for one shown once (a new PIN), which a
	// second press of the Enter that asked for it must not take away.
	guarded bool
	// answer, if set, is called once, with true only when confirmed.
	answer func(yes bool)
}

// askDialog is an open question or message.
type askDialog struct {
	*dialog.CustomDialog
	ok     *button // nil for a message
	cancel *button
	yes    bool
	done   bool
}

// Confirm answers yes and closes the dialog, as its confirm button does.
func (d *askDialog) Confirm() {
	d.yes = true
	d.Hide()
}

// dialogHost is a window the ask dialogs open in: the full console, the
// attached console, or a bare window (windowKeys).
type dialogHost interface {
	keyTarget
	keys() *dialogKeys
}

func (k *dialogKeys) keys() *dialogKeys { return k }

// windowKeys are the keys of a window with no console in it (the paired
// console's "could not connect" screen): its dialogs and no shortcuts.
type windowKeys struct{ dialogKeys }

func (*windowKeys) shortcut(*desktop.CustomShortcut) bool { return false }

// newWindowKeys gives w's dialogs Escape and Enter while nothing has
// the focus.
func newWindowKeys(w fyne.Window) *windowKeys {
	k := &windowKeys{}
	w.Canvas().SetOnTypedKey(k.typedKey)
	return k
}

// ask shows s over win and registers it with h for Escape (dismiss) and
// Enter (confirm, or dismiss for a message; nothing for a guarded one of
// either kind).
func ask(h dialogHost, win fyne.Window, s askSpec) *askDialog {
	d := &askDialog{}
	content := s.content
	if content == nil {
		content = &widget.Label{Text: s.msg, Alignment: fyne.TextAlignCenter, Wrapping: fyne.TextWrapWord}
	}
	d.CustomDialog = dialog.NewCustomWithoutButtons(s.title, content, win)
	if s.icon != nil {
		d.SetIcon(s.icon)
	}
	d.cancel = newButton(h, s.dismiss, nil, d.Hide)
	buttons := []fyne.CanvasObject{d.cancel}
	submit := d.Hide
	if s.guarded {
		submit = nil
	}
	if s.confirm != "" {
		d.cancel.Icon = theme.CancelIcon()
		d.ok = newButton(h, s.confirm, theme.ConfirmIcon(), d.Confirm)
		d.ok.Importance = widget.HighImportance
		if s.danger {
			d.ok.Importance = widget.DangerImportance
		}
		buttons = append(buttons, d.ok)
		submit = d.Confirm
		if s.danger || s.guarded {
			submit = nil
		}
	}
	d.SetButtons(buttons)
	// Before the host's own: the answer may open the next dialog.
	d.SetOnClosed(func() {
		if d.done {
			return
		}
		d.done = true
		if s.answer != nil {
			s.answer(d.yes)
		}
	})
	h.keys().pushModal(d, submit)
	var w float32
	if s.content == nil {
		// Fyne's width for a sentence: unwrapped if it fits in 600
		// points and 90 % of the window.
		w = widget.NewLabel(s.msg).MinSize().Width + 32 + theme.Padding()*2
		w = fyne.Min(fyne.Min(w, 600), win.Canvas().Size().Width*0.9)
		d.Resize(fyne.NewSize(w, d.MinSize().Height))
	}
	d.Show()
	if s.content == nil {
		// Measured before the sentence had a width, a wrapping label
		// counts a word a line: a one-line error opened in a box 475 px
		// high, its OK button far below the text. Laid out at its width
		// now, the sentence knows its lines.
		d.Resize(fyne.NewSize(w, d.MinSize().Height))
	}
	return d
}

// confirmSpec is a yes/no question with Fyne's labels (No, Yes) and
// question icon; callers rename the confirm button.
func confirmSpec(title, msg string, answer func(bool)) askSpec {
	return askSpec{title: title, msg: msg, icon: theme.QuestionIcon(),
		confirm: lang.L("Yes"), dismiss: lang.L("No"), answer: answer}
}

// infoSpec is an information message with an OK button.
func infoSpec(title, msg string) askSpec {
	return askSpec{title: title, msg: msg, icon: theme.InfoIcon(), dismiss: lang.L("OK")}
}

// errorSpec is err as Fyne's error dialog shows it: titled Error, the
// sentence starting with a capital.
func errorSpec(err error) askSpec {
	msg := err.Error()
	if r, n := utf8.DecodeRuneInString(msg); r != utf8.RuneError {
		msg = string(unicode.ToUpper(r)) + msg[n:]
	}
	return askSpec{title: lang.L("Error"), msg: msg, icon: theme.ErrorIcon(), dismiss: lang.L("OK")}
}

// ask shows a question or message over the console.
func (c *Console) ask(s askSpec) *askDialog { return ask(c, c.win, s) }

// ask shows a question or message over the attached console.
func (at *Attached) ask(s askSpec) *askDialog { return ask(at, at.win, s) }

// showError tells the admin what went wrong in core's words, or in the
// console's own (a sentence); the detail of internal failures is in the
// log, not in the dialog.
func (c *Console) showError(err error) {
	c.ask(errorSpec(errors.New(errorText(err))))
}

// showInfo shows a short message in a dialog.
func (c *Console) showInfo(title, msg string) {
	c.ask(infoSpec(title, msg))
}
