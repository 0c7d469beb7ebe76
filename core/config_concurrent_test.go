package core_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestService_ChangeSettingsKeepsAChangeMadeElsewhere: two services over
// one store stand for two servers of an etcd site (or a console's save
// that lands between another's read and write). Each changes a different
// key; neither may put the other's key back to what its own snapshot
// held.
func TestService_ChangeSettingsKeepsAChangeMadeElsewhere(t *testing.T) {
	st := storetest.MustOpen(t)
	a := storetest.MustServiceOn(t, st)
	b := storetest.MustServiceOn(t, st) // its snapshot predates a's change
	if err := a.SetSetting("server.name", "front-desk"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetSetting("smtp.from_name", "Office IT"); err != nil {
		t.Fatal(err)
	}
	fresh := storetest.MustServiceOn(t, st)
	set := fresh.Settings()
	if set.ServerName != "front-desk" || set.Mail.FromName != "Office IT" {
		t.Errorf("stored server.name %q, smtp.from_name %q: want both changes kept", set.ServerName, set.Mail.FromName)
	}
	if got := b.Settings().ServerName; got != "front-desk" {
		t.Errorf("the saving server's snapshot has server.name %q, want what the store holds", got)
	}
}

// TestService_ConcurrentSettingsChangesAllLand: on one server, saves of
// different keys that run at once all land, in the store and in the
// snapshot the server answers from.
func TestService_ConcurrentSettingsChangesAllLand(t *testing.T) {
	st := storetest.MustOpen(t)
	svc := storetest.MustServiceOn(t, st)
	keys := []string{"server.name", "smtp.from_name", "smtp.username", "template.provision.subject"}
	const rounds = 20
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				if err := svc.SetSetting(k, fmt.Sprintf("v%d", i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	want := fmt.Sprintf("v%d", rounds-1)
	for name, set := range map[string]core.Settings{"snapshot": svc.Settings(), "store": storetest.MustServiceOn(t, st).Settings()} {
		for _, k := range keys {
			if got, err := set.Get(k); err != nil || got != want {
				t.Errorf("%s: %s = %q (%v), want %q", name, k, got, err, want)
			}
		}
	}
}

// afterCommit is a store that calls after, once, when an Update has
// committed: the moment between a save's commit and its snapshot.
type afterCommit struct {
	core.Store
	after func()
}

func (s *afterCommit) Update(fn func(core.Tx) error) error {
	err := s.Store.Update(fn)
	if f := s.after; err == nil && f != nil {
		s.after = nil
		f()
	}
	return err
}

// TestService_ReloadDuringASaveKeepsTheNewerSettings: on an etcd site the
// configuration watch reloads the settings (ReloadConfig) when any server
// commits, this one's own saves included. Another server commits a key
// just after this server's save did, and the reload that change triggers
// runs while the save is between its commit and its snapshot: the save
// must not then put back a snapshot without the other server's key, as no
// later reload would come to correct it.
func TestService_ReloadDuringASaveKeepsTheNewerSettings(t *testing.T) {
	st := storetest.MustOpen(t)
	hooked := &afterCommit{Store: st}
	a := storetest.MustServiceOn(t, hooked)
	b := storetest.MustServiceOn(t, st) // the other server of the site
	reloaded := make(chan error, 1)
	hooked.after = func() {
		if err := b.SetSetting("smtp.from_name", "Office IT"); err != nil {
			t.Error(err)
		}
		go func() { reloaded <- a.ReloadConfig("b") }()
		// Give the reload the time it takes; it may instead wait for
		// the save to finish, which is as good.
		select {
		case err := <-reloaded:
			reloaded <- err
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := a.SetSetting("server.name", "front-desk"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-reloaded:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reload never finished")
	}
	if set := a.Settings(); set.ServerName != "front-desk" || set.Mail.FromName != "Office IT" {
		t.Errorf("snapshot server.name %q, smtp.from_name %q: want this save's and the other server's, as the store holds them",
			set.ServerName, set.Mail.FromName)
	}
}
