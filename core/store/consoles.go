package store

import (
	"encoding/json"
	"fmt"

	"provisio/core"
)

// Remote consoles (#12), keyed by lower-case name.

func (t *txn) Console(name string) (c core.Console, err error) {
	err = t.getJSON(bucketConsoles, userKey(name), &c)
	return c, err
}

func (t *txn) PutConsole(c core.Console) error {
	return t.putJSON(bucketConsoles, userKey(c.Name), c)
}

func (t *txn) Consoles() ([]core.Console, error) {
	var out []core.Console
	c := t.tx.Bucket(bucketConsoles).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var con core.Console
		if err := json.Unmarshal(v, &con); err != nil {
			return nil, fmt.Errorf("decode console %s: %w", k, err)
		}
		out = append(out, con)
	}
	return out, nil
}
