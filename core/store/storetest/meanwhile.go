package storetest

import (
	"sync"

	"provisio/core"
	"provisio/core/store"
)

// Meanwhile is a real store on which a test lands another writer's save
// at the start of the next write transaction (Update or Batch): after a
// save read the record it edits outside that transaction (a form, a
// request handler), before its own write. A save that writes a whole
// record read earlier loses the other's change there; one that edits the
// record its transaction reads keeps it.
type Meanwhile struct {
	*store.Store
	mu   sync.Mutex
	next func()
}

// NewMeanwhile wraps st.
func NewMeanwhile(st *store.Store) *Meanwhile { return &Meanwhile{Store: st} }

// Before makes the next write transaction run other first, once. other
// must not write through m itself (a second Service over m.Store does).
func (m *Meanwhile) Before(other func()) {
	m.mu.Lock()
	m.next = other
	m.mu.Unlock()
}

func (m *Meanwhile) take() {
	m.mu.Lock()
	f := m.next
	m.next = nil
	m.mu.Unlock()
	if f != nil {
		f()
	}
}

// Update runs the armed save, if any, then fn.
func (m *Meanwhile) Update(fn func(core.Tx) error) error {
	m.take()
	return m.Store.Update(fn)
}

// Batch runs the armed save, if any, then fn.
func (m *Meanwhile) Batch(fn func(core.Tx) error) error {
	m.take()
	return m.Store.Batch(fn)
}
