package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFileName is the data key's file inside the key directory.
const KeyFileName = "provisio.key"

// DefaultKeyDir is the key directory used for dataDir when none is given:
// a sibling, "<data>-keys", so that copying the data directory does not
// copy the key.
func DefaultKeyDir(dataDir string) string {
	clean := filepath.Clean(dataDir)
	return clean + "-keys"
}

// ErrKeyMissing is returned by LoadKey when the key file does not exist
// and create is false.
var ErrKeyMissing = errors.New("the data key is missing")

// CheckKeyDir refuses a key directory inside (or equal to) the data
// directory: a copy of the data directory must not carry its key.
func CheckKeyDir(dataDir, keyDir string) error {
	d, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	k, err := filepath.Abs(keyDir)
	if err != nil {
		return err
	}
	if d2, err := filepath.EvalSymlinks(d); err == nil {
		d = d2
	}
	if k2, err := filepath.EvalSymlinks(k); err == nil {
		k = k2
	}
	if k == d || strings.HasPrefix(k, d+string(filepath.Separator)) {
		return fmt.Errorf("the key directory %s is inside the data directory %s; keep it apart (the default is %s), so that a copy of the data does not carry its key", keyDir, dataDir, DefaultKeyDir(dataDir))
	}
	return nil
}

// LoadKey reads the data key from keyDir. When the file is missing and
// create is set, it makes the directory (0700) and a new random key
// (0600), written to a temporary file, synced and renamed, so a crash
// never leaves half a key.
func LoadKey(dataDir, keyDir string, create bool) ([]byte, error) {
	if err := CheckKeyDir(dataDir, keyDir); err != nil {
		return nil, err
	}
	path := filepath.Join(keyDir, KeyFileName)
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != KeySize {
			return nil, fmt.Errorf("the data key %s is %d bytes, want %d; restore it from your backup", path, len(key), KeySize)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the data key: %w", err)
	}
	if !create {
		return nil, fmt.Errorf("%w: %s does not exist", ErrKeyMissing, path)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := WriteKey(keyDir, key); err != nil {
		return nil, err
	}
	return key, nil
}

// WriteKey stores key as keyDir/provisio.key (0600, directory 0700),
// replacing any key there atomically.
func WriteKey(keyDir string, key []byte) error { return writeKeyAs(keyDir, KeyFileName, key) }

func writeKeyAs(keyDir, name string, key []byte) error {
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return fmt.Errorf("create the key directory: %w", err)
	}
	if err := os.Chmod(keyDir, 0o700); err != nil {
		return fmt.Errorf("create the key directory: %w", err)
	}
	path := filepath.Join(keyDir, name)
	// Named after the file it becomes (.provisio.key-…, .provisio.key.new-…),
	// so what a killed rotation leaves is told apart (rotate.go).
	tmp, err := os.CreateTemp(keyDir, "."+name+"-*")
	if err != nil {
		return fmt.Errorf("write the data key: %w", err)
	}
	defer os.Remove(tmp.Name())
	// One err for every step: a failed write or sync must never let the
	// rename put an empty or partial key in place of the real one, which
	// would leave every sealed record unreadable.
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(key)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && name == pendingKeyName {
		rotateStep("new key half written")
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		if d, derr := os.Open(keyDir); derr == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("write the data key: %w", err)
	}
	return nil
}
