package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
)

// TestEtcd_Check: check with --store reads every record of the etcd site
// and reports as for a data file: a site that holds nothing is EMPTY
// (a wrong site name, say), a sound one OK with its data format and
// records, one with a record that does not decode DAMAGED RECORDS naming
// it, and one a newer Provisio wrote NEWER DATA FORMAT; none of it needs
// the data key or writes anything.
func TestEtcd_Check(t *testing.T) {
	cluster := etcdtest.Start(t, 1)
	url := cluster.URL("checked")
	root := t.TempDir()
	keys := filepath.Join(root, "keys")
	run := func(keyDir string, args ...string) (int, string, string) {
		t.Helper()
		var out, errOut syncBuffer
		code := runIn("1234\n", append([]string{"--data", filepath.Join(root, "data"), "--key-dir", keyDir, "--store", url}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, out, errOut := run(keys, "check")
	if code != 1 || !strings.Contains(out, "Result: EMPTY") || !strings.Contains(errOut, "holds no records") {
		t.Fatalf("an empty site: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := run(keys, "user", "add", "alice", "--pin", "-"); code != 0 {
		t.Fatal(errOut)
	}
	cli := cluster.Client(t)
	ctx := context.Background()
	// What check reads must not change what it reads.
	before, err := cli.Get(ctx, "/provisio/checked/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	// No data key is needed: a key directory that holds none.
	code, out, errOut = run(filepath.Join(root, "nokeys"), "check")
	for _, want := range []string{"Site: etcd://", "/checked", "Data format: 1", "users", "Result: OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("a sound site's report lacks %q:\n%s", want, out)
		}
	}
	if code != 0 || errOut != "" {
		t.Errorf("a sound site: exit %d, stderr %q", code, errOut)
	}
	after, err := cli.Get(ctx, "/provisio/checked/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if after.Header.Revision != before.Header.Revision {
		t.Errorf("check wrote to the site: revision %d, then %d", before.Header.Revision, after.Header.Revision)
	}

	if _, err := cli.Put(ctx, "/provisio/checked/users/mallory", "{not json"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(keys, "check")
	if code != 1 || !strings.Contains(out, "Result: DAMAGED RECORDS") || !strings.Contains(out, `bucket "users": record "mallory" does not decode`) ||
		!strings.Contains(errOut, "holds 1 record that cannot be read") {
		t.Errorf("a damaged record: exit %d\n%s\n%s", code, out, errOut)
	}

	if _, err := cli.Put(ctx, "/provisio/checked/config/format", "2"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(keys, "check")
	if code != 1 || !strings.Contains(out, "Result: NEWER DATA FORMAT") || !strings.Contains(errOut, "was written by a newer Provisio (data format 2)") {
		t.Errorf("a newer format: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestEtcd_CheckNamesServers: check on an etcd site names the site's
// Provisio servers that are up, the one leading the run-once work first:
// none before any starts, both of two, and the other alone once the
// leading one has stopped (resigned, as a stopping server does).
func TestEtcd_CheckNamesServers(t *testing.T) {
	cluster := etcdtest.Start(t, 1)
	url := cluster.URL("named")
	root := t.TempDir()
	run := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errOut syncBuffer
		code := runIn("1234\n", append([]string{"--data", filepath.Join(root, "data"), "--key-dir", filepath.Join(root, "keys"), "--store", url}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	if code, _, errOut := run("user", "add", "alice", "--pin", "-"); code != 0 {
		t.Fatal(errOut)
	}
	check := func(want string) {
		t.Helper()
		code, out, errOut := run("check")
		if code != 0 || !strings.Contains(out, want+"\n") {
			t.Errorf("check: exit %d, stderr %q; want %q in\n%s", code, errOut, want, out)
		}
	}
	check("Provisio servers up: none")

	server := func(name string) (*etcdstore.Leader, func()) {
		l := etcdstore.NewLeader(etcdstore.NewKV(cluster.Client(t), etcdstore.Config{Site: "named", RequestTimeout: 2 * time.Second}), name)
		ctx, cancel := context.WithCancel(context.Background())
		done := l.Start(ctx)
		stop := func() { cancel(); <-done }
		t.Cleanup(stop)
		return l, stop
	}
	first, stopFirst := server("auth1-ab12")
	for end := time.Now().Add(10 * time.Second); !first.Leading() && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
	}
	second, _ := server("auth2-cd34")
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if names, _ := second.Servers(context.Background()); len(names) == 2 {
			break
		}
	}
	check("Provisio servers up: auth1-ab12 (leads mail, log trim and backups), auth2-cd34")
	stopFirst()
	check("Provisio servers up: auth2-cd34 (leads mail, log trim and backups)")
}
