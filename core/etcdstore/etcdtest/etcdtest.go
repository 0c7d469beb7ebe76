// Package etcdtest starts a real etcd cluster inside a test process
// (go.etcd.io/etcd/server/v3/embed): members on 127.0.0.1 ports only, data
// in the test's temporary directory, stopped when the test ends.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// MaxTxnOps is the members' --max-txn-ops: big enough for an import of
// thousands of users in one transaction.
const MaxTxnOps = 100000

// Member is one embedded etcd server.
type Member struct {
	Name      string
	ClientURL string // http://127.0.0.1:port (https:// with StartTLS)
	cfg       *embed.Config
	mu        sync.Mutex
	etcd      *embed.Etcd // nil while stopped
}

// Cluster is a running embedded cluster.
type Cluster struct {
	Members []*Member
	tb      testing.TB
	// closing counts the Closes of killed members still running.
	closing sync.WaitGroup
}

// Start starts an n-member cluster and waits until it has a leader. It
// fails the test when the cluster does not come up.
func Start(tb testing.TB, n int) *Cluster {
	tb.Helper()
	c, err := StartCluster(tb.TempDir(), n)
	if err != nil {
		tb.Fatalf("start an embedded etcd cluster: %v", err)
	}
	c.tb = tb
	tb.Cleanup(c.Close)
	return c
}

// StartCluster starts an n-member cluster with its data under dir, for
// programs (the wrk benchmark) as well as tests. Close stops it.
//
// The members' ports are picked free (freePort) and bound a moment later,
// so another process can take one in between (seen once in CI, with the
// test packages running in parallel): then the cluster is started again
// on fresh ports, up to three times.
func StartCluster(dir string, n int) (*Cluster, error) {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var c *Cluster
		c, err = startCluster(fmt.Sprintf("%s/try%d", dir, attempt), n)
		if err == nil || !isAddrInUse(err) {
			return c, err
		}
	}
	return nil, err
}

// isAddrInUse reports whether a member could not bind its port.
func isAddrInUse(err error) bool { return strings.Contains(err.Error(), "address already in use") }

func startCluster(dir string, n int) (*Cluster, error) { return startClusterTLS(dir, n, nil) }

// StartDefaultLimits starts a one-member cluster with etcd's own default
// --max-txn-ops (128) and --max-request-bytes (1.5 MiB), as a site set up
// by the README has them: what must work there is tested there.
func StartDefaultLimits(tb testing.TB) *Cluster {
	tb.Helper()
	dir := tb.TempDir()
	var c *Cluster
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		c, err = startClusterLimits(fmt.Sprintf("%s/try%d", dir, attempt), 1, nil, false)
		if err == nil || !isAddrInUse(err) {
			break
		}
	}
	if err != nil {
		tb.Fatalf("start an embedded etcd member with default limits: %v", err)
	}
	c.tb = tb
	tb.Cleanup(c.Close)
	return c
}

// startClusterTLS is startCluster with the client port on TLS when tls is
// not nil.
func startClusterTLS(dir string, n int, tls *transport.TLSInfo) (*Cluster, error) {
	return startClusterLimits(dir, n, tls, true)
}

// startClusterLimits starts the members with MaxTxnOps and 16 MiB
// requests when raised, else with etcd's defaults.
func startClusterLimits(dir string, n int, tls *transport.TLSInfo, raised bool) (*Cluster, error) {
	c := &Cluster{}
	scheme := "http"
	if tls != nil {
		scheme = "https"
	}
	var initial []string
	for i := range n {
		peer, client, err := freePort(), freePort(), error(nil)
		_ = err
		name := fmt.Sprintf("m%d", i+1)
		cfg := embed.NewConfig()
		cfg.Name = name
		cfg.Dir = fmt.Sprintf("%s/%s", dir, name)
		pu, _ := url.Parse("http://127.0.0.1:" + peer)
		cu, _ := url.Parse(scheme + "://127.0.0.1:" + client)
		if tls != nil {
			cfg.ClientTLSInfo = *tls
		}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
		cfg.InitialClusterToken = "provisio-test"
		if raised {
			cfg.MaxTxnOps = MaxTxnOps
			cfg.MaxRequestBytes = 16 << 20
		}
		cfg.LogLevel = "error"
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.ElectionMs = 500
		cfg.TickMs = 50
		initial = append(initial, name+"="+pu.String())
		c.Members = append(c.Members, &Member{Name: name, ClientURL: cu.String(), cfg: cfg})
	}
	for _, m := range c.Members {
		m.cfg.InitialCluster = strings.Join(initial, ",")
	}
	errs := make(chan error, n)
	for _, m := range c.Members {
		go func() { errs <- m.start() }()
	}
	// Every member's answer, so that none is still starting when a
	// failed cluster is closed.
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		c.Close()
		return nil, first
	}
	return c, nil
}

func (m *Member) start() error {
	e, err := embed.StartEtcd(m.cfg)
	if err != nil {
		return fmt.Errorf("member %s: %w", m.Name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return fmt.Errorf("member %s did not become ready within a minute", m.Name)
	}
	m.mu.Lock()
	m.etcd = e
	m.mu.Unlock()
	return nil
}

// Endpoints are the members' client addresses, host:port.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(m.ClientURL, "http://"), "https://"))
	}
	return out
}

// URL is the store address of the cluster for site, as --store takes it.
func (c *Cluster) URL(site string) string {
	return "etcd://" + strings.Join(c.Endpoints(), ",") + "/" + site
}

// Client returns a client of the whole cluster, closed with the test.
func (c *Cluster) Client(tb testing.TB) *clientv3.Client {
	tb.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cli.Close() })
	return cli
}

// Stop stops member i (its data stays, Restart brings it back).
func (c *Cluster) Stop(i int) {
	m := c.Members[i]
	m.mu.Lock()
	e := m.etcd
	m.etcd = nil
	m.mu.Unlock()
	if e != nil {
		e.Close()
	}
}

// Kill stops member i the way a crash or a pulled cable does: no leader
// transfer, no graceful goodbye (Server.HardStop; the listeners close in
// the background), so when it led Raft the others must elect a new
// leader. It returns once the member has stopped.
func (c *Cluster) Kill(i int) {
	m := c.Members[i]
	m.mu.Lock()
	e := m.etcd
	m.etcd = nil
	m.mu.Unlock()
	if e != nil {
		e.Server.HardStop()
		// Close waits for clients' streams to end (up to the request
		// timeout); the member is already gone for Raft and its clients.
		c.closing.Add(1)
		go func() {
			defer c.closing.Done()
			e.Close()
		}()
	}
}

// Restart starts a stopped member i again with its data.
func (c *Cluster) Restart(i int) error {
	m := c.Members[i]
	m.cfg.ClusterState = embed.ClusterStateFlagExisting
	return m.start()
}

// Leader returns the index of the member that leads Raft, or -1.
func (c *Cluster) Leader() int {
	for i, m := range c.Members {
		m.mu.Lock()
		e := m.etcd
		m.mu.Unlock()
		if e != nil && e.Server.Leader() == e.Server.MemberID() {
			return i
		}
	}
	return -1
}

// Close stops every member.
func (c *Cluster) Close() {
	for i := range c.Members {
		c.Stop(i)
	}
	c.closing.Wait()
}

// freePort returns a port on 127.0.0.1 free a moment ago.
func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}
