package store

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"provisio/core"
	"provisio/core/oathkey"
)

// TestRotateKey_OldKeyOpensNothing: after a rotation every sealed record
// (a PIN, the security strings, a queued mail, an OATH secret, a phone's
// diagnostic log, the SMTP password, the shared identity, the kept hash
// key) and the log chain refuse the retired key, and all of them open
// with the new one. Before the rotation the retired key opened each of
// them, so the check can tell.
func TestRotateKey_OldKeyOpensNothing(t *testing.T) {
	dataDir, keyDir := t.TempDir(), t.TempDir()
	st, err := Open(dataDir, Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := core.NewService(st, core.WithOATHKeys(oathkey.Keys{}))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(svc.SetSetting("server.advertise", "127.0.0.1"))
	must(svc.SetSetting("smtp.host", "127.0.0.1"))
	must(svc.SetSetting("smtp.password", "Smtp-Pa55word-xyz"))
	must(svc.SetSetting("oath.enabled", "true"))
	for _, n := range []string{"alice", "bob", "carol"} {
		_, err := svc.AddUser(core.User{Name: n, PIN: "731945862", MobileAllowed: true, Email: n + "@example.org"})
		must(err)
	}
	ic, err := svc.CreateProvisionCode("alice")
	must(err)
	p, err := svc.Provision("127.0.0.1", "alice", ic.Code, "TestOS 1")
	must(err)
	_, err = svc.SecurityStrings(p.DeviceID)
	must(err)
	prof := core.Profile{Name: "Diagnostics", ClientPolicies: core.DefaultClientPolicies(svc.Settings().MobileClient)}
	prof.SupportEmail, prof.Logging = "help@example.org", true
	must(svc.AddProfile(prof))
	must(svc.AssignProfileToUser("Diagnostics", "alice"))
	_, err = svc.UploadClientLog("127.0.0.1", p.DeviceID, "", "the phone's log line")
	must(err)
	_, err = svc.MailProvisionCode("bob")
	must(err)
	_, err = svc.IssueOATH("carol", core.OATHOptions{})
	must(err)
	_, err = st.ShareFiles(map[string][]byte{"key.pem": []byte("a private key")})
	must(err)

	// opened lists the kinds of sealed record c opens, of those present.
	opened := func(c *sealer) []string {
		t.Helper()
		var out []string
		must(st.view(func(tx KVTx) error {
			x := &txn{tx: tx, s: &Store{crypt: c}}
			try := func(what string, err error) {
				if err == nil {
					out = append(out, what)
				} else if !errors.Is(err, ErrWrongKey) {
					t.Errorf("%s: %v, want ErrWrongKey", what, err)
				}
			}
			try("PINs", x.Users(func(core.User) bool { return true }))
			_, err := x.Strings("alice")
			try("security strings", err)
			try("queued mail", x.Mails(func(core.OutMessage) bool { return true }))
			try("OATH secrets", x.OATHRecords(func(string, core.OATHRecord) bool { return true }))
			_, err = x.ClientLog("alice")
			try("diagnostic log", err)
			_, err = x.Settings()
			try("SMTP password", err)
			_, err = x.s.openIdentity(tx.Bucket(bucketConfig).Get(keySharedIdentity))
			try("shared identity", err)
			if v := tx.Bucket(bucketConfig).Get(keyIDKey); v != nil {
				_, err = c.openBytes(v, ad(bucketConfig, keyIDKey, "id"))
				try("hash key", err)
			}
			_, err = x.verifyLog()
			var ce *LogChainError
			if errors.As(err, &ce) {
				err = ErrWrongKey
			}
			try("log chain", err)
			return nil
		}))
		sort.Strings(out)
		return out
	}
	sealerOf := func(path string) *sealer {
		t.Helper()
		key, err := os.ReadFile(path)
		must(err)
		c, err := newSealer(key)
		must(err)
		c.idKey = st.crypt.idKey
		return c
	}

	// A first rotation stores the kept hash key (config id_key), sealed:
	// the second must re-seal that too.
	if _, err := st.RotateKey(); err != nil {
		t.Fatal(err)
	}
	old := sealerOf(filepath.Join(keyDir, KeyFileName))
	all := opened(old)
	if len(all) != 9 {
		t.Fatalf("before the rotation the key opens %v; want the nine kinds (the test would prove little)", all)
	}
	if _, err := st.RotateKey(); err != nil {
		t.Fatal(err)
	}
	if got := opened(old); len(got) != 0 {
		t.Errorf("after the rotation the retired key still opens %v", got)
	}
	if got := opened(sealerOf(filepath.Join(keyDir, KeyFileName))); len(got) != len(all) {
		t.Errorf("the new key opens %v; want %v", got, all)
	}
}
