package ui

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The Server screen's certificate: the files an admin installs, the
// fingerprint phones are shown, and regenerating the self-signed one.

// checkCertFiles marks the certificate fields when set names files the
// server would refuse: one without the other, a relative path (the server
// may run from another folder), or files that fail the server's own
// checks for the address phones will use. Files already saved are not
// checked again, so a problem with them never blocks other changes; the
// certificate section reports it. old is the saved settings.
func (s *serverScreen) checkCertFiles(old, set core.Settings) bool {
	certPath, keyPath := set.TLSCert, set.TLSKey
	ok := true
	for _, f := range []struct {
		fl                         *field
		path, other, what, example string
	}{
		{s.certFile, certPath, keyPath, "the certificate file", "/etc/provisio/auth.crt"},
		{s.keyFile, keyPath, certPath, "the key file", "/etc/provisio/auth.key"},
	} {
		switch {
		case f.path == "" && f.other != "":
			f.fl.setError("Choose " + f.what + " too, or clear both to use the generated certificate.")
			ok = false
		case f.path != "" && !filepath.IsAbs(f.path):
			f.fl.setError("Enter the full path of " + f.what + ", such as " + f.example + ".")
			ok = false
		}
	}
	if !ok || certPath == "" || s.c.deps.CheckCertFiles == nil {
		return ok
	}
	if old.TLSCert == certPath && old.TLSKey == keyPath && core.AdvertisedHostOf(old) == core.AdvertisedHostOf(set) {
		return true
	}
	err := s.c.deps.CheckCertFiles(certPath, keyPath, core.AdvertisedHostOf(set))
	if err == nil {
		return true
	}
	// The sentence names the file at fault; it goes under that field.
	fl := s.certFile
	if strings.HasPrefix(err.Error(), "The key") {
		fl = s.keyFile
	}
	fl.setError(err.Error())
	return false
}

// choosePath lets the admin pick a file for fl with the file dialog.
func (s *serverScreen) choosePath(fl *field) {
	if s.c.opts.openFile != nil {
		if path, ok := s.c.opts.openFile(); ok {
			fl.entry.SetText(path)
		}
		return
	}
	var unkey func()
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		unkey()
		if err != nil {
			s.c.showError(fileError(err, "read"))
			return
		}
		if r == nil {
			return // cancelled
		}
		_ = r.Close() // only the path is wanted; the server reads the file
		fl.entry.SetText(r.URI().Path())
	}, s.c.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".pem", ".crt", ".cer", ".key"}))
	if cur := strings.TrimSpace(fl.entry.Text); filepath.IsAbs(cur) {
		if dir, err := storage.ListerForURI(storage.NewFileURI(filepath.Dir(cur))); err == nil {
			d.SetLocation(dir)
		}
	}
	d.Resize(fileDialogSize(s.c.win))
	unkey = keyFileDialog(s.c.keys(), d)
	d.Show()
}

// showCert shows which certificate the server presents now, info as
// Deps.Certificate reported it in the read counted at (certAsked), and
// why the configured files are not in use, if they are not; known is
// false when there is no Deps.Certificate. The status bar and an open
// About box follow a new fingerprint (certificateRead).
func (s *serverScreen) showCert(info CertInfo, known bool, at uint64) CertInfo {
	if !known {
		s.certInUse.Hide()
		return CertInfo{Fingerprint: s.c.fingerprint}
	}
	s.c.certificateRead(certRead{fp: info.Fingerprint, at: at}, nil)
	s.fingerprint.SetText(s.c.fingerprint)
	text, imp := certDescription(info, s.c.svc.Now())
	s.certInUse.Importance = imp
	s.certInUse.SetText(text)
	s.certInUse.Show()
	if info.Problem != nil {
		s.certProblem.SetText("Your certificate files are not in use: " + info.Problem.Error() +
			" Meanwhile the server presents the certificate above.")
		s.certProblem.Show()
	} else {
		s.certProblem.SetText("")
		s.certProblem.Hide()
	}
	relayout(s.content)
	return info
}

// certDescription says in a sentence which certificate is in use, for
// which names and until when; one that expires within a month or has
// expired is a warning.
func certDescription(info CertInfo, now time.Time) (string, widget.Importance) {
	if info.Fingerprint == "" {
		return "No certificate is in use.", widget.DangerImportance
	}
	text := "In use: the certificate Provisio generated (self-signed: phone browsers warn about it once)"
	if info.FromFiles {
		text = "In use: your certificate"
	}
	if n := len(info.Names); n > 0 {
		names := info.Names
		if n > 4 {
			names = append(names[:4:4], fmt.Sprintf("%d more", n-4))
		}
		text += ", for " + strings.Join(names, ", ")
	}
	imp := widget.MediumImportance
	until := info.NotAfter.Local().Format("2 Jan 2006")
	switch left := info.NotAfter.Sub(now); {
	case info.NotAfter.IsZero():
	case left <= 0:
		text += ", expired on " + until
		imp = widget.DangerImportance
	case left < 30*24*time.Hour:
		text += fmt.Sprintf(", expires on %s (in %d days)", until, int(left.Hours()/24)+1)
		imp = widget.WarningImportance
	default:
		text += ", valid until " + until
	}
	return text + ".", imp
}

func (s *serverScreen) confirmRegenerate() {
	if s.c.deps.RegenerateCert == nil || s.busy {
		return
	}
	spec := confirmSpec("Regenerate certificate",
		"The server gets a new certificate with a new fingerprint. Every phone provisioned so far pinned the "+
			"current one and stops connecting: each must be reprovisioned. Agents that pin it must be updated too. "+
			"Regenerate the certificate now?",
		func(yes bool) {
			s.confirm = nil
			if yes {
				s.regenerateNow()
			}
		})
	spec.confirm, spec.danger = "Regenerate", true
	s.confirm = s.c.ask(spec)
}

// regenerateNow makes a new certificate and restarts the server with it.
func (s *serverScreen) regenerateNow() {
	s.setBusy("Making a new certificate…")
	c := s.c
	go func() {
		fp, err := c.deps.RegenerateCert()
		made := certRead{fp: fp, at: c.certAsked.Add(1)} // counted as a read of it
		var restartErr error
		if err == nil && c.deps.RestartServer != nil {
			restartErr = c.deps.RestartServer()
		}
		// The certificate now in use is read here too, not on the UI
		// thread.
		var cert CertInfo
		var certAt uint64
		hasCert := err == nil && c.deps.Certificate != nil
		if hasCert {
			cert, certAt = c.certificateInUse()
		}
		c.do(func() {
			s.setBusy("")
			if err != nil {
				_ = c.svc.Log(core.LevelError, "", "The server certificate could not be regenerated: %v", err)
				s.showResult("The certificate could not be regenerated; the old one stays. The log has the details.",
					widget.DangerImportance)
				return
			}
			// Taken where every new fingerprint is (certificateRead).
			c.certificateRead(made, nil)
			s.fingerprint.SetText(c.fingerprint)
			_ = c.svc.Log(core.LevelWarn, "", "Server certificate regenerated; provisioned phones must reprovision. New SHA-256 fingerprint %s.", fp)
			info := s.showCert(cert, hasCert, certAt)
			c.serverStarted(restartErr)
			if restartErr != nil {
				s.showResult("New certificate made, but the server could not start: "+serverErrorMessage(restartErr),
					widget.DangerImportance)
				return
			}
			if info.FromFiles {
				s.showResult("New certificate made, but your certificate files stay in use; clear them to use it.",
					widget.WarningImportance)
				return
			}
			s.showResult("New certificate in use. Reprovision every phone.", widget.WarningImportance)
		})
	}()
}
