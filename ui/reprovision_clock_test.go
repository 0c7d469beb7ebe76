package ui

import (
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// skewedService is the service seen from a console whose clock is off by
// by, as an attached or remote console's was before it read the server's
// clock, and still is against a server too old to send it
// (adminapi.Console.Now).
type skewedService struct {
	*core.Service
	by time.Duration
	// undated drops when codes were made, as a service too old to say
	// does: the console then has only its own clock to go by.
	undated bool
}

func (s skewedService) Now() time.Time { return s.Service.Now().Add(s.by) }

func (s skewedService) CreateProvisionCode(name string) (core.IssuedCode, error) {
	ic, err := s.Service.CreateProvisionCode(name)
	if s.undated {
		ic.Created = time.Time{}
	}
	return ic, err
}

func (s skewedService) IssueOATH(name string, opt core.OATHOptions) (core.OATHIssued, error) {
	is, err := s.Service.IssueOATH(name, opt)
	if s.undated {
		is.Created = time.Time{}
	}
	return is, err
}

// notPanics runs fn and fails the test, instead of crashing it, when fn
// panics.
func notPanics(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s panicked: %v", what, r)
		}
	}()
	fn()
}

// TestReprovision_ConsoleClockSkew: both Reprovision dialogs count a code
// down from when it arrived, by the service's measure of its validity,
// whatever the console's clock says. A console 11 minutes ahead used to
// show "Code expired" for a code the server still accepts, and the
// authenticator-app dialog crashed (it disabled Confirm before making
// it); one 11 minutes behind showed 21 minutes left.
func TestReprovision_ConsoleClockSkew(t *testing.T) {
	type screen struct{ countdown, status, until string }
	for _, tt := range []struct {
		name string
		// open opens the dialog for bob and returns what it shows.
		open func(h *harness) func() screen
		// waiting, countdown and expired are the dialog's texts.
		waiting, countdown, expired string
	}{
		{"mobile client", func(h *harness) func() screen {
			h.c.openReprovision("bob")
			d := h.c.reprov
			if d == nil {
				h.t.Fatal("no Reprovision dialog")
			}
			return func() screen { return screen{d.countdown.Text, d.status.Text, ""} }
		}, statusWaiting, "Expires in ", statusExpired},
		{"authenticator app", func(h *harness) func() screen {
			h.c.openReprovisionOATH("bob", nil)
			o := h.c.oath
			if o == nil {
				h.t.Fatal("no authenticator-app dialog")
			}
			return func() screen {
				cd, until, _ := strings.Cut(o.countdown.Text, " (until ")
				return screen{cd, o.status.Text, strings.TrimSuffix(until, ")")}
			}
		}, oathWaiting, "Confirm within ", oathExpired},
	} {
		for _, skew := range []time.Duration{11 * time.Minute, -11 * time.Minute, 0} {
			t.Run(tt.name+", console "+skew.String()+" off", func(t *testing.T) {
				h := newHarnessWith(t, func(h *harness, d *Deps) {
					h.svc = oathService(t, h.clock)
					d.Service = skewedService{h.svc, skew, false}
				})
				storetest.MustAddUser(t, h.svc, "bob", "1234")
				var shown func() screen
				notPanics(t, "opening the dialog", func() { shown = tt.open(h) })

				s := shown()
				if s.status != tt.waiting || s.countdown != tt.countdown+"10:00" {
					t.Errorf("right after issue: status %q, countdown %q; want %q, 10:00 left", s.status, s.countdown, tt.waiting)
				}
				// "until" is on the console's clock, like every time it shows.
				if want := start.Add(skew + 10*time.Minute).Format("15:04"); tt.name == "authenticator app" && s.until != want {
					t.Errorf("until %q, want %q on the console's clock", s.until, want)
				}
				h.clock.Advance(599 * time.Second)
				h.waitFor("one second left", func() bool { return shown().countdown == tt.countdown+"0:01" })
				if s := shown(); s.status != tt.waiting {
					t.Errorf("a second before expiry: status %q", s.status)
				}
				h.clock.Advance(time.Second)
				h.waitFor("expired", func() bool { return shown().status == tt.expired })
			})
		}
	}
}

// TestReprovision_ExpiredOnArrival: a code that is already over when it
// arrives (an undated answer on a console 11 minutes ahead) ends at once
// in both dialogs; the authenticator-app dialog used to crash, disabling
// its Confirm button before it was made.
func TestReprovision_ExpiredOnArrival(t *testing.T) {
	for _, tt := range []struct {
		name   string
		open   func(h *harness)
		status func(h *harness) string
		want   string
	}{
		{"mobile client", func(h *harness) { h.c.openReprovision("bob") },
			func(h *harness) string { return h.c.reprov.status.Text }, statusExpired},
		{"authenticator app", func(h *harness) { h.c.openReprovisionOATH("bob", nil) }, func(h *harness) string {
			if !h.c.oath.confirm.Disabled() {
				h.t.Error("Confirm is offered for an expired token")
			}
			return h.c.oath.status.Text
		}, oathExpired},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarnessWith(t, func(h *harness, d *Deps) {
				h.svc = oathService(t, h.clock)
				d.Service = skewedService{h.svc, 11 * time.Minute, true}
			})
			storetest.MustAddUser(t, h.svc, "bob", "1234")
			notPanics(t, "opening the dialog", func() { tt.open(h) })
			if got := tt.status(h); got != tt.want {
				t.Errorf("status %q, want %q", got, tt.want)
			}
		})
	}
}
