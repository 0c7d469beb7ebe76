package ui

import (
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// storeDown is a transaction of a store that does not answer, as an etcd
// site without a quorum: listing users, saving settings and reading the
// log fail with the store's sentence.
type storeDown struct{ core.Tx }

var errStoreDown = &core.Error{Code: core.CodeInternal,
	Message: "The etcd cluster did not answer (are most of its members running and reachable?); nothing was changed.",
	Err:     core.ErrStoreUnreachable}

func (storeDown) Users(func(core.User) bool) error     { return errStoreDown }
func (storeDown) PutSettings(core.Settings) error      { return errStoreDown }
func (storeDown) LogTail(int) ([]core.LogEntry, error) { return nil, errStoreDown }

// TestBridge_ScreensReadAgainWhenTheStoreIsBack: a screen that read while
// the store did not answer (an etcd site that lost its quorum) says why;
// once the store answers again, and the status bar turns from "needs
// attention" back to running, the screens read again by themselves. The
// users list kept "The users could not be read: The etcd cluster did not
// answer…" and the status bar "0 devices provisioned" until the admin
// changed something, under a status bar that said all was well; the Log
// screen, read again, kept "The log could not be read: …" under the
// entries it had read.
func TestBridge_ScreensReadAgainWhenTheStoreIsBack(t *testing.T) {
	f := &storetest.Faulty{Store: storetest.MustOpen(t), Break: func(tx core.Tx) core.Tx { return storeDown{tx} }}
	h := newHarnessOn(t, f, nil)
	storetest.MustAddUser(t, h.svc, "bob", "1357")
	h.c.users.refresh()
	h.waitFor("bob listed", func() bool { return len(h.c.users.shown) == 1 })

	f.Broken.Store(true)
	if err := h.svc.SetSetting("policy.lockout.max_failures", "7"); err == nil {
		t.Fatal("a setting was saved with the store down")
	}
	h.waitFor("the status bar saying changes cannot be saved", func() bool { return strings.Contains(h.c.status.Text, "Changes cannot be saved.") })
	h.c.users.refresh()
	h.c.log.load()
	h.waitFor("the log saying why it is empty", func() bool { return strings.HasPrefix(h.c.log.detail.Text, "The log could not be read: ") })
	h.waitFor("the users list saying why it is empty", func() bool {
		return strings.HasPrefix(h.c.users.empty.Text, "The users could not be read: ") && h.c.users.empty.Visible()
	})

	// The store answers again: the next change a server makes goes
	// through, and the health clears.
	f.Broken.Store(false)
	if err := h.svc.SetSetting("policy.lockout.max_failures", "8"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the status bar healthy again", func() bool { return !strings.Contains(h.c.status.Text, "Changes cannot be saved.") })
	h.waitFor("bob listed again", func() bool { return len(h.c.users.shown) == 1 && !h.c.users.empty.Visible() })
	h.waitFor("the log read again", func() bool { return len(h.c.log.shown) > 0 && !h.c.log.loading })
	if d := h.c.log.detail.Text; d != logHint {
		t.Errorf("the log read again says %q under its entries, want %q", d, logHint)
	}
}
