package main

import (
	"strings"
	"testing"
)

// Tests of the CLI, backup, import and profiles audit
// (docs/decisions.md "CLI, backup, import and profiles audit").

// TestCLI_NonUTF8UserRefused: a username or full name typed in a
// Latin-1 terminal (bytes that are not UTF-8) is refused with a
// sentence, and whatever was tried, the audit log still verifies and a
// backup can be taken. Before, "user add $'b\xffc'" was accepted and its
// log line broke the chain for ever: 'log verify' and every backup
// failed with "The audit log does not verify at entry #N".
func TestCLI_NonUTF8UserRefused(t *testing.T) {
	dir := privateTempDir(t)
	for _, args := range [][]string{
		{"user", "add", "b\xffc"},
		{"user", "add", "bob", "--full-name", "M\xfcller"},
		{"user", "add", "bob", "--group", "Verk\xe4ufer"},
	} {
		code, _, errOut := runCLI(t, dir, args...)
		if code != exitError || !strings.Contains(errOut, "is not UTF-8 text") {
			t.Errorf("%q: exit %d, stderr %q; want exit 1 and a sentence about UTF-8", args, code, errOut)
		}
	}
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice", "--full-name", "Zoë Müller"); code != exitOK {
		t.Fatalf("a UTF-8 full name: exit %d, %q", code, errOut)
	}
	if code, out, errOut := runCLI(t, dir, "log", "verify"); code != exitOK {
		t.Fatalf("log verify: exit %d, %q %q", code, out, errOut)
	}
}
