package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// A new pair is put in place in steps a crash can cut short: both files
// are first written in full under a pending name (the key first), then the
// key is renamed over key.pem and the certificate over cert.pem. What a
// crash leaves tells how far it got, and FinishRegenerate completes or
// undoes it: a pending key means nothing was replaced yet; a pending
// certificate without a pending key means the new key is in place.
const pendingSuffix = ".new"

// regenerateFault, when set (tests only), is called at each step of
// replacePair a crash could cut short, by name.
var regenerateFault func(step string)

func regenerateStep(step string) {
	if regenerateFault != nil {
		regenerateFault(step)
	}
}

// What FinishRegenerate says it did.
const (
	noticeRegenerateUndone   = "A certificate regeneration was interrupted before it replaced anything: the previous certificate stays, and the unused new files were removed."
	noticeFirstUndone        = "The server certificate's first creation was interrupted; its unfinished files were removed, and a new certificate is made."
	noticeRegenerateFinished = "A certificate regeneration was interrupted half-way; it is finished now: the new certificate is in use, so phones must be reprovisioned, as after any regeneration."
)

// replacePair puts certPEM and keyPEM in place as certPath and keyPath,
// never leaving a key beside a certificate it does not match.
func replacePair(certPath, keyPath string, certPEM, keyPEM []byte) error {
	if err := writeFileAtomic(keyPath+pendingSuffix, keyPEM, 0o600); err != nil {
		return err
	}
	regenerateStep("new key staged")
	if err := writeFileAtomic(certPath+pendingSuffix, certPEM, 0o644); err != nil {
		os.Remove(keyPath + pendingSuffix)
		return err
	}
	regenerateStep("new pair staged")
	if err := os.Rename(keyPath+pendingSuffix, keyPath); err != nil {
		os.Remove(keyPath + pendingSuffix)
		os.Remove(certPath + pendingSuffix)
		return fmt.Errorf("certs: %w", err)
	}
	syncDir(filepath.Dir(keyPath))
	regenerateStep("new key in place")
	if err := os.Rename(certPath+pendingSuffix, certPath); err != nil {
		// The new key is in place: FinishRegenerate completes it at the
		// next start.
		return fmt.Errorf("certs: %w", err)
	}
	syncDir(filepath.Dir(certPath))
	return nil
}

// FinishRegenerate completes or undoes a regeneration a crash cut short
// in dir and keyDir (see replacePair), and returns a sentence saying
// which, or "" when there was none. Call it before the pair is loaded,
// by the one process that holds the data directory.
func FinishRegenerate(dir, keyDir string) (string, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(keyDir, KeyFile)
	undone, finished, err := finishPair(certPath, keyPath)
	switch {
	case err != nil:
		return "", err
	case finished:
		return noticeRegenerateFinished, nil
	case !undone:
		return "", nil
	}
	if ok, _ := exists(certPath); !ok {
		return noticeFirstUndone, nil
	}
	return noticeRegenerateUndone, nil
}

// finishPair completes or undoes a replacePair of certPath and keyPath a
// crash cut short: with a pending key nothing was replaced, so the
// pending files go (undone); with only a pending certificate the new key
// is in place, and the certificate follows it once seen to match it
// (finished).
func finishPair(certPath, keyPath string) (undone, finished bool, err error) {
	pendingCert, pendingKey := certPath+pendingSuffix, keyPath+pendingSuffix
	certLeft, err := exists(pendingCert)
	if err != nil {
		return false, false, err
	}
	keyLeft, err := exists(pendingKey)
	if err != nil {
		return false, false, err
	}
	switch {
	case keyLeft:
		for _, p := range []string{pendingKey, pendingCert} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, false, fmt.Errorf("certs: remove the unused %s: %w", p, err)
			}
		}
		return true, false, nil
	case certLeft:
		if err := pairMatches(pendingCert, keyPath); err != nil {
			return false, false, fmt.Errorf("certs: a regeneration was interrupted, and %s does not go with %s (%w); regenerate the certificate", pendingCert, keyPath, err)
		}
		if err := os.Rename(pendingCert, certPath); err != nil {
			return false, false, fmt.Errorf("certs: %w", err)
		}
		syncDir(filepath.Dir(certPath))
		return false, true, nil
	}
	return false, false, nil
}

// pairMatches reports why the certificate and key files do not form a
// pair, or nil.
func pairMatches(certPath, keyPath string) error {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	_, err = tls.X509KeyPair(certPEM, keyPEM)
	return err
}

// syncDir makes a rename in dir survive a power cut, as far as the file
// system allows.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
