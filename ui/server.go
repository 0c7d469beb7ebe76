package ui

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// Setting keys of the Server screen.
const (
	keyServerName = "server.name"
	keySiteID     = "server.siteid"
	keyListen     = "server.listen"
	keyAdvertise  = "server.advertise"
	keyHTTPListen = "server.http_listen"
	keyMTLSListen = "server.mtls_listen"
	keyAdmListen  = "server.admin_listen"
	keyTLSCert    = "server.tls_cert"
	keyTLSKey     = "server.tls_key"
)

// StoreInfo describes where the records are kept, for the Server screen:
// the data file, or an etcd cluster with its members and the server that
// leads the run-once work (issue #16). It is core's type, so a console
// attached over the admin API shows the same (GET /v1/server).
type StoreInfo = core.StoreStatus

// StoreMember is one etcd member.
type StoreMember = core.StoreMember

// storeText is the Store section's text for a person.
func storeText(si StoreInfo) string {
	if !si.Etcd {
		return "Data file: " + si.Where
	}
	var b strings.Builder
	fmt.Fprintf(&b, "etcd cluster: %s\n", si.Where)
	if si.Problem != "" {
		fmt.Fprintf(&b, "Members could not be listed: %s\n", si.Problem)
	}
	for _, m := range si.Members {
		state := "healthy"
		if !m.Healthy {
			state = "NOT healthy: " + m.Problem
		}
		lead := ""
		if m.RaftLeader {
			lead = ", Raft leader"
		}
		fmt.Fprintf(&b, "  %s  %s  %s%s\n", m.Name, m.Endpoint, state, lead)
	}
	switch {
	case si.LeaderProblem != "":
		b.WriteString("Mail and log trim: unknown: " + si.LeaderProblem)
	case si.Leader == "":
		b.WriteString("Mail and log trim: no server elected yet")
	case si.Leader == si.ThisServer:
		fmt.Fprintf(&b, "Mail and log trim: this server (%s) leads", si.ThisServer)
	default:
		fmt.Fprintf(&b, "Mail and log trim: server %s leads (this is %s)", si.Leader, si.ThisServer)
	}
	return b.String()
}

// serverScreen is Server: the names phones know the server by, where it
// listens, its running state and its certificate.
type serverScreen struct {
	c *Console

	name, siteID, host, port, advertise, httpListen *field
	// mtlsListen and adminListen are the listeners for phones with a
	// device certificate (#14) and for paired remote consoles (#12).
	mtlsListen, adminListen *field
	loaded                  map[string]string

	apply, reset *widget.Button
	result       *widget.Label

	state   *widget.Label // running or stopped, and why
	restart *widget.Button
	busy    bool // a restart or regeneration is under way

	fingerprint *widget.Label
	regenerate  *widget.Button

	// store shows where the records are (Deps.Store).
	store        *widget.Label
	storeRefresh *widget.Button
	confirm      *askDialog

	// The administrator's certificate files (server.tls_cert/tls_key),
	// which certificate is in use and why the files are not, if so.
	certFile, keyFile     *field
	chooseCert, chooseKey *widget.Button
	certInUse             *widget.Label
	certProblem           *widget.Label

	// Remote consoles (pairconsole.go): the last code made and its text,
	// for tests.
	pairBtn     *widget.Button
	consolesBtn *widget.Button // Paired consoles…
	pairForm    *keptForm
	lastPairing core.ConsolePairing
	pairingBox  *widget.Label

	// reads asks for the saved settings and the certificate in use, one
	// trip at a time (reread); reading is set until an attached
	// console's first answer comes, the form disabled meanwhile.
	reads   *reread[serverRead]
	reading bool

	content fyne.CanvasObject
}

// serverRead is what the Server screen shows of the service, read in one
// trip: the saved settings and, when Deps.Certificate is set, the
// certificate the server presents.
type serverRead struct {
	set     core.Settings
	cert    CertInfo
	hasCert bool
}

func newServerScreen(c *Console) *serverScreen {
	s := &serverScreen{c: c}
	entry := func(placeholder string) *field { return c.newSubmitField(placeholder, s.applyChanges) }
	s.name = entry("e.g. office-server")
	s.siteID = entry("e.g. office")
	s.host = entry("e.g. 0.0.0.0, every address of this computer")
	s.port = entry("e.g. 8443")
	adv := c.newSelectEntry(addrStrings(c.opts.lanAddrs()))
	adv.SetPlaceHolder("(empty: the first detected address)")
	adv.OnSubmitted = func(string) { s.applyChanges() }
	s.advertise = newInputField(adv)
	s.httpListen = entry("(empty: off)")
	s.mtlsListen = entry("e.g. 0.0.0.0:9443 (empty: off)")
	s.adminListen = entry("e.g. 0.0.0.0:8444 (empty: off)")
	s.certFile = entry("e.g. /etc/provisio/auth.crt")
	s.keyFile = entry("e.g. /etc/provisio/auth.key")
	s.chooseCert = widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), func() { s.choosePath(s.certFile) })
	s.chooseKey = widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), func() { s.choosePath(s.keyFile) })
	s.certInUse = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.certProblem = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance}
	s.certProblem.Hide()

	s.result = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.apply = widget.NewButton("Apply", s.applyChanges)
	s.apply.Importance = widget.HighImportance
	s.reset = widget.NewButton("Reset", s.resetChanges)

	s.state = &widget.Label{Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Bold: true}}
	s.restart = widget.NewButtonWithIcon("Restart server", theme.ViewRefreshIcon(), func() { s.restartNow("") })
	s.fingerprint = &widget.Label{TextStyle: fyne.TextStyle{Monospace: true}, Wrapping: fyne.TextWrapBreak, Selectable: true}
	s.regenerate = widget.NewButtonWithIcon("Regenerate certificate…", theme.WarningIcon(), s.confirmRegenerate)
	s.regenerate.Importance = widget.DangerImportance
	if c.deps.RestartServer == nil {
		s.restart.Disable()
	}
	if c.deps.RegenerateCert == nil {
		s.regenerate.Disable()
	}

	hint := func(text string) fyne.CanvasObject {
		return &widget.Label{Text: text, Importance: widget.LowImportance, Wrapping: fyne.TextWrapWord}
	}
	form := newFormGrid(
		formRow("Server name", container.NewVBox(s.name.box, hint("Shown to people: on the provision page and in mail."))),
		formRow("Site ID", container.NewVBox(s.siteID.box,
			hint("Phones look the server up by it. Letters, digits, '-', '_' and '.'."))),
		formRow("Listen address", container.NewVBox(
			container.NewBorder(nil, nil, nil,
				container.NewHBox(widget.NewLabel("Port"), container.New(fixedWidth(110), s.port.box)), s.host.box),
			hint("0.0.0.0 listens on every network of this computer, which phones on the LAN need."))),
		formRow("Address phones use", container.NewVBox(s.advertise.box,
			hint("Pick a detected address or type a host name. Empty: the first detected address. "+
				"It goes into every Provision URL and QR code."))),
		formRow("Plain HTTP listener", container.NewVBox(s.httpListen.box,
			hint("Optional, host:port such as 0.0.0.0:8080, for legacy agents on a trusted network. "+
				"Plain HTTP is not encrypted. Empty: off."))),
		formRow("Device certificate listener", container.NewVBox(s.mtlsListen.box,
			hint("HTTPS that requires a device certificate: phones whose profile turns mutual authentication on "+
				"download strings here. Empty: off."))),
		formRow("Remote console listener", container.NewVBox(s.adminListen.box,
			hint("HTTPS with mutual TLS for paired remote consoles (provisio --connect). Open it to the helpdesk's "+
				"network only. Empty: off. A change applies when Provisio starts again."))),
	)
	running := container.NewVBox(
		newSection("Server state"),
		container.NewBorder(nil, nil, nil, container.NewVBox(s.restart), s.state),
		hint("Restarting applies the listen address, the port, the plain HTTP and the device certificate listeners without closing Provisio. "+
			"Requests under way get a few seconds to finish."),
	)
	cert := container.NewVBox(
		newSection("Certificate"),
		s.certInUse,
		s.fingerprint,
		hint("SHA-256 fingerprint. Phones show it when they first connect and pin it. Compare it before trusting."),
		s.certProblem,
		newFormGrid(
			formRow("Certificate file", container.NewVBox(
				container.NewBorder(nil, nil, nil, s.chooseCert, s.certFile.box),
				hint("A PEM certificate phones already trust, from the office's CA or a public CA, naming the address "+
					"phones use; intermediate certificates may follow it. Empty: the generated certificate."))),
			formRow("Key file", container.NewVBox(
				container.NewBorder(nil, nil, nil, s.chooseKey, s.keyFile.box),
				hint("Its PEM private key. Apply checks both files and switches without a restart; "+
					"renewed files are picked up within a second."))),
		),
		container.NewHBox(s.regenerate),
		&widget.Label{Text: "A new certificate cuts off every provisioned phone: all of them must be reprovisioned.",
			Importance: widget.WarningImportance, Wrapping: fyne.TextWrapWord},
	)
	body := container.NewVBox(form, widget.NewSeparator(), running, widget.NewSeparator(), cert,
		widget.NewSeparator(), s.remoteConsolesSection(hint))
	if c.deps.Store != nil {
		s.store = &widget.Label{Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Monospace: true}, Selectable: true}
		s.storeRefresh = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), s.refreshStore)
		body.Add(widget.NewSeparator())
		body.Add(container.NewVBox(newSection("Store"),
			container.NewBorder(nil, nil, nil, container.NewVBox(s.storeRefresh), s.store),
			hint("Where users, codes and the audit log are kept. With etcd several Provisio servers share them; "+
				"one of them, elected, sends mail and trims the log.")))
		s.refreshStore()
	}
	body.Add(layout.NewSpacer())
	buttons := container.NewBorder(nil, nil, nil, container.NewHBox(s.reset, s.apply), s.result)
	top := container.NewVBox(newHeading("Server"),
		newNote("The embedded HTTPS server that phones provision against and agents check one-time codes with."),
		widget.NewSeparator())
	s.content = container.NewBorder(top, container.NewVBox(widget.NewSeparator(), buttons), nil, nil,
		newFormScroll(body))
	for _, fl := range s.fields() {
		fl.relayout = func() { relayout(s.content) }
	}
	s.reads = &reread[serverRead]{c: c, show: s.showRead}
	if c.attached() {
		// The first read crosses the network. Until it comes the form
		// is disabled: typed into an empty form and applied, it would
		// replace every saved value with what the form shows.
		s.reading = true
		s.setInputs(false)
		s.showResult(readingSettings, widget.MediumImportance)
		s.certInUse.Hide()
	}
	s.refreshState()
	s.reread()
	return s
}

// setInputs enables or disables every field, its Choose… buttons and
// Apply and Reset.
func (s *serverScreen) setInputs(on bool) {
	ws := []fyne.Disableable{s.chooseCert, s.chooseKey, s.apply, s.reset}
	for _, fl := range s.fields() {
		ws = append(ws, fl.entry)
	}
	setEnabled(on, ws...)
}

// reread asks for the saved settings and the certificate in use again:
// after a change saved elsewhere, and when the screen is shown
// (certificate files may have been renewed or damaged since). An
// attached console asks off the UI thread (reread), so a burst of events
// holds one request; the screen keeps what it shows until the answer
// comes.
func (s *serverScreen) reread() {
	svc, certificate := s.c.svc, s.c.deps.Certificate
	s.reads.ask(func() (serverRead, error) {
		r := serverRead{set: svc.Settings()}
		if certificate != nil {
			r.cert, r.hasCert = certificate(), true
		}
		return r, nil
	})
}

// showRead shows a read: the saved settings unless the admin is in the
// middle of editing (a change typed and not yet applied stays), the
// server's state and the certificate.
func (s *serverScreen) showRead(r serverRead, _ error) {
	switch {
	case s.reading:
		s.reading = false
		s.setInputs(true)
		s.showResult("", widget.MediumImportance)
		s.show(r.set)
	case !s.dirty():
		s.show(r.set)
	}
	s.refreshState()
	s.showCert(r.cert, r.hasCert)
}

// addrStrings formats addresses for a list of choices.
func addrStrings[T fmt.Stringer](addrs []T) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// fields maps the setting keys to their fields; the listen address is
// two fields, so it is left out.
func (s *serverScreen) fields() map[string]*field {
	return map[string]*field{keyServerName: s.name, keySiteID: s.siteID, keyAdvertise: s.advertise,
		keyHTTPListen: s.httpListen, "listen.host": s.host, "listen.port": s.port,
		keyTLSCert: s.certFile, keyTLSKey: s.keyFile, keyMTLSListen: s.mtlsListen, keyAdmListen: s.adminListen}
}

// values returns the form as setting text, the listen address joined.
func (s *serverScreen) values() map[string]string {
	return map[string]string{
		keyServerName: s.name.entry.Text, keySiteID: s.siteID.entry.Text,
		keyListen:    net.JoinHostPort(strings.TrimSpace(s.host.entry.Text), strings.TrimSpace(s.port.entry.Text)),
		keyAdvertise: s.advertise.entry.Text, keyHTTPListen: s.httpListen.entry.Text,
		keyTLSCert: s.certFile.entry.Text, keyTLSKey: s.keyFile.entry.Text,
		keyMTLSListen: s.mtlsListen.entry.Text, keyAdmListen: s.adminListen.entry.Text,
	}
}

// resetChanges puts back the saved values, read again (off the UI thread
// when attached, Reset and Apply disabled until they come).
func (s *serverScreen) resetChanges() {
	if s.reset.Disabled() {
		return
	}
	svc := s.c.svc
	request(s.c, []fyne.Disableable{s.reset, s.apply}, func() (core.Settings, error) { return svc.Settings(), nil },
		func(set core.Settings, _ error) {
			s.show(set)
			s.showResult("", widget.MediumImportance)
		})
}

// show shows set, as saved, and clears errors.
func (s *serverScreen) show(set core.Settings) {
	host, port, err := net.SplitHostPort(set.Listen)
	if err != nil {
		host, port = set.Listen, ""
	}
	for fl, v := range map[*field]string{s.name: set.ServerName, s.siteID: set.SiteID, s.host: host, s.port: port,
		s.advertise: set.Advertise, s.httpListen: set.HTTPListen, s.certFile: set.TLSCert, s.keyFile: set.TLSKey,
		s.mtlsListen: set.MTLSListen, s.adminListen: set.AdminListen} {
		fl.entry.SetText(v)
		fl.setError("")
	}
	s.loaded = s.values()
	s.fingerprint.SetText(s.c.fingerprint)
}

// dirty reports whether the admin has edited the form since it loaded.
// Before the first load there is nothing to edit.
func (s *serverScreen) dirty() bool {
	if s.loaded == nil {
		return false
	}
	for k, v := range s.values() {
		if s.loaded[k] != v {
			return true
		}
	}
	return false
}

// applyChanges checks every field, marks those that are wrong, saves if
// all are right and restarts the server when where it listens changed.
// An attached console reads the saved settings for the checks, and
// saves, off the UI thread (request.go), Apply and Reset disabled until
// the answer comes. What is saved is the form as it stood when Apply was
// pressed.
func (s *serverScreen) applyChanges() {
	if s.apply.Disabled() {
		return // Enter in a field while a save is on its way
	}
	if !s.dirty() {
		s.showResult("Nothing to apply: the form shows the saved values.", widget.MediumImportance)
		return
	}
	for _, fl := range s.fields() {
		fl.setError("")
	}
	vals, loaded, port := s.values(), s.loaded, s.port.entry.Text
	svc := s.c.svc
	request(s.c, []fyne.Disableable{s.apply, s.reset}, func() (core.Settings, error) { return svc.Settings(), nil },
		func(old core.Settings, _ error) { s.checkAndSave(old, loaded, vals, port) })
}

// checkAndSave checks the form's values vals (and port, the port as
// typed) on old, the saved settings just read, marks the fields that are
// wrong and saves what changed since loaded if all are right.
func (s *serverScreen) checkAndSave(old core.Settings, loaded, vals map[string]string, port string) {
	set := old
	ok := true
	// The keys are set at once (core's Settings.SetValues), each error
	// under its field.
	fields := map[string]*field{
		keyServerName: s.name, keySiteID: s.siteID, keyListen: s.host, keyAdvertise: s.advertise,
		keyHTTPListen: s.httpListen, keyMTLSListen: s.mtlsListen, keyAdmListen: s.adminListen,
		keyTLSCert: s.certFile, keyTLSKey: s.keyFile,
	}
	// Only what the admin changed is saved (changedSince), so a setting
	// another console saved meanwhile stays.
	change := changedSince(loaded, vals)
	if n, err := strconv.Atoi(strings.TrimSpace(port)); err != nil || n < 1 || n > 65535 {
		s.port.setError("Enter a port from 1 to 65535.")
		ok = false
		delete(change, keyListen)
	}
	if err := set.SetValues(change); err != nil {
		ok = false
		marked := core.FieldErrors(err)
		if len(marked) == 0 {
			s.showResult("Not saved: "+core.ErrorMessage(err), widget.DangerImportance)
			return
		}
		for _, ce := range marked {
			fl, found := fields[ce.Field]
			switch {
			case ce.Field == keyListen:
				s.host.setError("Enter an IP address of this computer, 0.0.0.0 for all of them, or a host name.")
			case found:
				fl.setError(ce.Message)
			default:
				s.showResult("Not saved: "+ce.Message, widget.DangerImportance)
				return
			}
		}
	}
	if ok {
		ok = s.checkCertFiles(old, set)
	}
	if !ok {
		s.showResult("Not saved: correct the fields marked in red.", widget.DangerImportance)
		return
	}
	svc, certificate := s.c.svc, s.c.deps.Certificate
	certChanged := old.TLSCert != set.TLSCert || old.TLSKey != set.TLSKey || old.Advertise != set.Advertise
	type applied struct {
		saved   core.Settings
		cert    CertInfo
		hasCert bool
	}
	// Off the UI thread when attached (request.go), Apply and Reset
	// disabled until the answer comes; the saved settings and the
	// certificate then in use are read there too, so the form and the
	// certificate line show them without asking again.
	request(s.c, []fyne.Disableable{s.apply, s.reset}, func() (applied, error) {
		if err := svc.ChangeSettings(change, "Server settings"); err != nil {
			return applied{}, err
		}
		a := applied{saved: svc.Settings()}
		if certChanged && certificate != nil {
			a.cert, a.hasCert = certificate(), true
		}
		return a, nil
	}, func(a applied, err error) {
		if err != nil {
			s.showResult("Not saved: "+core.ErrorMessage(err), widget.DangerImportance)
			return
		}
		s.applied(old, set, a.saved, a.cert, a.hasCert)
	})
}

// applied shows the outcome of a save of the Server screen that went
// through: old and set are the settings before and as saved, readBack
// as the service read them back after, cert the certificate in use after it
// when hasCert (read only when the certificate or the advertised host
// changed).
func (s *serverScreen) applied(old, set, readBack core.Settings, cert CertInfo, hasCert bool) {
	s.show(readBack)
	saved, imp := "Saved.", widget.SuccessImportance
	if old.TLSCert != set.TLSCert || old.TLSKey != set.TLSKey || old.Advertise != set.Advertise {
		oldFP := s.c.fingerprint
		info := s.showCert(cert, hasCert)
		if s.c.fingerprint != oldFP {
			// The listener picks the certificate per connection, so the
			// switch needs no restart; pinned apps notice it, though.
			what := "the generated certificate again"
			if info.FromFiles {
				what = "your certificate"
			}
			saved = "Saved. The server now presents " + what + ", with a new fingerprint: " +
				"apps that pinned the old one must be reprovisioned."
			imp = widget.WarningImportance
		}
	}
	if old.AdminListen != set.AdminListen {
		// The remote console listener is opened once, at start.
		saved, imp = saved+" The remote console listener moves when Provisio starts again.", widget.WarningImportance
	}
	if old.Listen == set.Listen && old.HTTPListen == set.HTTPListen && old.MTLSListen == set.MTLSListen {
		s.showResult(saved, imp)
		return
	}
	if s.c.deps.RestartServer == nil {
		hint := " Restart Provisio to listen on the new address."
		if s.c.attached() {
			hint = " " + restartServiceHint + "."
		}
		s.showResult(saved+hint, widget.WarningImportance)
		return
	}
	s.restartNow(saved + " ")
}

func (s *serverScreen) showResult(msg string, imp widget.Importance) {
	s.result.Importance = imp
	s.result.SetText(msg)
}

// refreshState shows whether the server runs and where.
func (s *serverScreen) refreshState() {
	if s.busy {
		return
	}
	if s.c.attached() {
		// The service runs the server; this window cannot restart it or
		// replace its certificate. Nothing is asked: this runs on the
		// UI thread, and attached, where the server answers is a
		// request.
		s.state.Importance = widget.MediumImportance
		s.state.SetText("This console is attached to the service at " + s.c.deps.Attached +
			", which runs the server. " + restartServiceHint + "; its certificate is regenerated on the server, with the service stopped.")
		return
	}
	urls := s.c.serverURLs()
	switch {
	case len(urls) > 0:
		s.state.Importance = widget.SuccessImportance
		text := "Running at " + strings.Join(urls, ", ")
		if h := s.c.svc.Settings().HTTPListen; h != "" {
			text += "; plain HTTP for legacy agents on " + h
		}
		s.state.SetText(text + ".")
	case s.c.serverErr != nil:
		s.state.Importance = widget.DangerImportance
		s.state.SetText("Stopped: " + serverErrorMessage(s.c.serverErr))
	default:
		s.state.Importance = widget.DangerImportance
		s.state.SetText("Stopped.")
	}
}

// restartNow restarts the server in the background (closing it lets
// requests under way finish, which can take seconds) and reports in the
// result line after prefix.
func (s *serverScreen) restartNow(prefix string) {
	if s.c.deps.RestartServer == nil || s.busy {
		return
	}
	s.setBusy("Restarting the server…")
	c := s.c
	go func() {
		err := c.deps.RestartServer()
		c.do(func() {
			s.setBusy("")
			c.serverStarted(err)
			if err != nil {
				s.showResult(prefix+"The server could not start: "+serverErrorMessage(err), widget.DangerImportance)
				return
			}
			s.showResult(prefix+"The server restarted.", widget.SuccessImportance)
		})
	}()
}

// setBusy shows work under way and keeps the buttons from starting more;
// "" ends it.
func (s *serverScreen) setBusy(msg string) {
	s.busy = msg != ""
	for _, b := range []*widget.Button{s.restart, s.regenerate} {
		if s.busy {
			b.Disable()
		} else {
			b.Enable()
		}
	}
	if s.c.deps.RestartServer == nil {
		s.restart.Disable()
	}
	if s.c.deps.RegenerateCert == nil {
		s.regenerate.Disable()
	}
	if s.busy {
		s.state.Importance = widget.MediumImportance
		s.state.SetText(msg)
	} else {
		s.refreshState()
	}
}

// serverStarted records the outcome of a (re)start: the log gets the
// detail, the status bar and the Server screen the state.
func (c *Console) serverStarted(err error) {
	c.serverErr = err
	if err != nil {
		_ = c.svc.Log(core.LevelError, "", "The server could not start: %v", err)
	} else {
		_ = c.svc.Log(core.LevelInfo, "", "Server restarted from the console on %s.", c.svc.Settings().Listen)
	}
	c.refreshStatus()
	if c.server != nil {
		c.server.refreshState()
	}
}

// configChanged follows settings saved elsewhere unless the admin is in
// the middle of editing (showRead), which is decided when the answer
// comes.
func (s *serverScreen) configChanged() { s.reread() }

// serverErrorMessage words why the server could not start. Core errors
// carry their own sentence; the listener's are the operating system's.
func serverErrorMessage(err error) string {
	var ce *core.Error
	var s sentence
	var dns *net.DNSError
	text := strings.ToLower(fmt.Sprint(err))
	switch {
	case err == nil:
		return ""
	case errors.As(err, &s):
		return string(s)
	case errors.As(err, &ce):
		return ce.Message
	case errors.Is(err, syscall.EADDRINUSE) || strings.Contains(text, "address already in use") ||
		strings.Contains(text, "only one usage of each socket address"):
		return "another program already uses that port. Choose another port, or stop the other program."
	case errors.Is(err, syscall.EACCES) || errors.Is(err, fs.ErrPermission):
		return "Provisio may not listen on that port. Ports below 1024 need administrator rights; use 8443."
	case errors.Is(err, syscall.EADDRNOTAVAIL) || strings.Contains(text, "assign requested address"):
		return "this computer has no such address. Use 0.0.0.0 to listen on all of its addresses."
	case errors.As(err, &dns):
		return "the listen address names a host that cannot be found."
	}
	return "something went wrong starting it; the log has the details."
}

// refreshStore asks Deps.Store again. The member status takes a network
// round trip, so it runs off the UI thread and the text is set through
// the bridge.
func (s *serverScreen) refreshStore() {
	s.store.SetText("Asking the store…")
	go func() {
		text := storeText(s.c.deps.Store())
		s.c.do(func() { s.store.SetText(text) })
	}()
}
