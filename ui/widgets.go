package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
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
		cells[i] = extend(&widget.Label{Truncation: fyne.TextTruncateEllipsis})
	}
	return cells
}

// extend finishes a label made as a struct literal. Without it, a list
// that sizes the label before it is first drawn leaves its text laid out
// for zero width, and truncation never happens.
func extend(l *widget.Label) *widget.Label {
	l.ExtendBaseWidget(l)
	return l
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
	entry *widget.Entry  // the text, the placeholder, the error mark
	input fyne.Focusable // the widget on screen, to give the focus to
	msg   *widget.Label
	box   fyne.CanvasObject
	// relayout is called when the message appears or goes, because Fyne
	// does not lay out the containers around a widget that changes size.
	relayout func()
}

// textInput is one of the console's entries (entry, selectEntry).
type textInput interface {
	fyne.Focusable
	fyne.CanvasObject
	base() *widget.Entry
}

func (e *entry) base() *widget.Entry       { return &e.Entry }
func (e *selectEntry) base() *widget.Entry { return &e.SelectEntry.Entry }

// newField makes a field of a plain widget.Entry.
func newField(e *widget.Entry) *field { return newFieldOf(e, e) }

// newInputField makes a field of one of the console's entries, which
// pass Escape and the console's shortcuts on.
func newInputField(in textInput) *field { return newFieldOf(in, in.base()) }

// newSubmitField is a field of one of the console's entries showing
// placeholder, whose Enter runs submit (a form's Save or a screen's
// Apply).
func (c *Console) newSubmitField(placeholder string, submit func()) *field {
	e := c.newEntry()
	e.SetPlaceHolder(placeholder)
	e.OnSubmitted = func(string) { submit() }
	return newInputField(e)
}

func newFieldOf(in fyne.Focusable, e *widget.Entry) *field {
	// Entries have no Validator: core validates on Save, and this makes
	// the entry show the error that SetValidationError gives it.
	e.AlwaysShowValidationError = true
	f := &field{entry: e, input: in, msg: &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}}
	f.msg.Hide()
	f.box = container.NewVBox(in.(fyne.CanvasObject), f.msg)
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

// fitWidth gives dialog d the width w and the height its content needs
// at that width. Resize(w, 0) alone took the height the content needed at
// the narrower width it was first laid out at, where a wrapping label
// counts a word, or a character, a line: About opened as high as the
// window with its four lines at the top.
func fitWidth(d interface {
	Resize(fyne.Size)
	Refresh()
}, w float32) {
	d.Resize(fyne.NewSize(w, 0))
	relayout(d)
}

// relayout lays o and everything in it out again after something inside
// changed size. It takes two passes: a wrapping label knows how many lines
// it needs only once the first pass has given it a width.
func relayout(o interface{ Refresh() }) {
	o.Refresh()
	o.Refresh()
}

// keptForm is a dialog form that stays open when what it submits is
// refused: core's sentence shows under the field it names, or under the
// form when it names none, and every value stays as typed (bad input
// gets a clear sentence and loses nothing). dialog.NewForm closes on its
// confirm button before the answer is known, which lost the input. The
// Add/Edit user form works the same way through clearFormErrors and
// showFormError.
type keptForm struct {
	dlg *dialog.CustomDialog
	// fields are the form's entries by core's field name; conflict is the
	// field a CodeConflict ("… already exists") belongs to.
	fields   map[string]*field
	conflict string
	general  *widget.Label // errors that belong to no field
	ok       *button
	cancel   *button
	// submit runs on ok, and on Enter in an entry, unless ok is disabled
	// (an answer is awaited).
	submit func()
}

// newKeptForm makes the dialog around content (which shows fields), with
// Cancel and okText; set submit before showing it. Its buttons hand
// Escape to keys, the window's dialogs.
func newKeptForm(title, okText string, content fyne.CanvasObject, fields map[string]*field, conflict string, keys keyTarget, win fyne.Window) *keptForm {
	k := &keptForm{fields: fields, conflict: conflict,
		general: &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}}
	k.general.Hide()
	k.ok = newButton(keys, okText, nil, k.press)
	k.ok.Importance = widget.HighImportance
	k.cancel = newButton(keys, "Cancel", nil, func() { k.dlg.Hide() })
	k.dlg = dialog.NewCustomWithoutButtons(title, container.NewVBox(content, k.general), win)
	k.dlg.SetButtons([]fyne.CanvasObject{k.cancel, k.ok})
	for _, fl := range fields {
		fl.relayout = func() { relayout(k.dlg) }
		fl.entry.OnSubmitted = func(string) { k.press() }
	}
	return k
}

// press submits unless an answer is awaited.
func (k *keptForm) press() {
	if k.ok.Disabled() || k.submit == nil {
		return
	}
	clearFormErrors(k.fields, k.general, k.dlg)
	k.submit()
}

// refuse shows why what was submitted is refused; the form stays open.
func (k *keptForm) refuse(err error) {
	showFormError(err, k.fields, k.general, k.dlg, k.conflict)
}

// clearFormErrors takes the sentences of the last refusal away.
func clearFormErrors(fields map[string]*field, general *widget.Label, dlg interface{ Refresh() }) {
	for _, fl := range fields {
		fl.setError("")
	}
	if general.Visible() {
		general.SetText("")
		general.Hide()
		relayout(dlg)
	}
}

// showFormError shows core's sentence under the field it names (a
// CodeConflict under conflict's), or under the form.
func showFormError(err error, fields map[string]*field, general *widget.Label, dlg interface{ Refresh() }, conflict string) {
	msg := core.ErrorMessage(err)
	var ce *core.Error
	if errors.As(err, &ce) {
		name := ce.Field
		if ce.Code == core.CodeConflict && conflict != "" {
			name = conflict
		}
		if fl, ok := fields[name]; ok {
			fl.setError(msg)
			return
		}
	}
	general.SetText(msg)
	general.Show()
	relayout(dlg)
}

// changedSince is the one rule of a form that edits a stored record which
// another console may save while the form is open (docs/decisions.md,
// "Two consoles editing the same record"): of the values the form shows
// now, those that differ from the values it showed when it was opened or
// last refreshed. Only they are saved, onto the record as stored at the
// save, so what the other console changed in other fields stays; a field
// both changed takes the later save. The user form has the same rule in
// core (core.EditSince), as the admin API's PATCH of a user does.
func changedSince(opened, now map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range now {
		if old, ok := opened[k]; !ok || old != v {
			out[k] = v
		}
	}
	return out
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

// fixedHeight lays its objects over each other at a fixed height, for a
// list that must show several rows inside a box that would give it one.
type fixedHeight float32

func (h fixedHeight) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (h fixedHeight) MinSize(objs []fyne.CanvasObject) fyne.Size {
	w := float32(0)
	for _, o := range objs {
		w = max(w, o.MinSize().Width)
	}
	return fyne.NewSize(w, float32(h))
}

// selectNamed selects in list, after its rows were read again, the row
// whose name (name(i) of n rows) is *selected, or none when it is gone,
// clearing *selected.
func selectNamed(list *widget.List, n int, name func(i int) string, selected *string) {
	for i := range n {
		if name(i) == *selected {
			list.Select(i)
			return
		}
	}
	list.UnselectAll()
	*selected = ""
}

// newSection returns the title of a part of a screen.
func newSection(text string) *widget.Label {
	return &widget.Label{Text: text, TextStyle: fyne.TextStyle{Bold: true}}
}

// fixedWidth gives its objects a fixed width and their own height, for
// an entry beside others in a row.
type fixedWidth float32

func (w fixedWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (w fixedWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(float32(w), h)
}

// setCells shows texts in a row of cells (see newCells), with an
// importance for some of them (the rest are medium). A cell whose text
// and importance are unchanged is left alone: laying out truncated text
// is most of what a list redraw costs.
func setCells(cells []fyne.CanvasObject, texts []string, imp map[int]widget.Importance) {
	for i, t := range texts {
		l := cells[i].(*widget.Label)
		want := widget.MediumImportance
		if v, ok := imp[i]; ok {
			want = v
		}
		if l.Text == t && l.Importance == want {
			continue
		}
		l.Text, l.Importance = t, want
		l.Refresh()
	}
}

// centred shows a wrapping message in the middle of the space a list
// leaves empty. container.NewCenter would give it only its minimum width,
// one character, and stack the text into a column.
func centred(l *widget.Label) fyne.CanvasObject {
	return container.NewVBox(layout.NewSpacer(), l, layout.NewSpacer())
}

// indented shifts o right by the width of a check box, so a check's
// explanation sits under its label.
func indented(o fyne.CanvasObject) fyne.CanvasObject {
	return container.New(layout.NewCustomPaddedLayout(0, 0, theme.IconInlineSize()+theme.InnerPadding(), 0), o)
}

// newFormScroll scrolls a form vertically and keeps its fields clear of
// the scroll bar, which is drawn over the content's right edge.
func newFormScroll(o fyne.CanvasObject) *container.Scroll {
	gap := theme.ScrollBarSize() + 2*theme.Padding()
	return container.NewVScroll(container.New(layout.NewCustomPaddedLayout(0, 0, 0, gap), o))
}

// wheelToPage lies over a scrolling box inside a scrolled form (the mail
// templates) and hands the mouse wheel to the form: otherwise the box
// captures the wheel and the page stops scrolling under the pointer. It
// takes no taps, drags or hovers, so those still reach the box.
type wheelToPage struct {
	widget.BaseWidget
	page *container.Scroll
}

func newWheelToPage() *wheelToPage {
	w := &wheelToPage{}
	w.ExtendBaseWidget(w)
	return w
}

// Scrolled scrolls the page.
func (w *wheelToPage) Scrolled(ev *fyne.ScrollEvent) {
	if w.page != nil {
		w.page.Scrolled(ev)
	}
}

func (w *wheelToPage) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(layout.NewSpacer())
}

// growRows sizes a multi-line entry to its text (at least min rows), so
// it shows everything without a scroll bar of its own.
func growRows(e *widget.Entry, least int) {
	e.SetMinRowsVisible(min(max(least, strings.Count(e.Text, "\n")+2), 80))
}
