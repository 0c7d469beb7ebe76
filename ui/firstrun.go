package ui

import (
	"net"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// firstRun is the short setup offered when the data directory is new:
// the server's names, the address phones will use and the certificate to
// compare. Finishing or skipping it sets console.setup_done; everything
// in it can be changed later on the Server screen.
type firstRun struct {
	c   *Console
	dlg *dialog.CustomDialog

	name, siteID, other *field
	addrs               *widget.RadioGroup
	phonesUse           *widget.Label // the address phones will be given
	general             *widget.Label

	finish, skip *button
	closed       bool
	// saving says Finish's or Skip's request is on its way (request):
	// Enter and Escape, which also finish and skip, wait for it too.
	saving bool
	// opened is what the settings held when the setup opened: Finish
	// saves only the choices that differ from it (changedSince).
	opened map[string]string
	// set is the settings as the setup opened, so the preview follows
	// typing without asking the service: the port phones reach the
	// server on comes from them, or from the address typed when it
	// names one ("auth.example.org:443", as server.advertise may).
	set core.Settings
}

// keySetupDone is set when the setup is finished or skipped.
const keySetupDone = "console.setup_done"

// openFirstRun shows the first-run setup over the console, filled in from
// set, the settings read to learn that setup was not done (ui.go): read
// off the UI thread when the console is attached, so opening it asks
// nothing more.
func (c *Console) openFirstRun(set core.Settings) {
	f := &firstRun{c: c, opened: map[string]string{
		keyServerName: set.ServerName, keySiteID: set.SiteID, keyAdvertise: set.Advertise,
	}, set: set}
	entry := func(text, placeholder string) *field {
		e := c.newEntry()
		e.SetText(text)
		e.SetPlaceHolder(placeholder)
		e.OnSubmitted = func(string) { f.done() }
		return newInputField(e)
	}
	f.name = entry(set.ServerName, "e.g. office-server")
	f.siteID = entry(set.SiteID, "e.g. office")

	detected := addrStrings(c.opts.lanAddrs())
	f.addrs = widget.NewRadioGroup(detected, nil)
	f.other = entry("", "(another address or host name)")
	f.phonesUse = &widget.Label{Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Bold: true}}
	f.general = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	f.general.Hide()
	switch {
	case set.Advertise != "" && slices.Contains(detected, set.Advertise):
		f.addrs.SetSelected(set.Advertise)
	case set.Advertise != "":
		f.other.entry.SetText(set.Advertise)
	case len(detected) > 0:
		f.addrs.SetSelected(detected[0])
	}
	// Choosing a detected address and typing another exclude each other.
	f.addrs.OnChanged = func(v string) {
		if v != "" {
			f.other.entry.SetText("")
		}
		f.updatePhonesUse()
	}
	typed := f.other.entry.OnChanged
	f.other.entry.OnChanged = func(v string) {
		typed(v)
		if strings.TrimSpace(v) != "" {
			f.addrs.SetSelected("")
		}
		f.updatePhonesUse()
	}
	f.updatePhonesUse()

	addrBox := container.NewVBox(keyRadio(c, f.addrs), f.other.box, f.phonesUse)
	if len(detected) == 0 {
		addrBox.Objects = append([]fyne.CanvasObject{newNote("No network address was found. " +
			"Type the address or host name phones will use, or leave it empty and set it later.")}, addrBox.Objects...)
	}
	fp := c.fingerprint
	if fp == "" {
		fp = "not known yet: the server has not started."
	}
	fingerprint := &widget.Label{Text: fp, TextStyle: fyne.TextStyle{Monospace: true}, Wrapping: fyne.TextWrapBreak, Selectable: true}
	hint := func(text string) fyne.CanvasObject {
		return &widget.Label{Text: text, Importance: widget.LowImportance, Wrapping: fyne.TextWrapWord}
	}
	content := container.NewVBox(
		newNote("Three things decide how phones find this server. Skip this if you like: "+
			"everything here can be changed later under Server."),
		newFormGrid(
			formRow("Server name", container.NewVBox(f.name.box, hint("Shown to people on the provision page and in mail."))),
			formRow("Site ID", container.NewVBox(f.siteID.box, hint("Phones look the server up by it. Letters, digits, '-', '_' and '.'."))),
			formRow("Address phones use", addrBox),
			formRow("Certificate", container.NewVBox(fingerprint,
				hint("SHA-256 fingerprint. Phones show it when they first connect; compare it before trusting."))),
		),
		f.general,
	)

	f.skip = newButton(c, "Skip", nil, f.skipSetup)
	f.finish = newButton(c, "Finish", nil, f.done)
	f.finish.Importance = widget.HighImportance
	f.dlg = dialog.NewCustomWithoutButtons("Welcome to Provisio", content, c.win)
	f.dlg.SetButtons([]fyne.CanvasObject{f.skip, f.finish})
	for _, fl := range []*field{f.name, f.siteID, f.other} {
		fl.relayout = func() { relayout(f.dlg) }
	}
	f.dlg.SetOnClosed(func() {
		if c.first == f {
			c.first = nil
		}
	})
	// Escape is Skip: the admin chose not to do it now.
	c.pushDialog(f.dlg, f.skipSetup, f.done)
	c.first = f
	f.dlg.Resize(fyne.NewSize(min(720, c.win.Canvas().Size().Width-40), 0))
	f.dlg.Show()
	c.win.Canvas().Focus(f.siteID.input)
}

// advertise is the address chosen or typed; "" means automatic.
func (f *firstRun) advertise() string {
	if v := strings.TrimSpace(f.other.entry.Text); v != "" {
		return v
	}
	return f.addrs.Selected
}

func (f *firstRun) updatePhonesUse() {
	host := f.advertise()
	if host == "" {
		f.phonesUse.SetText("Phones will be given the first address found when a code is made.")
		return
	}
	set := f.set
	set.Advertise = host
	f.phonesUse.SetText("Phones will use https://" + net.JoinHostPort(set.AdvertiseHost(), set.ListenPort()) + "/")
}

// done saves the choices and closes; on an error it stays open with
// everything as typed and the sentence next to the field, or under the
// form. The settings are read, checked and saved off the UI thread when
// the console is attached (request), Finish and Skip waiting disabled;
// what is saved is the form as it stood when Finish was pressed.
func (f *firstRun) done() {
	if f.closed || f.saving {
		return
	}
	for _, fl := range []*field{f.name, f.siteID, f.other} {
		fl.setError("")
	}
	f.general.Hide()
	changes := changedSince(f.opened, map[string]string{
		keyServerName: f.name.entry.Text,
		keySiteID:     f.siteID.entry.Text,
		keyAdvertise:  f.advertise(),
	})
	changes[keySetupDone] = "Yes"
	svc := f.c.svc
	f.save(func() error {
		// Checked on a copy first, so a refusal names its field.
		set := svc.Settings()
		if err := set.SetValues(changes); err != nil {
			return err
		}
		return svc.ChangeSettings(changes, "First-run setup")
	})
}

// skipSetup marks the setup done without changing anything else.
func (f *firstRun) skipSetup() {
	if f.closed || f.saving {
		return
	}
	svc := f.c.svc
	f.save(func() error { return svc.SetSetting(keySetupDone, "Yes") })
}

// save runs work (requestErr) with Finish and Skip waiting, then closes
// the setup, or shows why it could not: next to the field core names, or
// core's sentence under the form.
func (f *firstRun) save(work func() error) {
	f.saving = true
	requestErr(f.c, []fyne.Disableable{f.finish, f.skip}, work, func(err error) {
		f.saving = false
		if f.closed {
			return
		}
		if err == nil {
			f.close()
			return
		}
		fields := map[string]*field{keyServerName: f.name, keySiteID: f.siteID, keyAdvertise: f.other}
		marked := false
		for _, ce := range core.FieldErrors(err) {
			if fl, ok := fields[ce.Field]; ok {
				fl.setError(ce.Message)
				marked = true
			}
		}
		if marked {
			return
		}
		f.general.SetText(core.ErrorMessage(err))
		f.general.Show()
		relayout(f.dlg)
	})
}

func (f *firstRun) close() {
	f.closed = true
	f.dlg.Hide()
}
