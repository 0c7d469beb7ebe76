package main

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"filippo.io/age"

	"provisio/core"
	"provisio/core/backup"
	"provisio/core/store"
)

// Tests of the backup and restore audit (docs/decisions.md "Backup and
// restore audit").

// failingWriter writes through to the file until limit bytes, then fails
// as the system would, naming the (temporary) file.
type failingWriter struct {
	f     *os.File
	limit int
	errno syscall.Errno
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n, _ := w.f.Write(p[:w.limit])
		w.limit = 0
		return n, &fs.PathError{Op: "write", Path: w.f.Name(), Err: w.errno}
	}
	w.limit -= len(p)
	return w.f.Write(p)
}

// TestCLI_BackupOutWriteFailureIsASentence: a backup whose file cannot be
// written (the disk fills up half-way, an I/O error) says so in one
// sentence naming --out, taken in this process or streamed by a running
// server alike, and leaves no file, whole or half, in the folder. Before,
// the local backup printed "write the backup: write /…/.b.age.123.tmp: no
// space left on device" and the attached one "the backup did not arrive
// whole: write /…/.b.age.456.tmp: …".
func TestCLI_BackupOutWriteFailureIsASentence(t *testing.T) {
	root := privateTempDir(t)
	pass := filepath.Join(root, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(root, "local")
	if code, _, errOut := runCLI(t, local, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	attached := filepath.Join(root, "attached")
	heldWithAdminKeys(t, attached, filepath.Join(root, "attached-keys"))

	tests := []struct {
		name, dir string
		errno     syscall.Errno
		want      string
	}{
		{"local, disk full", local, syscall.ENOSPC, "provisio: The backup could not be written to OUT: the disk is full (nothing was written).\n"},
		{"local, quota", local, syscall.EDQUOT, "provisio: The backup could not be written to OUT: the disk is full (nothing was written).\n"},
		{"local, I/O error", local, syscall.EIO, "provisio: The backup could not be written to OUT (input/output error); nothing was written.\n"},
		{"attached, disk full", attached, syscall.ENOSPC, "provisio: The backup could not be written to OUT: the disk is full (nothing was written).\n"},
		{"attached, I/O error", attached, syscall.EIO, "provisio: The backup could not be written to OUT (input/output error); nothing was written.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			folder := t.TempDir()
			out := filepath.Join(folder, "b.age")
			backupOutWriter = func(f *os.File) io.Writer { return &failingWriter{f: f, limit: 4096, errno: tt.errno} }
			defer func() { backupOutWriter = nil }()
			code, stdout, errOut := runCLI(t, tt.dir, "backup", "--out", out, "--passphrase-file", pass)
			backupOutWriter = nil
			// Attached, the line "attached to the Provisio running on …"
			// comes first.
			if want := strings.ReplaceAll(tt.want, "OUT", out); code != exitError || !strings.HasSuffix(errOut, want) || strings.Contains(errOut, ".tmp") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, errOut, want)
			}
			if es, err := os.ReadDir(folder); err != nil || len(es) != 0 {
				t.Errorf("the folder holds %v after the failed backup (%v)", es, err)
			}
			// The same backup goes through once the disk has room.
			if code, stdout, errOut := runCLI(t, tt.dir, "backup", "--out", out, "--passphrase-file", pass); code != exitOK || !isBackupFile(out) {
				t.Fatalf("backup: exit %d, %q %q", code, stdout, errOut)
			}
		})
	}
}

// snapshotFiles reads every file under each of dirs, by path.
func snapshotFiles(t *testing.T, dirs ...string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			files[path] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// TestCLI_RestoreRefusalsLeaveTheDataAsItWas: every wrong file or secret
// given to restore is refused with exit 1 and one sentence (no age or
// system text), and every byte of the data and key directories, and
// the listing of the folder they are in, is as before. The sentences
// for a secret of the wrong kind, an age file of something else and a
// backup of a newer format are new (TestRead_SaysWhyInOneSentence).
func TestCLI_RestoreRefusalsLeaveTheDataAsItWas(t *testing.T) {
	root := privateTempDir(t)
	dir := filepath.Join(root, "data")
	keyDir := keyDirFor(dir, "")
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	files := filepath.Join(root, "files") // the backups and secrets
	if err := os.Mkdir(files, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pass := write("pass", []byte("correct horse battery staple\n"))
	wrongPass := write("wrong-pass", []byte("wrong horse battery staple\n"))
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := write("id.txt", []byte("# created: 2026-11-30T02:30:00Z\n# public key: "+id.Recipient().String()+"\n"+id.String()+"\n"))
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	otherID := write("other-id.txt", []byte(other.String()+"\n"))
	withPass, toRecipient := filepath.Join(files, "pass.age"), filepath.Join(files, "recipient.age")
	if code, _, errOut := runCLI(t, dir, "backup", "--out", withPass, "--passphrase-file", pass); code != exitOK {
		t.Fatalf("backup: %q", errOut)
	}
	if code, _, errOut := runCLI(t, dir, "backup", "--out", toRecipient, "--recipient", id.Recipient().String()); code != exitOK {
		t.Fatalf("backup: %q", errOut)
	}
	good, err := os.ReadFile(toRecipient)
	if err != nil {
		t.Fatal(err)
	}
	// An age file of something else, and a backup of a newer format.
	ageOf := func(name string, members ...[2]string) string {
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		if len(members) == 0 {
			w.Write([]byte("minutes of the meeting\n"))
		} else {
			tw := tar.NewWriter(w)
			for _, m := range members {
				tw.WriteHeader(&tar.Header{Name: m[0], Mode: 0o600, Size: int64(len(m[1])), Typeflag: tar.TypeReg})
				tw.Write([]byte(m[1]))
			}
			tw.Close()
		}
		w.Close()
		return write(name, buf.Bytes())
	}
	notOurs := ageOf("minutes.age")
	newer := ageOf("newer.age", [2]string{backup.ManifestName, `{"format": 2, "version": "v9.1.0"}`}, [2]string{backup.DataName, "x"})
	random := make([]byte, 40000)
	rand.Read(random)
	// A backup decrypted by hand (age -d): the tar itself.
	var plainTar bytes.Buffer
	tw := tar.NewWriter(&plainTar)
	tw.WriteHeader(&tar.Header{Name: backup.ManifestName, Mode: 0o600, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("{}"))
	tw.Close()

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"truncated", []string{write("cut.age", good[:len(good)/2]), "--identity", idFile}, "it is damaged or cut short"},
		{"random bytes", []string{write("random.age", random), "--identity", idFile}, "it is not a Provisio backup (those are age-encrypted files"},
		{"a decrypted backup", []string{write("plain.tar", plainTar.Bytes()), "--identity", idFile}, "it is not a Provisio backup (those are age-encrypted files"},
		{"empty", []string{write("empty.age", nil), "--identity", idFile}, "the file is empty"},
		{"a folder", []string{files, "--identity", idFile}, "is a folder"},
		{"missing", []string{filepath.Join(files, "nope.age"), "--identity", idFile}, "does not exist"},
		{"a passphrase for a backup to a recipient", []string{toRecipient, "--passphrase-file", pass}, "it was encrypted to an age recipient, not with a passphrase; restore it with that recipient's identity file (--identity)"},
		{"an identity for a backup with a passphrase", []string{withPass, "--identity", idFile}, "it was encrypted with a passphrase, not to an age recipient; restore it with its passphrase (--passphrase-file)"},
		{"the wrong passphrase", []string{withPass, "--passphrase-file", wrongPass}, "the passphrase does not open it"},
		{"another identity", []string{toRecipient, "--identity", otherID}, "the identity does not open it: it was encrypted to another age recipient"},
		{"the passphrase file as identity", []string{toRecipient, "--identity", pass}, "holds no age identity"},
		{"an age file of something else", []string{notOurs, "--identity", idFile}, "it opens, but it is not a Provisio backup"},
		{"a newer format", []string{newer, "--identity", idFile}, "it was made by a newer Provisio (v9.1.0, backup format 2)"},
	}
	if os.Geteuid() != 0 { // root reads any file
		unreadable := write("unreadable.age", good)
		if err := os.Chmod(unreadable, 0); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name string
			args []string
			want string
		}{"no read permission", []string{unreadable, "--identity", idFile}, "cannot be read (permission denied); nothing was changed"})
	}
	listing := func() []string {
		es, err := os.ReadDir(root)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}
	before, beforeList := snapshotFiles(t, dir, keyDir), listing()
	if _, ok := before[filepath.Join(dir, store.FileName)]; !ok {
		t.Fatalf("no data file in %v", before)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, dir, append([]string{"restore"}, tt.args...)...)
			if code != exitError || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and one line ~%q", code, out, errOut, tt.want)
			}
			for _, raw := range []string{"age header", "age:", `\x`, "open /", "read /", "failed to", "chunk", "unexpected EOF"} {
				if strings.Contains(errOut, raw) {
					t.Errorf("stderr %q carries a library's or the system's text (%q)", errOut, raw)
				}
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
			if got := listing(); strings.Join(got, " ") != strings.Join(beforeList, " ") {
				t.Errorf("the folder holds %q, held %q", got, beforeList)
			}
		})
	}
	// The right secrets restore both.
	for _, args := range [][]string{{toRecipient, "--identity", idFile}, {withPass, "--passphrase-file", pass}} {
		if code, out, errOut := runCLI(t, dir, append([]string{"restore"}, args...)...); code != exitOK {
			t.Fatalf("restore %q: exit %d, %q %q", args, code, out, errOut)
		}
	}
}

// TestBackup_IdentityAsRecipientIsNeverRepeated: an age identity given
// where the recipient belongs, on the command line, in the setting, or
// in an online backup's request (the admin API takes any JSON), is
// refused without being repeated on stderr or in the audit log. Before,
// the refusal quoted it, and a refused online backup wrote it into the
// audit log ("Backup over the admin socket failed: \"AGE-SECRET-KEY-1…\"
// is not an age recipient").
func TestBackup_IdentityAsRecipientIsNeverRepeated(t *testing.T) {
	root := privateTempDir(t)
	dir := filepath.Join(root, "data")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	secret := id.String()
	body := secret[len("AGE-SECRET-KEY-1"):]
	leaks := func(s string) bool { return strings.Contains(strings.ToUpper(s), body) }
	for _, args := range [][]string{
		{"backup", "--out", filepath.Join(root, "b.age"), "--recipient", secret},
		{"settings", "set", "backup.recipient", secret},
	} {
		code, out, errOut := runCLI(t, dir, args...)
		if code != exitError || !strings.Contains(errOut, "age identity") || leaks(out+errOut) {
			t.Errorf("%s: exit %d, %q %q; want exit 1, a sentence and no identity", args[0], code, out, errOut)
		}
	}
	e, err := openEnvKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	if _, err := e.svc.Backup(io.Discard, core.BackupEncryption{Recipient: secret}, "over the admin socket"); err == nil || leaks(err.Error()) {
		t.Errorf("online backup to an identity: %v", err)
	}
	entries, err := e.svc.Logs(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, le := range entries {
		if leaks(le.Message) {
			t.Errorf("the audit log repeats the identity: %q", le.Message)
		}
	}
}

// secretForms are the ways a secret could sit in a file: as it is, hex,
// base64 (both alphabets) and base32 as authenticator apps show it.
func secretForms(secret []byte) map[string][]byte {
	return map[string][]byte{
		"plain":     secret,
		"hex":       []byte(hex.EncodeToString(secret)),
		"HEX":       []byte(strings.ToUpper(hex.EncodeToString(secret))),
		"base64":    []byte(strings.TrimRight(base64.StdEncoding.EncodeToString(secret), "=")),
		"base64url": []byte(strings.TrimRight(base64.URLEncoding.EncodeToString(secret), "=")),
		"base32":    []byte(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)),
	}
}

// TestBackup_HoldsNoPlainSecret: decrypted, a backup (every member:
// the data file, the manifest, the keys) holds no PIN, security string,
// SMTP password, agent secret, device Id, OATH secret, queued code or
// the backup's own passphrase in any common form; its records are the
// data file's, sealed with the data key it carries (so age's
// encryption is what protects a backup, as README says: "keep its
// passphrase as safe as the key"). The audit log of the office and of
// the restored copy, which is what the console's log export writes,
// holds none of them either.
func TestBackup_HoldsNoPlainSecret(t *testing.T) {
	root := privateTempDir(t)
	dir := filepath.Join(root, "office")
	e, err := openEnvKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{}
	add := func(what, v string) { secrets[what] = []byte(v) }
	if err := e.svc.SetSetting("smtp.host", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetSetting("smtp.from", "provisio@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetSetting("smtp.password", "Smtp-Pa55word-xyz"); err != nil {
		t.Fatal(err)
	}
	add("smtp password", "Smtp-Pa55word-xyz")
	agent := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "agent-s3cret-4567", Group: core.GroupAny}
	if err := e.svc.PutAgent(agent); err != nil {
		t.Fatal(err)
	}
	add("agent secret", agent.Secret)
	for i, u := range provisionUsers(t, e, 2) {
		add(u.name+" pin", u.pin)
		for j, s := range u.ss.S[:5] {
			add(fmt.Sprintf("%s string %d", u.name, j), string(s[:]))
		}
		if err := e.svc.Login(agent, u.name, u.code(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.AddUser(core.User{Name: "carol", PIN: "975318642", Email: "carol@example.org", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	add("carol pin", "975318642")
	ic, err := e.svc.MailProvisionCode("carol")
	if err != nil {
		t.Fatal(err)
	}
	add("queued code", ic.Code)
	// A device Id, from a provision of its own.
	if _, err := e.svc.AddUser(core.User{Name: "erin", PIN: "864209753", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	add("erin pin", "864209753")
	code, err := e.svc.CreateProvisionCode("erin")
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Provision("127.0.0.1", "erin", code.Code, "TestOS 1")
	if err != nil {
		t.Fatal(err)
	}
	add("erin device id", p.DeviceID)
	if err := e.svc.SetSetting("oath.enabled", "true"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddUser(core.User{Name: "dave", PIN: "246813579", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	add("dave pin", "246813579")
	issued, err := e.svc.IssueOATH("dave", core.OATHOptions{Kind: core.OATHTOTP, Digits: 6})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(issued.SecretText, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	secrets["oath secret"] = raw
	e.close()

	const passphrase = "Backup-Pa55phrase-of-the-audit"
	add("backup passphrase", passphrase)
	pass := filepath.Join(root, "pass")
	if err := os.WriteFile(pass, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "b.age")
	if code, out, errOut := runCLI(t, dir, "backup", "--out", file, "--passphrase-file", pass); code != exitOK {
		t.Fatalf("backup: %d %q %q", code, out, errOut)
	}
	restored := filepath.Join(root, "restored")
	if code, out, errOut := runCLI(t, restored, "restore", file, "--passphrase-file", pass); code != exitOK {
		t.Fatalf("restore: %d %q %q", code, out, errOut)
	}

	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, err := backup.PassphraseIdentity(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	_, members, err := backup.Read(f, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(members[backup.DataName]) == 0 || len(members[backup.KeyName]) != store.KeySize {
		t.Fatalf("members %v", len(members))
	}
	for name, data := range members {
		for what, s := range secrets {
			for form, b := range secretForms(s) {
				if bytes.Contains(data, b) {
					t.Errorf("the backup's %s holds the %s in %s form", name, what, form)
				}
			}
		}
	}
	for _, d := range []string{dir, restored} {
		r, err := openEnvKey(d, "")
		if err != nil {
			t.Fatal(err)
		}
		entries, err := r.svc.Logs(0, 10000)
		r.close()
		if err != nil || len(entries) == 0 {
			t.Fatalf("log of %s: %d entries, %v", d, len(entries), err)
		}
		for _, le := range entries {
			line := le.Message + "\t" + le.User + "\t" + le.Actor
			for what, s := range secrets {
				if bytes.Contains([]byte(line), s) {
					t.Errorf("the audit log of %s holds the %s: %q", filepath.Base(d), what, line)
				}
			}
		}
	}
}

// TestBackup_FilesAreForTheOwnerOnly: every backup file is 0600 however
// it was written (in this process, streamed by a running server,
// scheduled, over an older backup of 0644, under umask 0), and a
// restore leaves the data and key directories 0700 and their secret
// files 0600 (cert.pem, the public certificate, may be read by others).
func TestBackup_FilesAreForTheOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	root := privateTempDir(t)
	pass := filepath.Join(root, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(root, "local")
	if code, _, errOut := runCLI(t, local, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	attached := filepath.Join(root, "attached")
	e := heldWithAdminKeys(t, attached, filepath.Join(root, "attached-keys"))
	folder := filepath.Join(root, "backups")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	mode := func(path string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	older := filepath.Join(folder, "older.age")
	if err := os.WriteFile(older, []byte(backup.AgeIntro+"an older backup"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, dir, out string }{
		{"local", local, filepath.Join(folder, "local.age")},
		{"attached", attached, filepath.Join(folder, "attached.age")},
		{"over an older backup", local, older},
	} {
		if code, out, errOut := runCLI(t, c.dir, "backup", "--out", c.out, "--passphrase-file", pass); code != exitOK {
			t.Fatalf("%s: %d %q %q", c.name, code, out, errOut)
		}
		if m := mode(c.out); m != 0o600 {
			t.Errorf("%s: the backup is %04o, want 0600", c.name, m)
		}
	}
	if err := e.svc.SetSetting("backup.passphrase_file", pass); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetSetting("backup.folder", folder); err != nil {
		t.Fatal(err)
	}
	res := e.svc.BackupNow(true)
	if !res.OK {
		t.Fatalf("scheduled backup: %+v", res)
	}
	if m := mode(res.File); m != 0o600 {
		t.Errorf("the scheduled backup is %04o, want 0600", m)
	}

	restored := filepath.Join(root, "restored")
	if code, out, errOut := runCLI(t, restored, "restore", filepath.Join(folder, "local.age"), "--passphrase-file", pass); code != exitOK {
		t.Fatalf("restore: %d %q %q", code, out, errOut)
	}
	keys := keyDirFor(restored, "")
	for path, want := range map[string]os.FileMode{
		restored: 0o700, filepath.Join(restored, store.FileName): 0o600,
		keys: 0o700, filepath.Join(keys, store.KeyFileName): 0o600,
	} {
		if m := mode(path); m != want {
			t.Errorf("%s is %04o after the restore, want %04o", path, m, want)
		}
	}
}
