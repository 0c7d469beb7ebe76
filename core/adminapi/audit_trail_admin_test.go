package adminapi_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// TestAuditTrail_AdminAPIChanges is TestAuditTrail_EveryAdminChange for
// the changes only core.AdminAPI makes (the command line's, and
// `provisio --connect`'s commands): unlock, PIN reset, mailed
// reprovision, an agent put with its secret, a profile assignment and a
// backup with a passphrase, by the command line on the data directory
// (core.LocalAdmin), by a command attached over the admin socket and by
// one connected over mutual TLS (`provisio --connect`).
func TestAuditTrail_AdminAPIChanges(t *testing.T) {
	envs := []struct {
		name, actor string
		api         func(t *testing.T, svc *core.Service, sock string) core.AdminAPI
	}{
		{"command line", "the command line", func(t *testing.T, svc *core.Service, _ string) core.AdminAPI {
			return core.LocalAdmin{Svc: svc}
		}},
		{"attached command", "a console or command on this machine (uid ", func(t *testing.T, _ *core.Service, sock string) core.AdminAPI {
			c, err := adminapi.Dial(sock)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			return c
		}},
		{"remote command", `console "desk-8" (admin) at 127.0.0.1`, func(t *testing.T, svc *core.Service, _ string) core.AdminAPI {
			return remoteClient(t, svc, "desk-8")
		}},
	}
	type row struct {
		name   string
		user   string
		lines  [][]string
		change func(api core.AdminAPI, secret func(string) string) error
		refuse func(api core.AdminAPI) error
	}
	rows := []row{
		{"unlock", "bob", [][]string{{`User "bob" changed: unlocked.`}},
			func(api core.AdminAPI, _ func(string) string) error { _, err := api.Unlock("bob"); return err },
			func(api core.AdminAPI) error { _, err := api.Unlock("alice"); /* not locked */ return err }},
		{"reset PIN", "bob", [][]string{{`PIN reset for user "bob"`, "shown to the administrator"}},
			func(api core.AdminAPI, secret func(string) string) error {
				r, err := api.ResetPIN("bob", false)
				secret(r.PIN)
				return err
			},
			func(api core.AdminAPI) error { _, err := api.ResetPIN("nobody", false); return err }},
		{"mailed reprovision", "bob", [][]string{{`Provision code created for user "bob"`}, {"Message added to message queue for user: bob"}, {`User "bob" can now reprovision`}},
			func(api core.AdminAPI, secret func(string) string) error {
				ic, err := api.Reprovision("bob", true)
				secret(ic.Code)
				return err
			},
			func(api core.AdminAPI) error { _, err := api.Reprovision("nobody", true); return err }},
		{"put agent", "", [][]string{{`Agent "radius" saved`, "host 127.0.0.1"}},
			func(api core.AdminAPI, secret func(string) string) error {
				_, err := api.PutAgent(core.AdminNewAgent{Name: "radius", Host: "127.0.0.1", Secret: secret("radius-Secret-4410")})
				return err
			},
			func(api core.AdminAPI) error {
				_, err := api.PutAgent(core.AdminNewAgent{Name: "radius", Host: "127.0.0.1"})
				return err
			}},
		{"assign profile", "bob", [][]string{{`User "bob" now uses profile "Sales".`}},
			func(api core.AdminAPI, _ func(string) string) error {
				_, err := api.AssignProfile("bob", "Sales")
				return err
			},
			func(api core.AdminAPI) error { _, err := api.AssignProfile("bob", "Nothing"); return err }},
		{"backup with a passphrase", "", [][]string{{"Backup of", "written"}},
			func(api core.AdminAPI, secret func(string) string) error {
				var buf bytes.Buffer
				_, err := api.Backup(&buf, core.BackupEncryption{Passphrase: secret("correct horse battery 7")})
				return err
			},
			func(api core.AdminAPI) error {
				var buf bytes.Buffer
				_, err := api.Backup(&buf, core.BackupEncryption{Passphrase: "short"})
				return err
			}},
	}
	for _, env := range envs {
		t.Run(env.name, func(t *testing.T) {
			svc, sock := newServer(t)
			f := auditSetup(t, svc)
			if _, err := svc.AddUser(core.User{Name: "bob", Email: "bob@example.org", MobileAllowed: true, Locked: true}); err != nil {
				t.Fatal(err)
			}
			api := env.api(t, svc, sock)
			for _, r := range rows {
				t.Run(r.name, func(t *testing.T) {
					before := lastSeq(t, svc)
					if err := r.refuse(api); err == nil {
						t.Fatal("the refused change was made")
					}
					if got := logsAfter(t, svc, before); len(got) != 0 {
						t.Errorf("a refused change wrote %d line(s): %s", len(got), describe(got))
					}
					before = lastSeq(t, svc)
					if err := r.change(api, f.secret); err != nil {
						t.Fatal(err)
					}
					got := logsAfter(t, svc, before)
					if len(got) != len(r.lines) {
						t.Fatalf("%d line(s), want %d: %s", len(got), len(r.lines), describe(got))
					}
					for i, e := range got {
						if !strings.HasPrefix(e.Actor, env.actor) || e.User != r.user {
							t.Errorf("#%d %q: actor %q, user %q; want %q, %q", e.Seq, e.Message, e.Actor, e.User, env.actor, r.user)
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
				for _, s := range f.secrets {
					if s != "" && regexp.MustCompile(`(^|[^0-9A-Za-z])`+regexp.QuoteMeta(s)+`($|[^0-9A-Za-z])`).MatchString(text) {
						t.Errorf("#%d %q holds the secret %q", e.Seq, text, s)
					}
				}
			}
		})
	}
}

// TestConsole_VerifyLogNamesTheBrokenEntry: over the admin socket, a log
// that does not verify is answered with the sentence naming the entry,
// as the Log screen of an attached console shows it, not the generic
// "Something went wrong" of an internal error.
func TestConsole_VerifyLogNamesTheBrokenEntry(t *testing.T) {
	st := storetest.MustOpenSealed(t)
	svc := storetest.MustServiceOn(t, st)
	sock := filepath.Join(t.TempDir(), adminapi.SocketName)
	srv, err := adminapi.Listen(sock, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for i := range 3 {
		if err := svc.Log(core.LevelInfo, "", "entry %d", i); err != nil {
			t.Fatal(err)
		}
	}
	last := lastSeq(t, svc)
	if err := st.EditRaw(func(tx store.KVTx) error {
		return tx.Bucket([]byte("log")).Delete(binary.BigEndian.AppendUint64(nil, last-1))
	}); err != nil {
		t.Fatal(err)
	}
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	_, err = adminapi.NewConsole(c).VerifyLog()
	want := fmt.Sprintf("The audit log does not verify at entry #%d:", last-1)
	if got := core.ErrorMessage(err); !strings.HasPrefix(got, want) {
		t.Errorf("verify over the socket: %q, want it to start %q", got, want)
	}
}

// TestRemoteConsole_PairingLineNamesThePairingConsole: the line of a
// console's pairing names who redeemed the code, the console at its
// address, as every later line of that console does; the line of the
// code names who made it.
func TestRemoteConsole_PairingLineNamesThePairingConsole(t *testing.T) {
	svc, _ := newServer(t)
	remoteClient(t, svc, "desk-5")
	all, err := svc.Logs(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		`Pairing code made for console "desk-5"`: "the console",
		`Console "desk-5" paired`:                `console "desk-5" (admin) at 127.0.0.1`,
	}
	for _, e := range all {
		for prefix, actor := range want {
			if strings.HasPrefix(e.Message, prefix) {
				if e.Actor != actor {
					t.Errorf("#%d %q: actor %q, want %q", e.Seq, e.Message, e.Actor, actor)
				}
				delete(want, prefix)
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("no line for %v:%s", want, describe(all))
	}
}
