//go:build unix

package main

import (
	"os"
	"syscall"
)

// ownedBySelf reports whether this process's effective user owns the
// file fi describes.
func ownedBySelf(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
