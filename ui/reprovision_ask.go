package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"

	"provisio/core"
)

// What Reprovision asks before it makes a code (split from
// reprovision.go, which shows the code): about the phone or the
// authenticator app the user already has, and about an account that may
// not use the mobile client.

// openReprovision creates a provision code for name and shows the dialog.
// One Reprovision dialog is open at a time. A user who already has a
// phone is asked about first: that phone stops working once the new one
// provisions, and nothing is made until the admin says so. The question
// offers the authenticator app too, which makes no provision code.
//
// An attached console asks off the UI thread (request.go), Reprovision
// held disabled meanwhile; nothing more starts while any of Reprovision's
// requests is on its way (reprovisionHeld), from the choice in an open
// dialog either.
func (c *Console) openReprovision(name string) {
	if c.reprovisionHeld() {
		return
	}
	type asked struct {
		u   core.User
		app string // the authenticator app the user has, if any
	}
	request(c, c.reprovisionButton(), func() (asked, error) {
		u, err := c.svc.User(name)
		if err != nil || u.Disabled || !u.MobileAllowed || u.Provisioned() {
			return asked{u: u}, err
		}
		// An authenticator app is a phone too: the new phone ends it
		// (one token per user), so it is asked about the same way.
		app := ""
		if st, serr := c.svc.OATHStatus(u.Name); serr == nil && st.State == core.OATHStateConfirmed && st.Kind != "strings" {
			app = strings.ToUpper(st.Kind)
		}
		return asked{u, app}, nil
	}, func(a asked, err error) { c.askReprovision(name, a.u, a.app, err) })
}

// reprovisionButton is User Management's Reprovision, which waits
// disabled while an attached console asks (request.go).
func (c *Console) reprovisionButton() []fyne.Disableable {
	if c.users == nil || c.users.reprovision == nil {
		return nil
	}
	return []fyne.Disableable{c.users.reprovision}
}

// reprovisionHeld says whether one of Reprovision's requests (what it
// asks first, the code, the authenticator app's token) is on its way,
// holding its button (request.go).
func (c *Console) reprovisionHeld() bool {
	return c.users != nil && c.users.reprovision != nil && c.holding(c.users.reprovision)
}

// askReprovision goes on from what openReprovision read about name: u
// and the authenticator app they have, or err.
func (c *Console) askReprovision(name string, u core.User, app string, err error) {
	if err == nil && !u.Disabled && !u.MobileAllowed {
		c.askMobileRight(u)
		return
	}
	if err != nil || !u.Provisioned() && app == "" || u.Disabled {
		// Errors and disabled users get core's sentence at once.
		c.reprovisionNow(name)
		return
	}
	text := ""
	if app != "" {
		text = u.Name + " already has an authenticator app (" + app + "). It keeps working until the new phone provisions; " +
			"then it stops working."
	} else {
		phone := "a phone"
		if u.DeviceOS != "" {
			phone += " (" + u.DeviceOS + ")"
		}
		if !u.ProvisionedAt.IsZero() {
			phone += ", provisioned " + u.ProvisionedAt.Local().Format(dateTimeFormat)
		}
		text = u.Name + " already has " + phone + ". It keeps working until the new phone provisions; " +
			"then it stops working and its security strings are revoked."
	}
	msg := newNote(text)
	var confirm *askDialog
	// Choosing the authenticator app answers the question: its dialog
	// says the same about the current phone, and no code is made first.
	choice := c.tokenChoice(name, choiceStrings, func() *withdrawal { confirm.Hide(); return nil })
	confirm = c.ask(askSpec{title: "Reprovision " + u.Name + "?", content: container.NewVBox(keyRadio(c, choice), msg),
		confirm: "Make a code", dismiss: "Cancel", answer: func(ok bool) {
			if ok {
				c.reprovisionNow(name)
			}
		}})
	c.oldPhone = confirm
	fitWidth(confirm, 480)
}

// askMobileRight asks about a user whose account does not allow the
// mobile client, for whom core makes no mobile-client code (the phone
// would be refused its security strings): allow it, with the change in
// the audit log like any edit, and go on to the code; or choose the
// authenticator app, which needs no such right.
func (c *Console) askMobileRight(u core.User) {
	msg := newNote(u.Name + " may not use the mobile client: \"Mobile client allowed\" is off in their account. " +
		"Allow it and make a code, or choose the authenticator app, which needs no such right.")
	var confirm *askDialog
	choice := c.tokenChoice(u.Name, choiceStrings, func() *withdrawal { confirm.Hide(); return nil })
	confirm = c.ask(askSpec{title: "Reprovision " + u.Name + "?", content: container.NewVBox(keyRadio(c, choice), msg),
		confirm: "Allow and make a code", dismiss: "Cancel", answer: func(ok bool) {
			if !ok {
				return
			}
			requestErr(c, c.reprovisionButton(), func() error {
				_, err := c.svc.UpdateUser(u.Name, func(cur *core.User) error { cur.MobileAllowed = true; return nil })
				return err
			}, func(err error) {
				if err != nil {
					c.showError(err)
					return
				}
				c.openReprovision(u.Name) // asks about a phone the user already has
			})
		}})
	c.oldPhone = confirm
	fitWidth(confirm, 480)
}
