package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"provisio/core"
	"provisio/core/certs"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// TestCLI_KeyDir: the data key is made on first run in the sibling key
// directory (0700/0600); a key directory inside the data directory, a
// missing key and a wrong key are one sentence and exit code 1.
func TestCLI_KeyDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "provisio")
	if code, _, errOut := runCLIIn(t, dir, "731945862\n", "user", "add", "alice", "--pin", "-"); code != exitOK {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	keyDir := dir + "-keys"
	fi, err := os.Stat(keyDir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("key dir: %v %v", fi, err)
	}
	key := filepath.Join(keyDir, store.KeyFileName)
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != store.KeySize {
		t.Fatalf("key file: %v %v", fi, err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, store.FileName))
	if bytes.Contains(data, []byte("731945862")) {
		t.Fatal("the PIN is in the data file in plain text")
	}

	t.Run("key dir inside the data dir", func(t *testing.T) {
		code, _, errOut := runCLI(t, dir, "--key-dir", filepath.Join(dir, "k"), "user", "list")
		if code != exitError || !strings.Contains(errOut, "inside the data directory") || strings.Count(errOut, "\n") != 1 {
			t.Fatalf("%d %q", code, errOut)
		}
	})
	t.Run("PROVISIO_KEY_DIR moves it", func(t *testing.T) {
		other := t.TempDir()
		if err := os.Rename(keyDir, filepath.Join(other, "k")); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(filepath.Join(other, "k"), keyDir)
		code, _, errOut := runCLI(t, dir, "user", "list")
		if code != exitError || !strings.Contains(errOut, "data key is missing") || strings.Count(errOut, "\n") != 1 {
			t.Fatalf("missing key: %d %q", code, errOut)
		}
		t.Setenv("PROVISIO_KEY_DIR", filepath.Join(other, "k"))
		if code, out, errOut := runCLI(t, dir, "user", "list"); code != exitOK || !strings.Contains(out, "alice") {
			t.Fatalf("with PROVISIO_KEY_DIR: %d %q %q", code, out, errOut)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		good, _ := os.ReadFile(key)
		defer os.WriteFile(key, good, 0o600)
		if err := os.WriteFile(key, bytes.Repeat([]byte{9}, store.KeySize), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI(t, dir, "user", "list")
		if code != exitError || !strings.Contains(errOut, "not the one") || strings.Count(errOut, "\n") != 1 {
			t.Fatalf("wrong key: %d %q", code, errOut)
		}
	})
	if code, out, _ := runCLI(t, dir, "user", "list"); code != exitOK || !strings.Contains(out, "alice") {
		t.Fatalf("after the key came back: %d %q", code, out)
	}
}

// TestCLI_LogVerify is #13's second done-when through the CLI: one
// flipped byte of one log record makes 'log verify' fail naming it.
func TestCLI_LogVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "provisio")
	for _, u := range []string{"alice", "bob", "carol"} {
		if code, _, errOut := runCLI(t, dir, "user", "add", u); code != exitOK {
			t.Fatalf("user add: %d %s", code, errOut)
		}
	}
	code, out, errOut := runCLI(t, dir, "log", "verify")
	if code != exitOK || !strings.Contains(out, "Log verified up to #") || !strings.Contains(out, "Chain head: ") {
		t.Fatalf("verify: %d %q %q", code, out, errOut)
	}
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("log"))
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if i := bytes.Index(v, []byte(`bob`)); i >= 0 {
				seq = binary.BigEndian.Uint64(k)
				v = bytes.Clone(v)
				v[i] ^= 0x20 // bob → Bob
				return b.Put(bytes.Clone(k), v)
			}
		}
		return nil
	})
	db.Close()
	if err != nil || seq == 0 {
		t.Fatalf("no log entry names bob: %v", err)
	}
	code, _, errOut = runCLI(t, dir, "log", "verify")
	want := "entry #" + itoaU(seq) + ":"
	if code != exitError || !strings.Contains(errOut, want) || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("verify after a flipped byte: %d %q, want %q", code, errOut, want)
	}
}

func itoaU(n uint64) string { return strconv.FormatUint(n, 10) }

// TestEnv_TLSKeyInKeyDir: the generated certificate's private key lives in
// the key directory; one left in the data directory by an older version
// moves there, and the certificate (the one phones pinned) stays.
func TestEnv_TLSKeyInKeyDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "provisio")
	keyDir := store.DefaultKeyDir(dir)
	// An older layout: the pair together in the data directory.
	if code, _, errOut := runCLI(t, dir, "user", "list"); code != exitOK {
		t.Fatalf("first run: %s", errOut)
	}
	old, err := certs.LoadOrCreate(dir, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, certs.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	e, err := openEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	if err := e.sup.LoadCert(); err != nil {
		t.Fatal(err)
	}
	if e.sup.Fingerprint() != certs.Fingerprint(old) {
		t.Fatalf("fingerprint changed: %s, was %s", e.sup.Fingerprint(), certs.Fingerprint(old))
	}
	if _, err := os.Stat(filepath.Join(dir, certs.KeyFile)); !os.IsNotExist(err) {
		t.Fatalf("key.pem still in the data directory: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(keyDir, certs.KeyFile)); err != nil || !bytes.Equal(got, keyPEM) {
		t.Fatalf("key.pem in the key directory: %v", err)
	}
	body := strings.Join(strings.Split(string(keyPEM), "\n")[1:3], "")
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if data, _ := os.ReadFile(path); bytes.Contains(data, []byte(body[:40])) {
			t.Errorf("%s holds the TLS private key", path)
		}
		return nil
	})
}

func TestCLI_KeyRotate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "provisio")
	if code, _, errOut := runCLIIn(t, dir, "731945862\n", "user", "add", "alice", "--pin", "-"); code != exitOK {
		t.Fatalf("user add: %s", errOut)
	}
	key := filepath.Join(dir+"-keys", store.KeyFileName)
	old, _ := os.ReadFile(key)
	code, out, errOut := runCLI(t, dir, "key", "rotate")
	if code != exitOK || !strings.Contains(out, "re-encrypted") {
		t.Fatalf("rotate: %d %q %q", code, out, errOut)
	}
	if now, _ := os.ReadFile(key); bytes.Equal(now, old) || len(now) != store.KeySize {
		t.Fatal("the key did not change")
	}
	if code, out, _ := runCLI(t, dir, "log", "verify"); code != exitOK || !strings.Contains(out, "Log verified") {
		t.Fatalf("verify after rotate: %q", out)
	}
	if code, out, _ := runCLI(t, dir, "user", "list"); code != exitOK || !strings.Contains(out, "alice") {
		t.Fatalf("users after rotate: %q", out)
	}
}

// TestCLI_StoreLinesNameWhoOpened: the lines the store writes itself name
// the actor the program opened it for: a data file written without a key
// is encrypted on its first open by a command (the command line), by
// serve (the server) or by the console; "key rotate" is the command
// line's.
func TestCLI_StoreLinesNameWhoOpened(t *testing.T) {
	// plain makes a data file as a Provisio from before #13 wrote it.
	plain := func(t *testing.T, dir string) {
		t.Helper()
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		storetest.MustAddUser(t, storetest.MustServiceOn(t, st), "alice", "731945862")
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	const encrypted, rotated = "were encrypted with the data key", "The data key was rotated"
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		act   func(t *testing.T, dir string)
		msg   string
		want  string
	}{
		{"a command encrypts", plain, func(t *testing.T, dir string) {
			if code, _, errOut := runCLI(t, dir, "user", "list"); code != exitOK {
				t.Fatalf("user list: %d %s", code, errOut)
			}
		}, encrypted, "the command line"},
		{"serve encrypts", func(t *testing.T, dir string) {
			plain(t, dir)
			// startServe's loopbackListeners would open the directory
			// with a command first: its listeners are set here instead.
			st, err := store.Open(dir, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			svc := storetest.MustServiceOn(t, st)
			for _, key := range []string{"server.mtls_listen", "server.admin_listen"} {
				if err := svc.SetSetting(key, freeAddr(t)); err != nil {
					t.Fatal(err)
				}
			}
			st.Close()
		}, func(t *testing.T, dir string) {
			srv := startServeAsIs(t, 20*time.Second, "--data", dir, "serve", "--listen", "127.0.0.1:0")
			if code := srv.halt(); code != 0 {
				t.Fatalf("serve exit %d: %s", code, srv.errOut.String())
			}
		}, encrypted, "the server"},
		{"the console encrypts", plain, func(t *testing.T, dir string) {
			e, err := (&cli{dataDir: dir, errOut: io.Discard}).openEnv(core.ConsoleActor)
			if err != nil {
				t.Fatal(err)
			}
			e.close()
		}, encrypted, "the console"},
		{"key rotate", func(t *testing.T, dir string) {
			if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
				t.Fatalf("user add: %d %s", code, errOut)
			}
		}, func(t *testing.T, dir string) {
			if code, out, errOut := runCLI(t, dir, "key", "rotate"); code != exitOK {
				t.Fatalf("key rotate: %d %q %q", code, out, errOut)
			}
		}, rotated, "the command line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(privateTempDir(t), "provisio")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, dir)
			tc.act(t, dir)
			e, err := openEnv(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer e.close()
			entries, err := e.svc.Logs(0, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, en := range entries {
				if strings.Contains(en.Message, tc.msg) {
					got = append(got, en.Actor)
				}
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("actors of the %q lines = %q, want [%q]", tc.msg, got, tc.want)
			}
			if _, err := e.svc.VerifyLog(); err != nil {
				t.Errorf("log verify: %v", err)
			}
		})
	}
}

// TestCLI_StoreCopyToDirSaysWhichKeyOpensIt: a copy into another data
// directory is sealed with the source's data key, which stays in the
// source's key directory; the copy's own default key directory (beside
// it) is empty, so used as it is the copy only said its key was missing,
// as if it were lost. The copy says which key opens it, and both ways it
// names work; with the key directory shared (PROVISIO_KEY_DIR) it says
// nothing more.
func TestCLI_StoreCopyToDirSaysWhichKeyOpensIt(t *testing.T) {
	t.Run("default key directories", func(t *testing.T) {
		root := privateTempDir(t)
		dir, dest := filepath.Join(root, "office"), filepath.Join(root, "copy")
		if code, _, errOut := runCLIIn(t, dir, "7319\n", "user", "add", "alice", "--pin", "-"); code != exitOK {
			t.Fatalf("user add: %q", errOut)
		}
		code, out, errOut := runCLI(t, dir, "store", "copy", "--to", dest)
		want := fmt.Sprintf("Its secrets open with the data key in %s: give --key-dir %s with --data %s, or copy provisio.key into %s.\n",
			keyDirFor(dir, ""), keyDirFor(dir, ""), dest, keyDirFor(dest, ""))
		if code != exitOK || !strings.HasSuffix(out, want) {
			t.Fatalf("store copy: exit %d, stdout %q, stderr %q; want it to end with %q", code, out, errOut, want)
		}
		// The first way: --key-dir.
		if code, out, errOut := runCLI(t, dest, "--key-dir", keyDirFor(dir, ""), "user", "list"); code != exitOK || !strings.Contains(out, "alice") {
			t.Fatalf("user list with --key-dir: exit %d %q %q", code, out, errOut)
		}
		// The second: the key copied beside the copy.
		key, err := os.ReadFile(filepath.Join(keyDirFor(dir, ""), store.KeyFileName))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(keyDirFor(dest, ""), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(keyDirFor(dest, ""), store.KeyFileName), key, 0o600); err != nil {
			t.Fatal(err)
		}
		if code, out, errOut := runCLI(t, dest, "user", "list"); code != exitOK || !strings.Contains(out, "alice") {
			t.Fatalf("user list with the key copied: exit %d %q %q", code, out, errOut)
		}
	})
	t.Run("one key directory for both", func(t *testing.T) {
		root := privateTempDir(t)
		t.Setenv("PROVISIO_KEY_DIR", filepath.Join(root, "keys"))
		dir, dest := filepath.Join(root, "office"), filepath.Join(root, "copy")
		if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
			t.Fatalf("user add: %q", errOut)
		}
		code, out, errOut := runCLI(t, dir, "store", "copy", "--to", dest)
		if code != exitOK || strings.Contains(out, "data key") {
			t.Fatalf("store copy: exit %d, stdout %q, stderr %q; want no word on the key", code, out, errOut)
		}
		if code, out, errOut := runCLI(t, dest, "user", "list"); code != exitOK || !strings.Contains(out, "alice") {
			t.Fatalf("user list on the copy: exit %d %q %q", code, out, errOut)
		}
	})
}
