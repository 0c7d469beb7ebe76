package store

import (
	"encoding/json"
	"fmt"

	"provisio/core"
)

// Provisioning profiles (#14), keyed by lower-case name.

func (t *txn) Profile(name string) (p core.Profile, err error) {
	err = t.getJSON(bucketProfiles, userKey(name), &p)
	return p, err
}

func (t *txn) PutProfile(p core.Profile) error {
	return t.putJSON(bucketProfiles, userKey(p.Name), p)
}

func (t *txn) DeleteProfile(name string) error { return t.delete(bucketProfiles, userKey(name)) }

func (t *txn) Profiles() ([]core.Profile, error) {
	var out []core.Profile
	c := t.tx.Bucket(bucketProfiles).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var p core.Profile
		if err := json.Unmarshal(v, &p); err != nil {
			return nil, fmt.Errorf("decode profile %s: %w", k, err)
		}
		out = append(out, p)
	}
	return out, nil
}
