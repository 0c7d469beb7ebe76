//go:build linux || darwin || freebsd

package store

import "syscall"

// FreeSpace returns a probe of the bytes available to an unprivileged
// writer on the file system holding dir, for core.WithFreeSpace.
func FreeSpace(dir string) func() (uint64, error) {
	return func() (uint64, error) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return 0, err
		}
		return uint64(st.Bavail) * uint64(st.Bsize), nil
	}
}
