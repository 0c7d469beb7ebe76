package ui

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// logKeep is how many of the newest audit entries the Log screen holds.
const logKeep = 500

// logColumns are the widths of time, level, user, by (who acted, cut
// short with an ellipsis; the detail line has it in full) and message.
var logColumns = columns{0.16, 0.06, 0.09, 0.16, 0.53}

// logScreen shows the newest audit log entries, newest first, and follows
// new ones as the bridge delivers them.
type logScreen struct {
	c *Console

	filter *entry         // words in the message
	user   *entry         // part of a username
	level  *widget.Select // one level or all
	export *widget.Button
	list   *widget.List
	detail *widget.Label // the selected entry in full
	// verified says how far the log's MAC chain verifies (#13).
	verified *widget.Label

	entries []core.LogEntry // oldest first, at most logKeep
	shown   []core.LogEntry // filtered, newest first
	lastSeq uint64
	// changed and gap are set by add and acted on by flush, so a batch
	// of events refreshes the list once.
	changed, gap bool
	// loading says a read of the newest entries is on its way (reads):
	// entries that arrive meanwhile are kept, and merged with its answer.
	loading bool
	reads   reread[[]core.LogEntry]
	// verifying is the chain check on its way, one at a time (reread).
	verifying reread[core.LogChain]

	content fyne.CanvasObject
}

func newLogScreen(c *Console) *logScreen {
	s := &logScreen{c: c}
	s.filter = c.newEntry()
	s.filter.SetPlaceHolder("Filter by text")
	s.filter.ActionItem = widget.NewIcon(theme.SearchIcon())
	s.filter.OnChanged = func(string) { s.applyFilter() }
	s.user = c.newEntry()
	s.user.SetPlaceHolder("Filter by user")
	s.user.OnChanged = func(string) { s.applyFilter() }
	s.level = widget.NewSelect([]string{allLevels, string(core.LevelInfo), string(core.LevelWarn), string(core.LevelError)},
		func(string) { s.applyFilter() })
	s.level.Selected = allLevels
	s.export = widget.NewButtonWithIcon("Export…", theme.DocumentSaveIcon(), s.exportLog)

	s.list = widget.NewList(
		func() int { return len(s.shown) },
		func() fyne.CanvasObject { return container.New(logColumns, newCells(len(logColumns))...) },
		s.updateRow,
	)
	s.detail = &widget.Label{Wrapping: fyne.TextWrapWord, Selectable: true}
	s.list.OnSelected = func(id widget.ListItemID) {
		if id < len(s.shown) {
			s.detail.SetText(logDetail(s.shown[id]))
		}
	}

	filters := container.NewBorder(nil, nil, nil,
		container.NewHBox(container.New(fixedWidth(180), s.user), s.level, s.export), s.filter)
	s.verified = widget.NewLabel("")
	top := container.NewVBox(
		container.NewHBox(newHeading("Log"), layout.NewSpacer(), s.verified),
		filters,
		newHeader(logColumns, "Time", "Level", "User", "By", "Message"),
		widget.NewSeparator(),
	)
	s.content = container.NewBorder(top, container.NewVBox(widget.NewSeparator(), s.detail), nil, nil, s.list)
	s.reads = reread[[]core.LogEntry]{c: c, show: s.loaded}
	s.verifying = reread[core.LogChain]{c: c, show: s.showVerified}
	s.load()
	return s
}

// logLoading is the detail line while the newest entries are read and
// no entry is picked.
const logLoading = "Reading the log…"

// load reads the newest entries from the service: off the UI thread when
// the console is attached (reread), at once on its own store. The rows
// shown stay until the answer, and entries that arrive meanwhile are
// added as usual (add), then merged with it (loaded).
func (s *logScreen) load() {
	s.loading, s.gap = true, false
	s.showHint()
	svc := s.c.svc
	s.reads.ask(func() ([]core.LogEntry, error) { return svc.LogTail(logKeep) })
}

// loaded applies the answer of load. The tail was read at some moment
// while the events kept coming: entries the screen holds that are newer
// than the tail's last arrived after that read and are kept after it;
// those the tail has are taken from it, so none is lost or doubled.
func (s *logScreen) loaded(entries []core.LogEntry, err error) {
	s.loading = false
	if err != nil {
		// The next batch of events tries again, as a gap does.
		s.gap = true
		s.detail.SetText(logReadFailed + core.ErrorMessage(err))
		return
	}
	if strings.HasPrefix(s.detail.Text, logReadFailed) {
		// Read now: why it could not be before no longer holds (the
		// hint takes its place, showHint).
		s.detail.SetText("")
	}
	var last uint64
	if n := len(entries); n > 0 {
		last = entries[n-1].Seq
	}
	for i, e := range s.entries {
		if e.Seq > last {
			// A jump between the tail and what came after it is events
			// the bus dropped: the next flush reads again.
			if last != 0 && e.Seq != last+1 {
				s.gap = true
			}
			entries = append(entries, s.entries[i:]...)
			break
		}
	}
	if n := len(entries); n > logKeep {
		entries = append(entries[:0:0], entries[n-logKeep:]...)
	}
	s.entries = entries
	s.lastSeq = 0
	if n := len(entries); n > 0 {
		s.lastSeq = entries[n-1].Seq
	}
	s.applyFilter()
	s.verify()
}

// add takes one entry from the bridge. Entries the screen already has are
// skipped; a jump in sequence numbers means the bus dropped events, and the
// next flush reloads from the store. While a read is on its way a jump
// means nothing yet: its answer fills it (loaded).
func (s *logScreen) add(e core.LogEntry) {
	if e.Seq <= s.lastSeq {
		return
	}
	if !s.loading && s.lastSeq != 0 && e.Seq != s.lastSeq+1 {
		s.gap = true
	}
	s.entries = append(s.entries, e)
	s.lastSeq = e.Seq
	s.changed = true
}

// flush shows what add collected.
func (s *logScreen) flush() {
	if s.changed {
		// Shown now even when a read follows: it may take a while
		// attached, and its answer keeps them (loaded).
		if n := len(s.entries); n > logKeep {
			s.entries = append(s.entries[:0:0], s.entries[n-logKeep:]...)
		}
		s.applyFilter()
	}
	if s.gap {
		s.load()
	}
	s.changed = false
}

func (s *logScreen) applyFilter() {
	keep := s.filterFunc()
	s.shown = s.shown[:0]
	for i := len(s.entries) - 1; i >= 0; i-- {
		if e := s.entries[i]; keep(e) {
			s.shown = append(s.shown, e)
		}
	}
	// Rows move down as entries arrive, so a selection would point at a
	// different entry; the detail line keeps the one that was picked.
	s.list.UnselectAll()
	s.list.Refresh()
	s.showHint()
}

// showHint sets the detail line until an entry is picked: what the
// screen is doing while it reads, then how to read a message the list
// cuts short, instead of standing empty. A picked entry, or why the log
// could not be read, stays.
func (s *logScreen) showHint() {
	if t := s.detail.Text; t != "" && t != logHint && t != logLoading {
		return
	}
	hint := ""
	switch {
	case s.loading:
		hint = logLoading
	case len(s.shown) > 0:
		hint = logHint
	}
	s.detail.SetText(hint)
}

// logReadFailed starts the detail line when the log could not be read.
const logReadFailed = "The log could not be read: "

// logHint is the detail line before an entry is picked.
const logHint = "Select an entry to read it in full."

func (s *logScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(s.shown) {
		return
	}
	e := s.shown[id]
	cells := o.(*fyne.Container).Objects
	cells[0].(*widget.Label).SetText(e.Time.Local().Format(logTimeFormat))
	level := cells[1].(*widget.Label)
	switch e.Level {
	case core.LevelWarn:
		level.Importance = widget.WarningImportance
	case core.LevelError:
		level.Importance = widget.DangerImportance
	default:
		level.Importance = widget.MediumImportance
	}
	level.SetText(string(e.Level))
	cells[2].(*widget.Label).SetText(e.User)
	cells[3].(*widget.Label).SetText(e.Actor)
	cells[4].(*widget.Label).SetText(e.Message)
}

// logDetail is the selected entry in full: time, level, message and who
// acted (entries from before the log named them have no "by").
func logDetail(e core.LogEntry) string {
	s := e.Time.Local().Format(logTimeFormat) + "  " + string(e.Level) + "  " + e.Message
	if e.Actor != "" {
		s += "  — by " + e.Actor
	}
	return s
}

// allLevels is the level filter's choice for no filter.
const allLevels = "All levels"

// filterFunc returns the test the filters make: the text anywhere in the
// entry (who acted included), the user in its username, and the level
// exactly.
func (s *logScreen) filterFunc() func(core.LogEntry) bool {
	q := strings.ToLower(strings.TrimSpace(s.filter.Text))
	user := strings.ToLower(strings.TrimSpace(s.user.Text))
	level := s.level.Selected
	return func(e core.LogEntry) bool {
		return (level == "" || level == allLevels || string(e.Level) == level) &&
			(user == "" || strings.Contains(strings.ToLower(e.User), user)) &&
			matches(q, string(e.Level), e.User, e.Actor, e.Message)
	}
}

// logVerifying is the chain line while the first check is on its way.
const logVerifying = "Verifying the log…"

// verify checks the log's MAC chain: off the UI thread when the console
// is attached (reread), since the service reads the whole log for it.
// The line says so until the first answer; later checks keep the last
// answer on screen until theirs comes.
func (s *logScreen) verify() {
	if s.verified.Text == "" {
		s.verified.Importance = widget.MediumImportance
		s.verified.SetText(logVerifying)
	}
	svc := s.c.svc
	s.verifying.ask(svc.VerifyLog)
}

// showVerified says how far the log's MAC chain holds: "Log verified up
// to #N", or which entry fails. A store without a data key has no chain,
// and the label stays empty.
func (s *logScreen) showVerified(v core.LogChain, err error) {
	switch {
	case errors.Is(err, core.ErrLogNotChained):
		s.verified.SetText("")
	case err != nil:
		s.verified.Importance = widget.DangerImportance
		s.verified.SetText(errorText(err))
	default:
		s.verified.Importance = widget.SuccessImportance
		s.verified.SetText(fmt.Sprintf("Log verified up to #%d", v.Last))
	}
}
