package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Tests of the backup and restore audit (docs/decisions.md "Backup and
// restore audit").

// failingWriter writes through to the file until limit bytes, then fails
// as the system would, naming the (temporary) file.
type failingWriter struct {
	f     *os.File
	limit int
	errno syscall.Errno
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n, _ := w.f.Write(p[:w.limit])
		w.limit = 0
		return n, &fs.PathError{Op: "write", Path: w.f.Name(), Err: w.errno}
	}
	w.limit -= len(p)
	return w.f.Write(p)
}

// TestCLI_BackupOutWriteFailureIsASentence: a backup whose file cannot be
// written (the disk fills up half-way, an I/O error) says so in one
// sentence naming --out, taken in this process or streamed by a running
// server alike, and leaves no file, whole or half, in the folder. Before,
// the local backup printed "write the backup: write /…/.b.age.123.tmp: no
// space left on device" and the attached one "the backup did not arrive
// whole: write /…/.b.age.456.tmp: …".
func TestCLI_BackupOutWriteFailureIsASentence(t *testing.T) {
	root := privateTempDir(t)
	pass := filepath.Join(root, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(root, "local")
	if code, _, errOut := runCLI(t, local, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	attached := filepath.Join(root, "attached")
	heldWithAdminKeys(t, attached, filepath.Join(root, "attached-keys"))

	tests := []struct {
		name, dir string
		errno     syscall.Errno
		want      string
	}{
		{"local, disk full", local, syscall.ENOSPC, "provisio: The backup could not be written to OUT: the disk is full (nothing was written).\n"},
		{"local, quota", local, syscall.EDQUOT, "provisio: The backup could not be written to OUT: the disk is full (nothing was written).\n"},
		{"local, I/O error", local, syscall.EIO, "provisio: The backup could not be written to OUT (input/output error); nothing was written.\n"},
		{"attached, disk full", attached, syscall.ENOSPC, "provisio: The backup could not be written to OUT: the disk is full (nothing was written).\n"},
		{"attached, I/O error", attached, syscall.EIO, "provisio: The backup could not be written to OUT (input/output error); nothing was written.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			folder := t.TempDir()
			out := filepath.Join(folder, "b.age")
			backupOutWriter = func(f *os.File) io.Writer { return &failingWriter{f: f, limit: 4096, errno: tt.errno} }
			defer func() { backupOutWriter = nil }()
			code, stdout, errOut := runCLI(t, tt.dir, "backup", "--out", out, "--passphrase-file", pass)
			backupOutWriter = nil
			// Attached, the line "attached to the Provisio running on …"
			// comes first.
			if want := strings.ReplaceAll(tt.want, "OUT", out); code != exitError || !strings.HasSuffix(errOut, want) || strings.Contains(errOut, ".tmp") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, errOut, want)
			}
			if es, err := os.ReadDir(folder); err != nil || len(es) != 0 {
				t.Errorf("the folder holds %v after the failed backup (%v)", es, err)
			}
			// The same backup goes through once the disk has room.
			if code, stdout, errOut := runCLI(t, tt.dir, "backup", "--out", out, "--passphrase-file", pass); code != exitOK || !isBackupFile(out) {
				t.Fatalf("backup: exit %d, %q %q", code, stdout, errOut)
			}
		})
	}
}
