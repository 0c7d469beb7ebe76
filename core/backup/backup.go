// Package backup writes and reads Provisio's backup files (issue #13): a
// tar archive of the data file, the certificate, the keys and a manifest,
// encrypted with age (filippo.io/age) to a passphrase or a recipient. The
// archive is read whole and checked before anything uses it.
package backup

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	"filippo.io/age"

	"provisio/core"
)

// Names of the members of a backup.
const (
	ManifestName = "manifest.json"
	DataName     = "provisio.db"
	KeyName      = "provisio.key"
	CertName     = "cert.pem"
	TLSKeyName   = "key.pem"
	// The device CA that signs device certificates (#14): without it a
	// restored server could not verify the phones' certificates.
	DeviceCACertName = "device-ca.pem"
	DeviceCAKeyName  = "device-ca.key"
	// The console CA that signs paired remote consoles' certificates
	// (#12): without it every console would have to pair again.
	ConsoleCACertName = "console-ca.pem"
	ConsoleCAKeyName  = "console-ca.key"
)

// AgeIntro is how every age-encrypted file, and so every backup, starts.
const AgeIntro = "age-encryption.org/v1\n"

// Format is the archive layout's version.
const Format = 1

// maxMember bounds what one member may unpack to, so a hostile file cannot
// fill memory.
const maxMember = 1 << 30

// Manifest describes a backup, to compare with what the restore finds.
type Manifest struct {
	Format  int       `json:"format"`
	Version string    `json:"version"`
	Created time.Time `json:"created"`
	// Counts is the number of records in each bucket at the backup's point.
	Counts map[string]int `json:"counts"`
	// LogLast and LogHead are the newest log entry and its chain MAC.
	LogLast uint64 `json:"log_last"`
	LogHead string `json:"log_head"`
	// SHA256 is the digest of each other member.
	SHA256 map[string]string `json:"sha256"`
}

// ErrUnreadable wraps every reason a backup file is refused.
var ErrUnreadable = errors.New("the backup could not be read")

// Write encrypts the members and the manifest (their digests filled in) to
// w for the recipient.
func Write(w io.Writer, to age.Recipient, m Manifest, members map[string][]byte) error {
	m.Format = Format
	m.SHA256 = map[string]string{}
	for name, data := range members {
		sum := sha256.Sum256(data)
		m.SHA256[name] = hex.EncodeToString(sum[:])
	}
	man, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	enc, err := age.Encrypt(w, to)
	if err != nil {
		return fmt.Errorf("encrypt the backup: %w", err)
	}
	tw := tar.NewWriter(enc)
	put := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := put(ManifestName, man); err != nil {
		return err
	}
	for _, name := range []string{DataName, KeyName, CertName, TLSKeyName, DeviceCACertName, DeviceCAKeyName, ConsoleCACertName, ConsoleCAKeyName} {
		if data, ok := members[name]; ok {
			if err := put(name, data); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return enc.Close()
}

// Read decrypts r with id and returns the manifest and the members, each
// checked against the manifest's digest. Any problem (wrong passphrase or
// identity, a flipped byte, a missing member) is an error wrapping
// ErrUnreadable.
func Read(r io.Reader, id age.Identity) (Manifest, map[string][]byte, error) {
	var m Manifest
	fail := func(format string, a ...any) (Manifest, map[string][]byte, error) {
		return m, nil, fmt.Errorf("%w: %s", ErrUnreadable, fmt.Sprintf(format, a...))
	}
	br := bufio.NewReader(r)
	// What age's errors would say ("parsing age header: unexpected
	// intro: \"\x9bs…\"") is for programmers: the file's start tells
	// the cases apart for people.
	intro, _ := br.Peek(len(AgeIntro))
	switch {
	case len(intro) == 0:
		return fail("the file is empty")
	case string(intro) != AgeIntro:
		return fail("it is not a Provisio backup (those are age-encrypted files, which start with %q)", strings.TrimSpace(AgeIntro))
	}
	// The stanza types say how the file was encrypted, so a passphrase
	// given for a backup made to a recipient (or the reverse) is told
	// apart from a wrong one.
	head, _ := br.Peek(br.Size())
	dec, err := age.Decrypt(br, id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return fail("%s", noMatch(head, id))
		}
		return fail("its header is damaged or cut short")
	}
	members := map[string][]byte{}
	// Which reader failed tells a damaged file (age's check of every
	// chunk) from an age file that opens but holds no Provisio backup.
	dr := &errReader{r: dec}
	tr := tar.NewReader(dr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) && dr.err == nil {
			break
		}
		if err != nil && dr.err == nil && len(members) == 0 {
			return fail("it opens, but it is not a Provisio backup (an age-encrypted file of something else)")
		}
		if err != nil {
			return fail("it is damaged or cut short")
		}
		if h.Size > maxMember || h.Typeflag != tar.TypeReg || strings.ContainsAny(h.Name, "/\\") {
			return fail("it holds an unexpected member %q", h.Name)
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxMember))
		if err != nil {
			return fail("it is damaged or cut short")
		}
		members[h.Name] = data
	}
	man, ok := members[ManifestName]
	if !ok {
		return fail("it has no manifest")
	}
	delete(members, ManifestName)
	if err := json.Unmarshal(man, &m); err != nil || m.Format < 1 {
		return fail("its manifest does not decode")
	}
	if m.Format > Format {
		return fail("it was made by a newer Provisio (%s, backup format %d) than this one, which reads format %d; restore it with that version or a later one", m.Version, m.Format, Format)
	}
	for _, name := range []string{DataName, KeyName} {
		if _, ok := members[name]; !ok {
			return fail("it lacks %s", name)
		}
	}
	if len(m.SHA256) != len(members) {
		return fail("its members do not match the manifest")
	}
	for name, data := range members {
		sum := sha256.Sum256(data)
		if m.SHA256[name] != hex.EncodeToString(sum[:]) {
			return fail("%s does not match the manifest", name)
		}
	}
	return m, members, nil
}

// errReader keeps the first error other than io.EOF its reader returned.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}

// noMatch says why id did not open a file whose header starts head: the
// other kind of secret was given, or the wrong one of the right kind.
func noMatch(head []byte, id age.Identity) string {
	scryptFile := false
	for _, line := range strings.Split(string(head), "\n") {
		if strings.HasPrefix(line, "---") {
			break
		}
		if f := strings.Fields(line); len(f) > 1 && f[0] == "->" && f[1] == "scrypt" {
			scryptFile = true
		}
	}
	_, passphrase := id.(*age.ScryptIdentity)
	switch {
	case scryptFile && !passphrase:
		return "it was encrypted with a passphrase, not to an age recipient; restore it with its passphrase (--passphrase-file)"
	case !scryptFile && passphrase:
		return "it was encrypted to an age recipient, not with a passphrase; restore it with that recipient's identity file (--identity)"
	case passphrase:
		return "the passphrase does not open it"
	}
	return "the identity does not open it: it was encrypted to another age recipient"
}

// PassphraseFile reads the passphrase a backup is encrypted with from the
// first line of a file, so it never appears in argv. A file that other
// users can read or change is refused (*ExposedFileError), as OpenSSH
// refuses such a private key: the passphrase it holds protects every
// backup made with it, and a scheduled backup keeps using the file.
func PassphraseFile(path string) (string, error) {
	p, exposed, err := readPassphraseFile(path)
	if err != nil {
		return "", err
	}
	if exposed != nil {
		return "", exposed
	}
	return p, nil
}

// RestorePassphraseFile reads the passphrase that opens a backup, as
// PassphraseFile does, but reads a file other users can read all the
// same and returns exposed to say so: a restore uses the file once,
// refusing would keep nothing secret that is not already exposed, and a
// restore is often urgent, from a passphrase on a USB stick whose file
// system has no owner-only mode.
func RestorePassphraseFile(path string) (p string, exposed *ExposedFileError, err error) {
	return readPassphraseFile(path)
}

func readPassphraseFile(path string) (string, *ExposedFileError, error) {
	data, mode, err := readSmallFile("passphrase file", path)
	if err != nil {
		return "", nil, err
	}
	if core.IsAgeIdentity(string(data)) {
		// age-keygen's file: its first line, a comment, would have
		// become the passphrase.
		return "", nil, fmt.Errorf("%s holds an age identity, not a passphrase: to encrypt backups to it, give its public key as the recipient (age1…, which age-keygen -y prints); to restore, give it as the identity file", path)
	}
	p := strings.TrimRight(strings.SplitN(string(data), "\n", 2)[0], "\r")
	if len(p) < 8 {
		return "", nil, &ShortPassphraseError{Path: path}
	}
	var exposed *ExposedFileError
	// Windows has no such mode bits (Go reports 0666 for every file).
	if runtime.GOOS != "windows" && mode.Perm()&exposedBits != 0 {
		exposed = &ExposedFileError{Path: path, Mode: mode.Perm()}
	}
	return p, exposed, nil
}

// exposedBits are the modes that let users other than the owner read a
// passphrase file, or change it to a passphrase of their own for the
// next backups.
const exposedBits fs.FileMode = 0o066

// ExposedFileError is PassphraseFile's error for a passphrase file that
// its group or other users can read or change. It names the file and the
// command that fixes it.
type ExposedFileError struct {
	Path string      // the passphrase file
	Mode fs.FileMode // its permission bits
}

func (e *ExposedFileError) Error() string {
	return fmt.Sprintf("the passphrase file %s can be read or changed by other users of this machine (mode %04o), so it keeps no backup secret; run chmod 600 %s to make it the owner's alone", e.Path, uint32(e.Mode), e.Path)
}

// ShortPassphraseError is PassphraseFile's error for a passphrase under 8
// characters: no backup is made with one, so a restore says that instead
// (the file is not the backup's passphrase).
type ShortPassphraseError struct {
	Path string // the passphrase file
}

func (e *ShortPassphraseError) Error() string {
	return fmt.Sprintf("the passphrase in %s is shorter than 8 characters", e.Path)
}

// PassphraseRecipient encrypts to a passphrase (age's scrypt recipient).
func PassphraseRecipient(p string) (age.Recipient, error) { return age.NewScryptRecipient(p) }

// PassphraseIdentity decrypts with a passphrase.
func PassphraseIdentity(p string) (age.Identity, error) { return age.NewScryptIdentity(p) }

// ParseRecipient reads an age recipient ("age1...").
func ParseRecipient(s string) (age.Recipient, error) {
	if core.IsAgeIdentity(s) {
		// Never echoed: it is the secret that opens every backup.
		return nil, errors.New("that is an age identity (AGE-SECRET-KEY-1…), the secret that restores the backups, not a recipient; give its public key (age1…, which age-keygen -y prints), and keep the identity off this machine")
	}
	rs, err := age.ParseRecipients(strings.NewReader(s))
	if err != nil || len(rs) != 1 {
		return nil, fmt.Errorf("%q is not an age recipient (age1…)", s)
	}
	return rs[0], nil
}

// IdentityFile reads age identities (AGE-SECRET-KEY-1…) from a file.
func IdentityFile(path string) (age.Identity, error) {
	data, _, err := readSmallFile("identity file", path)
	if err != nil {
		return nil, err
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil || len(ids) == 0 {
		return nil, fmt.Errorf("%s holds no age identity (AGE-SECRET-KEY-1…)", path)
	}
	return multi(ids), nil
}

// multi tries each identity in turn.
type multi []age.Identity

func (m multi) Unwrap(st []*age.Stanza) ([]byte, error) {
	var last error = age.ErrIncorrectIdentity
	for _, id := range m {
		k, err := id.Unwrap(st)
		if err == nil {
			return k, nil
		}
		last = err
	}
	return nil, last
}

// maxSecretFile bounds a passphrase or identity file: a wrong path (a
// disk image, the backup itself) is refused rather than read whole.
const maxSecretFile = 64 << 10

// readSmallFile reads a passphrase or identity file; its errors are
// sentences that name the file and say what is wrong with it, without
// the system call's text ("open /x: no such file or directory").
func readSmallFile(what, path string) ([]byte, fs.FileMode, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, 0, fmt.Errorf("the %s %s does not exist", what, path)
	case err != nil:
		return nil, 0, fmt.Errorf("the %s %s cannot be read (%v)", what, path, pathReason(err))
	case fi.IsDir():
		return nil, 0, fmt.Errorf("the %s %s is a folder, not a file", what, path)
	case fi.Size() > maxSecretFile:
		return nil, 0, fmt.Errorf("the %s %s is too big to be one (%d bytes); check the path", what, path, fi.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("the %s %s cannot be read (%v)", what, path, pathReason(err))
	}
	return data, fi.Mode(), nil
}

// pathReason is the system's reason in an *fs.PathError ("permission
// denied"), without the operation and path it repeats.
func pathReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
