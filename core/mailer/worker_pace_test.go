package mailer_test

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/store/storetest"
)

// TestWorker_OutageBacklogIsPaced: after an outage (or while mail was not
// set up) many messages are due at once. Relays limit how fast one client
// may send (Microsoft 365: 30 a minute, then refusals), so the sender
// spreads them out: never more than Pace.Messages in any Pace.Per, within
// a round and across rounds, and every message still goes exactly once.
func TestWorker_OutageBacklogIsPaced(t *testing.T) {
	var mu sync.Mutex
	var arrived []time.Time
	f := newFaultServer(t, nil, func(_ *smtp.Conn, r io.Reader) error {
		mu.Lock()
		arrived = append(arrived, time.Now())
		mu.Unlock()
		_, err := io.Copy(io.Discard, r)
		return err
	})
	svc := storetest.MustService(t)
	MustSetMail(t, svc, mailTo(f.host, f.port))
	const n = 7
	for i := range n {
		MustQueue(t, svc, fmt.Sprintf("user%d@example.org", i), "Your new PIN")
	}
	pace := mailer.Pace{Messages: 3, Per: 500 * time.Millisecond}
	w := &mailer.Worker{Service: svc, Pace: pace}
	start := time.Now()
	if err := w.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v (%s)", err, mailer.Describe(err))
	}
	// 3 at once, 3 after 500 ms, the last after 1 s.
	if took := time.Since(start); took < 2*pace.Per {
		t.Errorf("7 messages went in %v, want at least %v at 3 per %v", took, 2*pace.Per, pace.Per)
	}
	// A message queued next goes at once only when the window allows.
	MustQueue(t, svc, "late@example.org", "Your new PIN")
	if err := w.Flush(t.Context()); err != nil {
		t.Fatalf("second Flush: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if got := f.received(); len(got) != n+1 {
		t.Fatalf("the server got %d messages, want %d: %v", len(got), n+1, got)
	}
	// Arrival (at DATA) trails the connection by a little; allow for it.
	const slack = 60 * time.Millisecond
	for i := 0; i+pace.Messages < len(arrived); i++ {
		if gap := arrived[i+pace.Messages].Sub(arrived[i]); gap < pace.Per-slack {
			t.Errorf("messages %d to %d arrived within %v, want at most %d per %v", i+1, i+pace.Messages+1, gap, pace.Messages, pace.Per)
		}
	}
	for _, m := range MustOutbox(t, svc) {
		if m.State != core.MailSent || m.Attempts != 1 {
			t.Errorf("message %d: %s after %d attempts, want sent after 1", m.ID, m.State, m.Attempts)
		}
	}
}
