package ui

import (
	"context"
	"fmt"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The attached console (#12): the window a person gets when the data
// directory is held by the Provisio service, or when it connects to a
// server on another machine as a paired console (--connect). It works
// through core.AdminAPI only, so the service keeps authenticating when
// the window closes; it shows the users, searched as in the full
// console, and the service's activity live (from the event stream),
// issues provision codes, unlocks, resets PINs and revokes devices, and,
// for the admin role, adds and deletes users. Actions the caller's role
// may not do are not shown. It is the window of a helpdesk console; an
// admin attached to the service gets the full console (ui.New over
// adminapi.Console, Deps.Attached set).
//
// This file builds the window and follows the service; the users list
// and its search are in attached_users.go, the actions and their dialogs
// in attached_actions.go, and Reprovision in attached_reprovision.go.

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
	// API is the running service's admin API: over its socket, or over
	// mutual TLS for a remote console (Remote set). Required.
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

	// users is every user, by name; texts[i] is users[i]'s searchText
	// and userKeys[i] its core.Key, made once per read so that a keystroke
	// in search only compares strings (usersearch.go). shown are the
	// indexes in users of the rows the search shows, in order; the list
	// draws those.
	users    []core.AdminUser
	texts    []string
	userKeys []string
	shown    []int
	search   *entry
	userList *widget.List
	// noMatch says that the search finds no one, over the empty list,
	// centred in noMatchBox.
	noMatch    *widget.Label
	noMatchBox fyne.CanvasObject
	// selected is the core.Key of the selected user, "" for none: the
	// user, not a row number, which a search or a reload gives to
	// another user.
	selected string
	// mostRows is the most rows the list had since its keyboard
	// highlight was last put on the first row (highlightFirst).
	mostRows int
	// activity is newest first; actMu lets Activity read it from any
	// goroutine.
	actMu    sync.Mutex
	activity []string
	actList  *widget.List
	// userLine and actLine show the selected user's and activity's line
	// in full, wrapped: the lists cut a line at the pane's edge.
	userLine, actLine *widget.Label
	actSel            int // the selected activity line, -1 for none
	// left and right are the panes, laid out again when a line changes.
	left, right *fyne.Container
	state       *widget.Label
	status      *widget.Label
	// root is the window's content, laid out again when the status
	// bar's sentence wraps onto more lines or back (say).
	root      *fyne.Container
	reprovBtn *widget.Button
	// me is who the API takes this console for; its role decides which
	// actions are shown.
	me core.AdminOperator
	// down is set while the connection to the service is lost.
	down bool
	// The actions on users besides Reprovision, each shown only when
	// the role allows it (actions).
	addBtn, delBtn, unlockBtn, pinBtn, revokeBtn *widget.Button
	// profileBtn gives the selected user a provisioning profile (#14);
	// profileSel is its dialog's choice, for tests.
	profileBtn *widget.Button
	profileSel *choice
	// addForm is the last Add user form, addModal its place among the
	// open dialogs, for tests (attached_hooks.go).
	addForm  *keptForm
	addModal *modal
	// pinShown is the last PIN shown by Reset PIN, for tests.
	pinShown string
	// issued is the last code shown (LastIssued); reprov is the open
	// Reprovision dialog, the full console's (reprovision.go), which
	// apply tells what happens to the code.
	issued core.AdminIssued
	reprov *reprovisionDialog
	// dialogKeys are the open dialogs, which Escape closes (keys.go).
	dialogKeys

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
	at := &Attached{api: d.API, win: w, deps: d}
	at.ui.queue = d.do
	at.search = newUserSearch(at, at.searchChanged)
	at.userList = widget.NewList(
		func() int { return len(at.shown) },
		func() fyne.CanvasObject { return extend(&widget.Label{Truncation: fyne.TextTruncateEllipsis}) },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= 0 && i < len(at.shown) {
				o.(*widget.Label).SetText(attachedUserLine(at.users[at.shown[i]]))
			}
		})
	at.userList.OnSelected = func(i widget.ListItemID) {
		if i >= 0 && i < len(at.shown) {
			at.selected = at.userKeys[at.shown[i]]
		}
		at.updateButtons()
	}
	at.userList.OnUnselected = func(widget.ListItemID) { at.selected = ""; at.updateButtons() }
	searchKeys(at.search, at.userList, w, func() int { return len(at.shown) },
		func() bool { _, ok := at.selectedUser(); return ok })
	at.noMatch = &widget.Label{Alignment: fyne.TextAlignCenter, Wrapping: fyne.TextWrapWord}
	at.noMatch.Hide()
	at.noMatchBox = centred(at.noMatch)
	at.actList = widget.NewList(
		func() int { return len(at.Activity()) },
		func() fyne.CanvasObject { return extend(&widget.Label{Truncation: fyne.TextTruncateEllipsis}) },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if act := at.Activity(); i < len(act) {
				o.(*widget.Label).SetText(act[i])
			}
		})
	at.userLine = &widget.Label{Text: selectUserNote, Wrapping: fyne.TextWrapWord}
	at.actLine = &widget.Label{Text: selectActivityNote, Wrapping: fyne.TextWrapWord}
	at.actSel = -1
	at.actList.OnSelected = func(i widget.ListItemID) {
		at.actSel = i
		if act := at.Activity(); i < len(act) {
			at.showLine(at.actLine, at.right, act[i])
		}
	}
	at.actList.OnUnselected = func(widget.ListItemID) { at.actSel = -1 }
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
		at.say(core.ErrorMessage(err))
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
	at.left = container.NewBorder(
		container.NewVBox(widget.NewLabelWithStyle("Users", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), at.search),
		container.NewVBox(
			at.userLine,
			container.NewHBox(at.reprovBtn, at.unlockBtn, at.pinBtn, at.revokeBtn, at.profileBtn),
			container.NewHBox(at.addBtn, at.delBtn, widget.NewButton("Refresh", at.refreshUsers))),
		nil, nil, container.NewStack(at.userList, at.noMatchBox))
	at.right = container.NewBorder(widget.NewLabelWithStyle("Activity", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), at.actLine, nil, nil, at.actList)
	split := container.NewHSplit(at.left, at.right)
	split.Offset = 0.5
	bar := container.NewBorder(nil, nil, at.state, nil, at.status)
	at.root = container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), bar), nil, nil, split)
	w.SetContent(at.root)
	w.Canvas().SetOnTypedKey(at.typedKey)
	w.Canvas().AddShortcut(shortcutFind, func(fyne.Shortcut) { at.shortcut(shortcutFind) })
	// As in the full console, a helpdesk can type a name at once.
	w.Canvas().Focus(at.search)

	ctx, cancel := context.WithCancel(context.Background())
	at.cancel = cancel
	if f, ok := at.api.(follower); ok {
		// Over the admin API: the stream reconnects by itself and says
		// when the connection is lost and back (connection).
		at.wg.Add(1)
		go at.follow(ctx, f.Follow(ctx))
	} else if events, err := at.api.Events(ctx); err != nil {
		at.lost()
	} else {
		at.wg.Add(1)
		go at.follow(ctx, events)
	}
	at.refreshUsers()
	return at
}

// shortcut runs this window's one shortcut, the full console's Ctrl+F,
// and reports whether s was it (keyTarget). Like the full console's, it
// waits while a dialog is open.
func (at *Attached) shortcut(s *desktop.CustomShortcut) bool {
	if s.ShortcutName() != shortcutFind.ShortcutName() {
		return false
	}
	if len(at.modals) == 0 {
		at.win.Canvas().Focus(at.search)
	}
	return true
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
	case core.AdminKindConnection:
		at.connection(e.Reason)
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
	n := len(at.activity)
	at.actMu.Unlock()
	// The new line goes on top: the selection moves down with the line
	// it is on, which the line under the list shows.
	if sel := at.actSel; sel >= 0 {
		if sel+1 < n {
			at.actList.Select(sel + 1)
		} else {
			at.actList.UnselectAll()
		}
	}
	at.actList.Refresh()
}

// The lines under the lists while nothing is selected.
const (
	selectUserNote     = "Select a user for more actions."
	selectActivityNote = "Select a line to read it in full."
)

// showLine puts text in l, under a list in pane, and lays the pane out
// again when it changed: a wrapped line may take more or fewer lines.
func (at *Attached) showLine(l *widget.Label, pane *fyne.Container, text string) {
	if l.Text == text {
		return
	}
	l.SetText(text)
	if pane != nil {
		relayout(pane)
	}
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
		at.say(remoteLost)
		return
	}
	at.state.SetText("● Not attached")
	at.say(attachedLost)
}

// follower is an API whose event stream outlives the service's restarts
// (adminapi.Client.Follow).
type follower interface {
	Follow(ctx context.Context) <-chan core.AdminEvent
}

// connection shows the connection to the service lost, with why, or,
// when why is "", open (the first time too) or back: the status bar says
// so again and the users are reread, since a change made before the
// service listened, or during an outage, was never announced. Open dialogs and
// what was typed in them stay as they are.
func (at *Attached) connection(why string) {
	at.down = why != ""
	if why != "" {
		at.state.Importance = widget.DangerImportance
		if at.deps.Remote != "" {
			at.state.SetText("● Disconnected from " + at.deps.Remote)
		} else {
			at.state.SetText("● Not attached")
		}
		at.say(why)
		return
	}
	at.state.Importance = widget.SuccessImportance
	at.state.SetText(AttachedState)
	at.note(attachedNote + "   ·   Data " + at.deps.DataDir)
	if at.deps.Remote != "" {
		at.state.SetText(fmt.Sprintf("● Connected to %s as %s (%s)", at.deps.Remote, at.me.Name, at.me.Role))
		at.note(attachedNote)
	}
	at.refreshUsers()
}

// say puts a sentence in the status bar (why the connection is lost, or
// a read failed), wrapped so that it is read in full: on one line it was
// cut at the window's edge.
func (at *Attached) say(sentence string) {
	at.setStatus(sentence, fyne.TextWrapWord, fyne.TextTruncateOff)
}

// note puts the status bar's usual note back, on one line.
func (at *Attached) note(text string) {
	at.setStatus(text, fyne.TextWrapOff, fyne.TextTruncateEllipsis)
}

func (at *Attached) setStatus(text string, wrap fyne.TextWrap, cut fyne.TextTruncation) {
	if at.status.Text == text && at.status.Wrapping == wrap {
		return
	}
	at.status.Wrapping, at.status.Truncation = wrap, cut
	at.status.SetText(text)
	if at.root != nil {
		relayout(at.root)
	}
}

// remoteLost is the status bar once a remote console's stream ends.
const remoteLost = "The server stopped answering, or this console was revoked; changes made elsewhere are no longer shown. Start the console again to reconnect."

// StatusText is the status bar: the state, then the note.
func (at *Attached) StatusText() string { return at.state.Text + "   " + at.status.Text }
