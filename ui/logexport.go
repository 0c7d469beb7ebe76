package ui

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

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

// writeLog pages through the audit log and writes the entries keep
// accepts. Times are local, as on screen.
func writeLog(w io.Writer, svc core.ConsoleAPI, keep func(core.LogEntry) bool, text bool) (int, error) {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	row := func(f ...string) error {
		if text {
			_, err := bw.WriteString(strings.Join(f, "\t") + "\n")
			return err
		}
		return cw.Write(f)
	}
	// "by" (who acted) comes last, so the columns of exports made before
	// it keep their places.
	if err := row("time", "level", "user", "message", "by"); err != nil {
		return 0, err
	}
	n := 0
	for after := uint64(0); ; {
		page, err := svc.Logs(after, exportPage)
		if err != nil {
			return n, err
		}
		for _, e := range page {
			if keep(e) {
				if err := row(e.Time.Local().Format(time.RFC3339), string(e.Level), e.User, e.Message, e.Actor); err != nil {
					return n, err
				}
				n++
			}
		}
		if len(page) < exportPage {
			break
		}
		after = page[len(page)-1].Seq
	}
	// The chain head lets a reader check later that the log was not
	// rewritten after this export (provisio log verify prints it too).
	if v, err := svc.VerifyLog(); err == nil {
		if err := row(svc.Now().Local().Format(time.RFC3339), "chain", "", fmt.Sprintf("Log chain head after #%d: %s", v.Last, v.Head), ""); err != nil {
			return n, err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}
