//go:build unix

package core

import (
	"os"
	"syscall"
)

// HoldWhileWriting locks f, a backup's temporary file, for as long as it
// is open (the service's backups and the command line's backup --out), so
// RemoveIfAbandoned can tell a backup being written
// (locked) from one whose process died (the kernel drops the lock of a
// killed process). A file system without locks only loses that clean-up.
func HoldWhileWriting(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// RemoveIfAbandoned removes path if no process holds its lock, and
// reports whether it did.
func RemoveIfAbandoned(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false, nil // a backup is being written into it
	}
	if err := os.Remove(path); err != nil {
		return false, err
	}
	return true, nil
}
