package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The attached console's actions on users and their dialogs: the buttons
// a role may see, unlock, Reset PIN, revoke, profile, delete and Add user
// (split from attached.go, which builds the window; Reprovision is in
// attached_reprovision.go).

// attachedAction is a button and the API action it needs.
type attachedAction struct {
	btn *widget.Button
	act core.AdminAction
}

// actions are the user actions with the role each needs.
func (at *Attached) actions() []attachedAction {
	return []attachedAction{
		{at.reprovBtn, core.ActReprovision}, {at.unlockBtn, core.ActUnlock}, {at.pinBtn, core.ActResetPIN},
		{at.revokeBtn, core.ActRevokeDevice}, {at.profileBtn, core.ActAssignProfile},
		{at.addBtn, core.ActAddUser}, {at.delBtn, core.ActDeleteUser},
	}
}

// VisibleActions lists the labels of the actions this console shows, in
// order: those its role allows.
func (at *Attached) VisibleActions() []string {
	var out []string
	for _, a := range at.actions() {
		if a.btn.Visible() {
			out = append(out, a.btn.Text)
		}
	}
	return out
}

// Press taps the action button labelled label, as a click does; false
// when it is hidden (the role may not) or disabled.
func (at *Attached) Press(label string) bool {
	for _, a := range at.actions() {
		if a.btn.Text == label && a.btn.Visible() && !a.btn.Disabled() {
			a.btn.OnTapped()
			return true
		}
	}
	return false
}

// updateButtons enables the actions that fit the selected user.
func (at *Attached) updateButtons() {
	u, ok := at.selectedUser()
	set := func(b *widget.Button, on bool) {
		if on {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	set(at.reprovBtn, ok && !u.Disabled)
	set(at.unlockBtn, ok && u.Locked)
	set(at.pinBtn, ok)
	set(at.revokeBtn, ok && (u.ProvisionedAt != nil || u.App != "" || u.AppPending != ""))
	set(at.profileBtn, ok)
	set(at.delBtn, ok)
	at.addBtn.Enable()
	line := selectUserNote
	if ok {
		line = attachedUserLine(u)
	}
	at.showLine(at.userLine, at.left, line)
}

// call runs an API call off the UI thread and shows its error, if any,
// in a dialog titled title; done runs on the UI thread after success.
func (at *Attached) call(title string, fn func() error, done func()) {
	go func() {
		err := fn()
		at.do(func() {
			if err != nil {
				at.ask(infoSpec(title, core.ErrorMessage(err)))
				return
			}
			if done != nil {
				done()
			}
			at.refreshUsers()
		})
	}()
}

func (at *Attached) unlockSelected() {
	u, ok := at.selectedUser()
	if !ok {
		return
	}
	at.call("Unlock "+u.Name, func() error { _, err := at.api.Unlock(u.Name); return err }, nil)
}

// resetPINSelected asks how the new PIN reaches the user, then resets it:
// shown here once, or mailed to the user's address and never shown.
func (at *Attached) resetPINSelected() {
	u, ok := at.selectedUser()
	if !ok {
		return
	}
	mail := newCheck(at, "Send it to "+u.Email+" instead of showing it here", nil)
	items := []fyne.CanvasObject{widget.NewLabel(u.Name + " gets a new random PIN; the old one stops working at once.")}
	if u.Email != "" {
		items = append(items, mail)
	}
	// Enter alone does not reset: the old PIN stops working at once.
	at.ask(askSpec{title: "Reset the PIN of " + u.Name, content: container.NewVBox(items...),
		confirm: "Reset PIN", dismiss: "Cancel", guarded: true, answer: func(ok bool) {
			if !ok {
				return
			}
			var res core.AdminPINReset
			at.call("Reset the PIN of "+u.Name, func() (err error) {
				res, err = at.api.ResetPIN(u.Name, mail.Checked)
				return err
			}, func() {
				if res.PIN == "" {
					at.ask(infoSpec("PIN reset", "The new PIN of "+res.User+" is on its way to "+res.MailedTo+"."))
					return
				}
				at.pinShown = res.PIN
				// Shown once: Enter alone does not close it (askSpec.guarded).
				shown := infoSpec("PIN reset", "New PIN of "+res.User+": "+res.PIN+"\nTell it to the user now; it is not shown again.")
				shown.guarded = true
				at.ask(shown)
			})
		}})
}

func (at *Attached) revokeSelected() {
	u, ok := at.selectedUser()
	if !ok {
		return
	}
	what := "The phone"
	switch {
	case u.ProvisionedAt != nil && u.DeviceOS != "":
		what += " (" + u.DeviceOS + ")"
	case u.ProvisionedAt != nil:
	case u.App != "":
		what = "The authenticator app (" + strings.ToUpper(u.App) + ")"
	default:
		what = "The authenticator-app token waiting for confirmation"
	}
	spec := confirmSpec("Revoke the device of "+u.Name,
		what+" stops working at once and "+u.Name+" must reprovision. Revoke it?", func(ok bool) {
			if ok {
				at.call("Revoke the device of "+u.Name, func() error { return at.api.RevokeDevice(u.Name) }, nil)
			}
		})
	spec.guarded = true // Enter alone does not revoke
	at.ask(spec)
}

// ownProfileChoice is the select's entry for "no profile of their own".
const ownProfileChoice = "(their group's, or the Default)"

// profileSelected shows the profiles (from the API) with the user's own
// one chosen, and saves the choice: the seed's "a helpdesk person can
// assign a profile" (#14). The phone gets it at its next provision or
// string download; the dialog says so.
func (at *Attached) profileSelected() {
	u, ok := at.selectedUser()
	if !ok {
		return
	}
	go func() {
		all, err := at.api.Profiles()
		at.do(func() {
			if err != nil {
				at.ask(infoSpec("Profile of "+u.Name, core.ErrorMessage(err)))
				return
			}
			at.showProfileDialog(u, all)
		})
	}()
}

func (at *Attached) showProfileDialog(u core.AdminUser, all []core.AdminProfile) {
	options := []string{ownProfileChoice}
	for _, p := range all {
		options = append(options, p.Name)
	}
	at.profileSel = newChoice(at, options, nil)
	at.profileSel.SetSelected(ownProfileChoice)
	for _, p := range all {
		if u.Profile != "" && core.Key(p.Name) == core.Key(u.Profile) {
			at.profileSel.SetSelected(p.Name)
		}
	}
	current := "Own profile: none, so their group's (or the Default) applies."
	if u.Profile != "" {
		current = "Own profile: " + u.Profile + "."
	}
	note := widget.NewLabel(current + "\nA profile chosen here overrides the group's; the phone gets it at its next provision or string download.")
	note.Wrapping = fyne.TextWrapWord
	sel := at.profileSel
	// Enter saves, from the choice too, as in the console's forms.
	d := at.ask(askSpec{title: "Profile of " + u.Name, content: container.NewVBox(note, sel),
		confirm: "Save", dismiss: "Cancel", answer: func(ok bool) {
			if !ok {
				return
			}
			name := sel.Selected
			if name == ownProfileChoice {
				name = ""
			}
			// The audit line the change writes shows in Activity.
			at.call("Profile of "+u.Name, func() error { _, err := at.api.AssignProfile(u.Name, name); return err }, nil)
		}})
	d.Resize(fyne.NewSize(480, 240))
}

func (at *Attached) deleteSelected() {
	u, ok := at.selectedUser()
	if !ok {
		return
	}
	spec := confirmSpec("Delete "+u.Name, "Delete "+u.Name+" with their device and security strings? This cannot be undone.", func(ok bool) {
		if ok {
			at.call("Delete "+u.Name, func() error { return at.api.DeleteUser(u.Name) }, nil)
		}
	})
	spec.guarded = true // Enter alone does not delete
	at.ask(spec)
}

// addUser asks for the new user's fields; the PIN is left for Reset PIN
// or the user's own choice. A refusal shows in the form, which stays
// open with everything as typed (keptForm).
func (at *Attached) addUser() {
	entry := func(placeholder string) *field {
		e := newKeyEntry(at) // Escape closes the form (keys.go)
		e.SetPlaceHolder(placeholder)
		return newInputField(e)
	}
	name, full, email, mobile, group := entry("e.g. alice"), entry(""), entry("e.g. name@example.org"), entry("e.g. +44 20 7946 0000"), entry("")
	grid := newFormGrid(formRow("Username", name.box), formRow("Full name", full.box),
		formRow("Email", email.box), formRow("Mobile", mobile.box), formRow("Group", group.box))
	k := newKeptForm("Add user", "Add", grid, map[string]*field{
		"name": name, "full_name": full, "email": email, "mobile": mobile, "group": group,
	}, "name", at, at.win)
	k.submit = func() {
		nu := core.AdminNewUser{Name: name.entry.Text, FullName: full.entry.Text, Email: email.entry.Text,
			Mobile: mobile.entry.Text, Group: group.entry.Text}
		k.ok.Disable()
		go func() {
			_, err := at.api.AddUser(nu)
			at.do(func() {
				k.ok.Enable()
				if err != nil {
					k.refuse(err)
					return
				}
				k.dlg.Hide()
				at.refreshUsers()
			})
		}()
	}
	at.addForm = k
	// Height 0: the dialog takes its content's height and grows when a
	// sentence appears.
	fitWidth(k.dlg, 480)
	at.addModal = at.pushModal(k.dlg, k.press)
	k.dlg.Show()
	at.win.Canvas().Focus(name.input)
}
