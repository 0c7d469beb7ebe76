package storetest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store"
)

// OwnLinesNameTheOpener checks that the audit lines a store writes
// itself, which no Service writes, name who opened it (store.Options.Actor)
// as every other line names its actor, under the chain's MAC: the first
// encryption of a plain store, and each key rotation. open opens the same
// records on every call (one data directory, one etcd site) with opt;
// the test closes what it opens. keyDir is where the data key is made.
func OwnLinesNameTheOpener(t *testing.T, keyDir string, open func(t *testing.T, opt store.Options) *store.Store) {
	// A plain store with a record to encrypt: written without a key, as
	// before #13.
	st := open(t, store.Options{})
	MustAddUser(t, MustServiceOn(t, st), "alice", "731945862")
	must(t, st.Close())

	cmd := core.OperatorActor(core.CommandLine)
	st = open(t, store.Options{KeyDir: keyDir, Actor: cmd})
	e := ownLine(t, st, "were encrypted with the data key")
	if e.Actor != cmd.String() {
		t.Errorf("the encryption line's actor = %q, want %q", e.Actor, cmd.String())
	}
	if _, err := st.VerifyLog(); err != nil {
		t.Fatalf("verify after the encryption: %v", err)
	}
	// Who acted is under the MAC, as for a Service's line.
	key := binary.BigEndian.AppendUint64(nil, e.Seq)
	var stored []byte
	must(t, st.EditRaw(func(tx store.KVTx) error {
		stored = bytes.Clone(tx.Bucket([]byte("log")).Get(key))
		return nil
	}))
	tamper := bytes.Replace(stored, []byte(`"actor":"the command line"`), []byte(`"actor":"the console"`), 1)
	if bytes.Equal(tamper, stored) {
		t.Fatalf("the actor is not in the stored record: %s", stored)
	}
	must(t, st.EditRaw(func(tx store.KVTx) error { return tx.Bucket([]byte("log")).Put(key, tamper) }))
	var ce *store.LogChainError
	if _, err := st.VerifyLog(); !errors.As(err, &ce) || ce.Seq != e.Seq {
		t.Errorf("verify with the encryption line's actor changed: %v, want entry #%d named", err, e.Seq)
	}
	must(t, st.EditRaw(func(tx store.KVTx) error { return tx.Bucket([]byte("log")).Put(key, stored) }))
	must(t, st.Close())

	for _, tc := range []struct {
		name  string
		actor core.Actor
		want  string
	}{
		{"the command line", cmd, "the command line"},
		{"the server", core.ServerActor, "the server"},
		{"the console", core.ConsoleActor, "the console"},
		// An opener that names no one (a test, a tool) leaves the line
		// without an actor rather than calling it the server's.
		{"no one named", core.Actor{}, ""},
	} {
		t.Run("rotation by "+tc.name, func(t *testing.T) {
			st := open(t, store.Options{KeyDir: keyDir, Actor: tc.actor})
			defer st.Close()
			if _, err := st.RotateKey(); err != nil {
				t.Fatal(err)
			}
			if e := ownLine(t, st, "The data key was rotated"); e.Actor != tc.want {
				t.Errorf("the rotation line's actor = %q, want %q", e.Actor, tc.want)
			}
			if _, err := st.VerifyLog(); err != nil {
				t.Fatalf("verify after the rotation: %v", err)
			}
		})
	}
}

// ownLine is the newest entry of st's log whose message holds msg.
func ownLine(t *testing.T, st *store.Store, msg string) core.LogEntry {
	t.Helper()
	var found *core.LogEntry
	must(t, st.View(func(tx core.Tx) error {
		es, err := tx.LogTail(100)
		for i := range es {
			if strings.Contains(es[i].Message, msg) {
				found = &es[i]
			}
		}
		return err
	}))
	if found == nil {
		t.Fatalf("no log line says %q", msg)
	}
	return *found
}
