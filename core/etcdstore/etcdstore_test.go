package etcdstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core"
	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

var (
	clusterOnce sync.Once
	shared      *etcdtest.Cluster
	siteN       int
	siteMu      sync.Mutex
)

// endpoints are the etcd members the tests use: the embedded cluster, or
// the members PROVISIO_TEST_ETCD names (host:port,...), to run the same
// tests against another etcd server version (docs/decisions.md #16).
func endpoints(t testing.TB) []string {
	if e := os.Getenv("PROVISIO_TEST_ETCD"); e != "" {
		return strings.Split(e, ",")
	}
	return cluster(t).Endpoints()
}

// cluster is one 3-member cluster for the package's tests; each test
// uses a site of its own, so they do not see each other's keys.
func cluster(t testing.TB) *etcdtest.Cluster {
	clusterOnce.Do(func() {
		c, err := etcdtest.StartCluster(tempRoot, 3)
		if err != nil {
			t.Fatalf("start an embedded etcd cluster: %v", err)
		}
		shared = c
	})
	if shared == nil {
		t.Fatal("the embedded etcd cluster did not start")
	}
	return shared
}

func newSite() string {
	siteMu.Lock()
	defer siteMu.Unlock()
	siteN++
	return fmt.Sprintf("t%d-%d", os.Getpid(), siteN)
}

// openSite opens a store on site with key.
func openSite(t *testing.T, site string, key []byte) *store.Store {
	t.Helper()
	st, err := etcdstore.Open(etcdstore.Config{Endpoints: endpoints(t), Site: site, MaxTxnOps: etcdtest.MaxTxnOps}, t.TempDir(), store.Options{Key: key})
	if err != nil {
		t.Fatalf("open etcd store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newKey(t *testing.T) []byte {
	k := make([]byte, store.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// openSiteB opens a store on a new site for a benchmark.
func openSiteB(b *testing.B) *store.Store {
	st, err := etcdstore.Open(etcdstore.Config{Endpoints: endpoints(b), Site: newSite(), MaxTxnOps: etcdtest.MaxTxnOps}, b.TempDir(), store.Options{Key: make([]byte, store.KeySize)})
	if err != nil {
		b.Fatalf("open etcd store: %v", err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func TestStore_Conformance(t *testing.T) {
	storetest.Conformance(t, func(t *testing.T) *store.Store { return openSite(t, newSite(), newKey(t)) })
}

// TestStore_TwoNodesNoLostUpdate: two stores (two Provisio servers) on one
// site increment one record concurrently; every increment survives and
// the log chain stays whole.
func TestStore_TwoNodesNoLostUpdate(t *testing.T) {
	site, key := newSite(), newKey(t)
	a, b := openSite(t, site, key), openSite(t, site, key)
	const per = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*per)
	for _, st := range []*store.Store{a, b} {
		for i := 0; i < per; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- st.Batch(func(tx core.Tx) error {
					ls, err := tx.LoginState("counter")
					if err != nil && err != core.ErrNotFound {
						return err
					}
					ls.Failures++
					if err := tx.PutLoginState("counter", ls); err != nil {
						return err
					}
					_, err = tx.AppendLog(core.LogEntry{Message: "inc"})
					return err
				})
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	err := b.View(func(tx core.Tx) error {
		ls, err := tx.LoginState("counter")
		if err != nil || ls.Failures != 2*per {
			t.Errorf("counter = %d, %v; want %d", ls.Failures, err, 2*per)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := a.VerifyLog(); err != nil || v.Checked != 2*per {
		t.Fatalf("log = %+v, %v", v, err)
	}
}

// TestOpen_WrongKey: a node given another data key is refused.
func TestOpen_WrongKey(t *testing.T) {
	site := newSite()
	openSite(t, site, newKey(t))
	_, err := etcdstore.Open(etcdstore.Config{Endpoints: endpoints(t), Site: site}, t.TempDir(), store.Options{Key: newKey(t)})
	if err == nil || err.Error() != store.ErrKeyMismatch.Error() {
		t.Fatalf("open with another key: %v", err)
	}
}

// TestStore_OwnLinesNameTheOpener: the lines the store writes itself (the
// first encryption of a site, a key rotation) name who opened it, on etcd
// as on the data file.
func TestStore_OwnLinesNameTheOpener(t *testing.T) {
	site := newSite()
	storetest.OwnLinesNameTheOpener(t, t.TempDir(), func(t *testing.T, opt store.Options) *store.Store {
		st, err := etcdstore.Open(etcdstore.Config{Endpoints: endpoints(t), Site: site, MaxTxnOps: etcdtest.MaxTxnOps}, t.TempDir(), opt)
		if err != nil {
			t.Fatalf("open etcd store: %v", err)
		}
		return st
	})
}

// TestStore_SecretsAtRest: what the site holds in etcd, every key and
// value under its prefix (sessions and relayed events included), gives
// away no secret, no hash of a code computable without the data key, and
// no stored hash that works as the secret it stands for
// (storetest.SecretsAtRest).
func TestStore_SecretsAtRest(t *testing.T) {
	st := openSite(t, newSite(), newKey(t))
	storetest.SecretsAtRest(t, st, func(t *testing.T) []byte {
		kv := st.Backend().(*etcdstore.KV)
		resp, err := kv.Client().Get(context.Background(), kv.Prefix(), clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, e := range resp.Kvs {
			all = append(append(append(all, e.Key...), '\n'), e.Value...)
			all = append(all, '\n')
		}
		return all
	})
}
