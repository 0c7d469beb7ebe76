package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// backupScreen is Server → Backups: the daily backup into a folder
// (backup.* settings), the last backup's outcome, and "Back up now". The
// backups themselves are core's (Service.BackupNow), written by the
// backup writer the composition root wires; this screen imports no
// adapter.
type backupScreen struct {
	c    *Console
	form *settingsForm

	last  *widget.Label // "Last backup: TIME — OK / failed: reason"
	now   *widget.Button
	busy  bool
	state core.BackupState // as last shown
	// reads asks for the last backup's outcome, one trip at a time
	// (refresh).
	reads *reread[backupRead]

	content fyne.CanvasObject
}

func newBackupScreen(c *Console) *backupScreen {
	b := &backupScreen{c: c}
	b.last = &widget.Label{Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Bold: true}}
	b.now = widget.NewButtonWithIcon("Back up now", theme.DocumentSaveIcon(), b.backUpNow)
	extra := container.NewVBox(
		newSection("Backups taken"),
		container.NewBorder(nil, nil, nil, b.now, b.last),
		&widget.Label{Text: "Back up now writes a backup into the folder with the saved settings, as the schedule does. " +
			"Restore one with: provisio restore FILE --identity KEY-FILE (or --passphrase-file FILE), with the server stopped.",
			Importance: widget.LowImportance, Wrapping: fyne.TextWrapWord},
	)
	b.form = newSettingsForm(c, settingsSpec{
		title: "Server → Backups",
		what:  "Backup settings",
		note:  backupNote(StoreInfo{}),
		entries: []entrySpec{
			{key: "backup.folder", label: "Backup folder", placeholder: "e.g. /var/backups/provisio",
				hint: "A folder that exists and Provisio can write to, ideally on another disk or a network share. Empty: no scheduled backups."},
			{key: "backup.time", label: "Time of day", placeholder: "e.g. 02:30",
				hint: "HH:MM on a 24-hour clock, this computer's local time. A server that was off then takes the backup when it starts."},
			{key: "backup.keep", label: "Backups kept", placeholder: "e.g. 14",
				hint: "From 1 to 365; older backups in the folder are deleted after each new one."},
			{key: "backup.recipient", label: "age recipient", placeholder: "e.g. age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
				hint: "The public key age-keygen prints. Keep its identity (AGE-SECRET-KEY-1…) off this machine: it restores the backups."},
			{key: "backup.passphrase_file", label: "or passphrase file", placeholder: "e.g. /etc/provisio/backup.pass",
				hint: "Instead of a recipient: a file (mode 0600) whose first line is the passphrase, at least 8 characters. The passphrase itself is never stored in the data."},
		},
		check: func(set core.Settings) error { return c.svc.CheckBackupSettings(set.Backup) },
		extra: extra,
	})
	b.content = b.form.content
	b.reads = &reread[backupRead]{c: c, show: b.show}
	if c.attached() {
		// The first read crosses the network.
		b.last.SetText(backupReading)
		b.now.Disable()
	}
	b.refresh()
	return b
}

// backupNoteRest is the Backups note after its first sentence, which
// says which server takes the scheduled backups (backupNote).
const backupNoteRest = "A backup alone restores on a new machine, so it is encrypted: to an age recipient (recommended: only " +
	"whoever holds its identity can read the backups) or with a passphrase kept in a file. A failed backup is an error " +
	"in the log and the status bar."

// backupNote is the Backups screen's note for the store si describes. On
// an etcd site the scheduled backup is not this server's to take: the
// server the site elected for the run-once work takes it, into the
// folder on its own disk at its local time, so its folder and clock are
// the ones that count; Back up now and Apply's check of the folder run
// on this server.
func backupNote(si StoreInfo) string {
	if !si.Etcd {
		return "Every day at the time set, the running server writes an encrypted backup of the data, its key and the " +
			"certificate into the folder, named by date, and keeps the newest ones. " + backupNoteRest
	}
	return "Every day at the time set, " + electedServer(si, "take the backups") + " writes an encrypted backup of the " +
		"site's records, its key and the certificate into the folder on its own disk, at its local time, named by date, " +
		"and keeps the newest ones. Back up now and Apply's check of the folder run on this server" + thisServerName(si) + ". " +
		backupNoteRest
}

// showSite rewords the note for the store si describes (Console.askSite).
func (b *backupScreen) showSite(si StoreInfo) { b.form.note.SetText(backupNote(si)) }

// backupReading is what an attached console's Backups screen says of the
// last backup until its first read comes.
const backupReading = "Last backup: reading it from the service…"

// backupRead is what the Backups screen shows beside its form, read in
// one trip: the last backup's outcome and whether a folder is set.
type backupRead struct {
	state    core.BackupState
	noFolder bool
}

// lastBackupText words the last backup's outcome, and how important it is.
func lastBackupText(st core.BackupState) (string, widget.Importance) {
	r := st.Last
	if r.At.IsZero() {
		return "Last backup: none yet.", widget.MediumImportance
	}
	when := r.At.Local().Format("2 Jan 2006 15:04")
	if r.OK {
		return "Last backup: " + when + " — OK, " + r.File, widget.SuccessImportance
	}
	return "Last backup: " + when + " — failed: " + r.Error, widget.DangerImportance
}

// refresh reads the recorded outcome again. An attached console asks off
// the UI thread (reread), so a burst of events holds one request; the
// screen keeps what it shows until the answer comes.
func (b *backupScreen) refresh() {
	svc := b.c.svc
	b.reads.ask(func() (backupRead, error) {
		return backupRead{state: svc.BackupState(), noFolder: svc.Settings().Backup.Folder == ""}, nil
	})
}

// show shows the recorded outcome read. While a backup of Back up now
// runs, "Backing up…" stays: its own outcome follows (backUpNow).
func (b *backupScreen) show(r backupRead, _ error) {
	b.state = r.state
	if b.busy {
		return
	}
	text, imp := lastBackupText(b.state)
	noFolder := r.noFolder
	if noFolder && b.state.Last.At.IsZero() {
		text += " Set a backup folder and Apply to take backups."
	}
	b.last.Importance = imp
	b.last.SetText(text)
	if noFolder {
		b.now.Disable()
	} else {
		b.now.Enable()
	}
}

// configChanged follows saved settings and a new backup outcome, each
// read off the UI thread when attached.
func (b *backupScreen) configChanged() {
	b.form.configChanged()
	b.refresh()
}

// backUpNow takes a backup off the UI thread (it can take seconds on a
// big data file) and shows its outcome.
func (b *backupScreen) backUpNow() {
	if b.busy {
		return
	}
	if b.form.dirty() {
		b.form.showResult("Apply or Reset the changes first: Back up now uses the saved settings.", widget.WarningImportance)
		return
	}
	b.busy = true
	b.now.Disable()
	b.last.Importance = widget.MediumImportance
	b.last.SetText("Backing up…")
	c := b.c
	go func() {
		c.svc.BackupNow(false)
		c.do(func() {
			b.busy = false
			b.refresh()
		})
	}()
}
