package store

import (
	"errors"
	"math"
	"os"
	"syscall"
	"time"
)

// walSupported: WAL mode needs the large up-front mapping (walMmapSize),
// so a 64-bit address space, and fdatasync; it is built and tested on
// Linux, where the server runs.
const walSupported = math.MaxInt > 1<<32

func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

// fileID is the device and inode of the file at path: the WAL names the
// data file it belongs to, so it is never applied to another one (a
// restored backup, a copy).
func fileID(path string) (dev, ino uint64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, errors.New("the data file's inode is unknown")
	}
	return uint64(st.Dev), st.Ino, nil
}

// lockFile takes the exclusive lock bbolt takes (flock), waiting up to
// timeout. Closing f releases it.
func lockFile(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case err != syscall.EWOULDBLOCK:
			return err
		case time.Now().After(deadline):
			return ErrLocked
		}
		time.Sleep(50 * time.Millisecond)
	}
}
