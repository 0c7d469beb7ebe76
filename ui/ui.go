// Package ui is Provisio's desktop console: Fyne views over core.Service.
//
// It never imports fyne.io/fyne/v2/app, so it builds and tests with Fyne's
// headless test driver and CGO_ENABLED=0; package main makes the app and
// the window and hands them to New. Changes made elsewhere (a phone, an
// agent, the CLI) reach the views as core events, and bridge.go is the one
// place that applies them on the UI thread.
package ui

import (
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// Deps is what the console needs from the composition root.
type Deps struct {
	// Service is the domain service every screen drives. Required.
	Service *core.Service
	// ServerURLs returns the addresses phones and agents reach the HTTPS
	// server at. It is called again whenever configuration changes; nil
	// means the server is not running.
	ServerURLs func() []string
	// Fingerprint is the SHA-256 fingerprint of the server certificate,
	// shown so an admin can compare it with what a phone or agent reports.
	Fingerprint string
}

// Console is the main window's content and the state behind it. It keeps
// handles to the widgets that tests drive.
type Console struct {
	app  fyne.App
	win  fyne.Window
	svc  *core.Service
	deps Deps
	opts options

	nav     *widget.List
	screens []screen
	body    *fyne.Container // holds the selected screen
	status  *widget.Label

	users     *usersScreen
	mobile    *settingsForm
	selfReset *settingsForm
	log       *logScreen

	// reprov is the open Reprovision dialog, if any; the bridge sends it
	// the events about its user.
	reprov *reprovisionDialog
	// ownCodes holds codes this console issued whose EventCodeCreated has
	// not arrived yet, so only codes made elsewhere raise a notice.
	ownCodes map[string]bool
	// notice is the newest notice of a code an agent created.
	notice *codeNotice

	bridge *bridge
	// closed is set by Close. It is atomic because, once the app has shut
	// down, Fyne runs late fyne.Do work on the calling goroutine.
	closed atomic.Bool
}

// screen is one entry of the navigation list.
type screen struct {
	title   string
	content fyne.CanvasObject
}

// options are seams for tests; the zero value is what New uses.
type options struct {
	// do runs fn on the UI thread; nil means fyne.Do. Tests queue fn and
	// run it on the test goroutine, which plays the main thread.
	do func(fn func())
	// tick is how often the Reprovision countdown updates; 0 means 1s.
	tick time.Duration
}

// New builds the console into w: a navigation list on the left, the
// selected screen on the right and a status line below. It subscribes to
// the service's events until Close.
func New(a fyne.App, w fyne.Window, d Deps) *Console {
	return newConsole(a, w, d, options{})
}

func newConsole(a fyne.App, w fyne.Window, d Deps, o options) *Console {
	if d.Service == nil {
		panic("ui.New: Deps.Service is nil")
	}
	if o.tick <= 0 {
		o.tick = time.Second
	}
	c := &Console{app: a, win: w, svc: d.Service, deps: d, opts: o, ownCodes: map[string]bool{}}

	// Subscribe before the screens load their data, so nothing committed
	// in between is missed; the log screen drops entries it already has.
	c.bridge = subscribe(c.svc)

	c.users = newUsersScreen(c)
	c.mobile = newMobilePolicy(c)
	c.selfReset = newSelfResetPolicy(c)
	c.log = newLogScreen(c)
	c.screens = []screen{
		{"User Management", c.users.content},
		{"Policy → Mobile Client", c.mobile.content},
		{"Policy → Self-Reset", c.selfReset.content},
		{"Log", c.log.content},
	}

	c.nav = widget.NewList(
		func() int { return len(c.screens) },
		func() fyne.CanvasObject { return widget.NewLabel("Policy → Mobile Client") },
		func(id widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(c.screens[id].title) },
	)
	c.nav.OnSelected = c.show
	c.body = container.NewStack()
	c.status = &widget.Label{Truncation: fyne.TextTruncateEllipsis}
	c.refreshStatus()

	split := container.NewHSplit(c.nav, container.NewPadded(c.body))
	split.Offset = 0.16
	w.SetContent(container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), c.status), nil, nil, split))
	w.Resize(fyne.NewSize(1280, 800))
	c.nav.Select(0)
	c.startBridge()
	return c
}

// show puts screen i on the right.
func (c *Console) show(i widget.ListItemID) {
	if i < 0 || i >= len(c.screens) {
		return
	}
	c.body.Objects = []fyne.CanvasObject{c.screens[i].content}
	c.body.Refresh()
}

// Close ends the event subscription and the Reprovision countdown. The
// window itself belongs to the caller.
func (c *Console) Close() {
	if c.closed.Swap(true) {
		return
	}
	if c.reprov != nil {
		c.reprov.stop()
	}
	c.bridge.stop()
}

// refreshStatus rewrites the status line from the current configuration.
func (c *Console) refreshStatus() {
	var urls []string
	if c.deps.ServerURLs != nil {
		urls = c.deps.ServerURLs()
	}
	server := "not running"
	if len(urls) > 0 {
		server = strings.Join(urls, ", ")
	}
	fp := c.deps.Fingerprint
	if fp == "" {
		fp = "unknown"
	}
	c.status.SetText("Server " + server + "   ·   Site ID " + c.svc.Settings().SiteID + "   ·   Certificate SHA-256 " + fp)
}

// showError tells the admin what went wrong in core's words; the detail
// of internal failures is in the log, not in the dialog.
func (c *Console) showError(err error) {
	dialog.ShowError(errors.New(core.ErrorMessage(err)), c.win)
}
