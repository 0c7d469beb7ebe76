package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"provisio/core"
)

// TestLogEntry_NoActorEncodesAsBefore: an entry without an Actor encodes
// byte for byte as entries did before the field existed, so the MACs of
// entries written then still verify; with an Actor, the field is in the
// encoding the MAC covers.
func TestLogEntry_NoActorEncodesAsBefore(t *testing.T) {
	type before struct { // core.LogEntry until the log named who acted
		Seq     uint64     `json:"seq"`
		Time    time.Time  `json:"time"`
		Level   core.Level `json:"level"`
		User    string     `json:"user,omitempty"`
		Message string     `json:"message"`
	}
	at := time.Date(2026, 11, 30, 13, 0, 0, 123, time.UTC)
	for _, e := range []core.LogEntry{
		{},
		{Seq: 7, Time: at, Level: core.LevelWarn, User: "zoë", Message: `Login failed for user: "x" <&>`},
		{Seq: 8, Time: at, Level: core.LevelInfo, Message: "Settings saved."},
	} {
		got, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(before{e.Seq, e.Time, e.Level, e.User, e.Message})
		if !bytes.Equal(got, want) {
			t.Errorf("encoding changed:\n got %s\nwant %s", got, want)
		}
	}
	s := &sealer{log: newMACKey(bytes.Repeat([]byte{7}, 32))}
	prev := make([]byte, 32)
	e := core.LogEntry{Seq: 1, Time: at, Level: core.LevelInfo, User: "alice", Actor: `agent "vpn"`, Message: "Login successful for user: alice."}
	m1, err := s.logMAC(prev, e)
	if err != nil {
		t.Fatal(err)
	}
	e.Actor = `agent "vpm"`
	if m2, _ := s.logMAC(prev, e); bytes.Equal(m1, m2) {
		t.Error("the MAC does not cover the actor")
	}
}

// TestLogRecord_WithMACIsCanonical: the record putLog builds from the
// entry's encoding is byte for byte what the chain's verifier encodes.
func TestLogRecord_WithMACIsCanonical(t *testing.T) {
	mac := bytes.Repeat([]byte{0xa5, 0x3c}, 16)
	for _, e := range []core.LogEntry{
		{},
		{Seq: 7, Time: time.Date(2026, 11, 30, 13, 0, 0, 123, time.UTC), Level: core.LevelWarn, User: "zoë", Message: `Login failed for user: "x" <&>`},
		{Seq: 1 << 40, Message: "no user"},
		{Seq: 9, Level: core.LevelInfo, User: "bob", Actor: `helpdesk agent "desk" <&>`, Message: "PIN reset."},
	} {
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(logRecord{LogEntry: e, MAC: hex.EncodeToString(mac)})
		if err != nil {
			t.Fatal(err)
		}
		if got := withMAC(body, mac); !bytes.Equal(got, want) {
			t.Errorf("withMAC = %s\nwant      %s", got, want)
		}
	}
}
