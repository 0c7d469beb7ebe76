package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Controls that stand in for the parts Fyne builds privately inside its
// radio groups and accordions, which drop Escape and Enter: once Tab had
// put the focus on one, Escape no longer closed the dialog (fyne v2.7.1
// widget/radio_item.go:103, radioItem.TypedKey does nothing; the
// accordion's headers are plain widget.Buttons made in its renderer,
// widget/accordion.go:237). Like button and check (keys.go), these pass
// both keys on to the window's top dialog.

// radio shows a Fyne RadioGroup's options as radio buttons of the
// console's own. The group is the model: its Options (as they are when
// the radio is made), Selected, Required, Horizontal, disabled state
// and OnChanged are what radio shows and calls, and a SetSelected on the
// group shows here (through OnChanged, so set OnChanged before making
// the radio; a Disable on the group shows at the radio's next Refresh).
// The group stays in the tree, hidden, so code that looks for it in a
// dialog finds it (the Reprovision tests do).
type radio struct {
	widget.BaseWidget
	group *widget.RadioGroup
	k     keyTarget
	items []*radioOption
}

// keyRadio makes the radio buttons of g, whose keys go to k.
func keyRadio(k keyTarget, g *widget.RadioGroup) *radio {
	r := &radio{group: g, k: k}
	r.ExtendBaseWidget(r)
	for _, opt := range g.Options {
		r.items = append(r.items, newRadioOption(r, opt))
	}
	changed := g.OnChanged
	g.OnChanged = func(v string) {
		r.Refresh()
		if changed != nil {
			changed(v)
		}
	}
	r.Refresh()
	return r
}

// choose selects opt as a click on it does: on the selected option it
// clears the choice, unless one is required.
func (r *radio) choose(opt string) {
	if r.group.Disabled() {
		return
	}
	if r.group.Selected == opt {
		if r.group.Required {
			return
		}
		opt = ""
	}
	r.group.SetSelected(opt)
	r.Refresh()
}

// Refresh shows the group's selection and disabled state.
func (r *radio) Refresh() {
	for _, it := range r.items {
		it.selected = it.label == r.group.Selected
		it.disabled = r.group.Disabled()
		it.Refresh()
	}
	r.BaseWidget.Refresh()
}

// CreateRenderer lays out the options and the hidden group.
func (r *radio) CreateRenderer() fyne.WidgetRenderer {
	objs := make([]fyne.CanvasObject, 0, len(r.items)+1)
	for _, it := range r.items {
		objs = append(objs, it)
	}
	r.group.Hide()
	objs = append(objs, r.group)
	return widget.NewSimpleRenderer(container.New(&radioLayout{horizontal: r.group.Horizontal, n: len(r.items)}, objs...))
}

// radioLayout lays the options out as Fyne's RadioGroup does: each as
// large as the largest, side by side or one under the other. The hidden
// group at the end takes no room.
type radioLayout struct {
	horizontal bool
	n          int
}

func (l *radioLayout) cell(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs[:l.n] {
		s = s.Max(o.MinSize())
	}
	return s
}

// MinSize is the largest option times their number.
func (l *radioLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	s := l.cell(objs)
	if l.horizontal {
		return fyne.NewSize(s.Width*float32(l.n), s.Height)
	}
	return fyne.NewSize(s.Width, s.Height*float32(l.n))
}

// Layout puts the options side by side or one under the other.
func (l *radioLayout) Layout(objs []fyne.CanvasObject, _ fyne.Size) {
	s := l.cell(objs)
	var p fyne.Position
	for _, o := range objs[:l.n] {
		o.Resize(s)
		o.Move(p)
		if l.horizontal {
			p.X += s.Width
		} else {
			p.Y += s.Height
		}
	}
}

// radioOption is one radio button: Space or a click chooses it, Escape
// and Enter go to the top dialog. It looks as Fyne's own.
type radioOption struct {
	widget.BaseWidget
	r                                    *radio
	label                                string
	selected, disabled, focused, hovered bool
}

var (
	_ fyne.Focusable    = (*radioOption)(nil)
	_ fyne.Tappable     = (*radioOption)(nil)
	_ desktop.Hoverable = (*radioOption)(nil)
)

func newRadioOption(r *radio, label string) *radioOption {
	o := &radioOption{r: r, label: label}
	o.ExtendBaseWidget(o)
	return o
}

// Disabled keeps a disabled group's options out of the Tab order.
func (o *radioOption) Disabled() bool { return o.r.group.Disabled() }

// FocusGained draws the focus ring.
func (o *radioOption) FocusGained() { o.focused = true; o.Refresh() }

// FocusLost hides the focus ring.
func (o *radioOption) FocusLost() { o.focused = false; o.Refresh() }

// MouseIn draws the hover ring.
func (o *radioOption) MouseIn(*desktop.MouseEvent) { o.hovered = true; o.Refresh() }

// MouseMoved does nothing: the ring is drawn already.
func (o *radioOption) MouseMoved(*desktop.MouseEvent) {}

// MouseOut hides the hover ring.
func (o *radioOption) MouseOut() { o.hovered = false; o.Refresh() }

// Tapped chooses the option and, on a desktop, focuses it, as Fyne's do.
func (o *radioOption) Tapped(*fyne.PointEvent) {
	if o.Disabled() {
		return
	}
	if !o.focused && !fyne.CurrentDevice().IsMobile() {
		if c := fyne.CurrentApp().Driver().CanvasForObject(o); c != nil {
			c.Focus(o)
		}
	}
	o.r.choose(o.label)
}

// TypedRune chooses the option on Space.
func (o *radioOption) TypedRune(r rune) {
	if r == ' ' && !o.Disabled() {
		o.r.choose(o.label)
	}
}

// TypedKey passes Escape and Enter on to the top dialog.
func (o *radioOption) TypedKey(ev *fyne.KeyEvent) { passDialogKey(o.r.k, ev) }

// CreateRenderer draws the option.
func (o *radioOption) CreateRenderer() fyne.WidgetRenderer {
	r := &radioOptionRenderer{o: o, label: &canvas.Text{}}
	r.focus = &canvas.Circle{}
	r.fill, r.ring = &canvas.Image{}, &canvas.Image{}
	r.update()
	return r
}

// radioOptionRenderer draws a radio button as Fyne's radio_item.go does.
type radioOptionRenderer struct {
	o          *radioOption
	focus      *canvas.Circle
	fill, ring *canvas.Image
	label      *canvas.Text
}

func (r *radioOptionRenderer) Destroy() {}

func (r *radioOptionRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.focus, r.fill, r.ring, r.label}
}

func (r *radioOptionRenderer) Layout(size fyne.Size) {
	th := r.o.Theme()
	inner, border := th.Size(theme.SizeNameInnerPadding), th.Size(theme.SizeNameInputBorder)
	icon := th.Size(theme.SizeNameInlineIcon)
	focus := fyne.NewSquareSize(icon + inner)
	r.focus.Resize(focus)
	r.focus.Move(fyne.NewPos(border, (size.Height-focus.Height)/2))
	r.label.Resize(size)
	r.label.Move(fyne.NewPos(focus.Width+th.Size(theme.SizeNamePadding), 0))
	pos := fyne.NewPos(inner/2+border, (size.Height-icon)/2)
	for _, img := range []*canvas.Image{r.fill, r.ring} {
		img.Resize(fyne.NewSquareSize(icon))
		img.Move(pos)
	}
}

func (r *radioOptionRenderer) MinSize() fyne.Size {
	th := r.o.Theme()
	pad := th.Size(theme.SizeNameInnerPadding) * 2
	return r.label.MinSize().AddWidthHeight(pad+th.Size(theme.SizeNameInlineIcon)+th.Size(theme.SizeNamePadding), pad)
}

func (r *radioOptionRenderer) Refresh() {
	r.update()
	canvas.Refresh(r.o)
}

func (r *radioOptionRenderer) update() {
	o, th := r.o, r.o.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	r.label.Text = o.label
	r.label.TextSize = th.Size(theme.SizeNameText)
	r.label.Color = th.Color(theme.ColorNameForeground, v)
	ring := theme.NewThemedResource(th.Icon(theme.IconNameRadioButton))
	ring.ColorName = theme.ColorNameInputBorder
	fill := theme.NewThemedResource(th.Icon(theme.IconNameRadioButtonFill))
	fill.ColorName = theme.ColorNameInputBackground
	if o.selected {
		fill.ColorName, ring.ColorName = theme.ColorNamePrimary, theme.ColorNameForeground
	}
	r.focus.FillColor = color.Transparent
	switch {
	case o.disabled:
		r.label.Color = th.Color(theme.ColorNameDisabled, v)
		fill.ColorName, ring.ColorName = theme.ColorNameBackground, theme.ColorNameDisabled
		if o.selected {
			fill.ColorName = theme.ColorNameDisabled
		}
	case o.focused:
		r.focus.FillColor = th.Color(theme.ColorNameFocus, v)
	case o.hovered:
		r.focus.FillColor = th.Color(theme.ColorNameHover, v)
	}
	r.fill.Resource, r.ring.Resource = fill, ring
	r.fill.Refresh()
	r.ring.Refresh()
	r.label.Refresh()
}

// disclosure is a one-item accordion of the console's: a header button
// that shows or hides detail, drawn as Fyne's Accordion draws one.
type disclosure struct {
	widget.BaseWidget
	header *button
	detail fyne.CanvasObject
	open   bool
}

func newDisclosure(k keyTarget, title string, detail fyne.CanvasObject) *disclosure {
	d := &disclosure{detail: detail}
	d.header = newButton(k, title, nil, d.toggle)
	d.header.Alignment = widget.ButtonAlignLeading
	d.header.IconPlacement = widget.ButtonIconLeadingText
	d.header.Importance = widget.LowImportance
	d.ExtendBaseWidget(d)
	d.show()
	return d
}

// title is the header's text.
func (d *disclosure) title() string { return d.header.Text }

// SetTitle changes the header's text.
func (d *disclosure) SetTitle(t string) { d.header.SetText(t) }

// Open shows the detail.
func (d *disclosure) Open() { d.open = true; d.show() }

// Close hides the detail.
func (d *disclosure) Close() { d.open = false; d.show() }

func (d *disclosure) toggle() { d.open = !d.open; d.show() }

func (d *disclosure) show() {
	icon := theme.IconNameArrowDropDown
	d.detail.Hide()
	if d.open {
		icon = theme.IconNameArrowDropUp
		d.detail.Show()
	}
	d.header.SetIcon(d.Theme().Icon(icon))
	d.Refresh()
}

// CreateRenderer puts the detail under the header.
func (d *disclosure) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewVBox(d.header, d.detail))
}
