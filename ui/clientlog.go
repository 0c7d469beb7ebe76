package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The Client log dialog (#14): the diagnostic logs a user's phone
// uploaded while client logging was on in their profile, newest first,
// each with its time and size. Copy puts the selected log on the
// clipboard for a ticket; Clear deletes them all, after a confirmation,
// and the audit log says who did. It opens from the user's Edit form.

// clientLogView is the open Client log dialog.
type clientLogView struct {
	c    *Console
	user string
	dlg  *dialog.CustomDialog

	entries  []core.ClientLogEntry // newest first
	selected int

	list    *navList
	text    *widget.Label // the selected log
	summary *widget.Label // how many, or why none
	copied  *widget.Label

	copyBtn, clearBtn, closeBtn *button
	confirm                     *askDialog
	// reads asks for the logs again when the phone uploaded more
	// (reread).
	reads reread[[]core.ClientLogEntry]
}

// openClientLog shows the Client log dialog of user once its logs are
// read: off the UI thread when the console is attached (request), hold
// (the button that opens it) waiting disabled meanwhile, and a second ask
// before the answer opening nothing more. still, when set, says whether
// what asked (the user's Edit form) is still open when the answer comes:
// if not, the dialog is not opened over a window the person went back to.
func (c *Console) openClientLog(user string, hold []fyne.Disableable, still func() bool) {
	if c.clientLogOpening {
		return
	}
	c.clientLogOpening = true
	svc := c.svc
	request(c, hold, func() ([]core.ClientLogEntry, error) { return svc.ClientLogs(user) },
		func(entries []core.ClientLogEntry, err error) {
			c.clientLogOpening = false
			if still != nil && !still() {
				return
			}
			c.showClientLog(user, entries, err)
		})
}

// showClientLog opens the Client log dialog of user with entries, or the
// sentence saying why they could not be read.
func (c *Console) showClientLog(user string, entries []core.ClientLogEntry, err error) {
	v := &clientLogView{c: c, user: user}
	v.reads = reread[[]core.ClientLogEntry]{c: c, show: func(entries []core.ClientLogEntry, err error) {
		// A dialog closed meanwhile is left as it was.
		if c.clientLog == v {
			v.showEntries(entries, err)
		}
	}}
	v.summary = newNote("")
	v.copied = &widget.Label{Importance: widget.SuccessImportance}
	v.copied.Hide()
	v.text = &widget.Label{TextStyle: fyne.TextStyle{Monospace: true}, Wrapping: fyne.TextWrapBreak, Selectable: true}
	v.list = newKeyList(c,
		func() int { return len(v.entries) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(v.entries) {
				o.(*widget.Label).SetText(clientLogTitle(v.entries[id]))
			}
		})
	v.list.OnSelected = func(id widget.ListItemID) { v.show(id) }

	v.copyBtn = newButton(c, "Copy", theme.ContentCopyIcon(), v.copy)
	v.clearBtn = newButton(c, "Clear…", theme.DeleteIcon(), v.confirmClear)
	v.clearBtn.Importance = widget.DangerImportance
	v.closeBtn = newButton(c, "Close", nil, func() { v.dlg.Hide() })
	v.closeBtn.Importance = widget.HighImportance

	logs := container.New(fixedHeight(110), v.list)
	body := container.New(fixedHeight(300), container.NewVScroll(v.text))
	content := container.NewVBox(v.summary, logs, widget.NewSeparator(), body, v.copied)
	v.dlg = dialog.NewCustomWithoutButtons("Client log of "+user, content, c.win)
	v.dlg.SetButtons([]fyne.CanvasObject{v.clearBtn, v.copyBtn, v.closeBtn})
	c.pushModal(v.dlg, nil)
	v.dlg.SetOnClosed(func() {
		if c.clientLog == v {
			c.clientLog = nil
		}
	})
	c.clientLog = v
	v.showEntries(entries, err)
	fitWidth(v.dlg, 720)
	v.dlg.Show()
}

// clientLogTitle is a log's line in the list: when it arrived and its
// size.
func clientLogTitle(e core.ClientLogEntry) string {
	return e.Time.Local().Format("2006-01-02 15:04:05") + " — " + clientLogSize(e.Size())
}

func clientLogSize(n int) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/1024)
}

// clientLogSummary says in one line what a user's phone uploaded.
func clientLogSummary(entries []core.ClientLogEntry) string {
	if len(entries) == 0 {
		return "No diagnostic log uploaded."
	}
	total := 0
	for _, e := range entries {
		total += e.Size()
	}
	n := "1 upload"
	if len(entries) > 1 {
		n = fmt.Sprintf("%d uploads", len(entries))
	}
	return fmt.Sprintf("%s (%s), newest %s", n, clientLogSize(total), entries[0].Time.Local().Format(dateTimeFormat))
}

// reload reads the user's logs again: off the UI thread when the console
// is attached (reread), at once on its own store.
func (v *clientLogView) reload() {
	svc, user := v.c.svc, v.user
	v.reads.ask(func() ([]core.ClientLogEntry, error) { return svc.ClientLogs(user) })
}

// showEntries shows the user's logs, the newest selected, or why they
// could not be read.
func (v *clientLogView) showEntries(entries []core.ClientLogEntry, err error) {
	if err != nil {
		v.entries = nil
		v.summary.SetText("The client log could not be read: " + core.ErrorMessage(err))
	} else {
		v.entries = entries
		s := clientLogSummary(entries)
		if len(entries) == 0 {
			s += " A phone sends one when its user taps \"Send diagnostic log\" while client logging is on in their profile."
		}
		v.summary.SetText(s)
	}
	v.list.Refresh()
	// Clear stays disabled while its request is on its way, when an
	// upload's read lands meanwhile (setEnabled).
	v.c.setEnabled(len(v.entries) > 0, v.copyBtn, v.clearBtn)
	if len(v.entries) > 0 {
		v.list.Select(0)
		v.show(0)
	} else {
		v.list.UnselectAll()
		v.selected = -1
		v.text.SetText("")
	}
	if v.dlg != nil {
		relayout(v.dlg)
	}
}

func (v *clientLogView) show(id int) {
	if id < 0 || id >= len(v.entries) {
		return
	}
	v.selected = id
	v.text.SetText(v.entries[id].Text)
	v.copied.Hide()
}

// copy puts the selected log on the clipboard with its time and size, so
// a pasted log says where it came from.
func (v *clientLogView) copy() {
	if v.selected < 0 || v.selected >= len(v.entries) {
		return
	}
	e := v.entries[v.selected]
	var b strings.Builder
	fmt.Fprintf(&b, "Client log of %s, uploaded %s\n\n%s\n", v.user, clientLogTitle(e), e.Text)
	v.c.app.Clipboard().SetContent(b.String())
	v.copied.SetText("Copied to the clipboard.")
	v.copied.Show()
}

func (v *clientLogView) confirmClear() {
	n := len(v.entries)
	if n == 0 {
		return
	}
	spec := confirmSpec("Clear client log",
		fmt.Sprintf("Delete the %s of %s's diagnostic log? This cannot be undone; the audit log records it.", clientLogSummaryShort(n), v.user),
		func(yes bool) {
			v.confirm = nil
			if !yes {
				return
			}
			v.clear()
		})
	spec.confirm, spec.danger = "Clear", true
	v.confirm = v.c.ask(spec)
}

// clear deletes the user's logs and reads them back in the same trip:
// off the UI thread when the console is attached (request), Clear
// waiting disabled meanwhile. A dialog closed meanwhile is left as it
// was; a failure is shown all the same, since the person asked for the
// logs to go and they did not.
func (v *clientLogView) clear() {
	if v.c.holding(v.clearBtn) {
		return // a second confirmation while the first is on its way
	}
	type cleared struct {
		entries []core.ClientLogEntry
		readErr error
	}
	svc, user := v.c.svc, v.user
	request(v.c, []fyne.Disableable{v.clearBtn}, func() (cleared, error) {
		if _, err := svc.ClearClientLogs(user); err != nil {
			return cleared{}, err
		}
		entries, err := svc.ClientLogs(user)
		return cleared{entries, err}, nil
	}, func(r cleared, err error) {
		if err != nil {
			v.c.showError(err)
			if v.c.clientLog == v {
				v.reload()
			}
			return
		}
		if v.c.clientLog == v {
			v.showEntries(r.entries, r.readErr)
		}
	})
}

func clientLogSummaryShort(n int) string {
	if n == 1 {
		return "1 upload"
	}
	return fmt.Sprintf("%d uploads", n)
}
