package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/oathkey"
	"provisio/core/store"
)

// SecretsAtRest is issue #13's "a copy of the data alone gives away no
// secret", for any backend of store.Store (docs/decisions.md "Data
// protection (#13)"). It fills st, opened with a data key, with one of
// every kind of secret the records hold: a PIN, a provisioned device (its
// Id and strings), a confirmed and a pending OATH token, a pending
// provision code, a PIN reset code, a console pairing code, the SMTP
// password, a queued mail carrying a code, and an agent's secret. Then
// raw returns every byte a reader of the backend gets without the key
// (the data file; etcd's keys and values), in which none of them may
// appear in any common form, nor as a hash anyone can compute without the
// key (which would let a short code be found by trying them all). Last,
// every keyed hash the raw bytes hold is presented back as a device Id
// and as an agent's secret: a stored hash must not work as the secret it
// stands for, or a copy of the data would log in.
func SecretsAtRest(t *testing.T, st *store.Store, raw func(t *testing.T) []byte) {
	t.Helper()
	svc := MustServiceOn(t, st, core.WithOATHKeys(oathkey.Keys{}))
	secrets := map[string][]byte{}
	add := func(what string, v []byte) { secrets[what] = bytes.Clone(v) }
	hashHex := func(s string) []byte { h := sha256.Sum256([]byte(s)); return []byte(hex.EncodeToString(h[:])) }

	must(t, svc.SetSetting("smtp.host", "127.0.0.1"))
	must(t, svc.SetSetting("smtp.password", "Smtp-Pa55word-xyz"))
	add("SMTP password", []byte("Smtp-Pa55word-xyz"))
	agent := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "agent-s3cret-4567", Group: core.GroupAny}
	must(t, svc.PutAgent(agent))
	add("agent secret", []byte(agent.Secret))
	loopback := netip.MustParseAddr("127.0.0.1")

	// alice: a provisioned phone.
	MustAddUser(t, svc, "alice", "731945862")
	add("alice's PIN", []byte("731945862"))
	ic, err := svc.CreateProvisionCode("alice")
	must(t, err)
	p, err := svc.Provision("127.0.0.1", "alice", ic.Code, "TestOS 1")
	must(t, err)
	add("alice's device Id", []byte(p.DeviceID))
	d, err := svc.SecurityStrings(p.DeviceID)
	must(t, err)
	for i, s := range strings.Split(d.Strings, ";")[:10] {
		add("alice's string "+string(rune('0'+i)), []byte(s))
	}

	// bob: a pending provision code, shown on a console, and a PIN reset
	// code waiting in the outbox.
	MustAddUser(t, svc, "bob", "864209753")
	add("bob's PIN", []byte("864209753"))
	ic, err = svc.CreateProvisionCode("bob")
	must(t, err)
	add("bob's provision code", []byte(ic.Code))
	add("the plain hash of bob's provision code", []byte(core.HashCode("bob", ic.Code)))
	must(t, svc.RequestPINReset(agent, "bob"))

	// carol: a provision code in a queued mail.
	MustAddUser(t, svc, "carol", "975318642")
	add("carol's PIN", []byte("975318642"))
	ic, err = svc.MailProvisionCode("carol")
	must(t, err)
	add("carol's mailed code", []byte(ic.Code))
	add("the plain hash of carol's mailed code", []byte(core.HashCode("carol", ic.Code)))
	add("carol's Provision URL", []byte(ic.URL))
	box, err := svc.Outbox()
	must(t, err)
	for _, m := range box {
		if m.Carries != core.CarriesPINResetCode {
			continue
		}
		_, after, _ := strings.Cut(m.Text, "Your PIN reset code is:\n\n    ")
		code, _, _ := strings.Cut(after, "\n")
		if code == "" {
			t.Fatalf("no PIN reset code in the queued mail %q", m.Text)
		}
		add("bob's PIN reset code", []byte(code))
		add("the plain hash of bob's PIN reset code", []byte(core.HashCode("pin-reset\x00bob", code)))
	}
	if _, ok := secrets["bob's PIN reset code"]; !ok {
		t.Fatal("no PIN reset mail in the outbox")
	}

	// dave: a confirmed OATH token; erin: one waiting for confirmation.
	must(t, svc.SetSetting("oath.enabled", "true"))
	for _, name := range []string{"dave", "erin"} {
		MustAddUser(t, svc, name, "246813579")
		is, err := svc.IssueOATH(name, core.OATHOptions{Kind: core.OATHTOTP, Digits: 6})
		must(t, err)
		secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(is.SecretText, " ", ""))
		must(t, err)
		add(name+"'s OATH secret", secret)
		if name == "dave" {
			must(t, svc.ConfirmOATH(name, core.TOTPCode(secret, time.Now(), core.OATHSHA1, 6, 30)))
		}
	}

	// A remote console's pairing code (#12).
	pair, err := svc.PairConsole("helpdesk-2", core.RoleHelpdesk)
	must(t, err)
	add("the console pairing code", []byte(pair.Code))
	add("the plain hash of the console pairing code", hashHex("provisio console pairing\x00"+pair.Code))

	data := raw(t)
	if len(data) == 0 {
		t.Fatal("raw returned nothing: the test would prove nothing")
	}
	for what, s := range secrets {
		for form, b := range secretForms(s) {
			if bytes.Contains(data, b) {
				t.Errorf("the stored bytes hold %s in %s form", what, form)
			}
		}
	}

	hashes := map[string]bool{}
	for _, h := range regexp.MustCompile(store.HashedPrefix+`[0-9a-f]{64}`).FindAll(data, -1) {
		hashes[string(h)] = true
	}
	if len(hashes) < 2 {
		t.Fatalf("found %d keyed hashes in the stored bytes; want the device's and the agent's at least", len(hashes))
	}
	for h := range hashes {
		if name, ok, err := svc.DeviceUser(h); ok || err != nil {
			t.Errorf("the stored hash %.12s… is taken as %q's device Id (%v)", h, name, err)
		}
		if _, err := svc.SecurityStrings(h); err == nil {
			t.Errorf("the stored hash %.12s… downloads security strings as a device Id", h)
		}
		if _, ok := svc.AuthorizeAgent(loopback, h); ok {
			t.Errorf("the stored hash %.12s… is accepted as an agent's secret", h)
		}
	}
	// The real ones still work.
	if name, ok, err := svc.DeviceUser(p.DeviceID); !ok || err != nil || name != "alice" {
		t.Errorf("alice's device Id: %q %v %v", name, ok, err)
	}
	if _, ok := svc.AuthorizeAgent(loopback, agent.Secret); !ok {
		t.Error("the agent's secret is refused")
	}
}

// secretForms are the ways a secret could sit in stored bytes: plain,
// hex, base64 (all alphabets, unpadded) and base32 as authenticator apps
// show it.
func secretForms(secret []byte) map[string][]byte {
	return map[string][]byte{
		"plain":     secret,
		"hex":       []byte(hex.EncodeToString(secret)),
		"HEX":       []byte(strings.ToUpper(hex.EncodeToString(secret))),
		"base64":    []byte(strings.TrimRight(base64.StdEncoding.EncodeToString(secret), "=")),
		"base64url": []byte(strings.TrimRight(base64.URLEncoding.EncodeToString(secret), "=")),
		"base32":    []byte(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)),
	}
}
