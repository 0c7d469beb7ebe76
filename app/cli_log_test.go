package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
)

// logShowRows parses "log show": its header and each row's cells (seq,
// time, level, user, by, message), the columns two or more spaces apart.
func logShowRows(t *testing.T, out string) (header []string, rows [][]string) {
	t.Helper()
	sep := regexp.MustCompile(`\s{2,}`)
	for i, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		cells := sep.Split(strings.TrimRight(l, " "), 6)
		if i == 0 {
			header = cells
			continue
		}
		if len(cells) != 6 {
			t.Fatalf("log show line %q has %d cells", l, len(cells))
		}
		rows = append(rows, cells)
	}
	return header, rows
}

// TestCLI_LogNamesWhoActed runs the real command line: a command on the
// data directory acts as "the command line"; while "serve" holds the
// directory, an attached command and a console attached over the admin
// socket act as the socket's peer; the server's own lines are "the
// server"'s. "log show" prints who acted under BY, attached or not, and
// the chain verifies with the actors in it.
func TestCLI_LogNamesWhoActed(t *testing.T) {
	dir := privateTempDir(t)
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, dir, "profile", "add", "Sales", "--email", "help@example.org"); code != exitOK {
		t.Fatalf("profile add: %d %s", code, errOut)
	}
	code, out, errOut := runCLI(t, dir, "log", "show", "--tail", "2")
	if code != exitOK {
		t.Fatalf("log show: %d %s", code, errOut)
	}
	header, rows := logShowRows(t, out)
	if strings.Join(header, ",") != "SEQ,TIME,LEVEL,USER,BY,MESSAGE" || len(rows) != 2 ||
		strings.Join(rows[0][3:], "|") != `alice|the command line|User "alice" added.` ||
		strings.Join(rows[1][3:], "|") != `-|the command line|Profile "Sales" created.` {
		t.Errorf("log show:\n%s", out)
	}

	srv := startServe(t, 20*time.Second, "--data", dir, "serve", "--listen", "127.0.0.1:0")
	defer srv.halt() // -1 once halted below
	code, _, errOut = runCLI(t, dir, "user", "add", "bob")
	if code != exitOK || !strings.Contains(errOut, "attached to the Provisio running on") {
		t.Fatalf("attached user add: %d %s", code, errOut)
	}
	// A console attached over the admin socket, as ui.Attached uses it.
	client, err := adminapi.Dial(filepath.Join(dir, adminapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	if err := adminapi.NewConsole(client).Log(core.LevelWarn, "bob", "Fire drill at %s.", "15:00"); err != nil {
		t.Fatal(err)
	}
	peer := "a console or command on this machine (uid "
	code, out, errOut = runCLI(t, dir, "log", "show", "--tail", "2")
	if code != exitOK || !strings.Contains(errOut, "attached to the Provisio running on") {
		t.Fatalf("attached log show: %d %s", code, errOut)
	}
	if _, rows = logShowRows(t, out); len(rows) != 2 {
		t.Fatalf("log show --tail 2:\n%s", out)
	}
	// The attached add writes its one line, naming the operator; the
	// admin API adds none of its own.
	for i, msg := range []string{`User "bob" added.`, "Fire drill at 15:00."} {
		if r := rows[i]; r[3] != "bob" || !strings.HasPrefix(r[4], peer) || r[5] != msg {
			t.Errorf("row %d = %q, want bob, %s…) and %q", i, r, peer, msg)
		}
	}
	if code := srv.halt(); code != 0 {
		t.Fatalf("serve exit %d: %s", code, srv.errOut.String())
	}

	// The same, read from the store, and the chain holds.
	e, err := openEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	entries, err := e.svc.Logs(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]string{}
	var bobs []string
	for _, e := range entries {
		by[e.Message] = e.Actor
		if e.User == "bob" {
			bobs = append(bobs, e.Message)
		}
		// No console ran: nothing here is the console's.
		if e.Actor == core.ConsoleActor.String() {
			t.Errorf("entry #%d %q names the console", e.Seq, e.Message)
		}
	}
	// bob's lines: the attached add's one line and the note.
	if want := []string{`User "bob" added.`, "Fire drill at 15:00."}; strings.Join(bobs, "\n") != strings.Join(want, "\n") {
		t.Errorf("bob's entries %q, want %q", bobs, want)
	}
	for msg, want := range map[string]string{
		`User "alice" added.`:      "the command line",
		`Profile "Sales" created.`: "the command line",
		`User "bob" added.`:        peer,
		"Fire drill at 15:00.":     peer,
	} {
		if got, ok := by[msg]; !ok || !strings.HasPrefix(got, want) {
			t.Errorf("%q: actor %q, want %q…", msg, got, want)
		}
	}
	if v, err := e.svc.VerifyLog(); err != nil || v.Last != entries[len(entries)-1].Seq {
		t.Errorf("log verify: %+v, %v", v, err)
	}
}
