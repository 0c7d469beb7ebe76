package core

import (
	"sync"
	"time"
)

// EventKind names what happened.
type EventKind int

// Event kinds published by the Service after a change is committed.
const (
	EventLog             EventKind = iota // a new audit log entry (Log set)
	EventUsersChanged                     // users added, edited or deleted
	EventCodeCreated                      // a provision code was created
	EventProvisioned                      // a device provisioned
	EventProvisionFailed                  // a provision attempt failed
	EventConfigChanged                    // settings, policies or agents changed
	EventOutboxChanged                    // a message was queued, sent, failed or discarded
	EventHealth                           // Service.Health changed (Reason holds its message)
	EventClientLog                        // a user's client diagnostic log was uploaded or cleared (User set)
	// EventConnection is never published by the Service: a console
	// working over the admin API (core/adminapi) sends it when its
	// connection to the service is lost (Reason says why, in a sentence)
	// and again, with Reason empty, once it is back, so the console
	// rereads what it missed meanwhile.
	EventConnection
)

// AdminKindConnection is EventConnection's kind on an admin API client's
// followed stream (adminapi.Client.Follow); no server sends it.
const AdminKindConnection = "connection"

// Event is a notification for the console, in-process only. Only
// EventCodeCreated carries a secret (the new code, in Issued) because the
// console must show a code an agent asked for until mail can carry it; it
// is never logged or persisted in plain text.
type Event struct {
	Kind     EventKind
	User     string
	DeviceOS string
	Reason   string
	At       time.Time
	Log      LogEntry
	Issued   *IssuedCode
	// Node names the server that made the change when it was another
	// one sharing the store (issue #16); empty for a change made here.
	Node string
	// Origin is who made the change: the console, an operator, an
	// agent, a helpdesk agent or a phone, with its name (actor.go).
	Origin Actor
}

// Bus fans events out to subscribers. Publishing never blocks: a slow
// subscriber loses events rather than stalling the server.
type Bus struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

// Subscribe returns a channel of events and a function that ends the
// subscription and closes the channel.
func (b *Bus) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan Event]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, ch)
			b.mu.Unlock()
			close(ch)
		})
	}
}

// Publish sends e to every subscriber that has room.
func (b *Bus) Publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// Clock tells the time; tests inject a fake one for anything that expires.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
