package backup_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"filippo.io/age"

	"provisio/core/backup"
)

func sample() (backup.Manifest, map[string][]byte) {
	return backup.Manifest{Version: "test", Created: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), Counts: map[string]int{"users": 2}, LogLast: 7, LogHead: "ab"},
		map[string][]byte{backup.DataName: []byte("a data file"), backup.KeyName: bytes.Repeat([]byte{1}, 32), backup.CertName: []byte("cert")}
}

func mustIdentity(t testing.TB) *age.X25519Identity {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRead(t *testing.T) {
	id := mustIdentity(t)
	m, members := sample()
	var good bytes.Buffer
	if err := backup.Write(&good, id.Recipient(), m, members); err != nil {
		t.Fatal(err)
	}
	gotM, got, err := backup.Read(bytes.NewReader(good.Bytes()), id)
	if err != nil {
		t.Fatal(err)
	}
	if gotM.LogLast != 7 || gotM.LogHead != "ab" || gotM.Counts["users"] != 2 || !gotM.Created.Equal(m.Created) {
		t.Fatalf("manifest %+v", gotM)
	}
	for name, data := range members {
		if !bytes.Equal(got[name], data) {
			t.Errorf("%s: %q, want %q", name, got[name], data)
		}
	}

	flipped := func(at int) []byte {
		b := bytes.Clone(good.Bytes())
		b[at] ^= 1
		return b
	}
	noKey := map[string][]byte{backup.DataName: []byte("x")}
	var missing bytes.Buffer
	if err := backup.Write(&missing, id.Recipient(), m, noKey); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		id   age.Identity
	}{
		{"one byte flipped in the body", flipped(good.Len() - 20), id},
		{"one byte flipped in the header", flipped(40), id},
		{"another identity", good.Bytes(), mustIdentity(t)},
		{"truncated", good.Bytes()[:good.Len()-10], id},
		{"empty", nil, id},
		{"no data key", missing.Bytes(), id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := backup.Read(bytes.NewReader(tt.data), tt.id); !errors.Is(err, backup.ErrUnreadable) {
				t.Fatalf("read: %v, want ErrUnreadable", err)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	id := mustIdentity(f)
	m, members := sample()
	var good bytes.Buffer
	if err := backup.Write(&good, id.Recipient(), m, members); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Never a panic; anything but the original is refused.
		if _, _, err := backup.Read(bytes.NewReader(data), id); err == nil && !bytes.Equal(data, good.Bytes()) {
			t.Fatalf("accepted a changed backup")
		}
	})
}
