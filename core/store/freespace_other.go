//go:build !(linux || darwin || freebsd)

package store

import "errors"

// FreeSpace returns a probe that always fails on systems where the free
// space is not measured; the free-space check is then off.
func FreeSpace(dir string) func() (uint64, error) {
	return func() (uint64, error) { return 0, errors.New("free space is not measured on this system") }
}
