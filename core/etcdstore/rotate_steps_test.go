package etcdstore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
)

// fillSite gives the site users users, each with a PIN, a phone, its
// strings and a log line, every fifth an OATH token and every tenth a 20 KB
// diagnostic log (so the site is well past etcd's 1.5 MiB request limit),
// a few queued mails, an SMTP password, a shared identity, and extra more
// log lines; in
// transactions small enough for etcd's defaults.
func fillSite(t *testing.T, st *store.Store, users, extra int) {
	t.Helper()
	const per = 10
	for from := 0; from < users; from += per {
		err := st.Update(func(tx core.Tx) error {
			for i := from; i < min(from+per, users); i++ {
				name := fmt.Sprintf("user%04d", i)
				if err := tx.PutUser(core.User{Name: name, PIN: fmt.Sprintf("%06d", 100000+i), MobileAllowed: true, DeviceID: fmt.Sprintf("dev-%04d", i)}); err != nil {
					return err
				}
				var ss core.StringSet
				for j := range ss.S {
					copy(ss.S[j][:], fmt.Sprintf("%010d", i*1000+j))
				}
				if err := tx.PutStrings(name, &ss); err != nil {
					return err
				}
				if i%5 == 0 {
					tok := &core.OATHToken{Secret: []byte(fmt.Sprintf("oath-secret-%04d", i)), Created: time.Now()}
					if err := tx.PutOATH(name, core.OATHRecord{Active: tok}); err != nil {
						return err
					}
				}
				if i%10 == 0 {
					text := strings.Repeat(fmt.Sprintf("diagnostic line of %s\n", name), 20000/len("diagnostic line of user0000\n"))
					if err := tx.PutClientLog(name, core.ClientLog{Entries: []core.ClientLogEntry{{Time: time.Now(), Text: text}}}); err != nil {
						return err
					}
				}
				if _, err := tx.AppendLog(core.LogEntry{Time: time.Now(), Level: core.LevelInfo, Message: "added " + name}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("fill the site: %v", err)
		}
	}
	if _, err := st.ShareFiles(map[string][]byte{"key.pem": []byte("the site's private key")}); err != nil {
		t.Fatalf("share the identity: %v", err)
	}
	for from := 0; from < extra; from += per {
		err := st.Update(func(tx core.Tx) error {
			for i := from; i < min(from+per, extra); i++ {
				if _, err := tx.AppendLog(core.LogEntry{Time: time.Now(), Level: core.LevelInfo, Message: fmt.Sprintf("line %d", i)}); err != nil {
					return err
				}
			}
			if from == 0 {
				for i := range 3 {
					if err := tx.PutMail(&core.OutMessage{To: "a@example.org", Code: fmt.Sprintf("code-%d", i), Text: "mail text"}); err != nil {
						return err
					}
				}
				set := core.DefaultSettings()
				set.Mail.Password = "smtp-password-1"
				return tx.PutSettings(set)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("fill the log: %v", err)
		}
	}
}

// checkSite opens every user's PIN, strings, OATH token and client log,
// the mails, the settings and the shared identity, and verifies the log
// chain. Each opens only under the key that sealed it (AES-GCM), so under
// the new key it is no longer sealed under the old.
func checkSite(t *testing.T, st *store.Store, users int) {
	t.Helper()
	err := st.View(func(tx core.Tx) error {
		for i := range users {
			name := fmt.Sprintf("user%04d", i)
			u, err := tx.User(name)
			if err != nil {
				return err
			}
			if want := fmt.Sprintf("%06d", 100000+i); u.PIN != want {
				return fmt.Errorf("%s's PIN is %q, want %q", name, u.PIN, want)
			}
			ss, err := tx.Strings(name)
			if err != nil {
				return err
			}
			if got := string(ss.S[7][:]); got != fmt.Sprintf("%010d", i*1000+7) {
				return fmt.Errorf("%s's strings: %q", name, got)
			}
			if i%5 == 0 {
				r, err := tx.OATH(name)
				if err != nil || r.Active == nil || string(r.Active.Secret) != fmt.Sprintf("oath-secret-%04d", i) {
					return fmt.Errorf("%s's OATH token: %+v %v", name, r.Active, err)
				}
			}
			if i%10 == 0 {
				l, err := tx.ClientLog(name)
				if err != nil || len(l.Entries) != 1 || !strings.Contains(l.Entries[0].Text, "diagnostic line of "+name) {
					return fmt.Errorf("%s's client log: %v", name, err)
				}
			}
		}
		n := 0
		if err := tx.Mails(func(m core.OutMessage) bool {
			if m.Text != "mail text" {
				t.Errorf("mail %d: %q", m.ID, m.Text)
			}
			n++
			return true
		}); err != nil {
			return err
		}
		if n != 3 {
			return fmt.Errorf("%d mails, want 3", n)
		}
		set, err := tx.Settings()
		if err != nil || set.Mail.Password != "smtp-password-1" {
			return fmt.Errorf("settings: %q %v", set.Mail.Password, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files, err := st.SharedFiles(); err != nil || string(files["key.pem"]) != "the site's private key" {
		t.Fatalf("the shared identity: %q %v", files["key.pem"], err)
	}
	if v, err := st.VerifyLog(); err != nil {
		t.Fatalf("the log chain: %+v %v", v, err)
	}
}

// TestRotateKey_DefaultLimits: `key rotate` on a site of 300 users, their
// strings, tokens and diagnostic logs and 500 log lines, on an etcd member
// with etcd's default --max-txn-ops (128) and --max-request-bytes (1.5
// MiB), and the store address without max-txn-ops, as the README sets a
// small office up. The rotation was one transaction of over a thousand
// writes, which such a site refuses; it is done in steps that each fit.
func TestRotateKey_DefaultLimits(t *testing.T) {
	c := etcdtest.StartDefaultLimits(t)
	cfg := etcdstore.Config{Endpoints: c.Endpoints(), Site: "office"}
	keyDir := t.TempDir()
	st, err := etcdstore.Open(cfg, t.TempDir(), store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const users = 300
	fillSite(t, st, users, 200)
	n, err := st.RotateKey()
	if err != nil {
		t.Fatalf("rotate the key of a site of %d users under etcd's default limits: %v", users, err)
	}
	if n < 2*users {
		t.Errorf("the rotation counts %d records; want at least %d", n, 2*users)
	}
	checkSite(t, st, users)
	// A server started afterwards with the new key reads it all.
	st2, err := etcdstore.Open(cfg, t.TempDir(), store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatalf("open after the rotation: %v", err)
	}
	defer st2.Close()
	checkSite(t, st2, users)
	if len(st2.Notices()) != 0 {
		t.Errorf("a finished rotation left notices: %q", st2.Notices())
	}
	if !strings.Contains(lastLog(t, st2), "The data key was rotated") {
		t.Errorf("the newest log line is %q; want the rotation's", lastLog(t, st2))
	}
}

// lastLog is the newest audit log line's message.
func lastLog(t *testing.T, st *store.Store) string {
	t.Helper()
	var tail []core.LogEntry
	err := st.View(func(tx core.Tx) (err error) {
		tail, err = tx.LogTail(1)
		return err
	})
	if err != nil || len(tail) != 1 {
		t.Fatalf("the newest log line: %v %v", tail, err)
	}
	return tail[0].Message
}

// TestRotateKey_TooFewOpsIsASentence: a store address whose max-txn-ops
// leaves no room for the last step's own writes is refused before
// anything changes, with a sentence naming the setting.
func TestRotateKey_TooFewOpsIsASentence(t *testing.T) {
	cfg := etcdstore.Config{Endpoints: endpoints(t), Site: newSite()}
	keyDir := t.TempDir()
	st, err := etcdstore.Open(cfg, t.TempDir(), store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	fillSite(t, st, 10, 10)
	st.Close()
	cfg.MaxTxnOps = 20
	if st, err = etcdstore.Open(cfg, t.TempDir(), store.Options{KeyDir: keyDir}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.RotateKey(); err == nil || !strings.Contains(err.Error(), "max-txn-ops") {
		t.Fatalf("rotate with max-txn-ops=20: %v; want a sentence naming max-txn-ops", err)
	}
	if _, err := os.Stat(filepath.Join(keyDir, store.KeyFileName+".new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused rotation left provisio.key.new: %v", err)
	}
	checkSite(t, st, 10)
}
