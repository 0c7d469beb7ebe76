package main

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"provisio/core/agentxml/agentxmltest"
	"provisio/core/oathkey"
)

// TestEtcd_OATHCodeOnceAcrossServers: an authenticator-app code sent to
// two servers of an etcd site at the same moment (a sniffed code raced
// against the user's own, or a VPN with two RADIUS targets) passes
// exactly once, 30 times over; the token is issued by a command attached
// to no server and confirmed by a first login on one server. HOTP, so
// that each round has a fresh code without waiting 30 s; the codes come
// from pquerna/otp as the app computes them.
func TestEtcd_OATHCodeOnceAcrossServers(t *testing.T) {
	url, _, a, b := twoNodes(t)
	cdir, ckeys := detachedCLI(t, a)
	if code, _, errOut := runStore(t, url, cdir, ckeys, "settings", "set", "oath.enabled", "yes"); code != 0 {
		t.Fatalf("settings set: %s", errOut)
	}
	_, siteOut, _ := runStore(t, url, cdir, ckeys, "settings", "get", "server.siteid")
	siteID := strings.TrimSpace(siteOut)
	agentA, agentB := agentOn(t, a), agentOn(t, b)
	for name, ac := range map[string]*agentxmltest.AgentClient{"A": agentA, "B": agentB} {
		for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			_, _, body, err := ac.Get("/ssdserver/getServerDetails?id=" + siteID)
			if err == nil && strings.Contains(string(body), "<oath>YES</oath>") {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("oath.enabled not on server %s 30 s later: %s %v", name, body, err)
			}
		}
	}
	code, out, errOut := runStore(t, url, cdir, ckeys, "reprovision", "carol", "--oath", "--hotp")
	if code != 0 {
		t.Fatalf("reprovision --oath: %s", errOut)
	}
	var uri string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "otpauth URI: "); ok {
			uri = v
		}
	}
	app, err := oathkey.Parse(uri)
	if err != nil {
		t.Fatalf("URI %q: %v", uri, err)
	}
	at := func(counter uint64) string {
		c, err := hotp.GenerateCodeCustom(app.Secret, counter, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if res, e, err := agentB.Login("carol", at(0)); err != nil || res != "PASS" {
		t.Fatalf("first login (confirming) on B: %s %s %v", res, e, err)
	}
	if res, _, err := agentA.Login("carol", at(0)); err != nil || res != "FAIL" {
		t.Fatalf("the confirming code replayed on A: %s %v", res, err)
	}
	for round := uint64(1); round <= 30; round++ {
		otc := at(round)
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
			t.Fatalf("round %d: the same app code passed %d times on two servers, want exactly once", round, n)
		}
	}
	// The replays counted no failure: carol is not locked.
	if code, out, _ := runStore(t, url, cdir, ckeys, "user", "list"); code != 0 || strings.Contains(out, "locked") {
		t.Fatalf("user list: %s", out)
	}
}
