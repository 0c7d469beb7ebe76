package adminapi_test

import (
	"encoding/base32"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/oathkey"
)

// auditEnv is one actor's way into the use cases: the console's API
// (core.ConsoleAPI) as that actor calls it, and who the audit log must
// say acted.
type auditEnv struct {
	name string
	api  func(t *testing.T, svc *core.Service, sock string) core.ConsoleAPI
	// actor is the log's Actor; prefix is enough for the attached
	// console, whose description holds this process's uid and pid.
	actor  string
	prefix bool
}

// auditRow is one admin-side change made once: the lines it must write
// (each must contain the texts of its line), and a refused attempt at
// it, which must write nothing.
type auditRow struct {
	name   string
	change func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error
	user   string     // the entries' User ("" for none)
	users  []string   // or each line's, when they differ
	lines  [][]string // per line written, texts it must contain
	refuse func(api core.ConsoleAPI, f *auditFixture) error
}

// auditFixture holds what the rows share: the secrets they set or were
// given, which no log line may hold.
type auditFixture struct {
	svc     *core.Service
	secrets []string
	code    core.IssuedCode
	pairing core.ConsolePairing
	oath    oathkey.Parsed
	queued  uint64
}

func (f *auditFixture) secret(s string) string {
	f.secrets = append(f.secrets, s)
	return s
}

// TestAuditTrail_EveryAdminChange is the field lesson "every change in
// the audit log" (docs/decisions.md "Audit log", "The audit log names
// who acted"): each admin-side change of the console's use cases, made
// once on a real data file by each kind of console actor (the console
// in the process, the command line on the data directory, a console
// attached over the admin socket, a remote console over mutual TLS on
// loopback), writes exactly the lines documented for it, each naming
// the actor, the user and what changed, and none holds a secret that
// was set or handed out; a refused attempt writes no line.
func TestAuditTrail_EveryAdminChange(t *testing.T) {
	envs := []auditEnv{
		{name: "console", actor: "the console",
			api: func(t *testing.T, svc *core.Service, _ string) core.ConsoleAPI { return svc }},
		{name: "command line", actor: "the command line",
			api: func(t *testing.T, svc *core.Service, _ string) core.ConsoleAPI {
				return svc.As(core.OperatorActor(core.CommandLine))
			}},
		{name: "attached console", actor: "a console or command on this machine (uid ", prefix: true,
			api: func(t *testing.T, _ *core.Service, sock string) core.ConsoleAPI {
				c, err := adminapi.Dial(sock)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(c.Close)
				return adminapi.NewConsole(c)
			}},
		{name: "remote console", actor: `console "desk-7" (admin) at 127.0.0.1`,
			api: func(t *testing.T, svc *core.Service, _ string) core.ConsoleAPI {
				return remoteConsole(t, svc, "desk-7")
			}},
	}
	for _, env := range envs {
		t.Run(env.name, func(t *testing.T) {
			svc, sock := newServer(t)
			f := auditSetup(t, svc)
			api := env.api(t, svc, sock)
			for _, row := range auditRows() {
				t.Run(row.name, func(t *testing.T) {
					if row.refuse != nil {
						before := lastSeq(t, svc)
						if err := row.refuse(api, f); err == nil {
							t.Fatal("the refused change was made")
						}
						if got := logsAfter(t, svc, before); len(got) != 0 {
							t.Errorf("a refused change wrote %d line(s): %s", len(got), describe(got))
						}
					}
					before := lastSeq(t, svc)
					if err := row.change(t, api, f); err != nil {
						t.Fatal(err)
					}
					got := logsAfter(t, svc, before)
					if len(got) != len(row.lines) {
						t.Fatalf("%d line(s), want %d: %s", len(got), len(row.lines), describe(got))
					}
					for i, e := range got {
						if env.prefix && !strings.HasPrefix(e.Actor, env.actor) || !env.prefix && e.Actor != env.actor {
							t.Errorf("#%d %q: actor %q, want %q", e.Seq, e.Message, e.Actor, env.actor)
						}
						want := row.user
						if row.users != nil {
							want = row.users[i]
						}
						if e.User != want {
							t.Errorf("#%d %q: user %q, want %q", e.Seq, e.Message, e.User, want)
						}
						for _, want := range row.lines[i] {
							if !strings.Contains(e.Message, want) {
								t.Errorf("#%d %q does not say %q", e.Seq, e.Message, want)
							}
						}
					}
				})
			}
			// No secret set or handed out is in any line's text. A secret
			// counts standing alone (a PIN is digits, which a time's
			// could hold by chance).
			all, err := svc.Logs(0, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range all {
				text := e.User + " " + e.Actor + " " + e.Message
				for _, s := range f.secrets {
					if s != "" && regexp.MustCompile(`(^|[^0-9A-Za-z])`+regexp.QuoteMeta(s)+`($|[^0-9A-Za-z])`).MatchString(text) {
						t.Errorf("#%d %q holds the secret %q", e.Seq, text, s)
					}
				}
			}
			if v, err := svc.VerifyLog(); err != nil || v.Last != all[len(all)-1].Seq {
				t.Errorf("verify: %+v, %v", v, err)
			}
		})
	}
}

// auditSetup makes, as the console, what the rows change: a provisioned
// user with an uploaded client log, a profile, mail set up.
func auditSetup(t *testing.T, svc *core.Service) *auditFixture {
	t.Helper()
	f := &auditFixture{svc: svc}
	for k, v := range map[string]string{"smtp.host": "127.0.0.1", "smtp.from": "provisio@example.org", "oath.enabled": "true", "server.advertise": "127.0.0.1",
		// PINs of 8 digits, so that a reset one is not a number a log
		// line could hold for another reason.
		"policy.pin.min_length": "8"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	sales := auditProfile(svc, "Sales")
	sales.Logging = true
	if err := svc.AddProfile(sales); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUser(core.User{Name: "alice", Email: "alice@example.org", MobileAllowed: true, Profile: "Sales", PIN: f.secret("48170293")}); err != nil {
		t.Fatal(err)
	}
	ic, err := svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	f.secret(ic.Code)
	p, err := svc.Provision("127.0.0.1", "alice", ic.Code, "TestOS 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UploadClientLog("127.0.0.1", p.DeviceID, "", "client started\n"); err != nil {
		t.Fatal(err)
	}
	// Backups into a folder, encrypted with a passphrase in a file.
	pass := filepath.Join(t.TempDir(), "backup.pass")
	if err := os.WriteFile(pass, []byte(f.secret("backup-Pass-phrase-0417")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := svc.ChangeSettings(map[string]string{"backup.folder": t.TempDir(), "backup.passphrase_file": pass}, "Backups"); err != nil {
		t.Fatal(err)
	}
	return f
}

// auditProfile is a profile with the Default's policies and a support
// address, as every profile needs.
func auditProfile(svc *core.Service, name string) core.Profile {
	p := core.Profile{Name: name, ClientPolicies: core.DefaultClientPolicies(svc.Settings().MobileClient)}
	p.SupportEmail = "help@example.org"
	return p
}

func auditRows() []auditRow {
	badEmail := func(api core.ConsoleAPI, name string) error {
		_, err := api.UpdateUser(name, func(u *core.User) error { u.Email = "not an address"; return nil })
		return err
	}
	return []auditRow{
		{name: "add user", user: "carol", lines: [][]string{{`User "carol" added.`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				_, err := api.AddUser(core.User{Name: "carol", Email: "carol@example.org", MobileAllowed: true, PIN: f.secret("59283710")})
				return err
			},
			refuse: func(api core.ConsoleAPI, f *auditFixture) error {
				_, err := api.AddUser(core.User{Name: "carol", Email: "not an address", PIN: "59283710"})
				return err
			}},
		{name: "edit user", user: "carol", lines: [][]string{{`User "carol" changed`, "email carol@example.org → carol@example.com", `full name "" → Carol Jones`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				_, err := api.UpdateUser("carol", func(u *core.User) error { u.Email, u.FullName = "carol@example.com", "Carol Jones"; return nil })
				return err
			},
			refuse: func(api core.ConsoleAPI, f *auditFixture) error { return badEmail(api, "carol") }},
		{name: "lock user", user: "carol", lines: [][]string{{`User "carol" changed`, "locked"}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				_, err := api.UpdateUser("carol", func(u *core.User) error { u.Locked = true; return nil })
				return err
			}},
		{name: "reset PIN", user: "carol", lines: [][]string{{`PIN reset for user "carol"`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				r, err := api.ResetPIN("carol", false)
				f.secret(r.PIN)
				return err
			},
			refuse: func(api core.ConsoleAPI, f *auditFixture) error { _, err := api.ResetPIN("nobody", false); return err }},
		{name: "provision code", user: "carol", lines: [][]string{{`Provision code created for user "carol"`}, {`User "carol" can now reprovision`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				ic, err := api.CreateProvisionCode("carol")
				f.code = ic
				f.secret(ic.Code)
				return err
			},
			refuse: func(api core.ConsoleAPI, f *auditFixture) error {
				_, err := api.CreateProvisionCode("nobody")
				return err
			}},
		{name: "mail the code", user: "carol", lines: [][]string{{"Message added to message queue for user: carol, destination: carol@example.com"}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				ic, err := api.MailIssuedCode(f.code)
				f.queued = ic.MailID
				return err
			}},
		{name: "withdraw the code", user: "carol", lines: [][]string{{"Message for user: carol, destination: carol@example.com withdrawn"}, {`Provision code for user "carol" withdrawn`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				ok, err := api.WithdrawProvisionCode("carol", f.code.Code)
				if err == nil && !ok {
					t.Error("the code was not withdrawn")
				}
				return err
			}},
		{name: "issue OATH token", user: "carol", lines: [][]string{{`OATH token (TOTP, SHA1, 6 digits) issued for user "carol"`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				is, err := api.IssueOATH("carol", core.OATHOptions{Kind: core.OATHTOTP})
				if err != nil {
					return err
				}
				f.secret(is.SecretText)
				f.secret(strings.ReplaceAll(is.SecretText, " ", ""))
				f.oath, err = oathkey.Parse(is.URI)
				f.secret(f.oath.Secret)
				return err
			}},
		{name: "confirm OATH token", user: "carol", lines: [][]string{{"carol", "confirmed"}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(f.oath.Secret)
				if err != nil {
					return err
				}
				code := core.TOTPCode(key, f.svc.Now(), f.oath.Algorithm, f.oath.Digits, f.oath.Period)
				return api.ConfirmOATH("carol", f.secret(code))
			},
			refuse: func(api core.ConsoleAPI, f *auditFixture) error { return api.ConfirmOATH("carol", "12") }},
		{name: "mail an app code", user: "carol", lines: [][]string{{`Provision code created for user "carol"`}, {"Message added to message queue for user: carol"}, {`User "carol" can now reprovision`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				ic, err := api.MailOATHProvisionCode("carol", core.OATHOptions{Kind: core.OATHTOTP})
				f.secret(ic.Code)
				return err
			}},
		{name: "revoke device", user: "alice", lines: [][]string{{"alice"}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error { return api.RevokeDevice("alice") },
			refuse: func(api core.ConsoleAPI, f *auditFixture) error { return api.RevokeDevice("nobody") }},
		{name: "clear client logs", user: "alice", lines: [][]string{{`Client log of user "alice" cleared (1 upload)`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				_, err := api.ClearClientLogs("alice")
				return err
			}},
		{name: "set a setting", lines: [][]string{{"server.name", "→ Front office"}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				return api.SetSetting("server.name", "Front office")
			},
			refuse: func(api core.ConsoleAPI, f *auditFixture) error { return api.SetSetting("policy.pin.min_length", "99") }},
		{name: "set the SMTP password", lines: [][]string{{"smtp.password changed"}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				return api.SetSetting("smtp.password", f.secret("smtp-Pa55-word-81"))
			}},
		{name: "change settings", lines: [][]string{{"Policy PIN and Lockout saved", "policy.lockout.max_failures 5 → 7"}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				return api.ChangeSettings(map[string]string{"policy.lockout.max_failures": "7"}, "Policy PIN and Lockout")
			},
			refuse: func(api core.ConsoleAPI, f *auditFixture) error {
				return api.ChangeSettings(map[string]string{"policy.pin.min_length": "12"}, "Policy PIN and Lockout")
			}},
		{name: "save a settings form", lines: [][]string{{"Server saved", "server.name Front office → Back office"}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				set := api.Settings()
				set.ServerName = "Back office"
				return api.SetSettings(set, "Server")
			}},
		{name: "retry failed mail with none failed", lines: [][]string{},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				n, err := api.RetryFailedMail()
				if n != 0 {
					t.Errorf("%d message(s) queued again, none had failed", n)
				}
				return err
			}},
		{name: "back up now", lines: [][]string{{"Backup written to ", "(2 users, log up to #"}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				if r := api.BackupNow(false); !r.OK {
					return errors.New(r.Error)
				}
				return nil
			}},
		{name: "add agent", lines: [][]string{{`Agent "vpn2" saved`, "host 127.0.0.1"}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				return api.PutAgent(core.Agent{Name: "vpn2", Host: "127.0.0.1", Group: core.GroupAny, Secret: f.secret("agent-Secret-7731")})
			},
			refuse: func(api core.ConsoleAPI, f *auditFixture) error {
				return api.PutAgent(core.Agent{Name: "vpn3", Host: "127.0.0.1", Group: core.GroupAny, Secret: "short"})
			}},
		{name: "change agent", lines: [][]string{{`Agent "vpn2" saved`, "changed: host 127.0.0.1 → 127.0.0.2, secret, helpdesk right No → Yes."}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				host, secret := "127.0.0.2", f.secret("agent-Secret-9902")
				helpdesk := true
				return api.ChangeAgent("vpn2", core.AgentChange{Host: &host, Secret: &secret, Helpdesk: &helpdesk})
			}},
		{name: "replace agent", lines: [][]string{{`Agent "vpn2" saved`, "changed: group ANY → sales, modes mobile → mobile+dual."}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				a := api.Agents()[0]
				// The secret kept, as the agent form saves (never read).
				a.Secret, a.Group, a.Modes = "", "sales", []string{"mobile", "dual"}
				return api.PutAgent(a)
			}},
		{name: "delete agent", lines: [][]string{{`Agent "vpn2" deleted.`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error { return api.DeleteAgent("vpn2") },
			refuse: func(api core.ConsoleAPI, f *auditFixture) error { return api.DeleteAgent("nobody") }},
		{name: "add profile", lines: [][]string{{`Profile "Field" created.`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				return api.AddProfile(auditProfile(f.svc, "Field"))
			},
			refuse: func(api core.ConsoleAPI, f *auditFixture) error {
				return api.AddProfile(auditProfile(f.svc, "Sales"))
			}},
		{name: "change profile", lines: [][]string{{`Profile "Field" saved`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				return api.ChangeProfile("Field", map[string]string{"support_email": "field@example.org"})
			}},
		{name: "assign profile to group", lines: [][]string{{`Group staff now uses profile "Field".`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				return api.AssignProfileToGroup("Field", "staff")
			},
			refuse: func(api core.ConsoleAPI, f *auditFixture) error { return api.AssignProfileToGroup("Nothing", "staff") }},
		{name: "delete profile", lines: [][]string{{`Profile "Field" deleted`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				return api.DeleteProfile("Field", "Sales")
			},
			refuse: func(api core.ConsoleAPI, f *auditFixture) error { return api.DeleteProfile("Nothing", "") }},
		{name: "import", users: []string{"dave", "erin", ""}, lines: [][]string{{`User "dave" added by import.`}, {`User "erin" added by import.`}, {"Imported 2 users."}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				pv, err := api.PreviewImport(strings.NewReader("username,email\ndave,dave@example.org\nerin,erin@example.org\n"))
				if err != nil {
					return err
				}
				_, err = api.ImportUsers(pv.Rows, nil)
				return err
			}},
		{name: "pair console", lines: [][]string{{`Pairing code made for console "desk-9"`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				p, err := api.PairConsole("desk-9", core.RoleHelpdesk)
				f.pairing = p
				f.secret(p.Code)
				f.secret(core.GroupPairingCode(p.Code))
				return err
			}},
		{name: "revoke console", lines: [][]string{{`Console "desk-9" (role helpdesk) revoked`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error { return api.RevokeConsole("desk-9") },
			refuse: func(api core.ConsoleAPI, f *auditFixture) error { return api.RevokeConsole("nobody") }},
		{name: "discard mail", user: "carol", lines: [][]string{{"discarded"}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				msgs, err := f.svc.Outbox()
				if err != nil {
					return err
				}
				for _, m := range msgs {
					if m.State != core.MailSent {
						return api.DiscardMail(m.ID)
					}
				}
				t.Fatal("no message to discard")
				return nil
			}},
		{name: "delete user", user: "carol", lines: [][]string{{"Message for user: carol", "withdrawn"}, {`User "carol" deleted`}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error { return api.DeleteUser("carol") },
			refuse: func(api core.ConsoleAPI, f *auditFixture) error { return api.DeleteUser("nobody") }},
		{name: "note", lines: [][]string{{"Checked the trail."}},
			change: func(t *testing.T, api core.ConsoleAPI, f *auditFixture) error {
				return api.Log(core.LevelInfo, "", "Checked the trail.")
			}},
	}
}

func logsAfter(t *testing.T, svc *core.Service, seq uint64) []core.LogEntry {
	t.Helper()
	got, err := svc.Logs(seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func lastSeq(t *testing.T, svc *core.Service) uint64 {
	t.Helper()
	tail, err := svc.LogTail(1)
	if err != nil || len(tail) != 1 {
		t.Fatalf("log tail: %v, %v", tail, err)
	}
	return tail[0].Seq
}

func describe(entries []core.LogEntry) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString("\n  #" + strings.TrimSpace(strings.Join([]string{string(e.Level), "[" + e.Actor + "]", e.User + ":", e.Message}, " ")))
	}
	return b.String()
}

// remoteConsole pairs a console with the admin role over the server's
// remote listener on loopback, as `provisio --connect` does.
func remoteConsole(t *testing.T, svc *core.Service, name string) core.ConsoleAPI {
	return adminapi.NewConsole(remoteClient(t, svc, name))
}

// remoteClient is remoteConsole's client, the command line's API.
func remoteClient(t *testing.T, svc *core.Service, name string) *adminapi.Client {
	t.Helper()
	p, err := svc.PairConsole(name, core.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := svc.ConsoleEndpoint()
	fp, serverPEM, err := adminapi.ServerFingerprint(addr)
	if err != nil {
		t.Fatal(err)
	}
	id, err := adminapi.Pair(addr, fp, serverPEM, p.Code)
	if err != nil {
		t.Fatal(err)
	}
	c, err := adminapi.DialRemote(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
