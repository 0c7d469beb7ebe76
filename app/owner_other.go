//go:build !unix

package main

import (
	"errors"
	"os"
)

// ownedBySelf is false where Unix ownership and modes do not apply: the
// data directory's mode is then left as it is.
func ownedBySelf(os.FileInfo) bool { return false }

// chownLike does nothing where Unix ownership does not apply.
func chownLike(string, ...string) error { return nil }

// errRestoreRunning: another process holds the restore lock of a folder.
var errRestoreRunning = errors.New("a restore is running")

// lockRestore has no lock to take where flock does not exist.
func lockRestore(string) (func(), error) { return func() {}, nil }

// errDirHeld: another process holds a folder's lock (flockDir).
var errDirHeld = errors.New("the folder is held by another process")

// flockDir has no lock to take where flock does not exist.
func flockDir(string) (func(), error) { return func() {}, nil }
