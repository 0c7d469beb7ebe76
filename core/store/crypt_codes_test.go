package store_test

import (
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// TestStore_CodesAreKeyed: with a data key, a provision code, a PIN reset
// code and a console pairing code are stored as keyed hashes (so a copy of
// the data cannot be searched for them by trying every code), and each is
// redeemed as before; a wrong one is refused. A provision code stored
// before codes were keyed (HashCode's plain hash) still works until it
// expires, so an upgrade strands no code that was mailed.
func TestStore_CodesAreKeyed(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{Key: mustKey(t, 5)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := storetest.MustServiceOn(t, st)
	agent := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "agent-s3cret-4567", Group: core.GroupAny}
	if err := svc.PutAgent(agent); err != nil {
		t.Fatal(err)
	}
	stored := func(name string) string {
		t.Helper()
		var pc core.ProvisionCode
		if err := st.View(func(tx core.Tx) (err error) { pc, err = tx.ProvisionCode(name); return err }); err != nil {
			t.Fatal(err)
		}
		return pc.Hash
	}

	storetest.MustAddUser(t, svc, "alice", "731945862")
	ic, err := svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	if h := stored("alice"); !core.IsHashedSecret(h) || h == core.HashCode("alice", ic.Code) {
		t.Fatalf("the provision code is stored as %q; want a keyed hash", h)
	}
	// Wrong tries come from another address: an address that tried a
	// wrong code waits before its next try.
	if _, err := svc.Provision("127.0.0.9", "alice", "WRONG234", "TestOS 1"); err == nil {
		t.Fatal("a wrong code provisioned")
	}
	if _, err := svc.Provision("127.0.0.1", "alice", strings.ToLower(ic.Code), "TestOS 1"); err != nil {
		t.Fatalf("provision with the code (typed in lower case): %v", err)
	}

	storetest.MustAddUser(t, svc, "bob", "864209753")
	if err := svc.RequestPINReset(agent, "bob"); err != nil {
		t.Fatal(err)
	}
	var code string
	box, err := svc.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range box {
		if m.Carries == core.CarriesPINResetCode {
			_, after, _ := strings.Cut(m.Text, "Your PIN reset code is:\n\n    ")
			code, _, _ = strings.Cut(after, "\n")
		}
	}
	if u, err := svc.User("bob"); err != nil || u.PINReset == nil || !core.IsHashedSecret(u.PINReset.Hash) {
		t.Fatalf("the PIN reset code is stored as %+v (%v); want a keyed hash", u.PINReset, err)
	}
	if err := svc.RedeemPINReset(agent, "bob", code); err != nil {
		t.Fatalf("redeem the PIN reset code %q: %v", code, err)
	}
	if u, _ := svc.User("bob"); u.PIN == "864209753" {
		t.Fatal("the PIN reset did not change the PIN")
	}

	pair, err := svc.PairConsole("helpdesk-2", core.RoleHelpdesk)
	if err != nil {
		t.Fatal(err)
	}
	var c core.Console
	if err := st.View(func(tx core.Tx) (err error) { c, err = tx.Console("helpdesk-2"); return err }); err != nil || !core.IsHashedSecret(c.CodeHash) {
		t.Fatalf("the pairing code is stored as %q (%v); want a keyed hash", c.CodeHash, err)
	}
	sign := func(string) (core.ConsoleCert, error) { return core.ConsoleCert{Serial: "0A", Fingerprint: "ab"}, nil }
	if _, _, err := svc.RedeemConsolePairing("127.0.0.1", "WRONGWRONG23", sign); err == nil {
		t.Fatal("a wrong pairing code paired")
	}
	if c, _, err := svc.RedeemConsolePairing("127.0.0.1", core.GroupPairingCode(pair.Code), sign); err != nil || c.Name != "helpdesk-2" {
		t.Fatalf("pair with the code: %+v %v", c, err)
	}

	// A code stored before codes were keyed.
	storetest.MustAddUser(t, svc, "carol", "975318642")
	now := time.Now()
	if err := st.Update(func(tx core.Tx) error {
		return tx.PutProvisionCode("carol", core.ProvisionCode{Hash: core.HashCode("carol", "ABCD2345"), Created: now, Expires: now.Add(time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Provision("127.0.0.9", "carol", "ABCD2346", "TestOS 1"); err == nil {
		t.Fatal("a wrong code provisioned against a plain stored hash")
	}
	if _, err := svc.Provision("127.0.0.1", "carol", "ABCD2345", "TestOS 1"); err != nil {
		t.Fatalf("a code stored before codes were keyed: %v", err)
	}
}
