package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// heldButton is a button that a request holds disabled (request.go) and
// that its screen enables by its own rules when a read lands.
type heldButton interface {
	fyne.Tappable
	fyne.Disableable
}

// heldAction is one action whose button must stay held while a read of
// its screen lands.
type heldAction struct {
	btn  heldButton // the button held
	send func()     // sends the request: taps its button, and confirms where it asks
	read func()     // asks the screen's read (one request)
	// meanwhile, when set, is what the person does while the request is
	// on its way (another selection), which the rule must follow.
	meanwhile func()
	rule      func() // applies the screen's own rule for btn again
}

// TestAttachedFreeze_HeldWhileListRead: a read of a screen's list that
// lands while an action's request is on its way leaves the action's
// button disabled, so a second tap sends nothing (or asks nothing);
// when the answer comes the button is as the screen's rule says now.
// The read enabled it again by the list's rules, and a second tap sent
// the request again (a second deletion answered "not found", a second
// lock, retry or clear); the answer then enabled it whatever the rule
// said by then (Reset PIN… and Edit with no user selected).
func TestAttachedFreeze_HeldWhileListRead(t *testing.T) {
	users := func(h *harness, btn heldButton, send func()) heldAction {
		s := h.c.users
		h.selectListed("bob")
		return heldAction{btn: btn, send: send, read: s.refresh, rule: s.updateButtons}
	}
	tap := func(b heldButton) func() { return func() { test.Tap(b) } }
	confirmed := func(b heldButton, confirm func() *askDialog) func() {
		return func() {
			test.Tap(b)
			if d := confirm(); d != nil {
				d.Confirm()
			}
		}
	}
	for _, tt := range []struct {
		name  string
		ready func(h *harness) heldAction
	}{
		{"Users, Lock", func(h *harness) heldAction {
			return users(h, h.c.users.lock, tap(h.c.users.lock))
		}},
		{"Users, Disable", func(h *harness) heldAction {
			return users(h, h.c.users.disable, tap(h.c.users.disable))
		}},
		{"Users, Reset PIN…, no user selected meanwhile", func(h *harness) heldAction {
			s := h.c.users
			a := users(h, s.resetPIN, tap(s.resetPIN))
			a.meanwhile = s.list.UnselectAll
			return a
		}},
		{"Users, Edit while Add user reads, no user selected meanwhile", func(h *harness) heldAction {
			s := h.c.users
			a := users(h, s.edit, tap(s.add))
			a.meanwhile = s.list.UnselectAll
			return a
		}},
		{"Users, Revoke device…", func(h *harness) heldAction {
			ic, err := h.svc.CreateProvisionCode("bob")
			if err != nil {
				h.t.Fatal(err)
			}
			if _, err := h.svc.Provision("127.0.0.1", "bob", ic.Code, "Android 15"); err != nil {
				h.t.Fatal(err)
			}
			h.settle()
			h.answered()
			s := h.c.users
			return users(h, s.revoke, confirmed(s.revoke, func() *askDialog { return s.confirm }))
		}},
		{"Users, Delete…", func(h *harness) heldAction {
			s := h.c.users
			return users(h, s.del, confirmed(s.del, func() *askDialog { return s.confirm }))
		}},
		{"Users, Reprovision", func(h *harness) heldAction {
			return users(h, h.c.users.reprovision, tap(h.c.users.reprovision))
		}},
		{"Agents, Delete…", func(h *harness) heldAction {
			s := h.c.agents
			if err := h.svc.PutAgent(core.Agent{Name: "vpn", Host: "10.0.0.1", Secret: "vpn-secret-1"}); err != nil {
				h.t.Fatal(err)
			}
			h.waitFor("vpn listed", func() bool { return len(s.agents) == 1 })
			h.settle()
			h.answered()
			s.list.Select(0)
			return heldAction{btn: s.del, send: confirmed(s.del, func() *askDialog { return s.confirm }),
				read: s.refresh, rule: s.updateButtons}
		}},
		{"Profiles, Delete…", func(h *harness) heldAction {
			s := h.c.profiles
			h.addSalesProfile()
			return heldAction{btn: s.del, send: confirmed(s.del, func() *askDialog { return s.confirm }),
				read: s.refresh, rule: s.updateButtons}
		}},
		{"Profiles, Assign to group…", func(h *harness) heldAction {
			s := h.c.profiles
			h.addSalesProfile()
			return heldAction{btn: s.assign, send: tap(s.assign), read: s.refresh, rule: s.updateButtons}
		}},
		{"Profiles, Edit while New profile reads", func(h *harness) heldAction {
			s := h.c.profiles
			h.addSalesProfile()
			return heldAction{btn: s.edit, send: tap(s.add), read: s.refresh, rule: s.updateButtons}
		}},
		{"Outbox, Retry now", func(h *harness) heldAction {
			s := h.outboxWithFailed()
			return heldAction{btn: s.retry, send: tap(s.retry), read: s.refresh, rule: s.updateSelection}
		}},
		{"Outbox, Discard", func(h *harness) heldAction {
			s := h.outboxWithFailed()
			return heldAction{btn: s.discard, send: confirmed(s.discard, func() *askDialog { return s.confirm }),
				read: s.refresh, rule: s.updateSelection}
		}},
		{"Outbox, Retry all failed", func(h *harness) heldAction {
			s := h.outboxWithFailed()
			return heldAction{btn: s.retryAll, send: tap(s.retryAll), read: s.refresh, rule: func() {
				// As the list's read applies it (outboxScreen.show).
				if s.failedShown() > 0 {
					s.retryAll.Enable()
				} else {
					s.retryAll.Disable()
				}
			}}
		}},
		{"Client log, Clear", func(h *harness) heldAction {
			_, f := h.withClientLogs("09:00 app opened")
			test.Tap(f.clientLogBtn)
			h.answered()
			v := h.c.clientLog
			return heldAction{btn: v.clearBtn, send: confirmed(v.clearBtn, func() *askDialog { return v.confirm }),
				read: v.reload, rule: func() { v.showEntries(v.entries, nil) }}
		}},
		{"Mail Transport, Forget", func(h *harness) heldAction {
			s := h.c.transport
			if err := h.svc.SetSetting(keySMTPPin, testPin); err != nil {
				h.t.Fatal(err)
			}
			s.configChanged()
			h.settle()
			h.answered()
			return heldAction{btn: s.forgetPin, send: tap(s.forgetPin), read: s.reread, rule: func() {
				fp := "" // the pin shown
				if strings.HasPrefix(s.pin.Text, pinPrefix) {
					fp = strings.TrimPrefix(s.pin.Text, pinPrefix)
				}
				s.showPin(fp)
			}}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarness(t)
			a := tt.ready(h)
			if a.btn.Disabled() {
				t.Fatal("the button is disabled before its request")
			}
			h.stopStatusClock()
			// Asked and answered before the action; applied while the
			// action's request is on its way.
			read := h.answerHeldBack(a.read)
			before := h.c.requests // the read's, its answer held back
			g.hold()
			a.send()
			if !g.holding() {
				t.Fatal("the action held the window until the service answered")
			}
			if sent := h.c.requests - before; sent != 1 || !a.btn.Disabled() {
				t.Fatalf("the action sent %d requests (want 1), its button disabled %v", sent, a.btn.Disabled())
			}
			read()
			if !a.btn.Disabled() {
				t.Error("the list's read enabled the button while its request was on its way")
			}
			n, m := h.c.requests, len(h.c.modals)
			test.Tap(a.btn)
			if h.c.requests != n || len(h.c.modals) != m {
				t.Errorf("a second tap while the first was on its way sent %d more requests and opened %d more dialogs",
					h.c.requests-n, len(h.c.modals)-m)
			}
			if a.meanwhile != nil {
				a.meanwhile()
			}
			g.release()
			h.answered()
			got := a.btn.Disabled()
			a.rule()
			if want := a.btn.Disabled(); got != want {
				t.Errorf("after the answer the button is disabled %v, its screen's rule says %v", got, want)
			}
		})
	}
}

// outboxWithFailed puts a failed message for bob in the Outbox and
// selects it there.
func (h *harness) outboxWithFailed() *outboxScreen {
	h.t.Helper()
	h.failOneMessage()
	s := h.c.outbox
	h.waitFor("the message listed", func() bool { return len(s.shown) == 1 && s.failedShown() == 1 })
	h.settle()
	h.answered()
	h.selectMessage(s.shown[0].ID)
	return s
}

// TestAttachedFreeze_HoldsCounted: two requests holding one button keep
// it disabled until both answers came; the first answer enabled it under
// the second request on its way.
func TestAttachedFreeze_HoldsCounted(t *testing.T) {
	h, _ := frozenHarness(t)
	h.stopStatusClock()
	b := widget.NewButton("Send", nil)
	ask := func() {
		request(h.c, []fyne.Disableable{b}, h.c.svc.Users, func([]core.User, error) {})
	}
	first := h.answerHeldBack(ask)
	second := h.answerHeldBack(ask)
	first()
	if !b.Disabled() {
		t.Error("the first answer enabled the button while the second request was on its way")
	}
	second()
	if b.Disabled() {
		t.Error("the button stays disabled after both answers")
	}
}
