package ui

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// outboxColumns are the widths of queued, user, destination, kind, state,
// attempts, next attempt and last error.
// Last error is empty for most messages, so it gets the least room.
var outboxColumns = columns{0.13, 0.08, 0.18, 0.07, 0.19, 0.08, 0.145, 0.125}

// Texts of the Outbox screen that tests look for.
const (
	outboxNotSetUp = "Mail is not set up: messages wait in the outbox until you enter a mail server in Mail Transport."
	outboxEmpty    = "The outbox is empty. Messages appear here when a provision code is sent by email."
	outboxHint     = "Select a message to see it in full, retry it or discard it."
	outboxReading  = "Reading the outbox from the service…"
)

// outboxScreen lists the durable outbox, newest first, and follows it as
// the bridge reports changes. It shows where each message goes and how
// delivery stands, never what it carries: provision codes stay out of the
// console once they are queued.
type outboxScreen struct {
	c *Console
	// loc is the zone times are shown in; nil means the computer's.
	// Tests pin it so golden files do not depend on where they run.
	loc *time.Location

	banner *widget.Label // mail is not set up
	list   *widget.List
	empty  *widget.Label // shown instead of rows when there are none
	detail *widget.Label // the selected message in full
	status *widget.Label // what Retry all failed did; hidden until then

	retry, discard *widget.Button
	// retryAll queues every failed message again: after a fix to the
	// mail transport, one press instead of Retry now on each.
	retryAll *widget.Button
	confirm  *askDialog // the open Discard confirmation, if any
	// nextExpiry is when the first listed unsent message's code expires
	// (zero: none), so the status clock redraws the list then.
	nextExpiry time.Time

	shown    []core.OutMessage // newest first
	selected uint64            // ID of the selected message; 0 for none
	// configured says whether mail was set up at the last read, for the
	// rows' next attempt: a row drawn asks the service nothing.
	configured bool
	// reads asks for the outbox and the mail settings, one trip at a
	// time (refresh).
	reads *reread[outboxRead]

	content fyne.CanvasObject
}

func newOutboxScreen(c *Console) *outboxScreen {
	s := &outboxScreen{c: c}
	s.banner = &widget.Label{Text: outboxNotSetUp, Importance: widget.WarningImportance, Wrapping: fyne.TextWrapWord}
	s.list = widget.NewList(
		func() int { return len(s.shown) },
		func() fyne.CanvasObject { return container.New(outboxColumns, newCells(len(outboxColumns))...) },
		s.updateRow,
	)
	s.list.OnSelected = func(id widget.ListItemID) {
		if id >= 0 && id < len(s.shown) {
			s.selected = s.shown[id].ID
		}
		s.updateSelection()
	}
	s.list.OnUnselected = func(widget.ListItemID) {
		s.selected = 0
		s.updateSelection()
	}
	// No wrapping: centred, a wrapping label would get one letter a line.
	s.empty = &widget.Label{Alignment: fyne.TextAlignCenter}
	s.detail = &widget.Label{Wrapping: fyne.TextWrapWord, Selectable: true}

	s.retry = widget.NewButtonWithIcon("Retry now", theme.MailSendIcon(), s.retrySelected)
	s.discard = widget.NewButtonWithIcon("Discard", theme.DeleteIcon(), s.confirmDiscard)
	s.retryAll = widget.NewButtonWithIcon("Retry all failed", theme.ViewRefreshIcon(), s.retryAllFailed)
	s.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.status.Hide()

	top := container.NewVBox(
		container.NewBorder(nil, nil, nil, container.NewHBox(s.retry, s.discard, s.retryAll), newHeading("Outbox")),
		s.banner,
		newHeader(outboxColumns, "Queued", "User", "To", "Kind", "State", "Attempts", "Next attempt", "Last error"),
		widget.NewSeparator(),
	)
	s.content = container.NewBorder(top, container.NewVBox(widget.NewSeparator(), s.status, s.detail), nil, nil,
		container.NewStack(s.list, container.NewCenter(s.empty)))
	s.reads = &reread[outboxRead]{c: c, show: s.show}
	if c.attached() {
		// The first read crosses the network: say so meanwhile, rather
		// than an empty outbox or a warning about mail that may be set up.
		s.banner.Hide()
		s.empty.SetText(outboxReading)
	}
	s.refresh()
	return s
}

// outboxRead is what the Outbox shows, read in one trip: the messages,
// oldest first as the service lists them, and whether mail is set up.
type outboxRead struct {
	msgs       []core.OutMessage
	configured bool
}

// refresh reads the outbox and the mail settings again. An attached
// console asks off the UI thread (reread), so a burst of events holds
// one request; the screen keeps what it shows until the answer comes.
func (s *outboxScreen) refresh() {
	svc := s.c.svc
	s.reads.ask(func() (outboxRead, error) {
		r := outboxRead{configured: svc.Settings().Mail.Configured()}
		var err error
		r.msgs, err = svc.Outbox()
		return r, err
	})
}

// show puts a read on screen, keeping the selection on the same message
// while it is still there.
func (s *outboxScreen) show(r outboxRead, err error) {
	s.configured = r.configured
	if r.configured {
		s.banner.Hide()
	} else {
		s.banner.Show()
	}
	msgs := r.msgs
	if err != nil {
		s.shown = nil
		s.empty.SetText("The outbox could not be read: " + core.ErrorMessage(err))
	} else {
		slices.Reverse(msgs)
		s.shown = msgs
		s.empty.SetText(outboxEmpty)
	}
	s.nextExpiry = time.Time{}
	for _, m := range s.shown {
		if st := s.shownState(m); (st == core.MailQueued || st == core.MailFailed) && !m.Expires.IsZero() &&
			(s.nextExpiry.IsZero() || m.Expires.Before(s.nextExpiry)) {
			s.nextExpiry = m.Expires
		}
	}
	if len(s.shown) > 0 {
		s.empty.Hide()
	} else {
		s.empty.Show()
	}
	s.c.setEnabled(s.failedShown() > 0, s.retryAll)
	s.list.Refresh()

	for i, m := range s.shown {
		if m.ID == s.selected && s.selected != 0 {
			s.list.Select(i)
			s.updateSelection()
			relayout(s.content)
			return
		}
	}
	s.list.UnselectAll()
	s.selected = 0
	s.updateSelection()
	relayout(s.content)
}

func (s *outboxScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(s.shown) {
		return
	}
	m := s.shown[id]
	cells := o.(*fyne.Container).Objects
	set := func(i int, text string) { cells[i].(*widget.Label).SetText(text) }
	set(0, s.format(m.Created))
	set(1, m.User)
	set(2, m.To)
	set(3, mailKind(m.Kind))
	state := cells[4].(*widget.Label)
	state.Importance = map[core.MailState]widget.Importance{
		core.MailSent:      widget.SuccessImportance,
		core.MailFailed:    widget.DangerImportance,
		core.MailWithdrawn: widget.WarningImportance,
	}[s.shownState(m)]
	set(4, s.state(m))
	set(5, strconv.Itoa(m.Attempts))
	set(6, s.nextAttempt(m))
	if s.shownState(m) == core.MailWithdrawn {
		set(7, "") // the state column says why
	} else {
		set(7, m.LastError)
	}
}

// format writes t for the list.
func (s *outboxScreen) format(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.zone()).Format(dateTimeFormat)
}

func (s *outboxScreen) zone() *time.Location {
	if s.loc != nil {
		return s.loc
	}
	return time.Local
}

// mailKind names what a message carries.
func mailKind(k core.MailKind) string {
	switch k {
	case core.MailProvision:
		return "provision"
	case core.MailPlain:
		return "message"
	}
	return string(k)
}

// expiryPassed reports whether a listed message's code has expired since
// the list was drawn.
func (s *outboxScreen) expiryPassed() bool {
	return !s.nextExpiry.IsZero() && !s.c.svc.Now().Before(s.nextExpiry)
}

// shownState is m's state as the admin should see it: an unsent (queued
// or failed) message whose code has expired is withdrawn, as the sender
// will record at its next look, so the Outbox and the status bar's pending
// codes agree and Retry now is not offered for a dead code.
func (s *outboxScreen) shownState(m core.OutMessage) core.MailState {
	if m.ExpiredAt(s.c.svc.Now()) {
		return core.MailWithdrawn
	}
	return m.State
}

// state says where a message stands: queued, sent at a time, failed, or
// withdrawn because its code died.
func (s *outboxScreen) state(m core.OutMessage) string {
	switch s.shownState(m) {
	case core.MailWithdrawn:
		return "withdrawn: " + m.WithdrawnBecause()
	case core.MailSent:
		return "sent at " + s.format(m.SentAt)
	case core.MailQueued:
		return "queued"
	case core.MailFailed:
		return "failed"
	}
	return string(m.State)
}

// nextAttempt says when a queued message is tried next; sent and failed
// messages are not tried again.
func (s *outboxScreen) nextAttempt(m core.OutMessage) string {
	if s.shownState(m) != core.MailQueued {
		return ""
	}
	now := s.c.svc.Now()
	switch {
	case !s.configured:
		return "when mail is set up"
	case !m.NextAttempt.After(now):
		return "now"
	case m.NextAttempt.Sub(now) < 24*time.Hour:
		return m.NextAttempt.In(s.zone()).Format("15:04:05")
	}
	return s.format(m.NextAttempt)
}

func (s *outboxScreen) selectedMessage() (core.OutMessage, bool) {
	for _, m := range s.shown {
		if m.ID == s.selected && s.selected != 0 {
			return m, true
		}
	}
	return core.OutMessage{}, false
}

// updateSelection enables the actions that fit the selected message
// (setEnabled: one whose request is on its way stays disabled) and
// describes it below the list.
func (s *outboxScreen) updateSelection() {
	m, ok := s.selectedMessage()
	if !ok {
		s.c.setEnabled(false, s.retry, s.discard)
		if len(s.shown) > 0 {
			s.detail.SetText(outboxHint)
		} else {
			s.detail.SetText("")
		}
		return
	}
	s.c.setEnabled(true, s.discard)
	// core would refuse a retry of one delivered, or whose code is dead.
	st := s.shownState(m)
	s.c.setEnabled(st != core.MailSent && st != core.MailWithdrawn, s.retry)
	s.detail.SetText(s.describe(m))
}

// describe is the selected message in words. It leaves out the code, the
// Provision URL and the text of the message.
func (s *outboxScreen) describe(m core.OutMessage) string {
	what := "Provision code for " + m.User
	if m.Kind == core.MailPlain {
		what = "“" + m.Subject + "”"
		if m.User != "" {
			what += " for " + m.User
		}
	}
	text := fmt.Sprintf("%s to %s, queued %s: %s", what, m.To, s.format(m.Created), s.state(m))
	if s.shownState(m) == core.MailQueued {
		text += ", next attempt " + s.nextAttempt(m)
	}
	switch m.Attempts {
	case 0:
		text += "; not tried yet."
	case 1:
		text += "; 1 attempt."
	default:
		text += fmt.Sprintf("; %d attempts.", m.Attempts)
	}
	if st := s.shownState(m); !m.Expires.IsZero() && st != core.MailSent && st != core.MailWithdrawn {
		text += " The code expires " + s.format(m.Expires) + "."
	}
	if m.LastError != "" && s.shownState(m) != core.MailWithdrawn {
		text += "\nLast error: " + m.LastError
	}
	return text
}

// retrySelected queues the selected message for an attempt now.
func (s *outboxScreen) retrySelected() {
	m, ok := s.selectedMessage()
	if !ok {
		return
	}
	// Off the UI thread when attached, Retry now disabled meanwhile
	// (request.go).
	requestErr(s.c, []fyne.Disableable{s.retry}, func() error { return s.c.svc.RetryMail(m.ID) }, func(err error) {
		if err != nil {
			s.c.showError(err)
		}
		s.refresh()
	})
}

// failedShown counts the listed messages shown as failed: those Retry all
// failed would queue again. One whose code has expired shows as withdrawn
// and is not counted, as core would skip it.
func (s *outboxScreen) failedShown() int { return countFailed(s.shown, s.c.svc.Now()) }

// countFailed is how many of msgs show as failed at now: a failed
// message whose code has died shows as withdrawn, and is not retried.
func countFailed(msgs []core.OutMessage, now time.Time) int {
	n := 0
	for _, m := range msgs {
		if m.State == core.MailFailed && !m.ExpiredAt(now) {
			n++
		}
	}
	return n
}

// retryAllFailed queues every failed message again and says how many
// went back in the queue; core skips, and logs, those it would not
// retry one by one.
func (s *outboxScreen) retryAllFailed() {
	failed := s.failedShown()
	request(s.c, []fyne.Disableable{s.retryAll}, s.c.svc.RetryFailedMail, func(n int, err error) {
		s.retriedAll(failed, n, err)
	})
}

// retriedAll shows what Retry all failed did: n of the failed messages
// shown queued again, or err.
func (s *outboxScreen) retriedAll(failed, n int, err error) {
	if err != nil {
		s.status.Hide() // an earlier press's count would read as this one's
		s.c.showError(err)
		s.refresh()
		return
	}
	text := plural(n, "failed message", "failed messages") + " queued again."
	if skipped := failed - n; skipped > 0 {
		text = fmt.Sprintf("%s queued again; %d could not be, the Log says why.", plural(n, "failed message", "failed messages"), skipped)
	}
	s.status.SetText(text)
	s.status.Show()
	s.refresh()
}

// confirmDiscard asks before a message leaves the outbox for good.
func (s *outboxScreen) confirmDiscard() {
	m, ok := s.selectedMessage()
	if !ok {
		return
	}
	msg := fmt.Sprintf("Discard the message to %s? It will not be sent.", m.To)
	if m.Kind == core.MailProvision && m.State != core.MailSent {
		msg += " Its provision code keeps working until it expires; reprovision the user to replace it."
	}
	id := m.ID
	spec := confirmSpec("Discard message", msg, func(yes bool) {
		s.confirm = nil
		if !yes {
			return
		}
		requestErr(s.c, []fyne.Disableable{s.discard}, func() error { return s.c.svc.DiscardMail(id) }, func(err error) {
			if err != nil {
				s.c.showError(err)
			}
			s.refresh()
		})
	})
	// Enter alone does not confirm: discarding cannot be undone.
	spec.confirm, spec.danger = "Discard", true
	s.confirm = s.c.ask(spec)
}
