package store_test

import (
	"testing"

	"provisio/core/store"
	"provisio/core/store/storetest"
)

func TestStore_Conformance(t *testing.T) {
	storetest.Conformance(t, func(t *testing.T) *store.Store {
		st, err := store.Open(t.TempDir(), store.Options{Key: make([]byte, store.KeySize)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}
