package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// siteKeys is every key of the site with its value and modification
// revision, as etcd holds them.
func siteKeys(t *testing.T, kv *etcdstore.KV) map[string]string {
	t.Helper()
	resp, err := kv.Client().Get(context.Background(), kv.Prefix(), clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range resp.Kvs {
		out[string(e.Key)] = fmt.Sprintf("%q at revision %d, version %d", e.Value, e.ModRevision, e.Version)
	}
	return out
}

// TestFormat_Site: the data format number lives under the site's config
// like the other config keys; a site from before the numbers gets it on
// the next open, and a site of a newer format is refused with one
// sentence naming the site, with no key of the site changed; once set
// back, it opens.
func TestFormat_Site(t *testing.T) {
	key := newKey(t)
	cfg := etcdstore.Config{Endpoints: endpoints(t), Site: newSite(), MaxTxnOps: etcdtest.MaxTxnOps}
	st, err := etcdstore.Open(cfg, t.TempDir(), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, storetest.MustServiceOn(t, st), "alice", "731945862")
	kv := st.Backend().(*etcdstore.KV)
	formatKey := kv.Prefix() + "config/format"
	ctx := context.Background()
	get := func() string {
		t.Helper()
		resp, err := kv.Client().Get(ctx, formatKey)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 0 {
			return "<absent>"
		}
		return string(resp.Kvs[0].Value)
	}
	put := func(v string) {
		t.Helper()
		if _, err := kv.Client().Put(ctx, formatKey, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := get(); got != "1" {
		t.Fatalf("a new site's %s = %q, want \"1\"", formatKey, got)
	}
	where := kv.Where()

	// A site from before format numbers.
	if _, err := kv.Client().Delete(ctx, formatKey); err != nil {
		t.Fatal(err)
	}
	again, err := etcdstore.Open(cfg, t.TempDir(), store.Options{Key: key})
	if err != nil {
		t.Fatalf("open a site from before format numbers: %v", err)
	}
	again.Close()
	if got := get(); got != "1" {
		t.Fatalf("after the open, %s = %q, want \"1\"", formatKey, got)
	}

	// A site of a newer format, also with another key.
	put("2")
	before := siteKeys(t, kv)
	for _, k := range [][]byte{key, newKey(t)} {
		_, err = etcdstore.Open(cfg, t.TempDir(), store.Options{Key: k})
		if !errors.Is(err, store.ErrNewerFormat) {
			t.Fatalf("open a site of data format 2: %v, want ErrNewerFormat", err)
		}
		want := where + " was written by a newer Provisio (data format 2); this one reads data format 1 and older. Run the newer Provisio, or restore a backup made by this version."
		if err.Error() != want {
			t.Fatalf("message\n got %q\nwant %q", err, want)
		}
	}
	after := siteKeys(t, kv)
	if len(after) != len(before) {
		t.Fatalf("the refused open changed the site's keys: %d, were %d", len(after), len(before))
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("the refused open changed %s", k)
		}
	}
	put("1")
	st.Close()
	st, err = etcdstore.Open(cfg, t.TempDir(), store.Options{Key: key})
	if err != nil {
		t.Fatalf("open after the number was set back: %v", err)
	}
	defer st.Close()
	if _, err := storetest.MustServiceOn(t, st).User("alice"); err != nil {
		t.Fatalf("alice after the refusal: %v", err)
	}
}
