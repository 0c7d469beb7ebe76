package ui

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// importColumns are the widths of line, username, full name, email,
// mobile, group and PIN in the preview.
var importColumns = columns{0.06, 0.14, 0.2, 0.26, 0.16, 0.1, 0.08}

// csvImport is the bulk import dialog: a preview of every row, the rows
// that cannot be imported and why, and the import itself, which runs in
// the background with a progress bar. Core imports all rows in one
// transaction, so an import either adds every user or none.
type csvImport struct {
	s    *usersScreen
	name string
	data []byte
	pre  core.ImportPreview

	dlg      *dialog.CustomDialog
	summary  *widget.Label
	problems *widget.List
	probBox  *fyne.Container // the problems list and its title
	rows     *widget.List
	progress *widget.ProgressBar

	importBtn, cancel *widget.Button
	running           bool
}

// chooseCSV asks for a CSV file and previews it.
func (s *usersScreen) chooseCSV() {
	s.c.openFile([]string{".csv", ".txt"}, s.previewCSV)
}

// previewCSV opens the import dialog for a file's contents and checks the
// rows in the background.
func (s *usersScreen) previewCSV(name string, data []byte) {
	ci := &csvImport{s: s, name: name, data: data}
	ci.summary = &widget.Label{Text: "Reading " + name + "…", Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Bold: true}}
	ci.problems = widget.NewList(
		func() int { return len(ci.pre.Problems) },
		func() fyne.CanvasObject {
			return extend(&widget.Label{Importance: widget.DangerImportance, Truncation: fyne.TextTruncateEllipsis})
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(ci.pre.Problems) {
				o.(*widget.Label).SetText(problemText(ci.pre.Problems[id]))
			}
		})
	ci.rows = widget.NewList(
		func() int { return len(ci.pre.Rows) },
		func() fyne.CanvasObject { return container.New(importColumns, newCells(len(importColumns))...) },
		ci.updateRow)
	ci.progress = widget.NewProgressBar()
	ci.progress.Hide()

	ci.cancel = widget.NewButton("Cancel", ci.close)
	ci.importBtn = widget.NewButtonWithIcon("Import", theme.UploadIcon(), ci.start)
	ci.importBtn.Importance = widget.HighImportance
	ci.importBtn.Disable()

	ci.probBox = container.NewVBox(
		&widget.Label{Text: "Rows that cannot be imported", TextStyle: fyne.TextStyle{Bold: true}},
		container.New(fixedHeight(150), ci.problems))
	ci.probBox.Hide()
	top := container.NewVBox(
		ci.summary,
		newNote("Columns: "+strings.Join(core.UserCSVColumns, ",")+", with a header row. "+
			"Nothing is imported while any row has a problem: fix the file and open it again."),
		ci.probBox,
		&widget.Label{Text: "Users in the file", TextStyle: fyne.TextStyle{Bold: true}},
		newHeader(importColumns, "Line", "Username", "Full name", "Email", "Mobile", "Group", "PIN"),
		widget.NewSeparator(),
	)
	content := container.NewBorder(top, ci.progress, nil, nil, ci.rows)

	ci.dlg = dialog.NewCustomWithoutButtons("Import users from "+name, content, s.c.win)
	ci.dlg.SetButtons([]fyne.CanvasObject{ci.cancel, ci.importBtn})
	ci.dlg.SetOnClosed(func() {
		if s.importer == ci {
			s.importer = nil
		}
	})
	s.c.pushDialog(ci.dlg, ci.close, ci.start)
	s.importer = ci
	size := s.c.win.Canvas().Size()
	ci.dlg.Resize(fyne.NewSize(min(1000, size.Width-60), min(680, size.Height-60)))
	ci.dlg.Show()
	ci.check()
}

// check reads and checks the file in the background.
func (ci *csvImport) check() {
	svc, data := ci.s.c.svc, ci.data
	ci.running = true
	go func() {
		pre, err := svc.PreviewImport(bytes.NewReader(data))
		ci.s.c.do(func() { ci.checked(pre, err) })
	}()
}

func (ci *csvImport) checked(pre core.ImportPreview, err error) {
	ci.running = false
	ci.pre = pre
	ci.summary.Importance = widget.MediumImportance
	ci.importBtn.SetText("Import")
	switch {
	case err != nil:
		ci.summary.Importance = widget.DangerImportance
		ci.summary.SetText(core.ErrorMessage(err))
	case len(pre.Rows) == 0 && pre.BadRows == 0:
		ci.summary.SetText(ci.name + " has a header but no users.")
	case pre.OK():
		ci.summary.Importance = widget.SuccessImportance
		ci.summary.SetText(fmt.Sprintf("%s: %s ready to import.", ci.name, core.PluralGrouped(len(pre.Rows), "user", "users")))
		ci.importBtn.SetText("Import " + core.PluralGrouped(len(pre.Rows), "user", "users"))
	default:
		ci.summary.Importance = widget.DangerImportance
		ci.summary.SetText(fmt.Sprintf("%s: %s of %s cannot be imported.", ci.name,
			core.PluralGrouped(pre.BadRows, "row", "rows"), core.GroupDigits(len(pre.Rows)+countUnread(pre))))
	}
	if pre.OK() {
		ci.importBtn.Enable()
	} else {
		ci.importBtn.Disable()
	}
	ci.probBox.Hidden = len(pre.Problems) == 0
	ci.problems.Refresh()
	ci.rows.Refresh()
	relayout(ci.dlg)
}

// countUnread counts rows too broken to read (they have problems but are
// not among the rows).
func countUnread(p core.ImportPreview) int {
	read := map[int]bool{}
	for _, r := range p.Rows {
		read[r.Line] = true
	}
	n, seen := 0, map[int]bool{}
	for _, pr := range p.Problems {
		if !read[pr.Line] && !seen[pr.Line] {
			seen[pr.Line] = true
			n++
		}
	}
	return n
}

func problemText(p core.ImportProblem) string {
	return "Line " + strconv.Itoa(p.Line) + ": " + p.Message
}

func (ci *csvImport) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(ci.pre.Rows) {
		return
	}
	r := ci.pre.Rows[id]
	cells := o.(*fyne.Container).Objects
	pin := ""
	if r.User.PIN != "" {
		pin = "set" // never shown
	}
	for i, t := range []string{strconv.Itoa(r.Line), r.User.Name, r.User.FullName, r.User.Email, r.User.Mobile, r.User.Group, pin} {
		cells[i].(*widget.Label).SetText(t)
	}
}

// start imports every row in the background; the window stays usable and
// the bar shows how far it got.
func (ci *csvImport) start() {
	if ci.running || !ci.pre.OK() {
		return
	}
	ci.running = true
	ci.importBtn.Disable()
	ci.cancel.Disable()
	ci.progress.SetValue(0)
	ci.progress.Show()
	ci.summary.Importance = widget.MediumImportance
	ci.summary.SetText("Importing " + core.PluralGrouped(len(ci.pre.Rows), "user", "users") + "…")
	relayout(ci.dlg)
	c, rows := ci.s.c, ci.pre.Rows
	go func() {
		n, err := c.svc.ImportUsers(rows, func(done, total int) {
			c.do(func() { ci.progress.SetValue(float64(done) / float64(total)) })
		})
		c.do(func() { ci.finished(n, err) })
	}()
}

func (ci *csvImport) finished(n int, err error) {
	ci.running = false
	ci.cancel.Enable()
	if err != nil {
		// Nothing was saved. The file may be fine again after a look at
		// what changed, so checking it again is one click away.
		ci.progress.Hide()
		ci.summary.Importance = widget.DangerImportance
		ci.summary.SetText(core.ErrorMessage(err))
		ci.importBtn.SetText("Check again")
		ci.importBtn.OnTapped = func() {
			ci.importBtn.OnTapped = ci.start
			ci.check()
		}
		ci.importBtn.Enable()
		relayout(ci.dlg)
		return
	}
	ci.dlg.Hide()
	ci.s.refresh()
	ci.s.c.showInfo("Import finished", fmt.Sprintf("Imported %s from %s.", core.PluralGrouped(n, "user", "users"), ci.name))
}

// close is Cancel and Escape; an import under way cannot be stopped
// halfway, so they wait for it.
func (ci *csvImport) close() {
	if !ci.running {
		ci.dlg.Hide()
	}
}
