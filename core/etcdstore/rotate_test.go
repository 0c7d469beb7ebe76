package etcdstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core"
	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// lostAnswer is a site's KV whose next Update commits and then reports
// what etcd reports when the answer to a commit is lost (a member fails,
// or the request timeout runs out, after the proposal): the change may
// have been saved.
type lostAnswer struct {
	*etcdstore.KV
	lose atomic.Bool
}

func (l *lostAnswer) Update(fn func(store.KVTx) error) error {
	err := l.KV.Update(fn)
	if err == nil && l.lose.Swap(false) {
		return etcdstore.CommitError(context.DeadlineExceeded)
	}
	return err
}

// TestRotateKey_AnswerLost: a key rotation whose commit etcd does not
// confirm may still have re-encrypted the site, so the new key is kept
// (provisio.key.new) and the command says so in a sentence of its own,
// not etcd's text nor "nothing changed"; the next open takes whichever
// key the site is sealed with. Deleting the new key there, as a refused
// commit rightly does, would leave a site sealed under a key nobody has.
func TestRotateKey_AnswerLost(t *testing.T) {
	cfg := etcdstore.Config{Endpoints: endpoints(t), Site: newSite(), MaxTxnOps: etcdtest.MaxTxnOps}
	keyDir := t.TempDir()
	kv, err := etcdstore.Connect(cfg)
	if err != nil {
		t.Fatal(err)
	}
	la := &lostAnswer{KV: kv}
	st, err := store.OpenBackend(la, t.TempDir(), store.Options{KeyDir: keyDir})
	if err != nil {
		kv.Close()
		t.Fatal(err)
	}
	storetest.MustAddUser(t, storetest.MustServiceOn(t, st), "alice", "731945862")

	la.lose.Store(true)
	_, err = st.RotateKey()
	st.Close()
	var ce *core.Error
	if !errors.As(err, &ce) {
		t.Fatalf("rotate with the answer lost: %v; want a core.Error with a sentence", err)
	}
	for _, bad := range []string{"deadline", "etcdserver", "nothing changed", "nothing was changed"} {
		if strings.Contains(ce.Message, bad) {
			t.Errorf("the sentence %q says %q", ce.Message, bad)
		}
	}
	if !strings.Contains(ce.Message, store.KeyFileName+".new") {
		t.Errorf("the sentence %q does not say where the new key is kept", ce.Message)
	}
	if _, err := os.Stat(filepath.Join(keyDir, store.KeyFileName+".new")); err != nil {
		t.Fatalf("the new key was not kept: %v", err)
	}

	// etcd did apply it here: the next open finds the site sealed with
	// the kept key and puts it in place.
	st2, err := etcdstore.Open(cfg, t.TempDir(), store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatalf("open after the lost answer: %v", err)
	}
	defer st2.Close()
	if u, err := storetest.MustServiceOn(t, st2).User("alice"); err != nil || u.PIN != "731945862" {
		t.Fatalf("alice after the lost answer: %q %v", u.PIN, err)
	}
}

// TestRotateKey_LeavesNoOldRevision: etcd keeps every earlier value of a
// key until its history is compacted (by default never), so after a key
// rotation the site's values sealed under the retired key were still
// there for anyone with read access to etcd and that key (etcdctl get
// --rev). The rotation compacts the history up to its own commit: an
// earlier revision is no longer served.
func TestRotateKey_LeavesNoOldRevision(t *testing.T) {
	cfg := etcdstore.Config{Endpoints: endpoints(t), Site: newSite(), MaxTxnOps: etcdtest.MaxTxnOps}
	st, err := etcdstore.Open(cfg, t.TempDir(), store.Options{KeyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.MustAddUser(t, storetest.MustServiceOn(t, st), "alice", "731945862")
	kv := st.Backend().(*etcdstore.KV)
	ctx := context.Background()
	before, err := kv.Client().Get(ctx, kv.Prefix(), clientv3.WithPrefix())
	if err != nil || len(before.Kvs) == 0 {
		t.Fatalf("the site before the rotation: %v, %v", before, err)
	}
	if _, err := st.RotateKey(); err != nil {
		t.Fatal(err)
	}
	old, err := kv.Client().Get(ctx, kv.Prefix(), clientv3.WithPrefix(), clientv3.WithRev(before.Header.Revision))
	if err == nil {
		t.Fatalf("etcd still serves the site as it was before the rotation (%d keys at revision %d), sealed under the retired key", len(old.Kvs), before.Header.Revision)
	}
	if !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("reading the revision before the rotation: %v; want it compacted", err)
	}
	if u, err := storetest.MustServiceOn(t, st).User("alice"); err != nil || u.PIN != "731945862" {
		t.Fatalf("alice after the rotation: %q %v", u.PIN, err)
	}
}
