package core_test

import (
	"regexp"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestAuditTrail_AgentAndPhoneChanges is the agents' and phones' half of
// the field lesson "every change in the audit log" (core/adminapi's
// TestAuditTrail_EveryAdminChange has the consoles'): each change an
// AgentXML agent, a helpdesk agent or a phone makes is made once on a
// real data file and writes the lines documented for it, naming that
// actor and the user; a refused one writes none; no PIN, code or
// security string is in any line.
func TestAuditTrail_AgentAndPhoneChanges(t *testing.T) {
	svc := storetest.MustServiceOn(t, storetest.MustOpenSealed(t))
	for k, v := range map[string]string{"policy.pin.min_length": "8", "smtp.host": "127.0.0.1", "smtp.from": "provisio@example.org",
		"policy.selfreset.allow_self_provision": "yes"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	vpn := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-Secret-5521", Group: core.GroupAny, Repository: true, Helpdesk: true}
	if err := svc.PutAgent(vpn); err != nil {
		t.Fatal(err)
	}
	var secrets []string
	secret := func(s string) string { secrets = append(secrets, s); return s }
	secret(vpn.Secret)
	pin, newPIN := secret("30571946"), secret("81620357")
	var code core.IssuedCode
	var device string
	var ss core.StringSet
	agent, helpdesk, phone := `agent "vpn"`, `helpdesk agent "vpn"`, "a phone at 192.0.2.9"
	str := func(s string) *string { return &s }

	rows := []struct {
		name   string
		actor  string
		lines  [][]string
		change func() error
		refuse func() error
	}{
		{"agent adds a user", agent, [][]string{{`User "gil" added to repository vpn.`}},
			func() error {
				_, err := batch(svc.CreateUsers("vpn", "vpn", []core.UserSpec{{Name: "gil", PIN: &pin, Email: str("gil@example.org")}}))
				return err
			},
			func() error {
				_, err := batch(svc.CreateUsers("vpn", "vpn", []core.UserSpec{{Name: "gil", PIN: str("12"), Email: str("gil@example.org")}}))
				return err
			}},
		{"agent changes a user", agent, [][]string{{`User "gil" changed: email gil@example.org → gil@example.com.`}},
			func() error {
				_, err := batch(svc.UpdateUsers(core.AdminScope(vpn), []core.UserSpec{{Name: "gil", Email: str("gil@example.com")}}))
				return err
			},
			func() error {
				_, err := batch(svc.UpdateUsers(core.AdminScope(vpn), []core.UserSpec{{Name: "gil", Email: str("not an address")}}))
				return err
			}},
		{"phone asks for a code on the portal", phone, [][]string{{`Provision code for user "gil" requested on the self-service portal.`}, {`Provision code created for user "gil"`}, {"Message added to message queue for user: gil"}, {`User "gil" can now reprovision`}},
			func() error {
				out, err := svc.RequestSelfServiceCode("192.0.2.9", "gil")
				if err == nil && out != core.SelfServiceMailed {
					t.Errorf("outcome %v", out)
				}
				return err
			}, nil},
		{"console makes a provision code", "the console", [][]string{{"Message for user: gil", "withdrawn"}, {`Provision code created for user "gil"`}, {`User "gil" can now reprovision`}},
			func() error {
				var err error
				code, err = svc.CreateProvisionCode("gil")
				secret(code.Code)
				return err
			}, nil},
		{"phone provisions", phone, [][]string{{`User "gil" provisioned successfully`}},
			func() error {
				p, err := svc.Provision("192.0.2.9", "gil", code.Code, "TestOS 1")
				device = p.DeviceID
				return err
			}, nil},
		{"phone fetches strings", phone, [][]string{{"Security strings fetched for user: gil"}},
			func() error {
				d, err := svc.SecurityStringsFrom("192.0.2.9", device, "")
				for i, s := range strings.Split(d.Strings, ";") {
					copy(ss.S[i][:], secret(s))
				}
				return err
			},
			func() error { _, err := svc.SecurityStringsFrom("192.0.2.9", "no-such-device", ""); return err }},
		{"agent changes the PIN", agent, [][]string{{"PIN changed for user: gil."}},
			func() error {
				otc := core.ExtractOTC(ss.S[0], pin)
				return svc.ChangePIN(vpn, "gil", core.MobileCode(otc, 0), core.MobileCode(core.ExtractOTC(ss.S[1], newPIN), 1))
			}, nil},
		{"helpdesk resets the PIN", helpdesk, [][]string{{"Message added to message queue for user: gil"}, {`PIN reset for user "gil"`, "queued to the user's email"}},
			func() error {
				_, err := batch(svc.ResetPINs(core.HelpdeskScope(vpn, ""), []string{"gil"}))
				return err
			},
			func() error {
				_, err := batch(svc.ResetPINs(core.HelpdeskScope(vpn, ""), []string{"nobody"}))
				return err
			}},
		{"agent deletes the user", agent, [][]string{{"Message for user: gil", "withdrawn"}, {`User "gil" deleted`}},
			func() error { _, err := batch(svc.DeleteUsers(core.AdminScope(vpn), []string{"gil"})); return err },
			func() error { _, err := batch(svc.DeleteUsers(core.AdminScope(vpn), []string{"nobody"})); return err }},
		{"agent purges the deleted", agent, [][]string{{`Deleted user "gil" purged.`}},
			func() error { _, err := svc.PurgeDeleted(core.AdminScope(vpn)); return err }, nil},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if r.refuse != nil {
				before := lastSeq(t, svc)
				if err := r.refuse(); err == nil {
					t.Fatal("the refused change was made")
				}
				if got, _ := svc.Logs(before, 0); len(got) != 0 {
					t.Errorf("a refused change wrote %d line(s): %v", len(got), got)
				}
			}
			before := lastSeq(t, svc)
			if err := r.change(); err != nil {
				t.Fatal(err)
			}
			got, err := svc.Logs(before, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(r.lines) {
				for _, e := range got {
					t.Logf("#%d [%s] %s: %s", e.Seq, e.Actor, e.User, e.Message)
				}
				t.Fatalf("%d line(s), want %d", len(got), len(r.lines))
			}
			for i, e := range got {
				if !strings.HasPrefix(e.Actor, r.actor) || e.User != "gil" {
					t.Errorf("#%d %q: actor %q, user %q; want %q, gil", e.Seq, e.Message, e.Actor, e.User, r.actor)
				}
				for _, want := range r.lines[i] {
					if !strings.Contains(e.Message, want) {
						t.Errorf("#%d %q does not say %q", e.Seq, e.Message, want)
					}
				}
			}
		})
	}
	all, err := svc.Logs(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		text := e.User + " " + e.Actor + " " + e.Message
		for _, s := range secrets {
			if s != "" && regexp.MustCompile(`(^|[^0-9A-Za-z])`+regexp.QuoteMeta(s)+`($|[^0-9A-Za-z])`).MatchString(text) {
				t.Errorf("#%d %q holds the secret %q", e.Seq, text, s)
			}
		}
	}
}

// batch is the first error of a batch use case: its own, or the first
// item's.
func batch(errs []error, err error) ([]error, error) {
	if err != nil {
		return errs, err
	}
	for _, e := range errs {
		if e != nil {
			return errs, e
		}
	}
	return errs, nil
}
