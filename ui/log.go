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
	s.load()
	return s
}

// load reads the newest entries from the service.
func (s *logScreen) load() {
	entries, err := s.c.svc.LogTail(logKeep)
	if err != nil {
		s.detail.SetText("The log could not be read: " + core.ErrorMessage(err))
		return
	}
	s.entries = entries
	s.showVerified()
	s.lastSeq = 0
	if n := len(entries); n > 0 {
		s.lastSeq = entries[n-1].Seq
	}
	s.gap = false
	s.applyFilter()
}

// add takes one entry from the bridge. Entries the screen already has are
// skipped; a jump in sequence numbers means the bus dropped events, and the
// next flush reloads from the store.
func (s *logScreen) add(e core.LogEntry) {
	if e.Seq <= s.lastSeq {
		return
	}
	if s.lastSeq != 0 && e.Seq != s.lastSeq+1 {
		s.gap = true
	}
	s.entries = append(s.entries, e)
	s.lastSeq = e.Seq
	s.changed = true
}

// flush shows what add collected.
func (s *logScreen) flush() {
	switch {
	case s.gap:
		s.load()
	case s.changed:
		if n := len(s.entries); n > logKeep {
			s.entries = append(s.entries[:0:0], s.entries[n-logKeep:]...)
		}
		s.applyFilter()
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
	// Until one is picked, the detail line says how to read a message
	// the list cuts short, instead of standing empty.
	if t := s.detail.Text; t == "" || t == logHint {
		hint := ""
		if len(s.shown) > 0 {
			hint = logHint
		}
		s.detail.SetText(hint)
	}
}

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

// showVerified checks the log's MAC chain and says how far it holds:
// "Log verified up to #N", or which entry fails. A store without a data
// key has no chain, and the label stays empty.
func (s *logScreen) showVerified() {
	v, err := s.c.svc.VerifyLog()
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
