package adminapi

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store"
)

// esc writes a name as one path segment that reaches its route: a
// segment of only dots is spelled with %2E, which the mux does not clean.
func TestEsc(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{".", "%2E"},
		{"..", "%2E%2E"},
		{"...", "%2E%2E%2E"},
		{"a..b", "a..b"},
		{".a", ".a"},
		{"a/b", "a%2Fb"},
		{"100%", "100%25"},
		{"q?x#y", "q%3Fx%23y"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := esc(tt.in); got != tt.want {
			t.Errorf("esc(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestClient_DoesNotFollowRedirects: a path the mux cleans is answered
// 307 to the clean path; the client reports that answer and does not
// re-send the request there, where a DELETE would be another record's.
func TestClient_DoesNotFollowRedirects(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{KeyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen(filepath.Join(dir, SocketName), svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := Dial(filepath.Join(dir, SocketName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUser(core.User{Name: "client-log", PIN: "9132"}); err != nil {
		t.Fatal(err)
	}
	// The path a plain "." made of clearing the phone logs of ".".
	err = c.do(http.MethodDelete, "/users/./client-log", nil, nil)
	if !strings.Contains(core.ErrorMessage(err), "307") {
		t.Errorf("DELETE /v1/users/./client-log: %v, want the 307 answer", err)
	}
	if _, err := svc.User("client-log"); err != nil {
		t.Fatalf("the user client-log: %v", err)
	}
}

// TestProfilePatch: every profile key the console's forms set is a JSON
// field of the profile, typed as PUT /v1/profiles/{name} reads it, and
// only the keys given are sent.
func TestProfilePatch(t *testing.T) {
	def := core.DefaultClientPolicies(core.MobileClientPolicy{SupportEmail: "help@example.org"})
	for _, k := range core.ProfileKeys() {
		v, _ := def.Get(k)
		patch, err := profilePatch(map[string]string{k: v})
		if err != nil || len(patch) != 1 {
			t.Errorf("%s = %q: patch %v, %v", k, v, patch, err)
		}
	}
	patch, err := profilePatch(map[string]string{"pin_cache_timeout": "900", "logging": "Yes"})
	if err != nil || len(patch) != 2 || patch["pin_cache_timeout"] != float64(900) || patch["logging"] != true {
		t.Errorf("patch %v, %v", patch, err)
	}
	if _, err := profilePatch(map[string]string{"pin_mode": "sometimes"}); core.ErrorCode(err) != core.CodeInvalid {
		t.Errorf("a value that does not parse: %v", err)
	}
}
