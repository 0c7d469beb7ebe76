package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"provisio/core"
)

// TestLogRecord_WithMACIsCanonical: the record putLog builds from the
// entry's encoding is byte for byte what the chain's verifier encodes.
func TestLogRecord_WithMACIsCanonical(t *testing.T) {
	mac := bytes.Repeat([]byte{0xa5, 0x3c}, 16)
	for _, e := range []core.LogEntry{
		{},
		{Seq: 7, Time: time.Date(2026, 11, 30, 13, 0, 0, 123, time.UTC), Level: core.LevelWarn, User: "zoë", Message: `Login failed for user: "x" <&>`},
		{Seq: 1 << 40, Message: "no user"},
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
