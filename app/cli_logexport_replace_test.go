package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"provisio/core"
)

// log export --out replaces an earlier export (a daily export to one
// name) or an empty file, and refuses to replace anything else or a
// folder, with a sentence, leaving it as it was.
func TestCLI_LogExportReplacesOnlyAnExport(t *testing.T) {
	dir := privateTempDir(t)
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	tests := []struct {
		name    string
		old     string // "" with folder: a folder
		folder  bool
		replace bool
		errText string
	}{
		{name: "no file", replace: true},
		{name: "an earlier CSV export", old: "time,level,user,message,by\n2026-12-01T10:00:00+01:00,info,bob,x,y\n", replace: true},
		{name: "an earlier text export", old: "time\tlevel\tuser\tmessage\tby\n", replace: true},
		{name: "an export from before the by column", old: "time,level,user,message\n", replace: true},
		{name: "an empty file", old: "", replace: true},
		{name: "a report", old: "Quarterly report\nrevenue,up\n", errText: "exists and is not an audit log export, so it is not replaced; choose another name or move it away first (nothing was written)."},
		{name: "a folder", folder: true, errText: "is a folder; give the export's file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			folder := t.TempDir()
			out := filepath.Join(folder, "audit.csv")
			switch {
			case tt.folder:
				if err := os.Mkdir(out, 0o700); err != nil {
					t.Fatal(err)
				}
			case tt.name != "no file":
				if err := os.WriteFile(out, []byte(tt.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, errOut := runCLI(t, dir, "log", "export", "--out", out)
			if tt.replace {
				data, err := os.ReadFile(out)
				if code != exitOK || err != nil || !bytes.Contains(data, []byte(`User ""alice"" added.`)) {
					t.Fatalf("export: %d %q %q; file %q %v", code, stdout, errOut, data, err)
				}
			} else {
				if code != exitError || !strings.Contains(errOut, "provisio: "+out+" ") && !strings.Contains(errOut, "--out "+out+" ") || !strings.Contains(errOut, tt.errText) {
					t.Errorf("export over %s: %d %q, want %q", tt.name, code, errOut, tt.errText)
				}
				if !tt.folder {
					if data, _ := os.ReadFile(out); string(data) != tt.old {
						t.Errorf("the file was changed to %q", data)
					}
				}
			}
			if m, _ := filepath.Glob(filepath.Join(folder, ".*.tmp")); len(m) != 0 {
				t.Errorf("temporary files left: %v", m)
			}
		})
	}
}

// failingLogs is a console whose log cannot be read past the first call.
type failingLogs struct{ core.ConsoleAPI }

func (failingLogs) Logs(uint64, int) ([]core.LogEntry, error) {
	return nil, errors.New("the service stopped answering")
}

// An export that fails half-way leaves the previous export as it was.
func TestCLI_LogExportFailedKeepsThePrevious(t *testing.T) {
	e := loopbackEnvIn(t, privateTempDir(t))
	out := filepath.Join(t.TempDir(), "audit.csv")
	c := &cli{out: io.Discard, errOut: io.Discard}
	if err := c.exportLog(e.svc, out, false); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(before, []byte("time,level,user,message,by\n")) {
		t.Fatalf("first export %q %v", before, err)
	}
	err = c.exportLog(failingLogs{e.svc}, out, false)
	if err == nil || !strings.Contains(err.Error(), "nothing was written there") {
		t.Fatalf("failed export: %v", err)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(after, before) {
		t.Errorf("the previous export became %q", after)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*.tmp")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}
