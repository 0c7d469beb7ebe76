//go:build !linux

package store

import (
	"errors"
	"os"
	"time"
)

// walSupported is false: outside Linux every commit is bbolt's own
// (wal.go), and these are never called with a WAL in use.
const walSupported = false

func fdatasync(f *os.File) error { return f.Sync() }

func fileID(string) (uint64, uint64, error) {
	return 0, 0, errors.New("the write-ahead log is only used on Linux")
}

func lockFile(*os.File, time.Duration) error {
	return errors.New("the write-ahead log is only used on Linux")
}
