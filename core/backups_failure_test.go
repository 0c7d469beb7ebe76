package core_test

import (
	"errors"
	"io"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// failingWriter is a backup writer whose writes fail with err.
type failingWriter struct{ err error }

func (f failingWriter) WriteBackup(io.Writer, core.BackupEncryption) (core.BackupSummary, error) {
	return core.BackupSummary{}, f.err
}

func (failingWriter) CheckEncryption(core.BackupEncryption) error { return nil }

// TestService_BackupFailureIsASentence: a backup into the folder that
// fails shows a sentence (Server → Backups, the status bar), never the
// system's text, which names a temporary file and a system call; the
// audit log keeps that detail. It used to show "write /…tmp: no space
// left on device".
func TestService_BackupFailureIsASentence(t *testing.T) {
	const tmp = "/var/backups/provisio/.provisio-20250602-090000.age.123.tmp"
	tests := []struct {
		name      string
		err       error
		want      string
		logDetail string
	}{
		{"disk full", &fs.PathError{Op: "write", Path: tmp, Err: syscall.ENOSPC},
			"The backup could not be written: the disk is full.", "no space left on device"},
		{"other system error", &fs.PathError{Op: "write", Path: tmp, Err: syscall.EIO},
			"The backup could not be written; the log has the details.", "input/output error"},
		{"core's own sentence", core.Errorf(core.CodeInvalid, "The data key could not be read."),
			"The data key could not be read.", ""},
		{"wrapped", errors.Join(errors.New("archive"), &fs.PathError{Op: "sync", Path: tmp, Err: syscall.ENOSPC}),
			"The backup could not be written: the disk is full.", "no space left on device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := storetest.MustService(t)
			svc.SetBackupWriter(failingWriter{tt.err})
			if err := svc.ChangeSettings(map[string]string{
				"backup.folder":    t.TempDir(),
				"backup.recipient": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
			}, "Backup settings"); err != nil {
				t.Fatal(err)
			}
			res := svc.BackupNow(false)
			if res.OK || res.Error != tt.want {
				t.Errorf("the console shows %q, want %q", res.Error, tt.want)
			}
			if h := svc.Health(); !strings.Contains(h.Message(), tt.want) {
				t.Errorf("status bar %q", h.Message())
			}
			entries, err := svc.LogTail(1)
			if err != nil || len(entries) != 1 {
				t.Fatal(entries, err)
			}
			if msg := entries[0].Message; !strings.HasPrefix(msg, "Backup failed: "+tt.want) || !strings.Contains(msg, tt.logDetail) {
				t.Errorf("log %q, want the sentence and %q", msg, tt.logDetail)
			}
		})
	}
}
