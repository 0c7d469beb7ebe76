package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The helpdesk actions on the selected user, below the list. An
// attached console sends each off the UI thread, with its button disabled
// until the answer comes (request.go).

func (s *usersScreen) toggleLock() {
	s.toggle(s.lock, func(u *core.User, r userRow) { u.Locked = !r.Locked })
}

func (s *usersScreen) toggleDisabled() {
	s.toggle(s.disable, func(u *core.User, r userRow) { u.Disabled = !r.Disabled })
}

// toggle saves flip of the selected user, as the list showed it (r),
// with btn disabled while an attached console's request is on its way.
func (s *usersScreen) toggle(btn *widget.Button, flip func(u *core.User, r userRow)) {
	r, ok := s.selectedRow()
	if !ok {
		return
	}
	requestErr(s.c, []fyne.Disableable{btn}, func() error {
		_, err := s.c.svc.UpdateUser(r.Name, func(u *core.User) error {
			flip(u, r)
			return nil
		})
		return err
	}, func(err error) {
		if err != nil {
			s.c.showError(err)
		}
		s.refresh()
	})
}

// confirmAction asks before a change that cannot be undone. Enter alone
// does not confirm: these are the destructive ones.
// btn, the action's button, waits disabled while an attached console's
// request is on its way.
func (s *usersScreen) confirmAction(btn *widget.Button, title, msg, confirm string, do func() error) {
	spec := confirmSpec(title, msg, func(yes bool) {
		s.confirm = nil
		if !yes {
			return
		}
		// The confirmation has closed by now; an attached console asks
		// off the UI thread (request.go), and the list shows the change
		// when the answer comes.
		requestErr(s.c, []fyne.Disableable{btn}, do, func(err error) {
			// The focus leaves the button once the rows say whether
			// it is disabled now.
			s.refreshThen(s.leaveDisabled)
			if err != nil {
				s.c.showError(err)
			}
		})
	})
	spec.confirm, spec.danger = confirm, true
	s.confirm = s.c.ask(spec)
}

// leaveDisabled moves the focus off an action the change just disabled
// (Delete… once the user is gone, Revoke device… once revoked), where
// keys did nothing: to the list, or to the search box when the list is
// empty.
func (s *usersScreen) leaveDisabled() {
	leaveDisabled(s.c.win.Canvas(), s.list, len(s.shown), s.search)
}

func (s *usersScreen) confirmDelete() {
	r, ok := s.selectedRow()
	if !ok {
		return
	}
	name := r.Name
	s.confirmAction(s.del, "Delete user",
		fmt.Sprintf("Delete %s? Their phone stops working and any pending provision code is cancelled. This cannot be undone.", name),
		"Delete", func() error { return s.c.svc.DeleteUser(name) })
}

func (s *usersScreen) confirmRevoke() {
	r, ok := s.selectedRow()
	if !ok || !r.revocable() {
		return
	}
	name := r.Name
	msg := ""
	switch app := r.appKind(); {
	case r.Provisioned():
		dev := "device"
		if r.DeviceOS != "" {
			dev = "device (" + r.DeviceOS + ")"
		}
		msg = fmt.Sprintf("Revoke %s's %s? The phone stops working at once and its security strings are deleted; %s must reprovision to sign in again.", name, dev, name)
	case app != "":
		msg = fmt.Sprintf("Revoke %s's authenticator app (%s)? Its codes stop working at once; %s must reprovision to sign in again.", name, app, name)
	default:
		msg = fmt.Sprintf("Revoke the authenticator-app token waiting for %s's confirmation? It will never work.", name)
	}
	s.confirmAction(s.revoke, "Revoke device", msg, "Revoke", func() error { return s.c.svc.RevokeDevice(name) })
}

// pinResetDialog offers the two ways a new PIN can reach the user: shown
// here once, or mailed.
type pinResetDialog struct {
	s    *usersScreen
	user string
	dlg  *dialog.CustomDialog

	show, send, cancel *button
	// result shows the new PIN after Show, in large type.
	pin    *widget.Label
	result *widget.Label
}

func (s *usersScreen) openPINReset() {
	r, ok := s.selectedRow()
	if !ok || s.c.holding(s.resetPIN) {
		return
	}
	// The PIN's length is in the settings, which an attached console
	// asks for again after a change was saved anywhere: off the UI
	// thread (request.go), Reset PIN waiting disabled, the dialog
	// opening when they come.
	svc := s.c.svc
	request(s.c, []fyne.Disableable{s.resetPIN}, func() (int, error) { return svc.Settings().PINMin, nil }, func(n int, _ error) {
		s.showPINReset(r, n)
	})
}

// showPINReset is openPINReset once the PIN's length n is known.
func (s *usersScreen) showPINReset(r userRow, n int) {
	p := &pinResetDialog{s: s, user: r.Name}
	intro := newNote(fmt.Sprintf("%s gets a new random %d-digit PIN and the current PIN stops working at once. "+
		"Show it here to tell them, or send it to their email address.", r.Name, n))
	p.pin = &widget.Label{TextStyle: fyne.TextStyle{Monospace: true}, SizeName: theme.SizeNameHeadingText,
		Alignment: fyne.TextAlignCenter, Selectable: true}
	p.pin.Hide()
	p.result = newNote("")
	p.result.Hide()

	p.cancel = newButton(s.c, "Cancel", nil, func() { p.dlg.Hide() })
	p.show = newButton(s.c, "Show PIN", theme.VisibilityIcon(), func() { p.reset(false) })
	p.show.Importance = widget.HighImportance
	p.send = newButton(s.c, "Send by email", theme.MailSendIcon(), func() { p.reset(true) })
	content := container.NewVBox(intro, p.pin, p.result)
	if r.Email == "" {
		p.send.Disable()
		content.Add(&widget.Label{Text: r.Name + " has no email address, so the PIN can only be shown.",
			Importance: widget.LowImportance, Wrapping: fyne.TextWrapWord})
	}
	p.dlg = dialog.NewCustomWithoutButtons("Reset PIN for "+r.Name, content, s.c.win)
	p.dlg.SetButtons([]fyne.CanvasObject{p.cancel, p.send, p.show})
	p.dlg.SetOnClosed(func() {
		if s.pinReset == p {
			s.pinReset = nil
		}
	})
	s.c.pushModal(p.dlg, nil)
	s.pinReset = p
	fitWidth(p.dlg, 520)
	p.dlg.Show()
}

// reset makes the new PIN and shows it or says where it went. The dialog
// then offers only Close, so a second click cannot reset it again. An
// attached console asks off the UI thread (request.go): Show PIN and
// Send by email wait disabled, and Cancel still closes the dialog.
func (p *pinResetDialog) reset(send bool) {
	c, user := p.s.c, p.user
	type answer struct {
		res       core.PINReset
		mailReady bool // mail is set up (asked only when sent)
	}
	request(c, []fyne.Disableable{p.show, p.send}, func() (answer, error) {
		res, err := c.svc.ResetPIN(user, send)
		a := answer{res: res}
		if err == nil && send {
			a.mailReady = c.svc.Settings().Mail.Configured()
		}
		return a, err
	}, func(a answer, err error) {
		if p.s.pinReset != p {
			// Closed while the request was on its way: the dialog is
			// not shown again. A PIN reset meanwhile shows nowhere, so
			// the person resets it again when they want it.
			if err == nil {
				p.s.refresh()
			}
			return
		}
		p.showResult(send, a.res, a.mailReady, err)
	})
}

// showResult shows what reset got: the PIN, where it went (and, when
// mail is not set up, that it waits for that), or why not.
func (p *pinResetDialog) showResult(send bool, res core.PINReset, mailReady bool, err error) {
	if err != nil {
		p.result.Importance = widget.DangerImportance
		p.result.SetText(core.ErrorMessage(err))
		p.result.Show()
		relayout(p.dlg)
		return
	}
	p.show.Hide()
	p.send.Hide()
	p.cancel.SetText("Close")
	p.cancel.Importance = widget.HighImportance
	p.result.Importance = widget.MediumImportance
	if send {
		msg := "The new PIN is queued for " + res.To + "."
		if !mailReady {
			msg += " It goes out once mail is set up in Mail Transport."
		}
		p.result.SetText(msg)
	} else {
		p.pin.SetText(res.PIN)
		p.pin.Show()
		p.result.SetText("Tell " + res.User + " this PIN now: it is shown only once and cannot be looked up later.")
	}
	p.result.Show()
	relayout(p.dlg)
	p.s.refresh()
}
