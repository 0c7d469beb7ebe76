//go:build unix

package main

import (
	"os"
	"syscall"
)

// holdBackupFile locks f, a backup's temporary file, while it is open, so
// a later backup to the same name tells one being written (locked) from
// one whose process died (the kernel drops a killed process's lock).
func holdBackupFile(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// removeDeadBackupFile removes path unless a running backup holds it; it
// reports whether path was removed.
func removeDeadBackupFile(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false, nil
	}
	return true, os.Remove(path)
}
