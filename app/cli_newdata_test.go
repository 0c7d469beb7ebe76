package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCLI_NewDataDirectoryIsSaid: a mistyped --data used to start a
// second, empty Provisio without a word, and "user add" put the person
// where no server looks. The first command on a directory without data
// now says it started one, and where the service's is; later commands say
// nothing.
func TestCLI_NewDataDirectoryIsSaid(t *testing.T) {
	dir := filepath.Join(privateTempDir(t), "provisoi")
	code, _, errOut := runCLI(t, dir, "user", "add", "alice")
	want := "provisio: there was no data in " + dir + ", so a new, empty data directory was started there; if you meant another, give its path with --data (the service's is /var/lib/provisio)."
	if code != exitOK || !strings.Contains(errOut, want) {
		t.Errorf("first command on %s: exit %d, stderr %q; want %q", dir, code, errOut, want)
	}
	if code, out, errOut := runCLI(t, dir, "user", "list"); code != exitOK || !strings.Contains(out, "alice") || strings.Contains(errOut, "new, empty data directory") {
		t.Errorf("second command: exit %d, %q %q; want alice listed and no notice", code, out, errOut)
	}
}
