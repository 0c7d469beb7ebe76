package backup_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"provisio/core"
	"provisio/core/backup"
)

func sample() (backup.Manifest, map[string][]byte) {
	return backup.Manifest{Version: "test", Created: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), Counts: map[string]int{"users": 2}, LogLast: 7, LogHead: "ab"},
		map[string][]byte{backup.DataName: []byte("a data file"), backup.KeyName: bytes.Repeat([]byte{1}, 32), backup.CertName: []byte("cert")}
}

func mustIdentity(t testing.TB) *age.X25519Identity {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRead(t *testing.T) {
	id := mustIdentity(t)
	m, members := sample()
	var good bytes.Buffer
	if err := backup.Write(&good, id.Recipient(), m, members); err != nil {
		t.Fatal(err)
	}
	gotM, got, err := backup.Read(bytes.NewReader(good.Bytes()), id)
	if err != nil {
		t.Fatal(err)
	}
	if gotM.LogLast != 7 || gotM.LogHead != "ab" || gotM.Counts["users"] != 2 || !gotM.Created.Equal(m.Created) {
		t.Fatalf("manifest %+v", gotM)
	}
	for name, data := range members {
		if !bytes.Equal(got[name], data) {
			t.Errorf("%s: %q, want %q", name, got[name], data)
		}
	}

	flipped := func(at int) []byte {
		b := bytes.Clone(good.Bytes())
		b[at] ^= 1
		return b
	}
	noKey := map[string][]byte{backup.DataName: []byte("x")}
	var missing bytes.Buffer
	if err := backup.Write(&missing, id.Recipient(), m, noKey); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		id   age.Identity
	}{
		{"one byte flipped in the body", flipped(good.Len() - 20), id},
		{"one byte flipped in the header", flipped(40), id},
		{"another identity", good.Bytes(), mustIdentity(t)},
		{"truncated", good.Bytes()[:good.Len()-10], id},
		{"empty", nil, id},
		{"no data key", missing.Bytes(), id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := backup.Read(bytes.NewReader(tt.data), tt.id); !errors.Is(err, backup.ErrUnreadable) {
				t.Fatalf("read: %v, want ErrUnreadable", err)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	id := mustIdentity(f)
	m, members := sample()
	var good bytes.Buffer
	if err := backup.Write(&good, id.Recipient(), m, members); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Never a panic; anything but the original is refused.
		if _, _, err := backup.Read(bytes.NewReader(data), id); err == nil && !bytes.Equal(data, good.Bytes()) {
			t.Fatalf("accepted a changed backup")
		}
	})
}

// encryptTar encrypts a tar of the members, in the order given, to
// to: a file made otherwise than by Write (a newer format).
func encryptTar(t *testing.T, to age.Recipient, members ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, to)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(w)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: m[0], Mode: 0o600, Size: int64(len(m[1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRead_SaysWhyInOneSentence: each way a restore's file or secret can
// be wrong gets its own sentence. Before, a passphrase given for a backup
// made to an age recipient (or an identity for one made with a
// passphrase) was "the passphrase or identity does not open it", an
// age-encrypted file of something else "it is damaged or cut short", and
// a backup of a newer format "its manifest does not decode".
func TestRead_SaysWhyInOneSentence(t *testing.T) {
	id := mustIdentity(t)
	pass, err := age.NewScryptRecipient("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	pass.SetWorkFactor(10) // fast; the file says the factor
	passID := func(p string) age.Identity {
		i, err := age.NewScryptIdentity(p)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	m, members := sample()
	write := func(to age.Recipient) []byte {
		var b bytes.Buffer
		if err := backup.Write(&b, to, m, members); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	toRecipient, withPassphrase := write(id.Recipient()), write(pass)
	var plain bytes.Buffer
	plainW, err := age.Encrypt(&plain, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	plainW.Write([]byte("Dear Sir or Madam, this is a letter, not a backup.\n"))
	plainW.Close()
	newer := encryptTar(t, id.Recipient(), [2]string{backup.ManifestName, `{"format": 2, "version": "v9.1.0"}`}, [2]string{backup.DataName, "x"})

	tests := []struct {
		name string
		data []byte
		id   age.Identity
		want string
	}{
		{"a passphrase for a backup to a recipient", toRecipient, passID("correct horse battery staple"),
			"it was encrypted to an age recipient, not with a passphrase; restore it with that recipient's identity file (--identity)"},
		{"an identity for a backup with a passphrase", withPassphrase, id,
			"it was encrypted with a passphrase, not to an age recipient; restore it with its passphrase (--passphrase-file)"},
		{"the wrong passphrase", withPassphrase, passID("wrong horse battery staple"), "the passphrase does not open it"},
		{"another recipient's identity", toRecipient, mustIdentity(t), "the identity does not open it: it was encrypted to another age recipient"},
		{"an age file of something else", plain.Bytes(), id, "it opens, but it is not a Provisio backup"},
		{"a newer format", newer, id, "it was made by a newer Provisio (v9.1.0, backup format 2) than this one, which reads format 1; restore it with that version or a later one"},
		{"cut short", toRecipient[:len(toRecipient)-40], id, "it is damaged or cut short"},
		{"not age at all", []byte("PK\x03\x04 a zip file"), id, "it is not a Provisio backup (those are age-encrypted files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := backup.Read(bytes.NewReader(tt.data), tt.id)
			if !errors.Is(err, backup.ErrUnreadable) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("read: %v; want ErrUnreadable and ~%q", err, tt.want)
			}
		})
	}
	// And the right ones open them.
	for name, c := range map[string]struct {
		data []byte
		id   age.Identity
	}{"identity": {toRecipient, id}, "passphrase": {withPassphrase, passID("correct horse battery staple")}} {
		if _, _, err := backup.Read(bytes.NewReader(c.data), c.id); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRecipient_NeverRepeatsAnIdentity: an age identity given where the
// recipient belongs (pasted from the wrong line of age-keygen's file) is
// refused without repeating it, since the message reaches a terminal,
// the console and, through a failed backup, the audit log; and
// age-keygen's identity file given as a passphrase file is refused
// instead of its comment line becoming the passphrase. Before, the
// message was `"AGE-SECRET-KEY-1…" is not an age recipient (age1…)`.
func TestRecipient_NeverRepeatsAnIdentity(t *testing.T) {
	id := mustIdentity(t)
	secret := id.String()
	idFile := filepath.Join(t.TempDir(), "provisio-backup.key")
	if err := os.WriteFile(idFile, []byte("# created: 2026-11-30T02:30:00Z\n# public key: "+id.Recipient().String()+"\n"+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		enc  core.BackupEncryption
		want string
	}{
		{"identity as recipient", core.BackupEncryption{Recipient: secret}, "That is an age identity (AGE-SECRET-KEY-1…), the secret that restores the backups, not a recipient"},
		{"lower case", core.BackupEncryption{Recipient: strings.ToLower(secret)}, "That is an age identity"},
		{"identity file as passphrase file", core.BackupEncryption{PassphraseFile: idFile}, "holds an age identity, not a passphrase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := backup.Recipient(tt.enc)
			msg := core.ErrorMessage(err)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("%q, want ~%q", msg, tt.want)
			}
			if strings.Contains(strings.ToUpper(msg), strings.ToUpper(secret[len("AGE-SECRET-KEY-1"):])) {
				t.Errorf("the message repeats the identity: %q", msg)
			}
		})
	}
	if _, err := backup.Recipient(core.BackupEncryption{Recipient: id.Recipient().String()}); err != nil {
		t.Errorf("the recipient itself: %v", err)
	}
}
