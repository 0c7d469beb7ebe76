package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"
	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core/backup"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
)

// setDataFormat writes v as the data file's format number in dir (nil
// deletes it), as a newer build (or one from before the numbers) would
// have left it.
func setDataFormat(t *testing.T, dir string, v []byte) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		if v == nil {
			return tx.Bucket([]byte("config")).Delete([]byte("format"))
		}
		return tx.Bucket([]byte("config")).Put([]byte("format"), v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// newerSentence is the refusal of a data format 2 file at path.
func newerSentence(where string) string {
	return where + " was written by a newer Provisio (data format 2); this one reads data format 1 and older. Run the newer Provisio, or restore a backup made by this version."
}

// TestCLI_NewerDataFormatRefused: every command that opens the data
// directory refuses a data file of a newer format with exit 1 and the one
// sentence on stderr (no "open …:" chain, no stack), and leaves every
// file as it was; check reports the number.
func TestCLI_NewerDataFormatRefused(t *testing.T) {
	root := privateTempDir(t)
	dir := filepath.Join(root, "data")
	keyDir := keyDirFor(dir, "")
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	setDataFormat(t, dir, []byte("2"))
	want := "provisio: " + newerSentence(filepath.Join(dir, store.FileName)) + "\n"
	before := snapshotFiles(t, dir, keyDir)
	passFile := filepath.Join(root, "pass")
	if err := os.WriteFile(passFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		wantOut []string // lines stdout must hold
	}{
		{name: "user list", args: []string{"user", "list"}},
		{name: "user add", args: []string{"user", "add", "bob"}},
		{name: "key rotate", args: []string{"key", "rotate"}},
		{name: "log verify", args: []string{"log", "verify"}},
		{name: "backup", args: []string{"backup", "--out", filepath.Join(root, "b.age"), "--passphrase-file", passFile}},
		{name: "store copy", args: []string{"store", "copy", "--to", filepath.Join(root, "copy")}},
		{name: "serve", args: []string{"serve", "--listen", "127.0.0.1:0"}},
		{name: "check", args: []string{"check"}, wantOut: []string{
			"Data format: 2, newer than this Provisio reads (data format 1 and older)\n",
			"Result: NEWER DATA FORMAT\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				code        int
				out, errOut string
			}
			done := make(chan result, 1)
			go func() {
				code, out, errOut := runCLI(t, dir, tc.args...)
				done <- result{code, out, errOut}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				// Not a speed limit: a serve that was not refused runs
				// until stopped.
				t.Fatal("the command did not return: it was not refused")
			}
			if r.code != exitError || r.errOut != want {
				t.Fatalf("exit %d, stderr %q; want exit 1 and %q", r.code, r.errOut, want)
			}
			for _, line := range tc.wantOut {
				if !strings.Contains(r.out, line) {
					t.Errorf("stdout lacks %q:\n%s", line, r.out)
				}
			}
			after := snapshotFiles(t, dir, keyDir)
			if len(after) != len(before) {
				t.Errorf("files after the refusal: %d, before: %d", len(after), len(before))
			}
			for path, b := range before {
				if !bytes.Equal(after[path], b) {
					t.Errorf("%s changed", path)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(root, "b.age")); err == nil {
		t.Error("the refused backup wrote a file")
	}
	// Set back, the same directory opens again, alice in it.
	setDataFormat(t, dir, []byte("1"))
	if code, out, errOut := runCLI(t, dir, "user", "list"); code != exitOK || !strings.Contains(out, "alice") {
		t.Fatalf("user list after the number was set back: exit %d, %q %q", code, out, errOut)
	}
}

// TestCLI_CheckReportsDataFormat: check prints the data format number of
// a sound file, and says when the file has none yet.
func TestCLI_CheckReportsDataFormat(t *testing.T) {
	dir := filepath.Join(privateTempDir(t), "data")
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	for _, tc := range []struct {
		name  string
		value []byte
		want  string
	}{
		{"current", []byte("1"), "Data format: 1\n"},
		{"from before the numbers", nil, "Data format: none recorded (last opened by a Provisio from before data format numbers; the next start records 1)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setDataFormat(t, dir, tc.value)
			code, out, errOut := runCLI(t, dir, "check")
			if code != exitOK || !strings.Contains(out, tc.want) || !strings.Contains(out, "Result: OK") {
				t.Fatalf("check: exit %d, stdout %q, stderr %q; want exit 0 and %q", code, out, errOut, tc.want)
			}
		})
	}
}

// rewriteBackup decrypts the backup at path with id, lets edit change its
// data file (unpacked into a directory of its own) and its manifest, and
// writes it encrypted again to a new file, which it returns.
func rewriteBackup(t *testing.T, path string, id *age.X25519Identity, edit func(dataDir string, m *backup.Manifest)) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m, members, err := backup.Read(f, id)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, store.FileName), members[backup.DataName], 0o600); err != nil {
		t.Fatal(err)
	}
	edit(work, &m)
	if members[backup.DataName], err = os.ReadFile(filepath.Join(work, store.FileName)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "rewritten.age")
	var buf bytes.Buffer
	if err := backup.Write(&buf, id.Recipient(), m, members); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCLI_RestoreDataFormat: a backup whose data file is of a newer data
// format is refused with the sentence, naming the backup, before anything
// of the current data is replaced; one made by a build from before format
// numbers (no number, and a manifest that counted no such record) is
// restored, and gets the number.
func TestCLI_RestoreDataFormat(t *testing.T) {
	root := privateTempDir(t)
	dir := filepath.Join(root, "data")
	keyDir := keyDirFor(dir, "")
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(root, "id.txt")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	made := filepath.Join(t.TempDir(), "made.age")
	if code, _, errOut := runCLI(t, dir, "backup", "--out", made, "--recipient", id.Recipient().String()); code != exitOK {
		t.Fatalf("backup: %q", errOut)
	}
	// Changed after the backup, so a restore shows.
	if code, _, errOut := runCLI(t, dir, "user", "add", "bob"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}

	newer := rewriteBackup(t, made, id, func(d string, _ *backup.Manifest) { setDataFormat(t, d, []byte("2")) })
	listing := func() string {
		es, err := os.ReadDir(root)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return strings.Join(names, " ")
	}
	before, beforeList := snapshotFiles(t, dir, keyDir), listing()
	code, out, errOut := runCLI(t, dir, "restore", newer, "--identity", idFile)
	want := "provisio: " + newerSentence("the backup "+newer) + " Nothing was changed.\n"
	if code != exitError || errOut != want || out != "" {
		t.Fatalf("restore of a newer data format: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, want)
	}
	after := snapshotFiles(t, dir, keyDir)
	if len(after) != len(before) {
		t.Errorf("files after the refused restore: %d, before: %d", len(after), len(before))
	}
	for path, b := range before {
		if !bytes.Equal(after[path], b) {
			t.Errorf("%s changed", path)
		}
	}
	if got := listing(); got != beforeList {
		t.Errorf("the folder holds %q, held %q", got, beforeList)
	}

	earlier := rewriteBackup(t, made, id, func(d string, m *backup.Manifest) {
		setDataFormat(t, d, nil)
		m.Counts["config"]-- // an earlier build counted no format record
	})
	if code, out, errOut := runCLI(t, dir, "restore", earlier, "--identity", idFile); code != exitOK {
		t.Fatalf("restore of a backup from before format numbers: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, dir, "check")
	if code != exitOK || !strings.Contains(out, "Data format: 1\n") {
		t.Fatalf("check after the restore: exit %d, %q %q", code, out, errOut)
	}
	if code, out, _ := runCLI(t, dir, "user", "list"); code != exitOK || !strings.Contains(out, "alice") || strings.Contains(out, "bob") {
		t.Fatalf("users after the restore: %q", out)
	}
}

// TestConsole_NewerDataFormatRefused: the console refuses a data file of
// a newer data format with the sentence on stderr and, started from a
// desktop menu (stderr not a terminal), in a window too.
func TestConsole_NewerDataFormatRefused(t *testing.T) {
	dir := filepath.Join(privateTempDir(t), "data")
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	setDataFormat(t, dir, []byte("2"))
	var shown []string
	old := noticeWindow
	noticeWindow = func(title, text string) { shown = append(shown, title+": "+text) }
	t.Cleanup(func() { noticeWindow = old })
	sentence := newerSentence(filepath.Join(dir, store.FileName))
	code, out, errOut := runCLI(t, dir)
	if code != exitError || errOut != "provisio: "+sentence+"\n" || out != "" {
		t.Fatalf("console: exit %d, stdout %q, stderr %q; want exit 1 and the sentence", code, out, errOut)
	}
	if len(shown) != 1 || shown[0] != "Provisio cannot open this data: "+sentence {
		t.Fatalf("windows shown: %q; want one with the sentence", shown)
	}
}

// TestEtcd_NewerDataFormatRefused: a command line and a server on an etcd
// site of a newer data format are refused with the sentence naming the
// site, and no key of the site changes.
func TestEtcd_NewerDataFormatRefused(t *testing.T) {
	cluster := etcdtest.Start(t, 1)
	url := cluster.URL("office")
	root := privateTempDir(t)
	dir, keyDir := filepath.Join(root, "node"), filepath.Join(root, "node-keys")
	if code, _, errOut := runStore(t, url, dir, keyDir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: exit %d: %s", code, errOut)
	}
	cli := cluster.Client(t)
	ctx := context.Background()
	if _, err := cli.Put(ctx, "/provisio/office/config/format", "2"); err != nil {
		t.Fatal(err)
	}
	site := func() map[string]string {
		resp, err := cli.Get(ctx, "/provisio/office/", clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, e := range resp.Kvs {
			out[string(e.Key)] = fmt.Sprintf("%q at revision %d", e.Value, e.ModRevision)
		}
		return out
	}
	before := site()
	want := "provisio: " + newerSentence(url) + "\n"
	for _, args := range [][]string{{"user", "list"}, {"serve", "--listen", "127.0.0.1:0"}} {
		done := make(chan [3]string, 1)
		go func() {
			code, out, errOut := runStore(t, url, dir, keyDir, args...)
			done <- [3]string{fmt.Sprint(code), out, errOut}
		}()
		select {
		case r := <-done:
			if r[0] != fmt.Sprint(exitError) || r[2] != want {
				t.Errorf("%q: exit %s, stderr %q; want exit 1 and %q", args, r[0], r[2], want)
			}
		case <-time.After(30 * time.Second):
			// Not a speed limit: a serve that was not refused runs on.
			t.Fatalf("%q did not return: it was not refused", args)
		}
	}
	// A copy from a data file into the site is refused with the same
	// sentence, not "open the destination: …".
	src, srcKeys := filepath.Join(root, "file"), filepath.Join(root, "file-keys")
	var out, errOut bytes.Buffer
	if code := run([]string{"--data", src, "--key-dir", srcKeys, "user", "add", "bob"}, &out, &errOut); code != exitOK {
		t.Fatalf("user add on a data file: %q", errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"--data", src, "--key-dir", srcKeys, "store", "copy", "--to", url}, &out, &errOut); code != exitError || errOut.String() != want {
		t.Errorf("store copy into the site: exit %d, stderr %q; want exit 1 and %q", code, errOut.String(), want)
	}
	after := site()
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the refused commands changed the site:\n%v\nwas\n%v", after, before)
	}
}
