package core

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// LogReader is what ExportLog reads: the console's use cases
// (ConsoleAPI) have it, in-process or attached.
type LogReader interface {
	Now() time.Time
	Logs(after uint64, limit int) ([]LogEntry, error)
	VerifyLog() (LogChain, error)
}

// LogExport says what ExportLog writes.
type LogExport struct {
	// Keep selects the entries written; nil keeps every one.
	Keep func(LogEntry) bool
	// Text writes tab-separated lines instead of CSV.
	Text bool
	// Page is how many entries one read returns; 0 means 1,000.
	Page int
}

// ExportLog writes the audit log's entries that o keeps, oldest first,
// with a header row, as the console's Log screen exports them and
// `provisio log export` prints them: time (local, RFC 3339), level,
// user, message and by (who acted). The last row is the log chain's
// head, so a reader can check later that the log was not rewritten after
// the export (provisio log verify prints the same head). It returns how
// many entries it wrote.
func ExportLog(w io.Writer, r LogReader, o LogExport) (int, error) {
	if o.Page <= 0 {
		o.Page = 1000
	}
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	row := func(f ...string) error {
		if o.Text {
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
		page, err := r.Logs(after, o.Page)
		if err != nil {
			return n, err
		}
		for _, e := range page {
			if o.Keep == nil || o.Keep(e) {
				if err := row(e.Time.Local().Format(time.RFC3339), string(e.Level), e.User, e.Message, e.Actor); err != nil {
					return n, err
				}
				n++
			}
		}
		if len(page) < o.Page {
			break
		}
		after = page[len(page)-1].Seq
	}
	if v, err := r.VerifyLog(); err == nil {
		if err := row(r.Now().Local().Format(time.RFC3339), "chain", "", fmt.Sprintf("Log chain head after #%d: %s", v.Last, v.Head), ""); err != nil {
			return n, err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}
