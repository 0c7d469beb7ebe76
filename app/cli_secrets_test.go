package main

import (
	"fmt"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store"
)

// storeSnapshot is everything a refused secret could have changed: the
// users with their PINs, the agents with their secret hashes and hosts,
// the settings (the SMTP password in clear) and the audit log's size.
func storeSnapshot(t *testing.T, dir string) string {
	t.Helper()
	st, err := store.Open(dir, store.Options{KeyDir: store.DefaultKeyDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var b strings.Builder
	err = st.View(func(tx core.Tx) error {
		if err := tx.Users(func(u core.User) bool { fmt.Fprintf(&b, "user %+v\n", u); return true }); err != nil {
			return err
		}
		agents, err := tx.Agents()
		if err != nil {
			return err
		}
		for _, a := range agents {
			fmt.Fprintf(&b, "agent %+v\n", a)
		}
		set, err := tx.Settings()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "settings %+v\nsmtp.password %q\n", set, set.Mail.Password)
		n, size, err := tx.LogSize()
		fmt.Fprintf(&b, "log %d entries, %d bytes\n", n, size)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCLI_SecretOnCommandLineRefused: a PIN, an agent secret or a secret
// setting written as a value on the command line is refused with one
// sentence saying how to give it instead, exit code 2, and nothing in the
// data file changes (also for an agent that exists, and before --connect
// reaches for a server); given as "-" with the secret on standard input,
// each is saved.
func TestCLI_SecretOnCommandLineRefused(t *testing.T) {
	t.Setenv("PROVISIO_CONSOLE_DIR", t.TempDir())
	dir := t.TempDir()
	// Existing values a refused command must leave alone.
	for _, step := range []struct {
		stdin string
		args  []string
	}{
		{"9132\n", []string{"user", "add", "alice", "--pin", "-"}},
		{"old-agent-secret\n", []string{"agent", "add", "vpn", "--host", "127.0.0.1", "--secret", "-"}},
		{"old-smtp-pass\n", []string{"settings", "set", "smtp.password", "-"}},
	} {
		if code, _, errOut := runCLIIn(t, dir, step.stdin, step.args...); code != exitOK {
			t.Fatalf("%v: exit %d: %s", step.args, code, errOut)
		}
	}

	const (
		pinSentence    = "A PIN on the command line is refused, as other users see it in 'ps' and it stays in shell history; give --pin - instead to type it without echo or pipe it on standard input."
		agentSentence  = "An agent secret on the command line is refused, as other users see it in 'ps' and it stays in shell history; give --secret - instead to type it without echo or pipe it on standard input."
		smtpSentence   = "The value of smtp.password on the command line is refused, as other users see it in 'ps' and it stays in shell history; give 'settings set smtp.password -' instead to type it without echo or pipe it on standard input."
		usageTrailer   = "Run 'provisio --help' for usage.\n"
		remoteNotReady = "127.0.0.1:1"
	)
	refused := []struct {
		name     string
		args     []string
		secret   string
		sentence string
	}{
		{"pin", []string{"user", "add", "carol", "--pin", "1357"}, "1357", pinSentence},
		{"pin with =", []string{"user", "add", "carol", "--pin=1357"}, "1357", pinSentence},
		{"pin before other flags", []string{"user", "add", "carol", "--pin", "1357", "--email", "carol@example.org"}, "1357", pinSentence},
		{"new agent secret", []string{"agent", "add", "web", "--host", "127.0.0.1", "--secret", "argv-agent-secret"}, "argv-agent-secret", agentSentence},
		{"existing agent secret", []string{"agent", "add", "vpn", "--host", "127.0.0.2", "--secret", "argv-agent-secret", "--helpdesk"}, "argv-agent-secret", agentSentence},
		{"smtp password", []string{"settings", "set", "smtp.password", "argv-smtp-pass"}, "argv-smtp-pass", smtpSentence},
		{"pin for a remote server", []string{"--connect", remoteNotReady, "user", "add", "carol", "--pin", "1357"}, "1357", pinSentence},
	}
	for _, tt := range refused {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			before := storeSnapshot(t, dir)
			// Standard input holds a different secret: a refused value
			// is not swapped for what a pipe would have given.
			var out, errOut strings.Builder
			code := runIn("from-stdin-123\n", append([]string{"--data", dir}, tt.args...), &out, &errOut)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if want := "provisio: " + tt.sentence + "\n" + usageTrailer; errOut.String() != want {
				t.Errorf("stderr %q\nwant   %q", errOut.String(), want)
			}
			if out.String() != "" {
				t.Errorf("stdout %q, want nothing", out.String())
			}
			if strings.Contains(out.String()+errOut.String(), tt.secret) {
				t.Errorf("the secret %q was printed", tt.secret)
			}
			if after := storeSnapshot(t, dir); after != before {
				t.Errorf("the data file changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	// "-" keeps working: the secret comes from standard input.
	piped := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"pin", "1357\n", []string{"user", "add", "carol", "--pin", "-"}},
		{"agent secret", "new-agent-secret\n", []string{"agent", "add", "vpn", "--host", "127.0.0.1", "--secret", "-"}},
		{"empty smtp password clears it", "", []string{"settings", "set", "smtp.password", ""}},
		{"smtp password", "new-smtp-pass\n", []string{"settings", "set", "smtp.password", "-"}},
	}
	for _, tt := range piped {
		t.Run("stdin/"+tt.name, func(t *testing.T) {
			code, out, errOut := runCLIIn(t, dir, tt.stdin, tt.args...)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			if secret := strings.TrimSpace(tt.stdin); secret != "" && strings.Contains(out, secret) {
				t.Errorf("the secret was printed: %q", out)
			}
		})
	}
	st, err := store.Open(dir, store.Options{KeyDir: store.DefaultKeyDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(func(tx core.Tx) error {
		if u, err := tx.User("carol"); err != nil || u.PIN != "1357" {
			t.Errorf("carol: PIN %q, %v; want 1357 from stdin", u.PIN, err)
		}
		if _, err := tx.Agent("web"); err == nil {
			t.Error("agent web exists; its only add gave the secret on the command line")
		}
		// The store keeps the agent secret only as its keyed hash (#13).
		if a, err := tx.Agent("vpn"); err != nil || a.Secret != st.HashSecret(core.SecretAgent, "new-agent-secret") || a.Helpdesk {
			t.Errorf("agent vpn: %+v %v; want the secret from stdin and no helpdesk right", a, err)
		}
		if set, err := tx.Settings(); err != nil || set.Mail.Password != "new-smtp-pass" {
			t.Errorf("smtp.password %q %v; want new-smtp-pass from stdin", set.Mail.Password, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
