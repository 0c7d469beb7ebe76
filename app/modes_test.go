package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDirs_ForTheOwnerOnly (#13): with umask 0, everything serve makes in
// the data and key directories (the data file, the marker, the admin
// socket, the data key, the TLS key, the device and console CAs' keys)
// is for its owner only, directories 0700 and files 0600; only
// certificates (*.pem that hold no key) may be read by others, and
// nothing may be written by them. The same after a key rotation.
func TestDirs_ForTheOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	root := privateTempDir(t)
	dir, keys := filepath.Join(root, "office"), filepath.Join(root, "office-keys")
	check := func(when string, wantSocket bool) {
		t.Helper()
		var n int
		sock := false
		for _, top := range []string{dir, keys} {
			err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				fi, err := os.Lstat(path)
				if err != nil {
					return err
				}
				n++
				m, name := fi.Mode(), d.Name()
				switch {
				case m.IsDir():
					if m.Perm() != 0o700 {
						t.Errorf("%s: the directory %s is %04o, want 0700", when, path, m.Perm())
					}
				case m&fs.ModeSocket != 0:
					sock = true
					if m.Perm() != 0o600 {
						t.Errorf("%s: the socket %s is %04o, want 0600", when, path, m.Perm())
					}
				case strings.HasSuffix(name, ".pem") && !strings.HasPrefix(name, "key"):
					// A certificate: public, but nobody else may change it.
					if m.Perm()&0o022 != 0 || m.Perm()&0o600 != 0o600 {
						t.Errorf("%s: the certificate %s is %04o, want 0644 or tighter", when, path, m.Perm())
					}
				default:
					if m.Perm() != 0o600 {
						t.Errorf("%s: %s is %04o, want 0600", when, path, m.Perm())
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if n < 8 {
			t.Errorf("%s: only %d entries in the data and key directories; the test proves little", when, n)
		}
		if sock != wantSocket {
			t.Errorf("%s: admin socket found %v, want %v", when, sock, wantSocket)
		}
	}

	s := startServe(t, 30*time.Second, "--data", dir, "--key-dir", keys, "serve", "--listen", "127.0.0.1:0")
	for _, f := range []string{filepath.Join(keys, "key.pem"), filepath.Join(keys, "device-ca.key"), filepath.Join(keys, "console-ca.key")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("serve did not make %s: %v", f, err)
		}
	}
	check("while serve runs", true)
	if code := s.halt(); code > 0 {
		t.Fatalf("serve exit %d: %s", code, s.errOut.String())
	}
	var out, errOut syncBuffer
	if code := run([]string{"--data", dir, "--key-dir", keys, "key", "rotate"}, &out, &errOut); code != exitOK {
		t.Fatalf("key rotate: %d %q", code, errOut.String())
	}
	check("after a key rotation", false)
}
