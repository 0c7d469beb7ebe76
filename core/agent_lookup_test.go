package core_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// hangingDNS answers vpn.office.lan with addr; once armed (hang), the
// next lookup waits until released, as a dead DNS server does, and then
// answers with the address it had when the lookup began.
type hangingDNS struct {
	mu      sync.Mutex
	addr    netip.Addr
	hang    chan struct{}
	entered chan struct{}
}

func newHangingDNS() *hangingDNS {
	return &hangingDNS{addr: netip.MustParseAddr("127.0.0.2"), entered: make(chan struct{}, 1)}
}

func (d *hangingDNS) resolve(_ context.Context, host string) ([]netip.Addr, error) {
	d.mu.Lock()
	hang, addr := d.hang, d.addr
	d.hang = nil
	d.mu.Unlock()
	if hang != nil {
		d.entered <- struct{}{}
		<-hang
	}
	if host != "vpn.office.lan" {
		return nil, errors.New("no such host")
	}
	return []netip.Addr{addr}, nil
}

// arm makes the next lookup hang; the returned function releases it.
func (d *hangingDNS) arm() (release func()) {
	ch := make(chan struct{})
	d.mu.Lock()
	d.hang = ch
	d.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (d *hangingDNS) setAddr(a string) {
	d.mu.Lock()
	d.addr = netip.MustParseAddr(a)
	d.mu.Unlock()
}

// within runs fn and fails t unless it returns within d.
func within(t *testing.T, d time.Duration, what string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(d):
		t.Fatalf("%s did not finish within %s while a host name lookup hung", what, d)
	}
}

// background runs fn and returns a wait for its result.
func background(fn func() error) (wait func(t *testing.T)) {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return func(t *testing.T) {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("it never finished after the lookup was released")
		}
	}
}

func addrsOf(svc *core.Service, name string) string {
	out := ""
	for _, p := range svc.AgentAddresses(name) {
		out += p.String() + " "
	}
	return out
}

// TestService_SaveWhileAgentLookupHangs: a host name lookup (an agent
// save, a reload of the configuration, the periodic lookup) used to run
// under the lock every settings save takes, so a slow DNS server held up
// every save on the server, each by up to the lookup timeout. A save now
// completes while the lookup hangs, and the lookup, once answered, does
// not put back what the save replaced.
func TestService_SaveWhileAgentLookupHangs(t *testing.T) {
	const vpnHost = "vpn.office.lan"
	tests := []struct {
		name string
		// setup runs before the lookup is armed; start starts what hangs.
		setup func(t *testing.T, svc *core.Service)
		start func(svc *core.Service) error
	}{
		{"an agent save", func(*testing.T, *core.Service) {},
			func(svc *core.Service) error {
				return svc.PutAgent(core.Agent{Name: "vpn", Host: vpnHost, Secret: "vpn-secret-1"})
			}},
		{"a reload", func(t *testing.T, svc *core.Service) {
			if err := svc.PutAgent(core.Agent{Name: "vpn", Host: vpnHost, Secret: "vpn-secret-1"}); err != nil {
				t.Fatal(err)
			}
		}, func(svc *core.Service) error { return svc.ReloadConfig("node-b") }},
		{"the periodic lookup", func(t *testing.T, svc *core.Service) {
			if err := svc.PutAgent(core.Agent{Name: "vpn", Host: vpnHost, Secret: "vpn-secret-1"}); err != nil {
				t.Fatal(err)
			}
		}, func(svc *core.Service) error { svc.ResolveAgents(); return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dns := newHangingDNS()
			svc := storetest.MustService(t, core.WithResolver(dns.resolve))
			tt.setup(t, svc)
			release := dns.arm()
			t.Cleanup(release)
			wait := background(func() error { return tt.start(svc) })
			<-dns.entered
			within(t, 2*time.Second, "a settings save", func() error { return svc.SetSetting("server.name", "front-desk") })
			within(t, 2*time.Second, "a profile save", func() error {
				return svc.SetProfileValue(core.DefaultProfileName, "support_phone", "+44 20 7946 0000")
			})
			release()
			wait(t)
			if got := svc.Settings(); got.ServerName != "front-desk" || got.MobileClient.SupportPhone != "+44 20 7946 0000" {
				t.Errorf("snapshot server.name %q, support phone %q: the saves made during the lookup were undone", got.ServerName, got.MobileClient.SupportPhone)
			}
			if got := addrsOf(svc, "vpn"); got != "127.0.0.2/32 " {
				t.Errorf("vpn accepted from %q, want 127.0.0.2/32", got)
			}
		})
	}
}

// TestService_AgentLookupsApplyInCommitOrder: while an agent save's
// lookup hangs, a later save of another agent, and a reload bringing an
// agent another server added, land at once; when the hung lookup answers
// at last, with an address the network has since changed, it puts back
// neither the older agent list nor its older address.
func TestService_AgentLookupsApplyInCommitOrder(t *testing.T) {
	dns := newHangingDNS()
	st := storetest.MustOpen(t)
	svc := storetest.MustServiceOn(t, st, core.WithResolver(dns.resolve))
	other := storetest.MustServiceOn(t, st, core.WithResolver(dns.resolve))
	release := dns.arm()
	t.Cleanup(release)
	wait := background(func() error {
		return svc.PutAgent(core.Agent{Name: "vpn", Host: "vpn.office.lan", Secret: "vpn-secret-1"})
	})
	<-dns.entered
	dns.setAddr("127.0.0.3") // the VPN host moved while the lookup hung
	within(t, 2*time.Second, "a later agent save", func() error {
		return svc.PutAgent(core.Agent{Name: "hr", Host: "127.0.0.9", Secret: "hr-secret-12"})
	})
	if err := other.PutAgent(core.Agent{Name: "web", Host: "127.0.0.10", Secret: "web-secret-1"}); err != nil {
		t.Fatal(err)
	}
	within(t, 2*time.Second, "a reload", func() error { return svc.ReloadConfig("node-b") })
	release()
	wait(t)
	var names []string
	for _, a := range svc.Agents() {
		names = append(names, a.Name)
	}
	if len(names) != 3 || names[0] != "hr" || names[1] != "vpn" || names[2] != "web" {
		t.Errorf("agents %v, want hr, vpn and web", names)
	}
	for name, want := range map[string]string{"vpn": "127.0.0.3/32 ", "hr": "127.0.0.9/32 ", "web": "127.0.0.10/32 "} {
		if got := addrsOf(svc, name); got != want {
			t.Errorf("%s accepted from %q, want %q", name, got, want)
		}
	}
	if _, ok := svc.AuthorizeAgent(netip.MustParseAddr("127.0.0.2"), "vpn-secret-1"); ok {
		t.Error("vpn is accepted from the address it had before it moved")
	}
}
