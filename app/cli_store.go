package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"provisio/core/etcdstore"
	"provisio/core/store"
)

// storeCommands move the records between the data file and etcd (#16).
var storeCommands = map[string]command{
	"copy": {
		usage: "store copy --to etcd://h1:2379,h2:2379/site | --to DIR",
		setup: func(fs *flag.FlagSet) action {
			to := fs.String("to", "", "where to copy: an etcd store address, or a data directory for a data file")
			return func(c *cli, _ []string) error {
				if *to == "" {
					return usagef("store copy needs --to")
				}
				return c.storeCopy(*to)
			}
		},
	},
}

// copyChunk is how many records one etcd transaction of a copy carries:
// well inside etcd's default --max-txn-ops of 128.
const copyChunk = 100

// storeCopy copies everything from the current store (the data file, or
// --store) to dest in one pass and reports success only once the copy's
// record counts, sequences and audit log chain match the source. The
// data key is the same (the key directory's).
func (c *cli) storeCopy(dest string) error {
	keyDir := keyDirFor(c.dataDir, c.keyDir)
	var src *store.Store
	var err error
	if c.store.etcd() {
		src, _, err = openEtcd(c.dataDir, keyDir, c.store, commandLine)
	} else {
		if _, serr := os.Stat(filepath.Join(c.dataDir, store.FileName)); serr != nil {
			return fmt.Errorf("there is no data file in %s to copy", c.dataDir)
		}
		src, err = store.Open(c.dataDir, store.Options{HeldData: heldData(c.dataDir), KeyDir: keyDir, Actor: commandLine})
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("%s is in use by a running Provisio (the service or a console); stop it first (sudo systemctl stop provisio, or close the console), so that nothing changes during the copy.", c.dataDir)
		}
	}
	if err != nil {
		return err
	}
	defer src.Close()
	if !src.Encrypted() {
		return errors.New("the source store has no data key; open it once with Provisio (which encrypts it) before copying")
	}
	var dst *store.Store
	chunk := 0
	if etcdstore.IsURL(dest) {
		if dest == c.store.url {
			return errors.New("the source and the destination are the same store")
		}
		dst, _, err = openEtcd(c.dataDir, keyDir, storeChoice{url: dest, ca: c.store.ca, cert: c.store.cert, key: c.store.key}, commandLine)
		chunk = copyChunk
	} else {
		if abs(dest) == abs(c.dataDir) && !c.store.etcd() {
			return errors.New("the source and the destination are the same data directory")
		}
		if fi, serr := os.Stat(filepath.Join(dest, store.FileName)); serr == nil && fi.Size() > 0 {
			return fmt.Errorf("%s already holds a data file; copy only into an empty data directory", dest)
		}
		if err := os.MkdirAll(dest, 0o700); err != nil {
			return err
		}
		dst, err = store.Open(dest, store.Options{KeyDir: keyDir, Actor: commandLine})
	}
	if errors.Is(err, store.ErrNewerFormat) {
		// An etcd site a newer Provisio wrote: its sentence names it.
		return err
	}
	if err != nil {
		return fmt.Errorf("open the destination: %w", err)
	}
	defer dst.Close()
	rep, err := store.CopyRecords(src, dst, chunk)
	if err != nil {
		return fmt.Errorf("The copy to %s did not complete: %w", dst.Path(), err)
	}
	total := 0
	for _, n := range rep.Counts {
		total += n
	}
	fmt.Fprintf(c.out, "Copied %d records from %s to %s (users %d, devices %d, outbox %d, audit log %d entries).\n",
		total, src.Path(), dst.Path(), rep.Counts["users"], rep.Counts["devices"], rep.Counts["outbox"], rep.Counts["log"])
	fmt.Fprintf(c.out, "Verified: the same records in every bucket, and the audit log's chain to entry #%d.\n", rep.LogLast)
	// The copy's secrets are sealed with the source's data key, which
	// stays where it is: opened with the default key directory (beside
	// it, empty) the copy would only say its key is missing, as if it
	// were damaged.
	if !etcdstore.IsURL(dest) && abs(keyDirFor(dest, "")) != abs(keyDir) {
		fmt.Fprintf(c.out, "Its secrets open with the data key in %s: give --key-dir %s with --data %s, or copy %s into %s.\n",
			keyDir, keyDir, dest, store.KeyFileName, keyDirFor(dest, ""))
	}
	return nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
