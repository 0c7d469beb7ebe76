package store_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/oathkey"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

func mustKey(tb testing.TB, b byte) []byte {
	tb.Helper()
	return bytes.Repeat([]byte{b}, store.KeySize)
}

// forms are the ways a secret could sit in a file: plain, hex, base64
// (all four alphabets) and, for byte secrets, base32 as authenticator
// apps show it.
func forms(secret []byte) map[string][]byte {
	f := map[string][]byte{
		"plain":     secret,
		"hex":       []byte(hex.EncodeToString(secret)),
		"HEX":       []byte(strings.ToUpper(hex.EncodeToString(secret))),
		"base64":    []byte(strings.TrimRight(base64.StdEncoding.EncodeToString(secret), "=")),
		"base64url": []byte(strings.TrimRight(base64.URLEncoding.EncodeToString(secret), "=")),
		"base32":    []byte(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)),
	}
	return f
}

// TestStore_NoSecretInDataDir is #13's first done-when: with a data key,
// no byte of the data directory gives away a PIN, a security string, an
// agent secret, the SMTP password, a device Id, an OATH secret or a
// queued code.
func TestStore_NoSecretInDataDir(t *testing.T) {
	dataDir, keyDir := t.TempDir(), t.TempDir()
	st, err := store.Open(dataDir, store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	svc := storetest.MustServiceOn(t, st, core.WithOATHKeys(oathkey.Keys{}))
	secrets := map[string][]byte{}
	add := func(what string, v []byte) { secrets[what] = append([]byte(nil), v...) }

	if err := svc.SetSetting("smtp.host", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetSetting("smtp.password", "Smtp-Pa55word-xyz"); err != nil {
		t.Fatal(err)
	}
	add("smtp password", []byte("Smtp-Pa55word-xyz"))
	agent := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "agent-s3cret-4567", Group: core.GroupAny}
	if err := svc.PutAgent(agent); err != nil {
		t.Fatal(err)
	}
	add("agent secret", []byte(agent.Secret))

	for i, name := range []string{"alice", "bob"} {
		pin := []string{"731945862", "864209753"}[i]
		storetest.MustAddUser(t, svc, name, pin)
		add(name+" pin", []byte(pin))
		ic, err := svc.CreateProvisionCode(name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := svc.Provision("127.0.0.1", name, ic.Code, "TestOS 1")
		if err != nil {
			t.Fatal(err)
		}
		add(name+" device id", []byte(p.DeviceID))
		d, err := svc.SecurityStrings(p.DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		for j, s := range strings.Split(d.Strings, ";") {
			add(name+" string "+string(rune('0'+j%10))+s, []byte(s))
		}
		// The login path works on sealed records.
		var ss core.StringSet
		for j, s := range strings.Split(d.Strings, ";") {
			copy(ss.S[j][:], s)
		}
		if err := svc.Login(agent, name, core.MobileCode(core.ExtractOTC(ss.S[3], pin), 3)); err != nil {
			t.Fatalf("login %s: %v", name, err)
		}
		// The agent secret is checked against its keyed hash.
		if _, ok := svc.AuthorizeAgent(mustAddr(t, "127.0.0.1"), agent.Secret); !ok {
			t.Fatal("the agent is refused with its secret")
		}
		if _, ok := svc.AuthorizeAgent(mustAddr(t, "127.0.0.1"), "wrong-secret-1"); ok {
			t.Fatal("the agent is accepted with a wrong secret")
		}
		if n, ok, err := svc.DeviceUser(p.DeviceID); err != nil || !ok || n != name {
			t.Fatalf("device lookup: %q %v %v", n, ok, err)
		}
	}
	storetest.MustAddUser(t, svc, "carol", "975318642")
	add("carol pin", []byte("975318642"))
	ic, err := svc.MailProvisionCode("carol")
	if err != nil {
		t.Fatal(err)
	}
	add("queued code", []byte(ic.Code))
	box, err := svc.Outbox()
	if err != nil || len(box) == 0 || box[0].Code != ic.Code {
		t.Fatalf("outbox %+v, %v: want the code readable through the store", box, err)
	}
	add("queued url", []byte(box[0].URL))
	if err := svc.SetSetting("oath.enabled", "true"); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, svc, "dave", "246813579")
	add("dave pin", []byte("246813579"))
	issued, err := svc.IssueOATH("dave", core.OATHOptions{Kind: core.OATHTOTP, Digits: 6})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(issued.SecretText, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	add("oath secret", raw)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	var files int
	err = filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for what, s := range secrets {
			for form, b := range forms(s) {
				if bytes.Contains(data, b) {
					t.Errorf("%s holds the %s in %s form", filepath.Base(path), what, form)
				}
			}
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk: %v, %d files", err, files)
	}
	if b, err := os.ReadFile(filepath.Join(keyDir, store.KeyFileName)); err != nil || len(b) != store.KeySize {
		t.Fatalf("key file: %d bytes, %v", len(b), err)
	}
	if fi, err := os.Stat(filepath.Join(keyDir, store.KeyFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
}

// TestStore_KeyErrors: a missing or wrong key is refused before anything
// is read; a key directory inside the data directory is refused.
func TestStore_KeyErrors(t *testing.T) {
	dataDir := t.TempDir()
	st, err := store.Open(dataDir, store.Options{Key: mustKey(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	svc := storetest.MustServiceOn(t, st)
	storetest.MustAddUser(t, svc, "alice", "731945862")
	st.Close()

	tests := []struct {
		name string
		opt  store.Options
		want error
	}{
		{"no key", store.Options{}, store.ErrKeyNeeded},
		{"missing key file", store.Options{KeyDir: t.TempDir()}, store.ErrKeyNeeded},
		{"wrong key", store.Options{Key: mustKey(t, 2)}, store.ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := store.Open(dataDir, tt.opt)
			if err == nil {
				st.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("open: %v, want %v", err, tt.want)
			}
			if strings.Count(err.Error(), ". ") > 0 || strings.Contains(err.Error(), "\n") {
				t.Errorf("not one sentence: %q", err)
			}
		})
	}
	// The missing-key case must not have made a new key.
	if err := store.CheckKeyDir(dataDir, filepath.Join(dataDir, "keys")); err == nil {
		t.Fatal("a key directory inside the data directory was accepted")
	}
	if _, err := store.Open(dataDir, store.Options{KeyDir: filepath.Join(dataDir, "keys")}); err == nil || !strings.Contains(err.Error(), "inside the data directory") {
		t.Fatalf("key dir inside data dir: %v", err)
	}
	if st, err := store.Open(dataDir, store.Options{Key: mustKey(t, 1)}); err != nil {
		t.Fatalf("right key: %v", err)
	} else {
		st.Close()
	}
}

// TestStore_MigratesPlainFile: a data file written without a key is sealed
// on the first open with one, in one transaction, logged, and reads back.
func TestStore_MigratesPlainFile(t *testing.T) {
	dataDir, keyDir := t.TempDir(), t.TempDir()
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := storetest.MustServiceOn(t, st)
	storetest.MustAddUser(t, svc, "alice", "731945862")
	ic, err := svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Provision("127.0.0.1", "alice", ic.Code, "TestOS 1")
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if data, _ := os.ReadFile(filepath.Join(dataDir, store.FileName)); !bytes.Contains(data, []byte("731945862")) {
		t.Fatal("the plain file does not hold the PIN: the test proves nothing")
	}

	st, err = store.Open(dataDir, store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	svc = storetest.MustServiceOn(t, st)
	u, err := svc.User("alice")
	if err != nil || u.PIN != "731945862" {
		t.Fatalf("after migration: PIN %q, %v", u.PIN, err)
	}
	if n, ok, err := svc.DeviceUser(p.DeviceID); !ok || err != nil || n != "alice" {
		t.Fatalf("device after migration: %q %v %v", n, ok, err)
	}
	tail, _ := svc.LogTail(50)
	found := false
	for _, e := range tail {
		found = found || strings.Contains(e.Message, "were encrypted with the data key")
	}
	if !found {
		t.Fatal("the migration is not in the log")
	}
	if _, err := st.VerifyLog(); err != nil {
		t.Fatalf("verify after migration: %v", err)
	}
	st.Close()
	data, _ := os.ReadFile(filepath.Join(dataDir, store.FileName))
	for _, s := range [][]byte{[]byte("731945862"), []byte(p.DeviceID)} {
		if bytes.Contains(data, s) {
			t.Errorf("after migration the file still holds %s (a free page not scrubbed?)", s)
		}
	}
}

// TestStore_RotateKey: after a rotation everything reads under the new
// key (PINs, strings, device lookups, agent secrets, the log chain, the
// trim checkpoint), the old key no longer opens the file, and a rotation
// a crash cut short before the rename is finished on the next open.
func TestStore_RotateKey(t *testing.T) {
	dataDir, keyDir := t.TempDir(), t.TempDir()
	st, err := store.Open(dataDir, store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	svc := storetest.MustServiceOn(t, st)
	agent := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "agent-s3cret-4567", Group: core.GroupAny}
	if err := svc.PutAgent(agent); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, svc, "alice", "731945862")
	ic, err := svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Provision("127.0.0.1", "alice", ic.Code, "TestOS 1")
	if err != nil {
		t.Fatal(err)
	}
	d, err := svc.SecurityStrings(p.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	var ss core.StringSet
	for j, s := range strings.Split(d.Strings, ";") {
		copy(ss.S[j][:], s)
	}
	if err := st.Update(func(tx core.Tx) error {
		_, _, err := tx.TrimLog(2, func(core.LogEntry, int) bool { return true })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	oldKey, _ := os.ReadFile(filepath.Join(keyDir, store.KeyFileName))
	if n, err := st.RotateKey(); err != nil || n == 0 {
		t.Fatalf("rotate: %d, %v", n, err)
	}
	st.Close()
	if newKey, _ := os.ReadFile(filepath.Join(keyDir, store.KeyFileName)); bytes.Equal(newKey, oldKey) {
		t.Fatal("the key file did not change")
	}
	if _, err := store.Open(dataDir, store.Options{Key: oldKey}); !errors.Is(err, store.ErrKeyMismatch) {
		t.Fatalf("old key: %v", err)
	}

	check := func(t *testing.T) {
		st, err := store.Open(dataDir, store.Options{KeyDir: keyDir})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		svc := storetest.MustServiceOn(t, st)
		if u, err := svc.User("alice"); err != nil || u.PIN != "731945862" {
			t.Fatalf("PIN after rotation: %q %v", u.PIN, err)
		}
		if n, ok, err := svc.DeviceUser(p.DeviceID); !ok || err != nil || n != "alice" {
			t.Fatalf("device after rotation: %q %v %v", n, ok, err)
		}
		if _, ok := svc.AuthorizeAgent(mustAddr(t, "127.0.0.1"), agent.Secret); !ok {
			t.Fatal("agent refused after rotation")
		}
		if v, err := st.VerifyLog(); err != nil || v.Checkpoint != 2 {
			t.Fatalf("log after rotation: %+v %v", v, err)
		}
		ls, _ := func() (ls core.LoginState, err error) {
			err = st.View(func(tx core.Tx) error { ls, err = tx.LoginState("alice"); return err })
			return
		}()
		if err := svc.Login(agent, "alice", core.MobileCode(core.ExtractOTC(ss.S[ls.Next], "731945862"), ls.Next)); err != nil {
			t.Fatalf("login after rotation: %v", err)
		}
	}
	t.Run("reads under the new key", check)

	t.Run("a crash before the rename is finished on open", func(t *testing.T) {
		st, err := store.Open(dataDir, store.Options{KeyDir: keyDir})
		if err != nil {
			t.Fatal(err)
		}
		cur, _ := os.ReadFile(filepath.Join(keyDir, store.KeyFileName))
		if _, err := st.RotateKey(); err != nil {
			t.Fatal(err)
		}
		st.Close()
		// Put the state back to "committed, not renamed".
		next, _ := os.ReadFile(filepath.Join(keyDir, store.KeyFileName))
		if err := os.WriteFile(filepath.Join(keyDir, store.KeyFileName+".new"), next, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(keyDir, store.KeyFileName), cur, 0o600); err != nil {
			t.Fatal(err)
		}
		check(t)
		if got, _ := os.ReadFile(filepath.Join(keyDir, store.KeyFileName)); !bytes.Equal(got, next) {
			t.Fatal("the pending key was not put in place")
		}
	})
}

// TestStore_LogEntryWithInvalidUTF8Verifies: an entry whose text is not
// valid UTF-8 (a username typed in a Latin-1 terminal) is chained as it
// is stored, so the log still verifies after it, and so backups, which
// refuse a log that does not verify, can still be taken.
func TestStore_LogEntryWithInvalidUTF8Verifies(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{Key: mustKey(t, 7)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got core.LogEntry
	if err := st.Update(func(tx core.Tx) (err error) {
		got, err = tx.AppendLog(core.LogEntry{Level: core.LevelInfo, User: "b\xffc", Message: "User \"b\xffc\" added."})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(tx core.Tx) error {
		_, err := tx.AppendLog(core.LogEntry{Level: core.LevelInfo, Message: "after"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if v, err := st.VerifyLog(); err != nil || v.Last != 2 {
		t.Fatalf("the log does not verify after an entry with invalid UTF-8: %+v, %v", v, err)
	}
	if got.Message != "User \"b\uFFFDc\" added." || got.User != "b\uFFFDc" {
		t.Errorf("appended entry %+v; want the bad byte replaced by U+FFFD", got)
	}
	var logs []core.LogEntry
	if err := st.View(func(tx core.Tx) (err error) { logs, err = tx.Logs(0, 0); return err }); err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 || logs[0].Message != got.Message {
		t.Errorf("stored %+v; want the entry as AppendLog returned it", logs)
	}
}

// TestStore_OwnLinesNameTheOpener: the lines the data file's store writes
// itself (its first encryption, a key rotation) name who opened it.
func TestStore_OwnLinesNameTheOpener(t *testing.T) {
	dataDir := t.TempDir()
	storetest.OwnLinesNameTheOpener(t, t.TempDir(), func(t *testing.T, opt store.Options) *store.Store {
		st, err := store.Open(dataDir, opt)
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

// TestStore_SecretsAtRest: the data file of a store with a data key gives
// away no secret, no hash of a code that can be computed without the key,
// and no stored hash that works as the secret it stands for
// (storetest.SecretsAtRest). The bytes are the whole file as it is on
// disk, free pages included.
func TestStore_SecretsAtRest(t *testing.T) {
	dataDir := t.TempDir()
	st, err := store.Open(dataDir, store.Options{KeyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	storetest.SecretsAtRest(t, st, func(t *testing.T) []byte {
		data, err := os.ReadFile(filepath.Join(dataDir, store.FileName))
		if err != nil {
			t.Fatal(err)
		}
		return data
	})
}
