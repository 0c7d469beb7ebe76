package ui

import (
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// row returns the texts of the users list's row i as the admin reads
// them, drawn now.
func (s *usersScreen) row(i int) []string {
	o := s.list.CreateItem()
	s.updateRow(i, o)
	return visibleTexts(o)
}

// serverSkews are the services of the clock tests: 11 minutes ahead of
// the console's clock and 11 minutes behind it (attachedService.behind).
var serverSkews = []struct {
	name   string
	behind time.Duration
}{{"service 11 minutes ahead", -11 * time.Minute}, {"service 11 minutes behind", 11 * time.Minute}}

// attachedMailedCode is the full console attached over the admin socket
// to a service whose clock is behind the console's by behind, with a
// provision code for bob made on the service and mailed: mail is not set
// up, so the message waits in the outbox. The console has read both.
func attachedMailedCode(t *testing.T, behind time.Duration) (*harness, core.IssuedCode) {
	t.Helper()
	h, _ := newAttachedHarnessWith(t, attachedService{behind: behind})
	storetest.MustAddUser(t, h.svc, "bob", "1234")
	ic, err := h.svc.MailProvisionCode("bob")
	if err != nil {
		t.Fatal(err)
	}
	h.waitFor("bob's code read", func() bool {
		s := h.c.users.shown
		return len(s) == 1 && s[0].pending.Equal(ic.Expires)
	})
	h.waitFor("the message listed", func() bool { return len(h.c.outbox.shown) == 1 })
	h.settle()
	return h, ic
}

// TestConsole_AttachedPendingCodeOnServersClock: the full console
// attached to a service whose clock is 11 minutes off its own reads a
// code's expiry on the service's clock: a fresh code is pending, in the
// list and the status bar, with its 10 minutes left, and ends when the
// service's clock says so. The console's own clock made a code from a
// service 11 minutes behind look expired at once, and one from a service
// 11 minutes ahead last 21 minutes.
func TestConsole_AttachedPendingCodeOnServersClock(t *testing.T) {
	for _, tt := range serverSkews {
		t.Run(tt.name, func(t *testing.T) {
			h, ic := attachedMailedCode(t, tt.behind)
			s := h.c.users
			// untilText adds the date when the expiry falls on another
			// day than the service's now (a test run just before midnight).
			pending := "pending code until " + untilText(ic.Expires, h.c.svc.Now())
			if row := s.row(0); !contains(row, pending) {
				t.Errorf("bob's row %q, want %q", row, pending)
			}
			if !strings.Contains(h.c.status.Text, "1 code pending") {
				t.Errorf("status bar %q, want 1 code pending", h.c.status.Text)
			}
			// The console reads the service's clock to within a few
			// seconds (adminapi's clockTolerance); meanwhile real time
			// passes on the console and the service's clock stands still.
			if left := ic.Expires.Sub(h.c.svc.Now()); left > 10*time.Minute || left < 10*time.Minute-10*time.Second {
				t.Errorf("the console reckons %s left of a code made just now for 10 minutes", countdown(left))
			}

			// The service's clock passes the expiry: the code ends on the
			// console too, at its next look at the service.
			h.clock.Advance(601 * time.Second)
			h.waitFor("no code pending in the status bar", func() bool { return strings.Contains(h.c.status.Text, "0 codes pending") })
			if row := s.row(0); !contains(row, "none") {
				t.Errorf("bob's row after the service's expiry %q, want no device", row)
			}
		})
	}
}

// TestConsole_AttachedOutboxOnServersClock: the full console attached to
// a service whose clock is 11 minutes off its own shows a queued message
// whose code is still valid on the service as queued, not withdrawn, and
// withdrawn once the service's clock passes the code's expiry.
func TestConsole_AttachedOutboxOnServersClock(t *testing.T) {
	for _, tt := range serverSkews {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := attachedMailedCode(t, tt.behind)
			s := h.c.outbox
			if row := s.row(0); !contains(row, "queued") || !contains(row, "when mail is set up") {
				t.Errorf("a message with a valid code: row %q, want queued until mail is set up", row)
			}
			if s.expiryPassed() {
				t.Error("the outbox takes the message's code for expired")
			}
			h.selectMessage(s.shown[0].ID)
			if !strings.Contains(s.detail.Text, "The code expires ") {
				t.Errorf("detail %q", s.detail.Text)
			}

			h.clock.Advance(601 * time.Second)
			h.waitFor("the message withdrawn", func() bool {
				return len(s.shown) == 1 && contains(s.row(0), "withdrawn: the code is no longer valid")
			})
		})
	}
}
