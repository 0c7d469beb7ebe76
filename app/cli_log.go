package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"provisio/core"
	"provisio/core/adminapi"
)

// The audit log commands: log show, log export and log verify.

var logCommands = map[string]command{
	"show": {
		usage: "log show [--tail N]",
		setup: func(fs *flag.FlagSet) action {
			tail := fs.Int("tail", 50, "how many of the newest entries to print (at most 5000)")
			return func(c *cli, _ []string) error {
				if *tail < 1 || *tail > 5000 {
					return usagef("--tail takes 1 to 5000 entries")
				}
				return c.withAPI(func(api adminapi.API, _ *env) error {
					r, ok := api.(logTailer)
					if !ok {
						return errors.New("this server cannot list its audit log")
					}
					entries, err := r.LogTail(*tail)
					if err != nil {
						return err
					}
					writeLogTable(c.out, entries)
					return nil
				})
			}
		},
	},
	"export": {
		usage: "log export [--out FILE] [--text]",
		setup: func(fs *flag.FlagSet) action {
			out := fs.String("out", "", "write to FILE (CSV, or tab-separated text with --text) instead of standard output")
			text := fs.Bool("text", false, "tab-separated text instead of CSV")
			return func(c *cli, _ []string) error {
				return c.withConsole(func(api core.ConsoleAPI) error {
					return c.exportLog(api, *out, *text)
				})
			}
		},
	},
	"verify": {
		usage: "log verify",
		setup: noFlags(func(c *cli, _ []string) error {
			return c.withEnv(func(e *env) error {
				// A failure is a *core.Error whose sentence names the entry.
				v, err := e.svc.VerifyLog()
				if err != nil {
					return err
				}
				fmt.Fprintln(c.out, logVerifiedText(v))
				fmt.Fprintf(c.out, "Chain head: %s\n", v.Head)
				return nil
			})
		}),
	},
}

// logTailer is the API that lists the audit log: the local one and the
// admin API's client (attached or --connect).
type logTailer interface {
	LogTail(limit int) ([]core.LogEntry, error)
}

// writeLogTable prints audit entries as the console's Log screen shows
// them, oldest first: time, level, user, by (who acted) and message. An
// entry from before the log named who acted shows "-" under BY.
func writeLogTable(w io.Writer, entries []core.LogEntry) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tLEVEL\tUSER\tBY\tMESSAGE")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Local().Format("2006-01-02 15:04:05"), e.Level,
			dash(e.User), dash(e.Actor), e.Message)
	}
	tw.Flush()
}

// logVerifiedText is the one-line result the CLI and the console show.
func logVerifiedText(v core.LogChain) string {
	s := fmt.Sprintf("Log verified up to #%d", v.Last)
	if v.Checkpoint > 0 {
		s += fmt.Sprintf(" (from #%d; older entries were trimmed at a signed checkpoint)", v.From)
	}
	return s + "."
}

// exportLog writes the whole audit log (core.ExportLog, as the Log
// screen's Export) to standard output, or to outPath through a
// temporary file beside it, so that a failed export never leaves a half
// file under the name, nor harms the file that was there. It replaces an
// earlier export (checkExportOut), never another file. The file is the
// owner's only: it names every user.
func (c *cli) exportLog(api core.ConsoleAPI, outPath string, text bool) error {
	o := core.LogExport{Text: text}
	if outPath == "" || outPath == "-" {
		_, err := core.ExportLog(c.out, api, o)
		return err
	}
	if err := checkExportOut(outPath); err != nil {
		return err
	}
	dir := filepath.Dir(outPath)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(outPath)+".*.tmp")
	if err != nil {
		return fmt.Errorf("The audit log cannot be written in the folder %s (%v); nothing was written.", dir, unwrapPath(err))
	}
	defer os.Remove(tmp.Name())
	n, err := core.ExportLog(tmp, api, o)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), outPath)
	}
	if err != nil {
		return fmt.Errorf("The audit log could not be written to %s (%v); nothing was written there.", outPath, unwrapPath(err))
	}
	fmt.Fprintf(c.out, "Exported %d audit log %s to %s.\n", n, map[bool]string{true: "entry", false: "entries"}[n == 1], outPath)
	return nil
}

// checkExportOut refuses an --out that log export must not replace: a
// folder, or a file that is not an earlier export (a mistyped name that
// hits a report or a configuration file). An earlier export, as a daily
// export to one name leaves, and an empty file, are replaced, as backup
// --out replaces an earlier backup.
func checkExportOut(out string) error {
	fi, err := os.Stat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("%s cannot be checked (%v); nothing was written.", out, unwrapPath(err))
	case fi.IsDir():
		return fmt.Errorf("--out %s is a folder; give the export's file name, such as %s (nothing was written).", out, filepath.Join(out, "audit.csv"))
	case !fi.Mode().IsRegular() || !isLogExport(out):
		return fmt.Errorf("%s exists and is not an audit log export, so it is not replaced; choose another name or move it away first (nothing was written).", out)
	}
	return nil
}

// logExportHeads start the first line of every export core.ExportLog
// writes, as CSV or as text, also those from before the "by" column.
var logExportHeads = []string{"time,level,user,message", "time\tlevel\tuser\tmessage"}

// isLogExport reports whether the file at path is empty or starts as an
// audit log export.
func isLogExport(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, err := io.ReadFull(f, head)
	if n == 0 {
		return errors.Is(err, io.EOF)
	}
	for _, h := range logExportHeads {
		if strings.HasPrefix(string(head[:n]), h) {
			return true
		}
	}
	return false
}
