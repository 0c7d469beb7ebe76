//go:build !unix

package main

import "os"

// ownedBySelf is false where Unix ownership and modes do not apply: the
// data directory's mode is then left as it is.
func ownedBySelf(os.FileInfo) bool { return false }
