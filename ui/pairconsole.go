package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// Remote consoles on the Server screen (#12): "Pair a console…" makes a
// one-time pairing code, as `provisio console pair NAME` does, and shows
// it with the address and certificate fingerprint the other desk
// compares; "Paired consoles…" lists them and revokes one.

// remoteConsolesSection is the Server screen's part about remote consoles.
func (s *serverScreen) remoteConsolesSection(hint func(string) fyne.CanvasObject) fyne.CanvasObject {
	s.pairBtn = widget.NewButton("Pair a console…", s.openPairConsole)
	s.consolesBtn = widget.NewButton("Paired consoles…", s.openConsoles)
	return container.NewVBox(
		newSection("Remote consoles"),
		hint("A helpdesk or an administrator at another computer opens this server's console with "+
			"provisio --connect HOST. Pair each such console once with a one-time code; its role decides what it may do: "+
			"helpdesk finds users, reprovisions, unlocks, resets PINs and revokes devices; admin may do everything."),
		container.NewHBox(s.pairBtn, s.consolesBtn),
	)
}

// openPairConsole asks for the console's name and role and makes a code.
// A refusal (a name too long, one already paired) shows in the form,
// which stays open with the name as typed (keptForm).
func (s *serverScreen) openPairConsole() {
	e := s.c.newEntry()
	e.SetPlaceHolder("e.g. helpdesk-2")
	name := newInputField(e)
	role := widget.NewRadioGroup([]string{string(core.RoleHelpdesk), string(core.RoleAdmin)}, nil)
	role.Horizontal = true
	role.SetSelected(string(core.RoleHelpdesk))
	grid := newFormGrid(formRow("Console name", name.box), formRow("Role", keyRadio(s.c, role)))
	k := newKeptForm("Pair a console", "Make a code", grid, map[string]*field{"name": name}, "name", s.c, s.c.win)
	closed := false
	k.dlg.SetOnClosed(func() { closed = true })
	k.submit = func() {
		c, n, r := s.c, name.entry.Text, core.Role(role.Selected)
		// Off the UI thread when attached (request.go), with Make a
		// code disabled: the code, and where it is used, are asked
		// together.
		request(c, []fyne.Disableable{k.ok}, func() (madePairing, error) {
			p, err := c.svc.PairConsole(n, r)
			if err != nil {
				return madePairing{}, err
			}
			m := madePairing{p: p}
			m.addr, m.fp = c.svc.ConsoleEndpoint()
			if m.fp == "" && c.deps.Certificate != nil {
				m.served = c.readCertificate()
			}
			return m, nil
		}, func(m madePairing, err error) {
			if err != nil {
				if !closed {
					k.refuse(err)
				}
				return
			}
			// The code was made: it is shown even when the form was
			// cancelled meanwhile, as it is shown only once and works
			// until it expires.
			k.dlg.Hide()
			s.showPairing(m)
		})
	}
	s.pairForm = k
	fitWidth(k.dlg, 520)
	s.c.pushModal(k.dlg, k.press)
	k.dlg.Show()
	s.c.win.Canvas().Focus(name.input)
}

// madePairing is a pairing code just made, with the address consoles
// connect to and the fingerprint of the certificate they must see there;
// served is the certificate served now, read of Deps.Certificate
// (readCertificate) when the service did not name one.
type madePairing struct {
	p        core.ConsolePairing
	addr, fp string
	served   certRead
}

// showPairing shows a code just made: once, with what to do with it.
func (s *serverScreen) showPairing(m madePairing) {
	p, addr, fp := m.p, m.addr, m.fp
	s.lastPairing = p
	if fp == "" {
		// Taken as any read of it is, so the status line and an open
		// About box follow; the newest read names it.
		if m.served.at != 0 {
			s.c.certificateRead(m.served, nil)
		}
		fp = s.c.fingerprint
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Pairing code for console %q (%s):\n\n    %s\n\nIt works once, until %s.\n\n",
		p.Name, p.Role, core.GroupPairingCode(p.Code), p.Expires.Local().Format("15:04"))
	if addr != "" {
		fmt.Fprintf(&b, "On the console's computer run:\n    provisio --connect %s\nand type the code. ", addr)
	} else {
		b.WriteString("The remote console listener is not open: server.admin_listen is empty, or it could not open (the Log says why). Set it (e.g. provisio settings set server.admin_listen 0.0.0.0:8444) and restart Provisio. ")
	}
	fmt.Fprintf(&b, "The console shows the certificate of the server it reached; it must be this one:\n    %s", fp)
	s.pairingBox = &widget.Label{Text: b.String(), Wrapping: fyne.TextWrapBreak, Selectable: true}
	s.c.ask(askSpec{title: "Pair a console", content: s.pairingBox, dismiss: "Close"}).Resize(fyne.NewSize(720, 380))
}

// openConsoles lists the consoles, each paired one with a Revoke button.
// An attached console reads the list off the UI thread (request.go), with
// Paired consoles… disabled until it comes, so a second tap opens no
// second list.
func (s *serverScreen) openConsoles() {
	svc := s.c.svc
	request(s.c, []fyne.Disableable{s.consolesBtn}, svc.Consoles, s.showConsoles)
}

// showConsoles is openConsoles' list once read.
func (s *serverScreen) showConsoles(all []core.Console, err error) {
	if err != nil {
		s.c.showError(err)
		return
	}
	rows := container.NewVBox()
	var d *askDialog
	for _, k := range all {
		state := k.StateAt(s.c.svc.Now())
		line := fmt.Sprintf("%s · %s · %s", k.Name, k.Role, state)
		switch {
		case k.Revoked:
			line += " " + k.RevokedAt.Local().Format("2006-01-02 15:04")
		case k.Serial != "":
			line += " since " + k.PairedAt.Local().Format("2006-01-02 15:04")
		case state == "expired":
			line += ", its code ran out at " + k.CodeExpires.Local().Format("15:04")
		default:
			line += ", code valid until " + k.CodeExpires.Local().Format("15:04")
		}
		label := widget.NewLabel(line)
		if k.Revoked {
			rows.Add(label)
			continue
		}
		name := k.Name
		var revoke *button
		revoke = newButton(s.c, "Revoke…", nil, func() {
			// Enter alone does not revoke.
			spec := confirmSpec("Revoke "+name, "Console "+name+" is refused from its next request on. Revoke it?", func(ok bool) {
				if !ok {
					return
				}
				// Off the UI thread when attached (request.go), Revoke…
				// disabled meanwhile.
				requestErr(s.c, []fyne.Disableable{revoke}, func() error { return s.c.svc.RevokeConsole(name) }, func(err error) {
					if err != nil {
						s.c.showError(err)
						return
					}
					if d.done {
						return // the list was closed meanwhile
					}
					d.Hide()
					s.openConsoles()
				})
			})
			spec.guarded = true
			s.c.ask(spec)
		})
		rows.Add(container.NewBorder(nil, nil, nil, revoke, label))
	}
	if len(all) == 0 {
		rows.Add(widget.NewLabel("No console is paired yet."))
	}
	d = s.c.ask(askSpec{title: "Paired consoles", content: container.NewVScroll(rows), dismiss: "Close"})
	d.Resize(fyne.NewSize(640, 360))
}
