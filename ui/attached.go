package ui

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The attached console (#12): the window a person gets when the data
// directory is held by the Provisio service, or when it connects to a
// server on another machine as a paired console (--connect). It works
// through core.AdminAPI only, so the service keeps authenticating when
// the window closes; it shows the users and the service's activity live
// (from the event stream), issues provision codes, unlocks, resets PINs
// and revokes devices, and, for the admin role, adds and deletes users.
// Actions the caller's role may not do are not shown. It is the window of
// a helpdesk console; an admin attached to the service gets the full
// console (ui.New over adminapi.Console, Deps.Attached set).

// Status bar sentences: which kind of console this is.
const (
	// AttachedState is the attached console's status bar.
	AttachedState = "● Attached to the Provisio service"
	// attachedNote says what closing the window does.
	attachedNote = "The server keeps running when you close this window"
	// attachedLost replaces it when the stream ends.
	attachedLost = "The Provisio service stopped answering; changes made elsewhere are no longer shown. Restart the console once the service runs."
	// standaloneNote is the first part of the status bar of the console
	// that runs the server itself (ui.go).
	standaloneNote = "This window runs the server: the server stops when you close it"
	// maxActivity caps the activity list.
	maxActivity = 500
)

// AttachedDeps is what the attached console needs from package main.
type AttachedDeps struct {
	// API is the running service's admin API (over its socket). Required.
	API core.AdminAPI
	// DataDir is the service's data directory, shown in the status bar.
	DataDir string
	// Remote is the server's HOST:PORT when this console is connected
	// over the network as a paired console; "" when attached locally.
	Remote string
	// do runs fn on the UI thread; nil means fyne.Do (bridge.go). Tests
	// queue it for the test goroutine.
	do func(fn func())
	// now is the clock the Reprovision countdown runs on, nil meaning
	// time.Now; tick how often it updates, 0 meaning every second. Tests
	// set both.
	now  func() time.Time
	tick time.Duration
}

// Attached is the console attached to a running service.
type Attached struct {
	api  core.AdminAPI
	win  fyne.Window
	deps AttachedDeps

	users    []core.AdminUser
	userList *widget.List
	selected int
	// activity is newest first; actMu lets Activity read it from any
	// goroutine.
	actMu     sync.Mutex
	activity  []string
	actList   *widget.List
	state     *widget.Label
	status    *widget.Label
	reprovBtn *widget.Button
	// me is who the API takes this console for; its role decides which
	// actions are shown.
	me core.AdminOperator
	// The actions on users besides Reprovision, each shown only when
	// the role allows it (actions).
	addBtn, delBtn, unlockBtn, pinBtn, revokeBtn *widget.Button
	// profileBtn gives the selected user a provisioning profile (#14);
	// profileSel is its dialog's choice, for tests.
	profileBtn *widget.Button
	profileSel *widget.Select
	// addForm is the last Add user form, for tests.
	addForm *keptForm
	// pinShown is the last PIN shown by Reset PIN, for tests.
	pinShown string
	// issued is the last code shown (LastIssued); reprov is the open
	// Reprovision dialog, the full console's (reprovision.go), which
	// apply tells what happens to the code.
	issued core.AdminIssued
	reprov *reprovisionDialog

	ui     uiThread // hands work to the UI thread until Close (bridge.go)
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewAttached builds the attached console in w and starts following the
// service's events.
func NewAttached(w fyne.Window, d AttachedDeps) *Attached {
	if d.now == nil {
		d.now = time.Now
	}
	if d.tick <= 0 {
		d.tick = time.Second
	}
	at := &Attached{api: d.API, win: w, deps: d, selected: -1}
	at.ui.queue = d.do
	at.userList = widget.NewList(
		func() int { return len(at.users) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(at.users) {
				o.(*widget.Label).SetText(attachedUserLine(at.users[i]))
			}
		})
	at.userList.OnSelected = func(i widget.ListItemID) { at.selected = i; at.updateButtons() }
	at.userList.OnUnselected = func(widget.ListItemID) { at.selected = -1; at.updateButtons() }
	at.actList = widget.NewList(
		func() int { return len(at.Activity()) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if act := at.Activity(); i < len(act) {
				o.(*widget.Label).SetText(act[i])
			}
		})
	at.reprovBtn = widget.NewButton("Reprovision…", at.reprovisionSelected)
	at.unlockBtn = widget.NewButton("Unlock", at.unlockSelected)
	at.pinBtn = widget.NewButton("Reset PIN…", at.resetPINSelected)
	at.revokeBtn = widget.NewButton("Revoke device…", at.revokeSelected)
	at.profileBtn = widget.NewButton("Profile…", at.profileSelected)
	at.delBtn = widget.NewButton("Delete…", at.deleteSelected)
	at.addBtn = widget.NewButton("Add user…", at.addUser)
	at.state = widget.NewLabel(AttachedState)
	at.state.Importance = widget.SuccessImportance
	at.status = &widget.Label{Text: attachedNote + "   ·   Data " + d.DataDir, Truncation: fyne.TextTruncateEllipsis}
	// Who this console is, before anything is shown: the role decides
	// the actions. Should the question fail, the window offers only
	// what every role may do, and says why.
	me, err := at.api.Me()
	if err != nil {
		me = core.AdminOperator{Role: core.RoleHelpdesk}
		at.status.SetText(core.ErrorMessage(err))
	}
	at.me = me
	if d.Remote != "" {
		at.state.SetText(fmt.Sprintf("● Connected to %s as %s (%s)", d.Remote, me.Name, me.Role))
		at.status.SetText(attachedNote)
	}
	for _, a := range at.actions() {
		if !me.Role.Allows(a.act) {
			a.btn.Hide()
		}
	}
	at.updateButtons()
	left := container.NewBorder(widget.NewLabelWithStyle("Users", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewVBox(
			container.NewHBox(at.reprovBtn, at.unlockBtn, at.pinBtn, at.revokeBtn, at.profileBtn),
			container.NewHBox(at.addBtn, at.delBtn, widget.NewButton("Refresh", at.refreshUsers))),
		nil, nil, at.userList)
	right := container.NewBorder(widget.NewLabelWithStyle("Activity", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, at.actList)
	split := container.NewHSplit(left, right)
	split.Offset = 0.5
	bar := container.NewBorder(nil, nil, at.state, nil, at.status)
	w.SetContent(container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), bar), nil, nil, split))

	ctx, cancel := context.WithCancel(context.Background())
	at.cancel = cancel
	events, err := at.api.Events(ctx)
	if err != nil {
		at.lost()
	} else {
		at.wg.Add(1)
		go at.follow(ctx, events)
	}
	at.refreshUsers()
	return at
}

// Close stops following events and the Reprovision countdown; UI work
// still queued is dropped.
func (at *Attached) Close() {
	at.ui.close()
	if at.reprov != nil {
		at.reprov.stop()
	}
	at.cancel()
	at.wg.Wait()
}

// follow applies the stream's events on the UI thread until it ends.
func (at *Attached) follow(ctx context.Context, events <-chan core.AdminEvent) {
	defer at.wg.Done()
	for e := range events {
		at.do(func() { at.apply(e) })
	}
	if ctx.Err() == nil {
		at.do(at.lost)
	}
}

// apply shows one event; changes to users reload the list. An open
// Reprovision dialog follows its code: "Device provisioned" appears there
// as the phone provisions.
func (at *Attached) apply(e core.AdminEvent) {
	if at.reprov != nil {
		at.reprov.onEvent(e.Event())
	}
	switch e.Kind {
	case "log":
		if e.Log != nil {
			at.addActivity(e.Log.Time, e.Log.Message)
		}
	case "provisioned":
		line := "Device provisioned: " + e.User
		if e.DeviceOS != "" {
			line += " (" + e.DeviceOS + ")"
		}
		at.addActivity(e.At, line)
		at.refreshUsers()
	case "users_changed", "code_created", "provision_failed":
		at.refreshUsers()
	}
}

func (at *Attached) addActivity(t time.Time, line string) {
	at.actMu.Lock()
	at.activity = append([]string{t.Local().Format("15:04:05") + "  " + line}, at.activity...)
	if len(at.activity) > maxActivity {
		at.activity = at.activity[:maxActivity]
	}
	at.actMu.Unlock()
	at.actList.Refresh()
}

// Activity returns the activity lines shown, newest first.
func (at *Attached) Activity() []string {
	at.actMu.Lock()
	defer at.actMu.Unlock()
	return append([]string(nil), at.activity...)
}

// lost says the service went away.
func (at *Attached) lost() {
	at.state.Importance = widget.DangerImportance
	if at.deps.Remote != "" {
		at.state.SetText("● Disconnected from " + at.deps.Remote)
		at.status.SetText(remoteLost)
		return
	}
	at.state.SetText("● Not attached")
	at.status.SetText(attachedLost)
}

// remoteLost is the status bar once a remote console's stream ends.
const remoteLost = "The server stopped answering, or this console was revoked; changes made elsewhere are no longer shown. Start the console again to reconnect."

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

// StatusText is the status bar: the state, then the note.
func (at *Attached) StatusText() string { return at.state.Text + "   " + at.status.Text }

// selectedUser is the user selected in the list.
func (at *Attached) selectedUser() (core.AdminUser, bool) {
	if at.selected < 0 || at.selected >= len(at.users) {
		return core.AdminUser{}, false
	}
	return at.users[at.selected], true
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
	set(at.revokeBtn, ok && u.ProvisionedAt != nil)
	set(at.profileBtn, ok)
	set(at.delBtn, ok)
	at.addBtn.Enable()
}

// call runs an API call off the UI thread and shows its error, if any,
// in a dialog titled title; done runs on the UI thread after success.
func (at *Attached) call(title string, fn func() error, done func()) {
	go func() {
		err := fn()
		at.do(func() {
			if err != nil {
				dialog.ShowInformation(title, core.ErrorMessage(err), at.win)
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
	mail := widget.NewCheck("Send it to "+u.Email+" instead of showing it here", nil)
	items := []fyne.CanvasObject{widget.NewLabel(u.Name + " gets a new random PIN; the old one stops working at once.")}
	if u.Email != "" {
		items = append(items, mail)
	}
	dialog.ShowCustomConfirm("Reset the PIN of "+u.Name, "Reset PIN", "Cancel", container.NewVBox(items...), func(ok bool) {
		if !ok {
			return
		}
		var res core.AdminPINReset
		at.call("Reset the PIN of "+u.Name, func() (err error) {
			res, err = at.api.ResetPIN(u.Name, mail.Checked)
			return err
		}, func() {
			if res.PIN == "" {
				dialog.ShowInformation("PIN reset", "The new PIN of "+res.User+" is on its way to "+res.MailedTo+".", at.win)
				return
			}
			at.pinShown = res.PIN
			dialog.ShowInformation("PIN reset", "New PIN of "+res.User+": "+res.PIN+"\nTell it to the user now; it is not shown again.", at.win)
		})
	}, at.win)
}

func (at *Attached) revokeSelected() {
	u, ok := at.selectedUser()
	if !ok {
		return
	}
	dev := ""
	if u.DeviceOS != "" {
		dev = " (" + u.DeviceOS + ")"
	}
	dialog.ShowConfirm("Revoke the device of "+u.Name,
		"The phone"+dev+" stops working at once and "+u.Name+" must reprovision. Revoke it?", func(ok bool) {
			if ok {
				at.call("Revoke the device of "+u.Name, func() error { return at.api.RevokeDevice(u.Name) }, nil)
			}
		}, at.win)
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
				dialog.ShowInformation("Profile of "+u.Name, core.ErrorMessage(err), at.win)
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
	at.profileSel = widget.NewSelect(options, nil)
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
	d := dialog.NewCustomConfirm("Profile of "+u.Name, "Save", "Cancel", container.NewVBox(note, sel), func(ok bool) {
		if !ok {
			return
		}
		name := sel.Selected
		if name == ownProfileChoice {
			name = ""
		}
		// The audit line the change writes shows in Activity.
		at.call("Profile of "+u.Name, func() error { _, err := at.api.AssignProfile(u.Name, name); return err }, nil)
	}, at.win)
	d.Resize(fyne.NewSize(480, 240))
	d.Show()
}

func (at *Attached) deleteSelected() {
	u, ok := at.selectedUser()
	if !ok {
		return
	}
	dialog.ShowConfirm("Delete "+u.Name, "Delete "+u.Name+" with their device and security strings? This cannot be undone.", func(ok bool) {
		if ok {
			at.call("Delete "+u.Name, func() error { return at.api.DeleteUser(u.Name) }, nil)
		}
	}, at.win)
}

// addUser asks for the new user's fields; the PIN is left for Reset PIN
// or the user's own choice. A refusal shows in the form, which stays
// open with everything as typed (keptForm).
func (at *Attached) addUser() {
	entry := func(placeholder string) *field {
		e := widget.NewEntry()
		e.SetPlaceHolder(placeholder)
		return newField(e)
	}
	name, full, email, mobile, group := entry("e.g. alice"), entry(""), entry("e.g. name@example.org"), entry("e.g. +44 20 7946 0000"), entry("")
	grid := newFormGrid(formRow("Username", name.box), formRow("Full name", full.box),
		formRow("Email", email.box), formRow("Mobile", mobile.box), formRow("Group", group.box))
	k := newKeptForm("Add user", "Add", grid, map[string]*field{
		"name": name, "full_name": full, "email": email, "mobile": mobile, "group": group,
	}, "name", at.win)
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
	k.dlg.Resize(fyne.NewSize(480, 0))
	k.dlg.Show()
	at.win.Canvas().Focus(name.entry)
}

// refreshUsers reloads the users off the UI thread.
func (at *Attached) refreshUsers() {
	go func() {
		users, err := at.api.Users()
		at.do(func() {
			if err != nil {
				at.status.SetText(core.ErrorMessage(err))
				return
			}
			sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
			// Keep the selected user selected across a reload: events
			// arrive at any moment.
			sel := ""
			if at.selected >= 0 && at.selected < len(at.users) {
				sel = at.users[at.selected].Name
			}
			at.users = users
			if d := at.reprov; d != nil && !d.done && !listed(users, d.user) {
				d.userGone() // deleted elsewhere: the code died with the user
			}
			at.userList.UnselectAll()
			for i, u := range users {
				if sel != "" && u.Name == sel {
					at.userList.Select(i)
				}
			}
			at.userList.Refresh()
			at.updateButtons()
		})
	}()
}

// listed says whether users holds the user called name.
func listed(users []core.AdminUser, name string) bool {
	for _, u := range users {
		if core.Key(u.Name) == core.Key(name) {
			return true
		}
	}
	return false
}

// reprovisionSelected issues a code for the selected user and shows it in
// the full console's Reprovision dialog: the QR code at its size, the
// countdown and the phone's progress. The code exists only in this window
// and the service.
func (at *Attached) reprovisionSelected() {
	if at.selected < 0 || at.selected >= len(at.users) {
		return
	}
	name := at.users[at.selected].Name
	at.issue(name, func(ic core.IssuedCode, err error) {
		if err != nil {
			dialog.ShowInformation("Reprovision "+name, core.ErrorMessage(err), at.win)
			return
		}
		if at.reprov != nil {
			at.reprov.dlg.Hide()
		}
		openReprovisionDialog(at.reprovisionHost(), ic)
	})
}

// issue asks the service for a code for name off the UI thread and hands
// it to done on the UI thread.
func (at *Attached) issue(name string, done func(core.IssuedCode, error)) {
	go func() {
		ic, err := at.api.Reprovision(name, false)
		at.do(func() {
			if err == nil {
				at.issued = ic
			}
			done(ic.IssuedCode(), err)
		})
	}()
}

// reprovisionHost is this window as the Reprovision dialog's: codes come
// from the admin API, off the UI thread; it cannot mail the code on
// screen (a helpdesk asks for a new one by mail) nor offer the
// authenticator app, which is the full console's.
func (at *Attached) reprovisionHost() reprovisionHost {
	app := fyne.CurrentApp()
	return reprovisionHost{
		win: at.win, theme: app.Settings().Theme(), clipboard: app.Clipboard(),
		do: at.do, tick: at.deps.tick, now: at.deps.now,
		create: at.issue,
		saveAs: func(name string, write func(io.Writer, string) error, done func(string, error)) {
			saveFileAs(at.win, at.do, nil, name, write, done)
		},
		showError: func(err error) { dialog.ShowInformation("Reprovision", core.ErrorMessage(err), at.win) },
		opened:    func(d *reprovisionDialog) { at.reprov = d },
		closed: func(d *reprovisionDialog) {
			if at.reprov == d {
				at.reprov = nil
			}
		},
	}
}

// ReprovisionStatus is the status line of the open Reprovision dialog
// ("Waiting for the phone…", "Device provisioned (iOS 17)"), "" when none
// is open.
func (at *Attached) ReprovisionStatus() string {
	if at.reprov == nil {
		return ""
	}
	return at.reprov.status.Text
}

// attachedUserLine is one row of the users list.
func attachedUserLine(u core.AdminUser) string {
	s := u.Name
	if u.FullName != "" {
		s += " · " + u.FullName
	}
	switch {
	case u.PendingUntil != nil:
		s += " · code pending until " + u.PendingUntil.Local().Format("15:04")
	case u.ProvisionedAt != nil:
		s += " · provisioned " + u.ProvisionedAt.Local().Format("2006-01-02")
		if u.DeviceOS != "" {
			s += " (" + u.DeviceOS + ")"
		}
	default:
		s += " · no device"
	}
	if u.Locked {
		s += " · " + u.LockText
	}
	if u.Disabled {
		s += " · disabled"
	}
	return s
}

// SelectUser selects the user called name in the list, as a click does;
// false when the list does not hold them (yet).
func (at *Attached) SelectUser(name string) bool {
	for i, u := range at.users {
		if u.Name == name {
			at.userList.Select(i)
			return true
		}
	}
	return false
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

// LastIssued is the provision code the window showed last.
func (at *Attached) LastIssued() core.AdminIssued { return at.issued }
