// Package ui is Provisio's desktop console: Fyne views over
// core.ConsoleAPI, which is the *core.Service when the console runs the
// server and the admin API (core/adminapi) when it is attached to one.
//
// It never imports fyne.io/fyne/v2/app, so it builds and tests with Fyne's
// headless test driver and CGO_ENABLED=0; package main makes the app and
// the window and hands them to New. Changes made elsewhere (a phone, an
// agent, the CLI) reach the views as core events, and bridge.go is the one
// place that applies them on the UI thread.
package ui

import (
	"errors"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// Deps is what the console needs from the composition root.
type Deps struct {
	// Service is what every screen drives: the *core.Service when this
	// process runs the server, core/adminapi's Console when the console
	// is attached to a service over the admin API. Required.
	Service core.ConsoleAPI
	// Mail is the mail adapter's part the Mail Transport screen needs
	// (the built-in provision message, a test send), so ui does not
	// import the mailer. Required.
	Mail core.MailTools
	// ServerURLs returns the addresses phones and agents reach the HTTPS
	// server at. It is called again whenever configuration changes or the
	// server restarts; nil or no addresses means the server is not
	// running.
	ServerURLs func() []string
	// Fingerprint is the SHA-256 fingerprint of the server certificate
	// at start, shown so an admin can compare it with what a phone or
	// agent reports. When Certificate is set the console follows the
	// certificate served now: on every configuration change, every
	// status-bar recount and when About or a pairing code is shown.
	Fingerprint string
	// StartErr is why the server did not start with the program, if it
	// did not. The console tells the admin in a sentence and shows it on
	// the Server screen.
	StartErr error
	// RestartServer stops the embedded server, if it runs, and starts it
	// again with the current settings (server.listen, server.http_listen)
	// and certificate, so changes apply without restarting the program.
	// nil: the console cannot restart the server and says so.
	RestartServer func() error
	// RegenerateCert replaces the server certificate with a new one and
	// returns its fingerprint. The running server keeps the old one until
	// the console calls RestartServer, which it does at once. nil: the
	// console cannot regenerate the certificate.
	RegenerateCert func() (fingerprint string, err error)
	// Certificate looks at server.tls_cert and server.tls_key and their
	// files again, as the server does, and describes the certificate it
	// presents now, so a change shows at once. nil: the Server screen
	// shows only Fingerprint.
	Certificate func() CertInfo
	// CheckCertFiles checks PEM certificate and key files as the server
	// would load them for host, the address phones use; the error is one
	// sentence for a person. nil: the files are saved unchecked (the
	// server still refuses bad ones and keeps its certificate).
	CheckCertFiles func(certPath, keyPath, host string) error
	// Store describes where the records are kept, for the Server screen:
	// the data file, or an etcd cluster with its members and the server
	// that leads the run-once work (issue #16). nil: not shown.
	Store func() StoreInfo
	// Version and DataDir are shown in Help → About.
	Version, DataDir string
	// ServiceCommand is the exact command that installs this program as
	// a system service, shown by the status bar's "Install as a service"
	// (installservice.go); "" shows "sudo provisio service install".
	ServiceCommand string
	// Documentation is opened by Help → Documentation; nil: the console
	// says where the documentation is.
	Documentation *url.URL
	// Attached names the service this console is attached to over the
	// admin API (#12), its data directory or the HOST:PORT of a remote
	// server; "" when this process runs the server itself. Attached, the
	// status bar says so, and what only the process running the server
	// can do (restart it, regenerate its certificate) is left to the
	// service, in a sentence.
	Attached string
}

// attached reports whether this console is attached to a service rather
// than running the server.
func (c *Console) attached() bool { return c.deps.Attached != "" }

// restartServiceHint is what an attached console says where a change
// needs the server restarted.
const restartServiceHint = "Restart the service to apply: sudo systemctl restart provisio"

// CertInfo describes the certificate the server presents.
type CertInfo struct {
	// Fingerprint is its SHA-256 fingerprint; "" when there is none.
	Fingerprint string
	// FromFiles: the administrator's files (server.tls_cert/tls_key);
	// false: the certificate Provisio generated.
	FromFiles bool
	// Names are the DNS names and IP addresses it is valid for.
	Names []string
	// NotAfter is when it expires.
	NotAfter time.Time
	// Problem is why the configured files are not served, one sentence;
	// nil when they are, or when none are set.
	Problem error
}

// Console is the main window's content and the state behind it. It keeps
// handles to the widgets that tests drive.
type Console struct {
	app  fyne.App
	win  fyne.Window
	svc  core.ConsoleAPI
	deps Deps
	opts options

	nav     *navList
	screens []screen
	// unsaved are the screens whose form holds changes not yet applied;
	// the navigation marks them.
	unsaved map[fyne.CanvasObject]bool
	body    *fyne.Container // holds the selected screen
	// The status bar, two lines so nothing is cut at 1280 px: whether the
	// server runs, its addresses, the Site ID and the device and code
	// counts; below, the certificate's fingerprint (what a phone user
	// compares) with its Copy button.
	serverState *widget.Label
	status      *widget.Label
	// stateRow holds serverState and status; it is laid out again when
	// the state's words change length (showStatus). root is the
	// window's content, laid out again when the status line wraps.
	stateRow, root *fyne.Container
	certLine       *widget.Label
	copyFP         *widget.Button // copies the certificate fingerprint
	// installSvc opens the "Install as a service" dialog (installservice.go).
	installSvc *widget.Button
	// modeNote says whether this window runs the server or is attached
	// to the service; streamLost is set once an attached console's
	// event stream ended, streamOpened once it first opened (from then
	// on a change made elsewhere reaches the screens; tests wait for it).
	modeNote     *widget.Label
	streamLost   bool
	streamOpened bool
	// lostWhy is why the stream is lost, shown while streamLost.
	lostWhy string
	// requests counts the requests sent off the UI thread whose answers
	// are still to be applied (request.go). UI thread only.
	requests int
	// held are the buttons and inputs that requests on their way keep
	// disabled (request.go), with what their screens' rules would make
	// them meanwhile (setEnabled). UI thread only.
	held map[fyne.Disableable]*heldWidget
	// shownStatus is what the status bar showed last (showStatus);
	// statusReads asks for it (refreshStatus).
	shownStatus statusFacts
	statusReads reread[statusFacts]
	// certReads asks for the certificate served now (followCertificate).
	certReads reread[certRead]
	// statusAsked and certAsked count the reads of the status bar's facts
	// and of the certificate served as each starts, on whichever
	// goroutine reads (a request's, the status clock's); statusShown and
	// certShown are the counts of the reads shown last (UI thread). A
	// read shown after a later one would put back what that one
	// replaced: the clock's read, or a pairing code's, can start before a
	// change and be answered after the change's own read.
	statusAsked, certAsked atomic.Uint64
	statusShown, certShown uint64

	menu     *fyne.MainMenu
	aboutBox *about     // the open About box, if any
	quitAsk  *askDialog // "Quit and lose unsaved changes…?" while open
	oldPhone *askDialog // the last "already has a phone" question

	users     *usersScreen
	mobile    *settingsForm
	profiles  *profilesScreen
	selfReset *settingsForm
	pin       *settingsForm
	transport *transportScreen
	outbox    *outboxScreen
	server    *serverScreen
	backups   *backupScreen
	agents    *agentsScreen
	log       *logScreen
	// siteAsking says a read of the store for Mail Transport's and
	// Backups' wording is on its way, siteAgain that another is to
	// follow it (askSite).
	siteAsking, siteAgain bool

	// fingerprint is the server certificate's, as now served; serverErr
	// is why the server is not running, when it is not.
	fingerprint string
	serverErr   error

	// first is the first-run setup while it is open.
	first *firstRun
	// dialogKeys are the open dialogs, for Escape and Enter (keys.go).
	dialogKeys

	// reprov is the open Reprovision dialog, if any; the bridge sends it
	// the events about its user.
	reprov *reprovisionDialog
	// clientLog is the open Client log dialog, if any (clientlog.go).
	clientLog *clientLogView
	// clientLogOpening says the logs for a Client log dialog are being
	// read (openClientLog): a second ask opens nothing more.
	clientLogOpening bool
	// oath is the open authenticator-app Reprovision dialog, if any.
	oath *oathDialog
	// offer is the last "Turn on authenticator apps?" question (tests).
	offer *askDialog
	// notice is the newest notice of a code an agent created.
	notice *codeNotice

	bridge *bridge
	// haltStatus ends the status bar's clock (pending codes expire
	// without an event); statusDone is closed when its goroutine has
	// returned, so Close can wait for a Deps.Certificate call under way.
	haltStatus chan struct{}
	statusDone chan struct{}
	// ui hands work to the UI thread until Close (bridge.go).
	ui uiThread
}

// screen is one entry of the navigation list.
type screen struct {
	title string
	// build makes the screen the first time it is shown; content is nil
	// until then.
	build   func() fyne.CanvasObject
	content fyne.CanvasObject
}

// screenContent returns screen i, building it the first time.
func (c *Console) screenContent(i int) fyne.CanvasObject {
	s := &c.screens[i]
	if s.content == nil {
		s.content = s.build()
	}
	return s.content
}

// screenTitled returns the screen titled title, building it the first
// time, or nil when there is none.
func (c *Console) screenTitled(title string) fyne.CanvasObject {
	for i, s := range c.screens {
		if s.title == title {
			return c.screenContent(i)
		}
	}
	return nil
}

// options are seams for tests; the zero value is what New uses.
type options struct {
	// do runs fn on the UI thread; nil means fyne.Do. Tests queue fn and
	// run it on the test goroutine, which plays the main thread.
	do func(fn func())
	// tick is how often the Reprovision countdown updates; 0 means 1s.
	tick time.Duration
	// statusTick is how often the status bar recounts pending codes; 0
	// means 30s.
	statusTick time.Duration
	// closeWait bounds how long Close waits for a status-clock call under
	// way; 0 means statusCloseWait.
	closeWait time.Duration
	// lanAddrs lists the machine's LAN addresses; nil means
	// core.LANAddresses. Tests fix them so layouts do not depend on the
	// machine.
	lanAddrs func() []netip.Addr
	// saveFile replaces the file-save dialog: it returns where to write a
	// file suggested as name. Tests write to a temporary directory.
	saveFile func(name string) (path string, ok bool)
	// openFile replaces the file-open dialog.
	openFile func() (path string, ok bool)
	// quit replaces App.Quit.
	quit func()
}

// New builds the console into w: a navigation list on the left, the
// selected screen on the right and a status line below. It subscribes to
// the service's events until Close.
func New(a fyne.App, w fyne.Window, d Deps) *Console {
	// Text must be readable (WCAG AA) in both variants: theme.go. Tests
	// keep Fyne's test theme, so goldens name colours unambiguously.
	a.Settings().SetTheme(Theme())
	return newConsole(a, w, d, options{})
}

func newConsole(a fyne.App, w fyne.Window, d Deps, o options) *Console {
	if d.Service == nil {
		panic("ui.New: Deps.Service is nil")
	}
	if d.Mail == nil {
		panic("ui.New: Deps.Mail is nil")
	}
	if o.tick <= 0 {
		o.tick = time.Second
	}
	if o.statusTick <= 0 {
		o.statusTick = 30 * time.Second
	}
	if o.closeWait <= 0 {
		o.closeWait = statusCloseWait
	}
	if o.lanAddrs == nil {
		o.lanAddrs = core.LANAddresses
	}
	c := &Console{app: a, win: w, svc: d.Service, deps: d, opts: o,
		fingerprint: d.Fingerprint, serverErr: d.StartErr}
	c.ui.queue = o.do
	c.statusReads = reread[statusFacts]{c: c, show: c.statusRead}
	c.certReads = reread[certRead]{c: c, show: c.certificateRead}

	// Subscribe before the screens load their data, so nothing committed
	// in between is missed; the log screen drops entries it already has.
	c.bridge = subscribe(c.svc)

	c.serverState = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}}
	c.status = &widget.Label{Truncation: fyne.TextTruncateEllipsis}
	c.certLine = &widget.Label{Truncation: fyne.TextTruncateEllipsis}
	// Only the users screen is built now; the others are built when first
	// shown (screenContent), so the window appears without laying out ten
	// screens of forms first (issue #15: first frame). A screen not built
	// yet ignores events: it reads everything fresh when it is built.
	c.users = newUsersScreen(c)
	c.screens = []screen{
		{title: "User Management", content: c.users.content},
		{title: "Policy → Mobile Client", build: func() fyne.CanvasObject { c.mobile = newMobilePolicy(c); return c.mobile.content }},
		{title: "Policy → Profiles", build: func() fyne.CanvasObject { c.profiles = newProfilesScreen(c); return c.profiles.content }},
		{title: "Policy → Self-Reset", build: func() fyne.CanvasObject { c.selfReset = newSelfResetPolicy(c); return c.selfReset.content }},
		{title: "Policy → PIN & Lockout", build: func() fyne.CanvasObject { c.pin = newPINPolicy(c); return c.pin.content }},
		{title: "Mail Transport", build: func() fyne.CanvasObject { c.transport = newTransportScreen(c); return c.transport.content }},
		{title: "Outbox", build: func() fyne.CanvasObject { c.outbox = newOutboxScreen(c); return c.outbox.content }},
		{title: "Server", build: func() fyne.CanvasObject { c.server = newServerScreen(c); return c.server.content }},
		{title: "Server → Backups", build: func() fyne.CanvasObject { c.backups = newBackupScreen(c); return c.backups.content }},
		{title: "Agents", build: func() fyne.CanvasObject { c.agents = newAgentsScreen(c); return c.agents.content }},
		{title: "Log", build: func() fyne.CanvasObject { c.log = newLogScreen(c); return c.log.content }},
	}

	c.nav = newNavList(
		func() int { return len(c.screens) },
		func() fyne.CanvasObject { return widget.NewLabel("Policy → Mobile Client") },
		func(id widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(c.navTitle(id)) },
	)
	c.nav.OnSelected = c.show
	c.body = container.NewStack()
	c.refreshStatus()

	split := container.NewHSplit(c.nav, container.NewPadded(c.body))
	split.Offset = 0.16
	// The fingerprint is long: it has a line of its own, can be copied,
	// and is also in Help → About.
	c.copyFP = widget.NewButtonWithIcon("Copy fingerprint", theme.ContentCopyIcon(), c.copyFingerprint)
	c.copyFP.Importance = widget.LowImportance
	// Which kind of console this is (#12): this one is the server, as
	// opposed to one attached to the service (attached.go).
	mode := widget.NewLabelWithStyle(standaloneNote, fyne.TextAlignLeading, fyne.TextStyle{Italic: true})
	c.installSvc = widget.NewButtonWithIcon("Install as a service", theme.ComputerIcon(), c.showInstallService)
	c.installSvc.Importance = widget.LowImportance
	if c.attached() {
		// Attached to the service (#12): closing leaves it running.
		mode.SetText(attachedNote)
		c.installSvc.Hide()
	}
	c.modeNote = mode
	c.stateRow = container.NewBorder(nil, nil, c.serverState, mode, c.status)
	statusBar := container.NewVBox(
		c.stateRow,
		container.NewBorder(nil, nil, nil, container.NewHBox(c.copyFP, c.installSvc), c.certLine))
	c.root = container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), statusBar), nil, nil, split)
	w.SetContent(c.root)
	c.restoreWindowSize()
	c.nav.Select(0)
	c.setupKeys()
	c.setupMenu()
	c.startBridge()
	c.startStatusClock()
	if d.StartErr != nil {
		// The log keeps the detail; the admin reads what to do.
		_ = c.svc.Log(core.LevelError, "", "The server could not start: %v", d.StartErr)
	}
	// Attached, the settings are a request: asked off the UI thread
	// (request.go), the window opens at once over a silent network.
	svc := c.svc
	// The setup opens from the same read.
	request(c, nil, func() (core.Settings, error) { return svc.Settings(), nil }, func(set core.Settings, _ error) {
		if !set.SetupDone {
			c.openFirstRun(set)
		}
		if d.StartErr != nil {
			// Shown after the setup, so on top of it: under it, the
			// welcome dialog would say where phones reach a server
			// that is not running, and the reason would wait until
			// the admin had finished it.
			c.showError(sentence("The server could not start: " + serverErrorMessage(d.StartErr) +
				" Change the address or port under Server, then restart it there."))
		}
	})
	return c
}

// unsavedMark follows the navigation title of a screen with unsaved
// changes.
const unsavedMark = " (unsaved)"

// navTitle is screen i's title in the navigation.
func (c *Console) navTitle(i int) string {
	if c.unsaved[c.screens[i].content] {
		return c.screens[i].title + unsavedMark
	}
	return c.screens[i].title
}

// markUnsaved records whether the screen whose content is o has unsaved
// changes, for the navigation.
func (c *Console) markUnsaved(o fyne.CanvasObject, unsaved bool) {
	if c.unsaved == nil {
		c.unsaved = map[fyne.CanvasObject]bool{}
	}
	if c.unsaved[o] == unsaved {
		return
	}
	c.unsaved[o] = unsaved
	if c.nav != nil {
		c.nav.Refresh()
	}
}

// refreshUnsaved marks every form that differs from the saved settings,
// including Mail Transport and Server, whose own footers do not follow
// each keystroke.
func (c *Console) refreshUnsaved() {
	// A screen not built yet has no draft.
	for _, f := range []*settingsForm{c.mobile, c.selfReset, c.pin} {
		if f != nil {
			c.markUnsaved(f.content, f.dirty())
		}
	}
	if c.backups != nil {
		c.markUnsaved(c.backups.form.content, c.backups.form.dirty())
	}
	if c.transport != nil {
		c.markUnsaved(c.transport.content, c.transport.dirty() || c.transport.template.dirty())
	}
	if c.server != nil {
		c.markUnsaved(c.server.content, c.server.dirty())
	}
}

// showScreen selects the screen whose content is o.
func (c *Console) showScreen(o fyne.CanvasObject) {
	for i, s := range c.screens {
		if s.content == o {
			c.nav.Select(i)
			return
		}
	}
}

// show puts screen i on the right.
func (c *Console) show(i widget.ListItemID) {
	if i < 0 || i >= len(c.screens) {
		return
	}
	// The screen being left keeps its draft; the navigation marks it.
	c.refreshUnsaved()
	content := c.screenContent(i)
	c.body.Objects = []fyne.CanvasObject{content}
	if c.server != nil && content == c.server.content {
		// Certificate files may have been renewed or damaged since, and
		// etcd members may have stopped or come back: the state read
		// when the screen was built, maybe hours ago, would show a
		// member down as healthy.
		c.server.reread()
		c.server.askStore(false)
	}
	if (c.transport != nil && content == c.transport.content) || (c.backups != nil && content == c.backups.content) {
		// Who sends the mail and takes the backups on an etcd site may
		// have changed since (a server stopped, another elected).
		c.askSite()
	}
	c.body.Refresh()
	if content == c.users.content {
		// Finding a user is what the screen is for: typing goes to the
		// search box, at start and after a click in the navigation.
		c.win.Canvas().Focus(c.users.search)
	}
}

// statusCloseWait is how long Close waits for the status clock's call of
// Deps.Certificate. A local call (which can write a new certificate into
// the data directory) takes milliseconds; an attached console's is a
// request to the service, and a service that does not answer must not
// keep the window from closing for the request's whole timeout. What such
// a late call brings back is dropped (uiThread.do after close).
const statusCloseWait = 3 * time.Second

// Close ends the event subscription, the status clock and the
// Reprovision countdown. It waits (up to statusCloseWait) for the status
// clock, which calls Deps.Certificate off the UI thread: once Close
// returns, a console on its own store calls no Deps hook of its own
// accord, so the caller may close what they use (that hook can write a
// new certificate into its directory). An attached console's requests
// already on their way (request.go: a reread of the status bar or the
// certificate calls Deps.ServerURLs or Deps.Certificate on a goroutine)
// are not waited for; they end with the connection, and their answers are
// dropped. The window itself belongs to the caller.
func (c *Console) Close() {
	if c.ui.close() {
		return
	}
	if c.reprov != nil {
		c.reprov.stop()
	}
	if c.oath != nil {
		c.oath.stop()
	}
	close(c.haltStatus)
	select {
	case <-c.statusDone:
	case <-time.After(c.opts.closeWait):
	}
	c.bridge.stop()
}

// plural writes "1 code pending" or "3 codes pending" (core.Plural).
func plural(n int, one, many string) string { return core.Plural(n, one, many) }

// sentence is an error the console worded for people itself.
type sentence string

func (s sentence) Error() string { return string(s) }

// errorText is the sentence of err: the console's own, or core's.
func errorText(err error) string {
	var s sentence
	if errors.As(err, &s) {
		return string(s)
	}
	return core.ErrorMessage(err)
}
