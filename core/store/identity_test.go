package store_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"provisio/core/store"
)

// TestSharedIdentity: the first server's files become the site's identity
// and later ones get them back; a regenerated certificate and key replace
// theirs and leave the other files alone; nothing is stored in plain text.
func TestSharedIdentity(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, store.Options{Key: bytes.Repeat([]byte{7}, store.KeySize)})
	if got, err := st.SharedFiles(); err != nil || got != nil {
		t.Fatalf("before any share SharedFiles = %q, %v; want nil", got, err)
	}
	first := map[string][]byte{"server.crt": []byte("CERT-ONE"), "server.key": []byte("KEY-ONE"), "ca.crt": []byte("CA-ONE")}
	got, err := st.ShareFiles(first)
	if err != nil || !sameFiles(got, first) {
		t.Fatalf("first share = %q, %v", got, err)
	}
	if got, err := st.SharedFiles(); err != nil || !sameFiles(got, first) {
		t.Fatalf("SharedFiles = %q, %v; want the first share", got, err)
	}
	got, err = st.ShareFiles(map[string][]byte{"server.crt": []byte("CERT-B"), "server.key": []byte("KEY-B"), "ca.crt": []byte("CA-B")})
	if err != nil || !sameFiles(got, first) {
		t.Fatalf("a second server got %q, %v; want the first one's", got, err)
	}
	if err := st.ReplaceSharedFiles(map[string][]byte{"server.crt": []byte("CERT-TWO"), "server.key": []byte("KEY-TWO")}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"server.crt": []byte("CERT-TWO"), "server.key": []byte("KEY-TWO"), "ca.crt": []byte("CA-ONE")}
	got, err = st.ShareFiles(map[string][]byte{"server.crt": []byte("CERT-C")})
	if err != nil || !sameFiles(got, want) {
		t.Fatalf("after the replacement a server got %q, %v; want %q", got, err, want)
	}
	st.Close()
	raw, err := os.ReadFile(filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"KEY-ONE", "KEY-TWO", "CERT-TWO"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("%s is in the data file in plain text", secret)
		}
	}
}

func sameFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for n, v := range a {
		if !bytes.Equal(v, b[n]) {
			return false
		}
	}
	return true
}
