package etcdstore_test

import (
	"os"
	"path/filepath"
	"testing"

	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// TestSnapshot_IsADataFile: a snapshot of an etcd site (what `provisio
// backup` and scheduled backups take) is a bbolt data file that opens
// with the same key and holds the same users, counts and log chain, and
// the temporary file it was made in is gone afterwards.
func TestSnapshot_IsADataFile(t *testing.T) {
	key := newKey(t)
	node := t.TempDir()
	st, err := etcdstore.Open(etcdstore.Config{Endpoints: endpoints(t), Site: newSite(), MaxTxnOps: etcdtest.MaxTxnOps}, node, store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := storetest.MustServiceOn(t, st)
	for _, name := range []string{"ann", "bob", "cyd"} {
		storetest.MustAddUser(t, svc, name, "4821")
	}
	if _, err := svc.CreateProvisionCode("bob"); err != nil {
		t.Fatal(err)
	}

	restored := t.TempDir()
	f, err := os.Create(filepath.Join(restored, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Snapshot(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("snapshot of an etcd site: %v", err)
	}
	if info.Counts["users"] != 3 || info.LogLast == 0 || info.LogHead == "" {
		t.Fatalf("snapshot info %+v; want 3 users and a verified log head", info)
	}
	left, _ := filepath.Glob(filepath.Join(node, ".snapshot-*"))
	if len(left) != 0 {
		t.Errorf("the snapshot's temporary folder is left behind: %v", left)
	}

	copyStore, err := store.Open(restored, store.Options{Key: key})
	if err != nil {
		t.Fatalf("open the snapshot as a data file: %v", err)
	}
	defer copyStore.Close()
	got, err := copyStore.Info()
	if err != nil {
		t.Fatal(err)
	}
	if got.LogLast != info.LogLast || got.LogHead != info.LogHead {
		t.Errorf("the data file's log ends at #%d %s, the snapshot said #%d %s", got.LogLast, got.LogHead, info.LogLast, info.LogHead)
	}
	for bucket, n := range info.Counts {
		if got.Counts[bucket] != n {
			t.Errorf("bucket %s: %d records in the data file, %d in the snapshot", bucket, got.Counts[bucket], n)
		}
	}
	users, err := storetest.MustServiceOn(t, copyStore).Users()
	if err != nil || len(users) != 3 {
		t.Fatalf("users in the data file: %d, %v; want 3", len(users), err)
	}
}
