package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Time formats shown to admins. Times are in the computer's local zone,
// which is the office's.
const (
	dateTimeFormat = "2006-01-02 15:04"
	logTimeFormat  = "2006-01-02 15:04:05"
)

// columns lays its objects side by side, each taking a fixed fraction of
// the width, so a header and every row of a list line up without a table.
type columns []float32

func (c columns) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	pad := theme.Padding()
	avail := size.Width - pad*float32(len(objs)-1)
	x := float32(0)
	for i, o := range objs {
		w := avail * c[i]
		o.Move(fyne.NewPos(x, 0))
		o.Resize(fyne.NewSize(w, size.Height))
		x += w + pad
	}
}

func (c columns) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		m := o.MinSize()
		s.Width += m.Width
		s.Height = max(s.Height, m.Height)
	}
	s.Width += theme.Padding() * float32(len(objs)-1)
	return s
}

// newCells returns truncating labels for one row of columns: long text is
// cut with an ellipsis instead of widening the window.
func newCells(n int) []fyne.CanvasObject {
	cells := make([]fyne.CanvasObject, n)
	for i := range cells {
		cells[i] = &widget.Label{Truncation: fyne.TextTruncateEllipsis}
	}
	return cells
}

// newHeader returns a bold header row laid out like the list rows below it.
func newHeader(cols columns, titles ...string) fyne.CanvasObject {
	cells := make([]fyne.CanvasObject, len(titles))
	for i, t := range titles {
		cells[i] = &widget.Label{Text: t, TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	}
	return container.New(cols, cells...)
}

// newHeading returns a screen title.
func newHeading(text string) *widget.Label {
	return &widget.Label{Text: text, TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText}
}

// newNote returns a wrapping explanatory label.
func newNote(text string) *widget.Label {
	return &widget.Label{Text: text, Wrapping: fyne.TextWrapWord}
}

// field is an entry with room below it for core's sentence about what is
// wrong with it. The entry keeps its text when an error is shown, so
// nothing typed is lost.
type field struct {
	entry *widget.Entry
	msg   *widget.Label
	box   fyne.CanvasObject
	// relayout is called when the message appears or goes, because Fyne
	// does not lay out the containers around a widget that changes size.
	relayout func()
}

func newField(e *widget.Entry) *field {
	// Entries have no Validator: core validates on Save, and this makes
	// the entry show the error that SetValidationError gives it.
	e.AlwaysShowValidationError = true
	f := &field{entry: e, msg: &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}}
	f.msg.Hide()
	f.box = container.NewVBox(e, f.msg)
	onChanged := e.OnChanged
	e.OnChanged = func(s string) {
		// Editing a field is the answer to its error.
		f.setError("")
		if onChanged != nil {
			onChanged(s)
		}
	}
	return f
}

// setError shows msg under the entry, or clears the error when msg is "".
func (f *field) setError(msg string) {
	was := f.msg.Visible()
	if msg == "" {
		f.entry.SetValidationError(nil)
		f.msg.SetText("")
		f.msg.Hide()
	} else {
		f.entry.SetValidationError(errors.New(msg))
		f.msg.SetText(msg)
		f.msg.Show()
	}
	if f.relayout != nil && (was || msg != "") {
		f.relayout()
	}
}

// relayout lays o and everything in it out again after something inside
// changed size. It takes two passes: a wrapping label knows how many lines
// it needs only once the first pass has given it a width.
func relayout(o interface{ Refresh() }) {
	o.Refresh()
	o.Refresh()
}

// formRow returns a label and a widget for a layout.NewFormLayout grid. The
// label sits at the top of its row so it stays beside the entry when an
// error message makes the row taller.
func formRow(label string, w fyne.CanvasObject) []fyne.CanvasObject {
	return []fyne.CanvasObject{container.NewVBox(widget.NewLabel(label)), w}
}

// newFormGrid lays out rows from formRow as a two-column form.
func newFormGrid(rows ...[]fyne.CanvasObject) *fyne.Container {
	var objs []fyne.CanvasObject
	for _, r := range rows {
		objs = append(objs, r...)
	}
	return container.New(layout.NewFormLayout(), objs...)
}

// matches reports whether any of fields contains the lower-cased query.
func matches(query string, fields ...string) bool {
	if query == "" {
		return true
	}
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), query) {
			return true
		}
	}
	return false
}

// countdown formats the time left as m:ss, h:mm:ss or "2d 3:04:05",
// rounding up so the display reaches 0:00 only when the time is up.
func countdown(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 0 {
		s = 0
	}
	days, h, m, sec := s/86400, s/3600%24, s/60%60, s%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %d:%02d:%02d", days, h, m, sec)
	case h > 0:
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// groupCode splits an 8- or 10-character code in two halves, which is
// easier to read out over the phone; core ignores the space when the
// code is typed back.
func groupCode(code string) string {
	if n := len(code); n >= 8 && n%2 == 0 {
		return code[:n/2] + " " + code[n/2:]
	}
	return code
}
