package ui

import (
	"fmt"
	"io"
	"strings"

	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// exportPage is how many entries one read of the store returns (a
// variable so a test can page through a short log).
var exportPage = 1000

// exportLog writes every stored entry that passes the filters, oldest
// first, to a file the admin picks: CSV when its name ends in .csv, tab
// separated text otherwise. It runs in the background; the detail line
// says how it went.
func (s *logScreen) exportLog() {
	keep := s.filterFunc()
	name := "provisio-log-" + s.c.svc.Now().Local().Format("2006-01-02") + ".csv"
	var n int
	s.c.saveAs(name, func(w io.Writer, path string) error {
		var err error
		n, err = writeLog(w, s.c.svc, keep, !strings.HasSuffix(strings.ToLower(path), ".csv"))
		return err
	}, func(path string, err error) {
		if err != nil {
			s.detail.Importance = widget.DangerImportance
			s.detail.SetText(errorText(err))
			return
		}
		s.detail.Importance = widget.MediumImportance
		s.detail.SetText(fmt.Sprintf("Exported %s to %s.", plural(n, "entry", "entries"), path))
	})
}

// writeLog writes the entries keep accepts (core.ExportLog, which the
// command line's log export shares).
func writeLog(w io.Writer, svc core.ConsoleAPI, keep func(core.LogEntry) bool, text bool) (int, error) {
	return core.ExportLog(w, svc, core.LogExport{Keep: keep, Text: text, Page: exportPage})
}
