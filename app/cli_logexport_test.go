package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLI_LogExport: the audit log as a file for an auditor, from a
// server with no console (the service, or --connect): CSV with the Log
// screen's columns and the chain head last, tab-separated text with
// --text, to stdout without --out; attached to a running server too; a
// folder that cannot be written is a sentence and leaves no file.
func TestCLI_LogExport(t *testing.T) {
	dir := privateTempDir(t)
	for _, u := range []string{"alice", "bob"} {
		if code, _, errOut := runCLI(t, dir, "user", "add", u); code != exitOK {
			t.Fatalf("user add %s: %d %s", u, code, errOut)
		}
	}
	out := filepath.Join(t.TempDir(), "audit.csv")
	code, stdout, errOut := runCLI(t, dir, "log", "export", "--out", out)
	if code != exitOK || !strings.HasPrefix(stdout, "Exported ") || !strings.Contains(stdout, " to "+out+".") {
		t.Fatalf("log export: %d %q %q", code, stdout, errOut)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "time,level,user,message,by" {
		t.Fatalf("header %q", got)
	}
	found := false
	for _, r := range rows[1 : len(rows)-1] {
		found = found || r[2] == "bob" && r[3] == `User "bob" added.` && r[4] == "the command line"
	}
	if last := rows[len(rows)-1]; !found || last[1] != "chain" || !strings.HasPrefix(last[3], "Log chain head after #") {
		t.Fatalf("rows %q", rows)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the export's mode is %v (%v), want 0600: it names every user", fi.Mode().Perm(), err)
	}

	// To stdout, as text.
	code, stdout, errOut = runCLI(t, dir, "log", "export", "--text")
	if code != exitOK || !strings.HasPrefix(stdout, "time\tlevel\tuser\tmessage\tby\n") || !strings.Contains(stdout, "bob\tUser \"bob\" added.\tthe command line\n") {
		t.Fatalf("log export --text: %d %q %q", code, stdout, errOut)
	}

	// A folder that is not there: a sentence, nothing written.
	missing := filepath.Join(t.TempDir(), "no-such-folder", "audit.csv")
	code, _, errOut = runCLI(t, dir, "log", "export", "--out", missing)
	if code != exitError || !strings.Contains(errOut, "no-such-folder") || strings.Contains(errOut, ".tmp") {
		t.Errorf("export into a missing folder: %d %q", code, errOut)
	}

	// Attached to a running server.
	srv := startServe(t, 20*time.Second, "--data", dir, "serve", "--listen", "127.0.0.1:0")
	defer srv.halt()
	if code, _, errOut := runCLI(t, dir, "user", "add", "carol"); code != exitOK {
		t.Fatalf("attached user add: %d %s", code, errOut)
	}
	code, stdout, errOut = runCLI(t, dir, "log", "export")
	if code != exitOK || !strings.Contains(stdout, `carol,"User ""carol"" added.",`) {
		t.Fatalf("attached log export: %d %q %q", code, stdout, errOut)
	}
}
