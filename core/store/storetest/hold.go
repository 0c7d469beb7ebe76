package storetest

import (
	"sync"
	"testing"

	"provisio/core"
	"provisio/core/store"
)

// HoldWriter holds st's writer, a write transaction that waits, so that
// every commit of the test's requests waits behind it until release is
// called (or the test ends). Release waits for the held transaction to
// end and fails the test if it did not end cleanly.
func HoldWriter(tb testing.TB, st *store.Store) (release func()) {
	tb.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	writer := make(chan error, 1)
	go func() {
		writer <- st.Update(func(core.Tx) error {
			close(held)
			<-done
			return nil
		})
	}()
	<-held
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(done)
			if err := <-writer; err != nil {
				tb.Errorf("the held write transaction: %v", err)
			}
		})
	}
	tb.Cleanup(release)
	return release
}
