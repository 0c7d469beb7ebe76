//go:build unix

package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ownedBySelf reports whether this process's effective user owns the
// file fi describes.
func ownedBySelf(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// chownLike gives each path, and everything under it when it is a
// folder, the owner and group of like, when this process runs as root.
// A restore run with sudo on the service's directories must leave them
// the service user's: files left to root (0600) kept the service from
// opening its own data. like missing (a first restore) changes nothing.
func chownLike(like string, paths ...string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(like)
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, int(st.Uid), int(st.Gid))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// errRestoreRunning: another process holds the restore lock of a folder.
var errRestoreRunning = errors.New("a restore is running")

// errDirHeld: another process holds a folder's lock (flockDir).
var errDirHeld = errors.New("the folder is held by another process")

// lockRestore takes the restore lock of dir, the folder that holds the
// data directory: an advisory lock (flock) on the folder itself, so no
// lock file is left behind, and a restore killed with kill -9 releases
// it with its process. It fails at once with errRestoreRunning when
// another process holds it.
func lockRestore(dir string) (unlock func(), err error) {
	unlock, err = flockDir(dir)
	if errors.Is(err, errDirHeld) {
		return nil, errRestoreRunning
	}
	return unlock, err
}

// flockDir takes an exclusive advisory lock (flock) on the folder dir
// itself: no lock file is left behind, and a process killed with kill -9
// releases it with its process. It fails at once with errDirHeld when
// another process holds it.
func flockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errDirHeld
		}
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
