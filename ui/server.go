package ui

import (
	"fmt"
	"net"
	"strings"

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
	// storeAsking says a read of the store's state is on its way: Refresh
	// waits greyed out, and showing the screen again asks nothing more.
	storeAsking bool
	confirm     *askDialog

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
	certAt  uint64 // Console.certAsked when cert was read
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
func (s *serverScreen) setInputs(on bool) { s.c.setEnabled(on, s.hold()...) }

// hold is every field, its Choose… buttons and Apply and Reset: what
// waits disabled while an attached console's Apply or Reset is on its
// way (request.go). Its answer puts the saved values in the fields, so a
// field typed into meanwhile would lose what was typed without a word.
func (s *serverScreen) hold() []fyne.Disableable {
	ws := []fyne.Disableable{s.chooseCert, s.chooseKey, s.apply, s.reset}
	for _, fl := range s.fields() {
		ws = append(ws, fl.entry)
	}
	return ws
}

// reread asks for the saved settings and the certificate in use again:
// after a change saved elsewhere, and when the screen is shown
// (certificate files may have been renewed or damaged since). An
// attached console asks off the UI thread (reread), so a burst of events
// holds one request; the screen keeps what it shows until the answer
// comes.
func (s *serverScreen) reread() {
	c, svc := s.c, s.c.svc
	s.reads.ask(func() (serverRead, error) {
		r := serverRead{set: svc.Settings()}
		if c.deps.Certificate != nil {
			r.cert, r.certAt = c.certificateInUse()
			r.hasCert = true
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
	s.showCert(r.cert, r.hasCert, r.certAt)
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
// when attached, the form disabled with Reset and Apply until they come).
func (s *serverScreen) resetChanges() {
	if s.reset.Disabled() {
		return
	}
	svc := s.c.svc
	request(s.c, s.hold(), func() (core.Settings, error) { return svc.Settings(), nil },
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
	// The navigation may mark a draft this replaces (refreshUnsaved runs
	// when a screen is left and on every change announced).
	s.c.refreshUnsaved()
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

// configChanged follows settings saved elsewhere unless the admin is in
// the middle of editing (showRead), which is decided when the answer
// comes.
func (s *serverScreen) configChanged() { s.reread() }
