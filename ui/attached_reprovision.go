package ui

import (
	"io"

	"fyne.io/fyne/v2"

	"provisio/core"
)

// Reprovision from the attached console (split from attached.go, which
// builds the window): codes come from the service's admin API and show in
// the full console's Reprovision dialog (reprovision.go).

// reprovisionSelected issues a code for the selected user and shows it in
// the full console's Reprovision dialog: the QR code at its size, the
// countdown and the phone's progress. The code exists only in this window
// and the service.
func (at *Attached) reprovisionSelected() {
	u, ok := at.selectedUser()
	if !ok {
		return
	}
	name := u.Name
	at.issue(name, func(ic core.IssuedCode, err error) {
		if err != nil {
			at.ask(infoSpec("Reprovision "+name, reprovisionRefusal(name, err)))
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
		win: at.win, keys: at, theme: app.Settings().Theme(), clipboard: app.Clipboard(),
		do: at.do, tick: at.deps.tick, now: at.deps.now,
		create: at.issue,
		saveAs: func(name string, write func(io.Writer, string) error, done func(string, error)) {
			saveFileAs(at.win, at.keys(), at.do, nil, name, write, done)
		},
		showError: func(err error) {
			name := ""
			if at.reprov != nil {
				name = at.reprov.user
			}
			at.ask(infoSpec("Reprovision", reprovisionRefusal(name, err)))
		},
		opened: func(d *reprovisionDialog) {
			// Escape leaves full screen first, then closes.
			at.pushDialog(d.dlg, d.escape, nil)
			at.reprov = d
		},
		closed: func(d *reprovisionDialog) {
			if at.reprov == d {
				at.reprov = nil
			}
		},
	}
}

// reprovisionRefusal is what this window says when the service refuses
// a code for name. Core's sentence for a user without the mobile right
// tells the person to allow it in the account or set up an authenticator
// app, neither of which this window can do, so it names who can.
func reprovisionRefusal(name string, err error) string {
	if core.ErrorCode(err) == core.CodeNotInGroup && name != "" {
		return name + " may not use the mobile client: \"Mobile client allowed\" is off in their account. " +
			"An administrator can allow it in the console (then make the code here), or set up an authenticator app for " + name + " instead."
	}
	return core.ErrorMessage(err)
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

// LastIssued is the provision code the window showed last.
func (at *Attached) LastIssued() core.AdminIssued { return at.issued }
