package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store"
	"provisio/ui"
)

// node is one Provisio server on the shared etcd store (issue #16).
type node struct {
	dir, keyDir string
	fp          string
	*serving
}

// runStore runs one command line against a node's data directory with
// the records in the etcd store url.
func runStore(t *testing.T, url, dir, keyDir string, args ...string) (int, string, string) {
	t.Helper()
	return runStoreIn(t, url, dir, keyDir, "", args...)
}

// runStoreIn is runStore with stdin piped in, for secrets given as "-".
func runStoreIn(t *testing.T, url, dir, keyDir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	code := runIn(stdin, append([]string{"--data", dir, "--key-dir", keyDir, "--store", url}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

var fpLine = regexp.MustCompile(`Certificate SHA-256: (\S+)`)

// startNode runs "serve" for a node on 127.0.0.1 and stops it with the
// test.
func startNode(t *testing.T, url string, n *node) {
	t.Helper()
	n.serving = startServe(t, 30*time.Second, "--data", n.dir, "--key-dir", n.keyDir, "--store", url, "serve", "--listen", "127.0.0.1:0")
	m := fpLine.FindStringSubmatch(n.out.String())
	if m == nil {
		t.Fatalf("no fingerprint in %q", n.out.String())
	}
	n.fp = m[1]
	t.Cleanup(func() { n.stopNode(t) })
}

// stopNode stops the node's server (once).
func (n *node) stopNode(t *testing.T) {
	if code := n.halt(); code > 0 {
		t.Errorf("serve exit %d: %s", code, n.errOut.String())
	}
}

// twoNodes starts a 3-member etcd cluster and two Provisio servers on
// it, with an agent "vpn" on 127.0.0.1 and the user carol (PIN 2468).
func twoNodes(t *testing.T) (url string, cluster *etcdtest.Cluster, a, b *node) {
	cluster = etcdtest.Start(t, 3)
	url = cluster.URL("office") + "?max-txn-ops=" + fmt.Sprint(etcdtest.MaxTxnOps)
	root := t.TempDir()
	a = &node{dir: filepath.Join(root, "a"), keyDir: filepath.Join(root, "a-keys")}
	b = &node{dir: filepath.Join(root, "b"), keyDir: filepath.Join(root, "b-keys")}
	for _, step := range []struct {
		stdin string // a secret given as "-"
		args  []string
	}{
		{"2468\n", []string{"user", "add", "carol", "--pin", "-", "--email", "carol@example.org"}},
		{"", []string{"settings", "set", "server.advertise", "127.0.0.1"}},
		{"vpn-secret-123\n", []string{"agent", "add", "vpn", "--host", "127.0.0.1", "--secret", "-"}},
	} {
		if code, _, errOut := runStoreIn(t, url, a.dir, a.keyDir, step.stdin, step.args...); code != 0 {
			t.Fatalf("%v: %s", step.args, errOut)
		}
	}
	// Every node is given the same data key.
	key, err := os.ReadFile(filepath.Join(a.keyDir, store.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(b.keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.keyDir, store.KeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	startNode(t, url, a)
	startNode(t, url, b)
	return url, cluster, a, b
}

// provisionOn reprovisions user through node via the CLI (attached to
// the running server) and returns the code.
func provisionOn(t *testing.T, url string, n *node, user string) string {
	t.Helper()
	code, out, errOut := runStore(t, url, n.dir, n.keyDir, "reprovision", user)
	if code != 0 {
		t.Fatalf("reprovision: %s", errOut)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Provision code for "+user+": "); ok {
			return v
		}
	}
	t.Fatalf("no code in %q", out)
	return ""
}

// phoneOn provisions a phone against node n with code and downloads its
// strings there.
func phoneOn(t *testing.T, n *node, user, code string) *agentxmltest.MobileClient {
	t.Helper()
	host, port, _ := strings.Cut(n.addr, ":")
	m, err := agentxmltest.NewMobileClient(core.ProvisionURL(host, port, "", user, code), n.fp)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Provision("iOS"); err != nil {
		t.Fatalf("provision on %s: %v", n.addr, err)
	}
	if err := m.DownloadStrings(); err != nil {
		t.Fatalf("download on %s: %v", n.addr, err)
	}
	return m
}

func agentOn(t *testing.T, n *node) *agentxmltest.AgentClient {
	t.Helper()
	ac, err := agentxmltest.NewAgentClient("https://"+n.addr, n.fp, "vpn-secret-123")
	if err != nil {
		t.Fatal(err)
	}
	return ac
}

// TestEtcd_TwoServers: a code made on A provisions a phone on B; logins
// pass on either; a replay fails on the other; the same code sent to A
// and B at the same moment passes exactly once, 50 times over.
func TestEtcd_TwoServers(t *testing.T) {
	url, _, a, b := twoNodes(t)
	// One identity: the same certificate on both, and the same answer
	// to a phone's Site ID lookup.
	if a.fp != b.fp {
		t.Fatalf("A serves certificate %s, B %s: want one shared certificate", a.fp, b.fp)
	}
	_, siteOut, _ := runStore(t, url, a.dir, a.keyDir, "settings", "get", "server.siteid")
	siteID := strings.TrimSpace(siteOut)
	for _, n := range []*node{a, b} {
		ac := agentOn(t, n)
		status, _, body, err := ac.Get("/ssdserver/getServerDetails?id=" + siteID)
		if err != nil || status != 200 || !strings.Contains(string(body), "<hostname>127.0.0.1</hostname>") || !strings.Contains(string(body), "<responseCode>0</responseCode>") {
			t.Fatalf("getServerDetails on %s: %d %s %v", n.addr, status, body, err)
		}
	}
	code := provisionOn(t, url, a, "carol")
	phone := phoneOn(t, b, "carol", code)
	agentA, agentB := agentOn(t, a), agentOn(t, b)

	otc, _ := phone.OTC("2468")
	if res, e, err := agentB.Login("carol", otc); err != nil || res != "PASS" {
		t.Fatalf("login on B: %s %s %v", res, e, err)
	}
	if res, _, err := agentA.Login("carol", otc); err != nil || res != "FAIL" {
		t.Fatalf("replay on A: %s %v", res, err)
	}
	otc, _ = phone.OTC("2468")
	if res, e, err := agentA.Login("carol", otc); err != nil || res != "PASS" {
		t.Fatalf("login on A: %s %s %v", res, e, err)
	}

	for round := 0; round < 50; round++ {
		otc, _ := phone.OTC("2468")
		var pass atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, ag := range []*agentxmltest.AgentClient{agentA, agentB} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res, _, err := ag.Login("carol", otc)
				if err != nil {
					t.Errorf("round %d: %v", round, err)
				}
				if res == "PASS" {
					pass.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := pass.Load(); n != 1 {
			t.Fatalf("round %d: the same code passed %d times on two servers, want exactly once", round, n)
		}
	}
	// The user is not locked by the replays (a replay is no failure).
	code2, out, _ := runStore(t, url, b.dir, b.keyDir, "user", "list")
	if code2 != 0 || !strings.Contains(out, "carol") || strings.Contains(out, "locked") {
		t.Fatalf("user list on B: %s", out)
	}
}

// TestEtcd_SessionsCrossServers: an agent's sessionstart on A and its
// login naming the session on B pass (the session is in etcd, not in A's
// memory), with the answers a single server gives: the session serves
// one login; killsession on B ends a session started on A, and a second
// killsession fails; deleting a user through B ends the user's session
// started on A.
func TestEtcd_SessionsCrossServers(t *testing.T) {
	url, _, a, b := twoNodes(t)
	if code, _, errOut := runStoreIn(t, url, a.dir, a.keyDir, "1357\n", "user", "add", "dave", "--pin", "-", "--email", "dave@example.org"); code != 0 {
		t.Fatal(errOut)
	}
	phone := phoneOn(t, b, "carol", provisionOn(t, url, a, "carol"))
	agentA, agentB := agentOn(t, a), agentOn(t, b)
	start := func(user string) string {
		t.Helper()
		r, err := agentA.Action("sessionstart", "Username", user)
		if err != nil || !r.Pass() || r.SessionID == "" {
			t.Fatalf("sessionstart for %s on A: %+v %v", user, r, err)
		}
		return r.SessionID
	}
	want := func(what string, r *agentxmltest.Response, err error, result, errCode string) {
		t.Helper()
		if err != nil || r.Result != result || r.Error != errCode {
			t.Fatalf("%s: %+v %v; want %s %s", what, r, err, result, errCode)
		}
	}

	id := start("carol")
	otc, _ := phone.OTC("2468")
	r, err := agentB.Action("login", "Username", "carol", "SessionID", id, "OTC", otc)
	want("login on B in a session started on A", r, err, "PASS", "")
	otc, _ = phone.OTC("2468")
	r, err = agentB.Action("login", "Username", "carol", "SessionID", id, "OTC", otc)
	want("the spent session used again on B", r, err, "FAIL", "AGENT_ERROR_SESSION")
	r, err = agentA.Action("login", "Username", "carol", "SessionID", id, "OTC", otc)
	want("the spent session used again on A", r, err, "FAIL", "AGENT_ERROR_SESSION")

	id = start("carol")
	r, err = agentB.Action("killsession", "SessionID", id)
	want("killsession on B of a session started on A", r, err, "PASS", "")
	r, err = agentA.Action("killsession", "SessionID", id)
	want("killsession again on A", r, err, "FAIL", "AGENT_ERROR_SESSION")

	id = start("dave")
	if code, _, errOut := runStore(t, url, b.dir, b.keyDir, "user", "delete", "dave"); code != 0 {
		t.Fatalf("user delete on B: %s", errOut)
	}
	r, err = agentA.Action("killsession", "SessionID", id)
	want("killsession on A of a user deleted on B", r, err, "FAIL", "AGENT_ERROR_SESSION")
}

// TestEtcd_MemberStopsDuringLoad: 64 agents log in through both servers
// while the etcd member leading Raft is killed (no leader transfer). Every login answered
// PASS is in the store afterwards (its index is spent), and logins pass
// again after the election.
func TestEtcd_MemberStopsDuringLoad(t *testing.T) {
	url, cluster, a, b := twoNodes(t)
	// A third process on the same store sets up the users, as an admin's
	// CLI on another machine would.
	key, _ := os.ReadFile(filepath.Join(a.keyDir, store.KeyFileName))
	adminDir := t.TempDir()
	adminKeys := filepath.Join(t.TempDir(), "keys")
	os.MkdirAll(adminKeys, 0o700)
	os.WriteFile(filepath.Join(adminKeys, store.KeyFileName), key, 0o600)
	sc := storeChoice{url: url}
	e, err := openEnvStore(adminDir, adminKeys, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	const clients, pin = 64, "7391"
	otcs := make([][]string, clients)
	for i := range otcs {
		name := fmt.Sprintf("load%02d", i)
		if _, err := e.svc.AddUser(core.User{Name: name, PIN: pin, MobileAllowed: true}); err != nil {
			t.Fatal(err)
		}
		ic, err := e.svc.CreateProvisionCode(name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.svc.Provision("127.0.0.1", name, ic.Code, "iOS")
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.svc.SecurityStrings(p.DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		for j, s := range strings.Split(d.Strings, ";") {
			var ss [10]byte
			copy(ss[:], s)
			otcs[i] = append(otcs[i], core.MobileCode(core.ExtractOTC(ss, pin), j))
		}
	}
	agents := []*agentxmltest.AgentClient{agentOn(t, a), agentOn(t, b)}
	acked := make([]int, clients) // highest index answered PASS, -1 none
	// A login counts as "after" when it started once the stopped member
	// was gone (Stop returned): the cluster had to carry on without it.
	var passBefore, passAfter, errs atomic.Int64
	var stoppedAt atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		acked[i] = -1
		wg.Add(1)
		go func() {
			defer wg.Done()
			ag := agents[i%2]
			// Each client logs in at most every 40 ms (64 clients: up to
			// 1,600 logins/s), so the 100 codes each has last beyond the
			// member's stop on a quiet machine too.
			pace := time.NewTicker(40 * time.Millisecond)
			defer pace.Stop()
			for j := 0; j < len(otcs[i]); j++ {
				select {
				case <-done:
					return
				case <-pace.C:
				}
				began := time.Now().UnixNano()
				res, _, err := ag.Login(fmt.Sprintf("load%02d", i), otcs[i][j])
				if err != nil || res != "PASS" {
					// Not acknowledged (a member went away mid-commit):
					// the agent would ask the user again.
					errs.Add(1)
					continue
				}
				acked[i] = j
				if at := stoppedAt.Load(); at != 0 && began > at {
					passAfter.Add(1)
				} else {
					passBefore.Add(1)
				}
			}
		}()
	}
	// Stop a member once a quarter of the codes are spent, not after a
	// fixed time: on a quiet machine 64 clients spend all 6,400 in a few
	// seconds, and the logins after the stop need codes left.
	for deadline := time.Now().Add(20 * time.Second); passBefore.Load() < int64(clients*core.StringsPerDownload/4) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	leader := cluster.Leader()
	if leader < 0 {
		t.Fatal("the cluster has no leader")
	}
	stopBegan := time.Now()
	cluster.Kill(leader)
	stoppedAt.Store(time.Now().UnixNano())
	t.Logf("stopping member %d took %v", leader, time.Since(stopBegan))
	time.Sleep(4 * time.Second)
	close(done)
	wg.Wait()
	t.Logf("logins PASS before the stop %d, after %d, not acknowledged %d", passBefore.Load(), passAfter.Load(), errs.Load())
	if passBefore.Load() == 0 || passAfter.Load() == 0 {
		t.Fatalf("logins before the stop %d, after %d: want both > 0", passBefore.Load(), passAfter.Load())
	}
	err = e.st.View(func(tx core.Tx) error {
		for i, j := range acked {
			ls, err := tx.LoginState(fmt.Sprintf("load%02d", i))
			if j >= 0 && (err != nil || ls.Next <= j) {
				t.Errorf("load%02d: login with index %d was acknowledged but the store's next index is %d (%v)", i, j, ls.Next, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := e.st.VerifyLog(); err != nil {
		t.Fatalf("log chain after the stop: %+v %v", v, err)
	}
}

// TestEtcd_EventsCrossServers: a console attached to A (through its admin
// socket, as an attached console is) hears "provisioned" when the phone
// used B; an agent added on B works on A at once (an action that needs
// its secret: ping needs none).
func TestEtcd_EventsCrossServers(t *testing.T) {
	url, _, a, b := twoNodes(t)
	api, err := adminapi.Dial(filepath.Join(a.dir, adminapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := api.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	code := provisionOn(t, url, b, "carol")
	phoneOn(t, b, "carol", code)
	deadline := time.After(10 * time.Second)
	for seen := false; !seen; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("event stream closed")
			}
			seen = ev.Kind == "provisioned" && ev.User == "carol"
		case <-deadline:
			t.Fatal("the console on A did not hear that carol provisioned on B")
		}
	}
	if code, _, errOut := runStoreIn(t, url, b.dir, b.keyDir, "web-secret-456\n", "agent", "add", "web", "--host", "127.0.0.1", "--secret", "-"); code != 0 {
		t.Fatal(errOut)
	}
	web, err := agentxmltest.NewAgentClient("https://"+a.addr, a.fp, "web-secret-456")
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); ; {
		r, err := web.Action("exists", "Username", "carol")
		if err == nil && r.Pass() {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("agent added on B not accepted on A: %+v %v", r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// detachedCLI is a data directory no server holds, with the site's data
// key: a command run there writes to etcd itself and exits, attached to
// no server (the README's "from either" example).
func detachedCLI(t *testing.T, from *node) (dir, keyDir string) {
	t.Helper()
	root := t.TempDir()
	dir, keyDir = filepath.Join(root, "c"), filepath.Join(root, "c-keys")
	key, err := os.ReadFile(filepath.Join(from.keyDir, store.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keyDir, store.KeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, keyDir
}

// TestEtcd_DetachedCommandConfigReachesEveryServer: settings and agents
// changed by a command line attached to no server reach both running
// servers within seconds, though no serving process relays an event for
// them: a policy turned on applies, a deleted agent's secret is refused
// and an added agent's accepted, on A and on B.
func TestEtcd_DetachedCommandConfigReachesEveryServer(t *testing.T) {
	url, _, a, b := twoNodes(t)
	cdir, ckeys := detachedCLI(t, a)
	// everywhere waits until ok holds on both servers.
	everywhere := func(what string, ok func(n *node) (bool, string)) {
		t.Helper()
		for name, n := range map[string]*node{"A": a, "B": b} {
			var got string
			for end := time.Now().Add(5 * time.Second); ; {
				var done bool
				if done, got = ok(n); done {
					break
				}
				if time.Now().After(end) {
					t.Fatalf("%s by a detached command: not so on server %s 5 s later (%s)", what, name, got)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	clients := map[[2]string]*agentxmltest.AgentClient{}
	action := func(n *node, secret, action string, pairs ...string) (bool, string) {
		ac := clients[[2]string{n.addr, secret}]
		if ac == nil {
			var err error
			if ac, err = agentxmltest.NewAgentClient("https://"+n.addr, n.fp, secret); err != nil {
				t.Fatal(err)
			}
			clients[[2]string{n.addr, secret}] = ac
		}
		r, err := ac.Action(action, pairs...)
		if err != nil {
			return false, err.Error()
		}
		return r.Pass(), r.Result + " " + r.Error
	}

	// A policy: self-provision is off by default, so an agent's
	// provisioncode fails until it is turned on.
	for _, n := range []*node{a, b} {
		if pass, got := action(n, "vpn-secret-123", "provisioncode", "Username", "carol"); pass {
			t.Fatalf("provisioncode passed with self-provision off: %s", got)
		}
	}
	if code, _, errOut := runStore(t, url, cdir, ckeys, "settings", "set", "policy.selfreset.allow_self_provision", "yes"); code != 0 {
		t.Fatalf("settings set: %s", errOut)
	}
	everywhere("self-provision turned on", func(n *node) (bool, string) {
		return action(n, "vpn-secret-123", "provisioncode", "Username", "carol")
	})

	// An agent deleted: its secret is refused (exists needs it; ping
	// would not).
	if code, _, errOut := runStore(t, url, cdir, ckeys, "agent", "delete", "vpn"); code != 0 {
		t.Fatalf("agent delete: %s", errOut)
	}
	everywhere("agent vpn deleted", func(n *node) (bool, string) {
		pass, got := action(n, "vpn-secret-123", "exists", "Username", "carol")
		return !pass, got
	})

	// An agent added: its secret is accepted.
	if code, _, errOut := runStoreIn(t, url, cdir, ckeys, "web-secret-456\n", "agent", "add", "web", "--host", "127.0.0.1", "--secret", "-"); code != 0 {
		t.Fatalf("agent add: %s", errOut)
	}
	everywhere("agent web added", func(n *node) (bool, string) {
		return action(n, "web-secret-456", "exists", "Username", "carol")
	})
}

// TestEtcd_OutboxMovesWithLeader: mail queued on the site is sent by the
// elected server only; when it stops, the other takes over and every
// message arrives exactly once (real SMTP capture server).
func TestEtcd_OutboxMovesWithLeader(t *testing.T) {
	capture, err := smtpcapture.New(smtpcapture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	url, cluster, a, b := twoNodes(t)
	// No mail server yet: messages wait in the outbox.
	const n = 10
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("mail%02d", i)
		if code, _, errOut := runStoreIn(t, url, a.dir, a.keyDir, "1357\n", "user", "add", name, "--email", name+"@example.org", "--pin", "-"); code != 0 {
			t.Fatal(errOut)
		}
		if code, _, errOut := runStore(t, url, []string{a.dir, b.dir}[i%2], []string{a.keyDir, b.keyDir}[i%2], "reprovision", name, "--mail"); code != 0 {
			t.Fatal(errOut)
		}
	}
	cli := cluster.Client(t)
	leaderName := func() string {
		resp, err := cli.Get(context.Background(), "/provisio/office/.leader/", append(clientv3.WithFirstCreate(), clientv3.WithPrefix())...)
		if err != nil || len(resp.Kvs) == 0 {
			return ""
		}
		return string(resp.Kvs[0].Value)
	}
	var first string
	for end := time.Now().Add(10 * time.Second); first == "" && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		first = leaderName()
	}
	nameOf := func(n *node) string {
		b, _ := os.ReadFile(filepath.Join(n.dir, "node-name"))
		return strings.TrimSpace(string(b))
	}
	leader, other := a, b
	if first == nameOf(b) {
		leader, other = b, a
	} else if first != nameOf(a) {
		t.Fatalf("leader %q is neither %q nor %q", first, nameOf(a), nameOf(b))
	}
	leader.stopNode(t)
	// The mail server is set on the remaining server; it leads now.
	for _, args := range [][]string{
		{"settings", "set", "smtp.host", "127.0.0.1"},
		{"settings", "set", "smtp.port", fmt.Sprint(capture.Port())},
		{"settings", "set", "smtp.security", "none"},
		{"settings", "set", "smtp.from", "it@example.org"},
	} {
		if code, _, errOut := runStore(t, url, other.dir, other.keyDir, args...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	for end := time.Now().Add(20 * time.Second); len(capture.Messages()) < n && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive by now
	got := map[string]int{}
	for _, m := range capture.Messages() {
		for _, to := range m.To {
			got[to]++
		}
	}
	if len(got) != n {
		t.Fatalf("%d recipients got mail, want %d: %v", len(got), n, got)
	}
	for to, c := range got {
		if c != 1 {
			t.Errorf("%s got %d messages, want 1", to, c)
		}
	}
	if now := leaderName(); now != nameOf(other) {
		t.Errorf("leader after the stop = %q, want %q", now, nameOf(other))
	}
}

// TestEtcd_StoreCopy: a data file is copied to etcd and back; each copy
// is verified (counts and log chain) and serves the same users, and a
// copy into a store that holds records is refused.
func TestEtcd_StoreCopy(t *testing.T) {
	cluster := etcdtest.Start(t, 3)
	url := cluster.URL("copied")
	root := t.TempDir()
	dir, keys := filepath.Join(root, "file"), filepath.Join(root, "keys")
	runWithIn := func(stdin string, extra []string, args ...string) (int, string, string) {
		var out, errOut syncBuffer
		code := runIn(stdin, append(append([]string{"--data", dir, "--key-dir", keys}, extra...), args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	runWith := func(extra []string, args ...string) (int, string, string) { return runWithIn("", extra, args...) }
	for i := 0; i < 5; i++ {
		if code, _, errOut := runWithIn("1234\n", nil, "user", "add", fmt.Sprintf("copy%d", i), "--pin", "-", "--email", fmt.Sprintf("c%d@example.org", i)); code != 0 {
			t.Fatal(errOut)
		}
	}
	code, out, errOut := runWith(nil, "store", "copy", "--to", url)
	if code != 0 || !strings.Contains(out, "Verified: the same records in every bucket") {
		t.Fatalf("copy to etcd: exit %d %s %s", code, out, errOut)
	}
	etcd := []string{"--store", url}
	if code, out, errOut := runWith(etcd, "user", "list"); code != 0 || !strings.Contains(out, "copy4") {
		t.Fatalf("user list on etcd: %s %s", out, errOut)
	}
	if code, out, errOut := runWith(etcd, "log", "verify"); code != 0 {
		t.Fatalf("log verify on etcd: %s %s", out, errOut)
	}
	// Again into the same, now full, store: refused, nothing changed.
	if code, _, errOut := runWith(nil, "store", "copy", "--to", url); code != 1 || !strings.Contains(errOut, "already holds records") {
		t.Fatalf("second copy: exit %d %s", code, errOut)
	}
	back := filepath.Join(root, "back")
	code, out, errOut = runWith(etcd, "store", "copy", "--to", back)
	if code != 0 || !strings.Contains(out, "Verified") {
		t.Fatalf("copy back: exit %d %s %s", code, out, errOut)
	}
	var o, e syncBuffer
	if code := run([]string{"--data", back, "--key-dir", keys, "user", "list"}, &o, &e); code != 0 || !strings.Contains(o.String(), "copy3") {
		t.Fatalf("user list on the copied file: %s %s", o.String(), e.String())
	}
}

// TestEtcd_StoreInfo: what the Server screen shows of an etcd store: all
// three members healthy, one Raft leader, and the server elected for the
// run-once work.
func TestEtcd_StoreInfo(t *testing.T) {
	url, _, a, _ := twoNodes(t)
	key, _ := os.ReadFile(filepath.Join(a.keyDir, store.KeyFileName))
	keys := filepath.Join(t.TempDir(), "keys")
	os.MkdirAll(keys, 0o700)
	os.WriteFile(filepath.Join(keys, store.KeyFileName), key, 0o600)
	e, err := openEnvStore(t.TempDir(), keys, storeChoice{url: url})
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	var si ui.StoreInfo
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if si = e.storeInfo(); si.Leader != "" {
			break
		}
	}
	healthy, leaders := 0, 0
	for _, m := range si.Members {
		if m.Healthy {
			healthy++
		}
		if m.RaftLeader {
			leaders++
		}
	}
	if !si.Etcd || len(si.Members) != 3 || healthy != 3 || leaders != 1 || si.Leader == "" || si.Leader == si.ThisServer {
		t.Fatalf("store info = %+v", si)
	}
}

// TestEtcd_KeyRotateWaitsForTheSite: on etcd no file lock keeps a second
// process out, so "key rotate" refuses while a server of the site runs
// (it would re-encrypt under running servers that keep the old key); with
// every server stopped it rotates and says to copy the new key to the
// others, and the old key no longer reads the site.
func TestEtcd_KeyRotateWaitsForTheSite(t *testing.T) {
	url, _, a, b := twoNodes(t)
	// An admin's CLI on a third machine, given the site's key.
	key, err := os.ReadFile(filepath.Join(a.keyDir, store.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	adminDir, adminKeys := t.TempDir(), filepath.Join(t.TempDir(), "keys")
	if err := os.MkdirAll(adminKeys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(adminKeys, store.KeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runStore(t, url, adminDir, adminKeys, "key", "rotate")
	if code == 0 || !strings.Contains(errOut, "is running on this etcd site; stop every server of the site") {
		t.Fatalf("key rotate while servers run: exit %d, %q", code, errOut)
	}
	// Nothing changed: node B still serves with the old key.
	if code, out, errOut := runStore(t, url, b.dir, b.keyDir, "user", "list"); code != 0 || !strings.Contains(out, "carol") {
		t.Fatalf("user list on B after the refusal: %d %q %q", code, out, errOut)
	}

	// Every server stopped (each resigns its candidacy): the rotation runs.
	a.stopNode(t)
	b.stopNode(t)
	code, out, errOut := runStore(t, url, adminDir, adminKeys, "key", "rotate")
	if code != 0 || !strings.Contains(out, "Copy the new "+filepath.Join(adminKeys, store.KeyFileName)+" to the key directory of every other server") {
		t.Fatalf("key rotate with the site stopped: exit %d, %q %q", code, out, errOut)
	}
	// B's old key no longer reads the site; the new one does.
	if code, _, _ := runStore(t, url, b.dir, b.keyDir, "user", "list"); code == 0 {
		t.Fatal("the old key still reads the site after the rotation")
	}
	newKey, err := os.ReadFile(filepath.Join(adminKeys, store.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.keyDir, store.KeyFileName), newKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runStore(t, url, b.dir, b.keyDir, "user", "list"); code != 0 || !strings.Contains(out, "carol") {
		t.Fatalf("user list with the new key: %d %q %q", code, out, errOut)
	}
}
