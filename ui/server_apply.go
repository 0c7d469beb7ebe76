package ui

import (
	"errors"
	"strconv"
	"strings"

	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// applyChanges checks every field, marks those that are wrong, saves if
// all are right and restarts the server when where it listens changed.
// An attached console reads the saved settings for the checks, and
// saves, off the UI thread (request.go), the form disabled with Apply and
// Reset until the answer comes. What is saved is the form as it stood
// when Apply was pressed.
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
	request(s.c, s.hold(), func() (core.Settings, error) { return svc.Settings(), nil },
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
	c, svc := s.c, s.c.svc
	certChanged := old.TLSCert != set.TLSCert || old.TLSKey != set.TLSKey || old.Advertise != set.Advertise
	// Off the UI thread when attached (request.go), the form disabled
	// with Apply and Reset until the answer comes; the saved settings and the
	// certificate then in use are read there too, so the form and the
	// certificate line show them without asking again.
	request(s.c, s.hold(), func() (serverApplied, error) {
		var a serverApplied
		if certChanged && c.deps.Certificate != nil {
			// Read before the change, not taken from what the console
			// shows: another read of it (the status clock's, the
			// change's own event) may show the new one before this
			// answer comes.
			a.fpBefore = c.deps.Certificate().Fingerprint
		}
		if err := svc.ChangeSettings(change, "Server settings"); err != nil {
			return serverApplied{}, err
		}
		a.saved = svc.Settings()
		if certChanged && c.deps.Certificate != nil {
			a.cert, a.certAt = c.certificateInUse()
			a.hasCert = true
		}
		return a, nil
	}, func(a serverApplied, err error) {
		if err != nil {
			s.showResult("Not saved: "+core.ErrorMessage(err), widget.DangerImportance)
			return
		}
		s.applied(old, set, a)
	})
}

// serverApplied is what a save of the Server screen reads on its way:
// the settings as the service read them back after it and, when the
// certificate or the advertised host changed, the certificate in use
// after it (hasCert), in the read counted certAt (Console.certAsked), and
// the fingerprint served before it.
type serverApplied struct {
	saved    core.Settings
	cert     CertInfo
	hasCert  bool
	certAt   uint64
	fpBefore string
}

// applied shows the outcome of a save of the Server screen that went
// through: old and set are the settings before and as saved, a what the
// save read on its way.
func (s *serverScreen) applied(old, set core.Settings, a serverApplied) {
	s.show(a.saved)
	saved, imp := "Saved.", widget.SuccessImportance
	if old.TLSCert != set.TLSCert || old.TLSKey != set.TLSKey || old.Advertise != set.Advertise {
		before := s.c.fingerprint
		if a.hasCert {
			before = a.fpBefore
		}
		info := s.showCert(a.cert, a.hasCert, a.certAt)
		if info.Fingerprint != "" && info.Fingerprint != before {
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

// serverErrorMessage words why the server could not start. Core errors
// carry their own sentence; the listener's are the operating system's.
func serverErrorMessage(err error) string {
	var ce *core.Error
	var s sentence
	switch {
	case err == nil:
		return ""
	case errors.As(err, &s):
		return string(s)
	case errors.As(err, &ce):
		return ce.Message
	}
	if p := core.ListenProblem(err); p != "" {
		return p
	}
	return "something went wrong starting it; the log has the details."
}
