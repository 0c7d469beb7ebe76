package ui

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/qr"
)

// The attached console (#12, first version): the window a person gets
// when the data directory is held by the Provisio service. It works
// through core.AdminAPI only, so the service keeps authenticating when
// the window closes; it shows the users and the service's activity live
// (from the event stream) and issues provision codes. The full console
// (policies, outbox, import, agents) still needs the directory itself.

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
	// do runs fn on the UI thread; nil means fyne.Do (bridge.go). Tests
	// queue it for the test goroutine.
	do func(fn func())
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
	// issued is the last code shown, for tests; issuedBox its dialog text.
	issued    core.AdminIssued
	issuedBox *widget.Label

	closed atomic.Bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewAttached builds the attached console in w and starts following the
// service's events.
func NewAttached(w fyne.Window, d AttachedDeps) *Attached {
	at := &Attached{api: d.API, win: w, deps: d, selected: -1}
	at.userList = widget.NewList(
		func() int { return len(at.users) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(at.users) {
				o.(*widget.Label).SetText(attachedUserLine(at.users[i]))
			}
		})
	at.userList.OnSelected = func(i widget.ListItemID) { at.selected = i; at.reprovBtn.Enable() }
	at.userList.OnUnselected = func(widget.ListItemID) { at.selected = -1; at.reprovBtn.Disable() }
	at.actList = widget.NewList(
		func() int { return len(at.Activity()) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if act := at.Activity(); i < len(act) {
				o.(*widget.Label).SetText(act[i])
			}
		})
	at.reprovBtn = widget.NewButton("Reprovision…", at.reprovisionSelected)
	at.reprovBtn.Disable()
	at.state = widget.NewLabel(AttachedState)
	at.state.Importance = widget.SuccessImportance
	at.status = &widget.Label{Text: attachedNote + "   ·   Data " + d.DataDir, Truncation: fyne.TextTruncateEllipsis}
	left := container.NewBorder(widget.NewLabelWithStyle("Users", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewHBox(at.reprovBtn, widget.NewButton("Refresh", at.refreshUsers)), nil, nil, at.userList)
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

// Close stops following events; UI work still queued is dropped.
func (at *Attached) Close() {
	at.closed.Store(true)
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

// apply shows one event; changes to users reload the list.
func (at *Attached) apply(e core.AdminEvent) {
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
	at.state.SetText("● Not attached")
	at.status.SetText(attachedLost)
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
			at.userList.UnselectAll()
			for i, u := range users {
				if sel != "" && u.Name == sel {
					at.userList.Select(i)
				}
			}
			at.userList.Refresh()
		})
	}()
}

// reprovisionSelected issues a code for the selected user and shows it
// with its QR; the code exists only in this window and the service.
func (at *Attached) reprovisionSelected() {
	if at.selected < 0 || at.selected >= len(at.users) {
		return
	}
	name := at.users[at.selected].Name
	go func() {
		ic, err := at.api.Reprovision(name, false)
		at.do(func() {
			if err != nil {
				dialog.ShowInformation("Reprovision "+name, core.ErrorMessage(err), at.win)
				return
			}
			at.showIssued(ic)
		})
	}()
}

func (at *Attached) showIssued(ic core.AdminIssued) {
	at.issued = ic
	text := fmt.Sprintf("Provision code for %s: %s\nValid until %s.\nScan the QR code with the phone's camera, or open:\n%s",
		ic.User, groupCode(ic.Code), ic.Expires.Local().Format("15:04"), ic.URL)
	for _, u := range at.users {
		if u.Name == ic.User && u.ProvisionedAt != nil {
			text += "\n\n" + oldPhoneNote
		}
	}
	at.issuedBox = widget.NewLabel(text)
	at.issuedBox.Wrapping = fyne.TextWrapWord
	content := fyne.CanvasObject(at.issuedBox)
	if code, err := qr.Encode(ic.URL); err == nil {
		img := canvas.NewImageFromImage(code.Image(qr.MinPixelsPerModule))
		img.FillMode, img.ScaleMode = canvas.ImageFillContain, canvas.ImageScalePixels
		img.SetMinSize(fyne.NewSquareSize(240))
		content = container.NewBorder(nil, nil, img, nil, at.issuedBox)
	}
	d := dialog.NewCustom("Reprovision "+ic.User, "Close", content, at.win)
	d.Resize(fyne.NewSize(720, 320))
	d.Show()
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
