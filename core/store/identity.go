package store

import (
	"encoding/json"
	"fmt"
	"sort"
)

// The server identity shared by every server on one store (issue #16):
// the generated TLS certificate and its key, and the device CA, kept in
// config "shared_identity" as a JSON map from file name to the file's
// bytes, each sealed with the data key. The first server to start puts
// its files there; every other one takes them, so phones see one
// certificate whichever server answers.

var keySharedIdentity = []byte("shared_identity")

// ShareFiles stores files as the site's identity unless the store already
// holds one, and returns the identity the store holds afterwards (files,
// or the one another server stored first). It needs a data key.
func (s *Store) ShareFiles(files map[string][]byte) (map[string][]byte, error) {
	if s.crypt == nil {
		return nil, fmt.Errorf("the store has no data key to seal the shared certificate with")
	}
	var out map[string][]byte
	err := s.update(func(tx KVTx) error {
		cfg := tx.Bucket(bucketConfig)
		if v := cfg.Get(keySharedIdentity); v != nil {
			m, err := s.openIdentity(v)
			out = m
			return err
		}
		data, err := sealIdentity(s.crypt, files)
		if err != nil {
			return err
		}
		out = files
		return cfg.Put(keySharedIdentity, data)
	})
	return out, err
}

// SharedFiles is the site's identity as ShareFiles stored it, or nil when
// no server has stored one yet. It needs a data key.
func (s *Store) SharedFiles() (map[string][]byte, error) {
	if s.crypt == nil {
		return nil, fmt.Errorf("the store has no data key to open the shared certificate with")
	}
	var out map[string][]byte
	err := s.view(func(tx KVTx) error {
		v := tx.Bucket(bucketConfig).Get(keySharedIdentity)
		if v == nil {
			return nil
		}
		m, err := s.openIdentity(v)
		out = m
		return err
	})
	return out, err
}

// sealIdentity is the shared identity record of files, each sealed with c
// (ShareFiles, and RotateKey under the new key).
func sealIdentity(c *sealer, files map[string][]byte) ([]byte, error) {
	sealed := map[string][]byte{}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sealed[n] = c.sealBytes(files[n], ad(bucketConfig, keySharedIdentity, n))
	}
	return json.Marshal(sealed)
}

func (s *Store) openIdentity(v []byte) (map[string][]byte, error) {
	var sealed map[string][]byte
	if err := json.Unmarshal(v, &sealed); err != nil {
		return nil, fmt.Errorf("the shared certificate record does not decode: %w", err)
	}
	out := map[string][]byte{}
	for n, b := range sealed {
		p, err := s.crypt.openBytes(b, ad(bucketConfig, keySharedIdentity, n))
		if err != nil {
			return nil, fmt.Errorf("the shared %s: %w", n, err)
		}
		out[n] = p
	}
	return out, nil
}

// ReplaceSharedFiles puts files into the site's shared identity in the
// place of the files of the same names, keeping the others: a certificate
// regenerated on one server (issue #16), which the others then take.
func (s *Store) ReplaceSharedFiles(files map[string][]byte) error {
	if s.crypt == nil {
		return fmt.Errorf("the store has no data key to seal the shared certificate with")
	}
	return s.update(func(tx KVTx) error {
		cfg := tx.Bucket(bucketConfig)
		all := map[string][]byte{}
		if v := cfg.Get(keySharedIdentity); v != nil {
			m, err := s.openIdentity(v)
			if err != nil {
				return err
			}
			all = m
		}
		for n, b := range files {
			all[n] = b
		}
		data, err := sealIdentity(s.crypt, all)
		if err != nil {
			return err
		}
		return cfg.Put(keySharedIdentity, data)
	})
}
