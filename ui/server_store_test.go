package ui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
)

// The Server screen shows the store: the data file, or the etcd members
// with their health and the server leading mail and log trim (#16).
func TestServerScreen_Store(t *testing.T) {
	tests := []struct {
		name string
		info StoreInfo
		want []string
	}{
		{"data file", StoreInfo{Where: "/var/lib/provisio/provisio.db"}, []string{"Data file: /var/lib/provisio/provisio.db"}},
		{"etcd", StoreInfo{Etcd: true, Where: "etcd://h1:2379,h2:2379,h3:2379/office", ThisServer: "auth1-ab12", Leader: "auth2-cd34",
			Servers: []string{"auth2-cd34", "auth1-ab12"},
			Members: []StoreMember{
				{Name: "m1", Endpoint: "http://h1:2379", Healthy: true, RaftLeader: true},
				{Name: "m2", Endpoint: "http://h2:2379", Healthy: true},
				{Name: "m3", Endpoint: "http://h3:2379", Problem: "it does not answer"},
			}},
			[]string{"etcd cluster: etcd://h1:2379,h2:2379,h3:2379/office", "m1  http://h1:2379  healthy, Raft leader",
				"m3  http://h3:2379  NOT healthy: it does not answer",
				"Provisio servers up (2):\n  auth2-cd34  leads mail, log trim and backups\n  auth1-ab12  this server\n",
				"server auth2-cd34 leads (this is auth1-ab12)"}},
		// This server cut off from etcd: its candidacy expired, the
		// other leads.
		{"etcd, this server not listed", StoreInfo{Etcd: true, Where: "etcd://h1:2379/office", ThisServer: "auth1-ab12", Leader: "auth2-cd34",
			Servers: []string{"auth2-cd34"}},
			[]string{"Provisio servers up (1):\n  auth2-cd34  leads mail, log trim and backups\n",
				"(this server, auth1-ab12, is not listed: it has not joined the site's election yet, or has lost etcd)"}},
		// Without a quorum nobody can be elected, nor can etcd say who
		// was: "no server elected yet" would mislead.
		{"etcd without quorum", StoreInfo{Etcd: true, Where: "etcd://h1:2379,h2:2379,h3:2379/office", ThisServer: "auth1-ab12",
			LeaderProblem: "etcd has no quorum (most of its members are down or cannot reach each other), so no server can be elected",
			Members: []StoreMember{
				{Name: "m1", Endpoint: "http://h1:2379", Problem: "it runs but has no Raft leader: most members are down or cannot reach each other"},
				{Name: "m2", Endpoint: "http://h2:2379", Problem: "it does not answer"},
				{Name: "m3", Endpoint: "http://h3:2379", Problem: "it does not answer"},
			}},
			[]string{"Provisio servers up: unknown, etcd cannot say (below)", "Mail and log trim: unknown: etcd has no quorum (most of its members are down or cannot reach each other), so no server can be elected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarnessWith(t, func(_ *harness, d *Deps) { d.Store = func() StoreInfo { return tt.info } })
			s := h.c.server
			h.waitFor("the store's status", func() bool { return !strings.Contains(s.store.Text, "Asking") })
			for _, w := range tt.want {
				if !strings.Contains(s.store.Text, w) {
					t.Errorf("store section %q lacks %q", s.store.Text, w)
				}
			}
			if tt.info.LeaderProblem != "" && strings.Contains(s.store.Text, "no server elected") {
				t.Errorf("store section %q says no server is elected; the leader is unknown", s.store.Text)
			}
		})
	}
}

// TestServerScreen_StoreReadAgainWhenShown: the members' health is read
// again each time the Server screen is shown, keeping what it showed
// until the answer comes. It was read once, when the screen was built:
// an etcd member stopped since still showed "healthy" until Refresh was
// pressed, and one back still showed "NOT healthy".
func TestServerScreen_StoreReadAgainWhenShown(t *testing.T) {
	var mu sync.Mutex
	healthy := true
	info := func() StoreInfo {
		mu.Lock()
		defer mu.Unlock()
		m3 := StoreMember{Name: "m3", Endpoint: "http://h3:2379", Healthy: healthy}
		if !healthy {
			m3.Problem = "it does not answer"
		}
		return StoreInfo{Etcd: true, Where: "etcd://h1:2379,h2:2379,h3:2379/office", ThisServer: "auth1-ab12", Leader: "auth1-ab12",
			Members: []StoreMember{{Name: "m1", Endpoint: "http://h1:2379", Healthy: true, RaftLeader: true}, m3}}
	}
	h := newHarnessWith(t, func(_ *harness, d *Deps) { d.Store = info })
	c, s := h.c, h.c.server
	at := -1
	for i, sc := range c.screens {
		if sc.content == s.content {
			at = i
		}
	}
	if at < 0 {
		t.Fatal("no Server screen")
	}
	c.show(at)
	h.waitFor("the store's status", func() bool { return strings.Contains(s.store.Text, "m3  http://h3:2379  healthy") })

	for _, tc := range []struct {
		healthy bool
		want    string
	}{
		{false, "m3  http://h3:2379  NOT healthy: it does not answer"},
		{true, "m3  http://h3:2379  healthy"},
	} {
		c.showScreen(c.users.content)
		mu.Lock()
		healthy = tc.healthy
		mu.Unlock()
		c.show(at)
		if strings.Contains(s.store.Text, "Asking") {
			t.Errorf("shown again, the store section says %q instead of keeping the last state", s.store.Text)
		}
		h.waitFor("the store's status read again: "+tc.want, func() bool { return strings.Contains(s.store.Text, tc.want) })
	}
}

// siteStore is what app's composition root gives the Server screen on an
// etcd site (env.storeInfo): the site's status as node this reads it.
func siteStore(this *etcdstore.Leader, thisName, where string) func() StoreInfo {
	return func() StoreInfo {
		st := this.SiteStatus(context.Background(), 2*time.Second)
		si := StoreInfo{Etcd: true, Where: where, ThisServer: thisName, Problem: st.Problem,
			Leader: st.Leader, LeaderProblem: st.LeaderProblem, Servers: st.Servers}
		for _, m := range st.Members {
			si.Members = append(si.Members, StoreMember{Name: m.Name, Endpoint: m.Endpoint, Healthy: m.Healthy, RaftLeader: m.Leader, Problem: m.Problem})
		}
		return si
	}
}

// TestServerScreen_SiteServers: on a real etcd site with two Provisio
// servers, the Server screen lists both, the leading one and this one
// marked; once the leading one stops (it resigns, as a stopping server
// does), Refresh lists this server alone, leading. Before, nothing
// listed the site's servers: an admin could not see that one was down.
func TestServerScreen_SiteServers(t *testing.T) {
	site := newTwoServerSite(t)
	h := newHarnessWith(t, func(_ *harness, d *Deps) { d.Store = siteStore(site.this, "auth2-cd34", site.cluster.URL("office")) })
	s := h.c.server
	both := "Provisio servers up (2):\n  auth1-ab12  leads mail, log trim and backups\n  auth2-cd34  this server\n"
	// this campaigns a moment after it started: Refresh until it is listed.
	for end := time.Now().Add(10 * time.Second); !strings.Contains(s.store.Text, both) && time.Now().Before(end); {
		h.waitFor("the store's status", func() bool { return !s.storeRefresh.Disabled() })
		if !strings.Contains(s.store.Text, both) {
			time.Sleep(50 * time.Millisecond)
			test.Tap(s.storeRefresh)
		}
	}
	if !strings.Contains(s.store.Text, both) {
		t.Fatalf("store section %q; want both servers listed:\n%s", s.store.Text, both)
	}

	site.stopOther()
	test.Tap(s.storeRefresh)
	alone := "Provisio servers up (1):\n  auth2-cd34  this server, leads mail, log trim and backups\n"
	h.waitFor("the stopped server gone from the list", func() bool { return strings.Contains(s.store.Text, alone) })
	if strings.Contains(s.store.Text, "auth1-ab12") {
		t.Errorf("store section %q still names the stopped server", s.store.Text)
	}
}

// TestSiteWording: Mail Transport's sentence for a relay certificate not
// pinned, and the Backups note, say whose computer checks the mail and
// takes the scheduled backups. On a data file it is the running server
// and this computer, worded as before; on an etcd site the elected
// server sends the mail and takes the backups (its CA store, its disk,
// its clock) and this server sends the test message and runs Back up now.
func TestSiteWording(t *testing.T) {
	etcd := func(this, leader, problem string) StoreInfo {
		return StoreInfo{Etcd: true, Where: "etcd://h1:2379/office", ThisServer: this, Leader: leader, LeaderProblem: problem}
	}
	tests := []struct {
		name             string
		si               StoreInfo
		pin, note        []string // in the sentence
		pinNot, noteNot  []string // not in it
		pinIs, noteStart string   // the whole sentence, its start
	}{
		{name: "data file", si: StoreInfo{Where: "/var/lib/provisio/provisio.db"},
			pinIs:     "Checked against the authorities this computer trusts.",
			noteStart: "Every day at the time set, the running server writes an encrypted backup of the data, its key and the certificate into the folder, named by date"},
		{name: "etcd, another server leads", si: etcd("auth1-ab12", "auth2-cd34", ""),
			pin:     []string{"Checked against the authorities trusted by the computer of server auth2-cd34 (elected by this etcd site to send the mail); a test message, against those of this server's computer (auth1-ab12)."},
			pinNot:  []string{"this computer trusts"},
			note:    []string{"Every day at the time set, server auth2-cd34 (elected by this etcd site to take the backups) writes an encrypted backup of the site's records", "on its own disk, at its local time", "Back up now and Apply's check of the folder run on this server (auth1-ab12)"},
			noteNot: []string{"the running server"}},
		{name: "etcd, this server leads", si: etcd("auth1-ab12", "auth1-ab12", ""),
			pin:  []string{"this server (auth1-ab12) is the one this etcd site elected to send the mail"},
			note: []string{"Every day at the time set, this server (auth1-ab12, elected by this etcd site to take the backups) writes"}},
		{name: "etcd, none elected", si: etcd("auth1-ab12", "", ""),
			pin:  []string{"the server this etcd site elects to send the mail (none is elected now)"},
			note: []string{"the server this etcd site elects to take the backups (none is elected now) writes"}},
		{name: "etcd without quorum", si: etcd("auth1-ab12", "", "etcd has no quorum"),
			pin:    []string{"(which one is not known now: etcd has no quorum)"},
			pinNot: []string{"none is elected"},
			note:   []string{"(which one is not known now: etcd has no quorum) writes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pin, note := noPinText(tt.si), backupNote(tt.si)
			if tt.pinIs != "" && pin != tt.pinIs {
				t.Errorf("pin sentence %q; want %q", pin, tt.pinIs)
			}
			if !strings.HasPrefix(note, tt.noteStart) {
				t.Errorf("backup note %q; want it to start %q", note, tt.noteStart)
			}
			for _, w := range tt.pin {
				if !strings.Contains(pin, w) {
					t.Errorf("pin sentence %q lacks %q", pin, w)
				}
			}
			for _, w := range tt.pinNot {
				if strings.Contains(pin, w) {
					t.Errorf("pin sentence %q has %q", pin, w)
				}
			}
			for _, w := range tt.note {
				if !strings.Contains(note, w) {
					t.Errorf("backup note %q lacks %q", note, w)
				}
			}
			for _, w := range tt.noteNot {
				if strings.Contains(note, w) {
					t.Errorf("backup note %q has %q", note, w)
				}
			}
		})
	}
}

// TestSiteWording_Screens: on a real etcd site, Mail Transport and
// Server → Backups name the server elected to send the mail and take the
// backups when they are shown, and name this one once the other has
// stopped and this one leads. On a data file they keep the single
// server's wording.
func TestSiteWording_Screens(t *testing.T) {
	screen := func(c *Console, content fyne.CanvasObject) int {
		for i, sc := range c.screens {
			if sc.content == content {
				return i
			}
		}
		t.Fatal("no such screen")
		return -1
	}

	t.Run("data file", func(t *testing.T) {
		h := newHarnessWith(t, func(_ *harness, d *Deps) {
			d.Store = func() StoreInfo { return StoreInfo{Where: "/var/lib/provisio/provisio.db"} }
		})
		c := h.c
		c.show(screen(c, c.transport.content))
		c.show(screen(c, c.backups.content))
		h.waitFor("the store read", func() bool { return !c.siteAsking })
		if c.transport.pin.Text != msgNoPin {
			t.Errorf("Mail Transport's certificate row %q; want %q", c.transport.pin.Text, msgNoPin)
		}
		if !strings.HasPrefix(c.backups.form.note.Text, "Every day at the time set, the running server writes") {
			t.Errorf("Backups note %q; want the running server's", c.backups.form.note.Text)
		}
	})

	t.Run("etcd", func(t *testing.T) {
		site := newTwoServerSite(t)
		h := newHarnessWith(t, func(_ *harness, d *Deps) { d.Store = siteStore(site.this, "auth2-cd34", site.cluster.URL("office")) })
		c := h.c
		tr, bk := screen(c, c.transport.content), screen(c, c.backups.content)
		c.show(tr)
		h.waitFor("Mail Transport naming the leading server", func() bool {
			return strings.Contains(c.transport.pin.Text, "the computer of server auth1-ab12 (elected by this etcd site to send the mail)")
		})
		c.show(bk)
		h.waitFor("Backups naming the leading server", func() bool {
			return strings.Contains(c.backups.form.note.Text, "server auth1-ab12 (elected by this etcd site to take the backups) writes")
		})

		site.stopOther()
		for end := time.Now().Add(10 * time.Second); !site.this.Leading() && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		}
		c.show(tr)
		h.waitFor("Mail Transport naming this server", func() bool {
			return strings.Contains(c.transport.pin.Text, "this server (auth2-cd34) is the one this etcd site elected to send the mail")
		})
		c.show(bk)
		h.waitFor("Backups naming this server", func() bool {
			return strings.Contains(c.backups.form.note.Text, "this server (auth2-cd34, elected by this etcd site to take the backups) writes")
		})
	})
}

// twoServerSite is an etcd site with two Provisio servers' elections:
// auth1-ab12, leading, and this one, auth2-cd34.
type twoServerSite struct {
	cluster *etcdtest.Cluster
	this    *etcdstore.Leader
	// stopOther stops auth1-ab12 (it resigns, as a stopping server
	// does) and waits until it has.
	stopOther func()
}

func newTwoServerSite(t *testing.T) *twoServerSite {
	t.Helper()
	cluster := etcdtest.Start(t, 1)
	leader := func(name string) *etcdstore.Leader {
		return etcdstore.NewLeader(etcdstore.NewKV(cluster.Client(t), etcdstore.Config{Site: "office", RequestTimeout: 2 * time.Second}), name)
	}
	other, this := leader("auth1-ab12"), leader("auth2-cd34")
	ctxOther, cancelOther := context.WithCancel(context.Background())
	otherDone := other.Start(ctxOther)
	stopOther := sync.OnceFunc(func() { cancelOther(); <-otherDone })
	t.Cleanup(stopOther)
	for end := time.Now().Add(10 * time.Second); !other.Leading() && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
	}
	if !other.Leading() {
		t.Fatal("auth1-ab12 did not become the leader")
	}
	ctxThis, stopThis := context.WithCancel(context.Background())
	thisDone := this.Start(ctxThis)
	t.Cleanup(func() { stopThis(); <-thisDone })
	return &twoServerSite{cluster: cluster, this: this, stopOther: stopOther}
}
