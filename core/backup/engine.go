package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"filippo.io/age"

	"provisio/core"
)

// Snapshot is a consistent copy of the data file written to w from one
// read transaction (the store's Snapshot), with what the manifest needs.
type Snapshot func(w io.Writer) (counts map[string]int, logLast uint64, logHead string, err error)

// Engine writes backups of one data directory: it is the
// core.BackupWriter the composition root wires into the service.
type Engine struct {
	// Snapshot copies the data file.
	Snapshot Snapshot
	// Files are the other members by name (KeyName, CertName, …) and
	// the paths they are read from at backup time. A missing file is
	// left out, except the data key, without which nothing restores.
	Files map[string]string
	// Version is the program's version, for the manifest.
	Version string
	// Now is the clock of the manifest's creation time.
	Now func() time.Time
}

var _ core.BackupWriter = (*Engine)(nil)

// WriteBackup implements core.BackupWriter.
func (e *Engine) WriteBackup(w io.Writer, enc core.BackupEncryption) (core.BackupSummary, error) {
	to, err := Recipient(enc)
	if err != nil {
		return core.BackupSummary{}, err
	}
	var db bytes.Buffer
	counts, logLast, logHead, err := e.Snapshot(&db)
	if err != nil {
		return core.BackupSummary{}, fmt.Errorf("copy the data file: %w", err)
	}
	members := map[string][]byte{DataName: db.Bytes()}
	for name, path := range e.Files {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) && name != KeyName {
			continue
		} else if err != nil {
			return core.BackupSummary{}, fmt.Errorf("read %s: %w", path, err)
		}
		members[name] = data
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	m := Manifest{Version: e.Version, Created: now().UTC(), Counts: counts, LogLast: logLast, LogHead: logHead}
	if err := Write(w, to, m, members); err != nil {
		return core.BackupSummary{}, fmt.Errorf("write the backup: %w", err)
	}
	return core.BackupSummary{Users: counts["users"], LogLast: logLast}, nil
}

// CheckEncryption implements core.BackupWriter.
func (e *Engine) CheckEncryption(enc core.BackupEncryption) error {
	_, err := Recipient(enc)
	return err
}

// Recipient is the age recipient enc describes: the recipient, the
// passphrase, or the passphrase in the file. Errors are *core.Error
// sentences.
func Recipient(enc core.BackupEncryption) (age.Recipient, error) {
	n := 0
	for _, s := range []string{enc.Recipient, enc.Passphrase, enc.PassphraseFile} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, core.Errorf(core.CodeInvalid, "A backup is encrypted either to an age recipient or with a passphrase; give exactly one.")
	}
	var p string
	switch {
	case enc.Recipient != "":
		r, err := ParseRecipient(enc.Recipient)
		if err != nil {
			return nil, core.Errorf(core.CodeInvalid, "%s.", sentence(err))
		}
		return r, nil
	case enc.PassphraseFile != "":
		var err error
		if p, err = PassphraseFile(enc.PassphraseFile); err != nil {
			return nil, core.Errorf(core.CodeInvalid, "%s.", sentence(err))
		}
	default:
		p = enc.Passphrase
		if len(p) < MinPassphrase {
			return nil, core.Errorf(core.CodeInvalid, "The passphrase is shorter than %d characters.", MinPassphrase)
		}
	}
	return PassphraseRecipient(p)
}

// MinPassphrase is the shortest passphrase a backup accepts.
const MinPassphrase = 8

// sentence is err's text with its first letter upper case.
func sentence(err error) string {
	s := err.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
