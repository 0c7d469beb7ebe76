package main

import (
	"errors"
	"os"

	"provisio/core"
	"provisio/core/etcdstore"
	"provisio/core/store"
)

// storeChoice is where the records are kept: the bbolt file in the data
// directory (url ""), or an etcd cluster (--store etcd://h1:2379,h2:2379,
// or PROVISIO_STORE) reached with the TLS files ca, cert and key
// (--etcd-ca, --etcd-cert, --etcd-key, or PROVISIO_ETCD_CA, _CERT, _KEY).
type storeChoice struct{ url, ca, cert, key string }

// withEnvDefaults fills what the flags left empty from the environment.
func (sc storeChoice) withEnvDefaults() storeChoice {
	for _, f := range []struct {
		v   *string
		env string
	}{{&sc.url, "PROVISIO_STORE"}, {&sc.ca, "PROVISIO_ETCD_CA"}, {&sc.cert, "PROVISIO_ETCD_CERT"}, {&sc.key, "PROVISIO_ETCD_KEY"}} {
		if *f.v == "" {
			*f.v = os.Getenv(f.env)
		}
	}
	return sc
}

// check refuses a store address that is neither empty nor etcd://, and
// TLS files without an etcd store.
func (sc storeChoice) check() error {
	if sc.url == "" {
		if sc.ca != "" || sc.cert != "" || sc.key != "" {
			return usagef("--etcd-ca, --etcd-cert and --etcd-key go with --store etcd://...")
		}
		return nil
	}
	_, err := etcdstore.ParseURL(sc.url, sc.ca, sc.cert, sc.key)
	// A mistake in how the store was written is a usage error (exit 2);
	// a TLS file that cannot be read is an error (exit 1).
	var ae *etcdstore.AddressError
	if errors.As(err, &ae) {
		return usageError{msg: ae.Error()}
	}
	return err
}

// etcd reports whether the records are in etcd.
func (sc storeChoice) etcd() bool { return sc.url != "" }

// openEtcd opens the records in the etcd cluster sc names, for actor
// (store.Options.Actor).
func openEtcd(dir, keyDir string, sc storeChoice, actor core.Actor) (*store.Store, *etcdstore.KV, error) {
	cfg, err := etcdstore.ParseURL(sc.url, sc.ca, sc.cert, sc.key)
	if err != nil {
		return nil, nil, err
	}
	kv, err := etcdstore.Connect(cfg)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.OpenBackend(kv, dir, store.Options{KeyDir: keyDir, Actor: actor})
	if err != nil {
		kv.Close()
		return nil, nil, err
	}
	return st, kv, nil
}
