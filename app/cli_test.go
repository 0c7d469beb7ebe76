package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/qr/qrtest"
	"provisio/core/store"
)

func TestMain(m *testing.M) {
	os.Setenv("LANG", "en_US.UTF-8")
	os.Exit(m.Run())
}

// runCLI runs one command line against dir and returns exit code and output.
func runCLI(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"--data", dir}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// privateTempDir is a t.TempDir() made 0700. The testing package makes
// those 0777 less the umask (0755), which the CLI tightens with a
// sentence on stderr (TestCLI_DataDirectoryIsMadePrivate); a test that
// reads stderr as one sentence starts from a private directory, as a
// data directory the program created is.
func privateTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runIn is run with stdin as the standard input that secrets given as
// "-" (--pin -, --secret -, settings set smtp.password -) are read from.
func runIn(stdin string, args []string, stdout, stderr io.Writer) int {
	return (&cli{out: stdout, errOut: stderr, in: strings.NewReader(stdin)}).run(args)
}

// runCLIIn is runCLI with stdin piped in, for secrets given as "-".
func runCLIIn(t *testing.T, dir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runIn(stdin, append([]string{"--data", dir}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCLI_Commands(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr
		stdin    string // piped in, for a secret given as "-"
	}{
		{[]string{"--help"}, 0, "provisio [--data DIR] serve", "", ""},
		{[]string{"user", "add", "--help"}, 0, "--email", "", ""},
		// The service's commands take no --data (install has
		// --service-data), as "provisio service --help" shows them.
		{[]string{"service", "install", "--help"}, 0, "Usage: provisio service install [--user U]", "", ""},
		{[]string{"service", "status", "--help"}, 0, "Usage: provisio service status\n", "", ""},
		{[]string{"bogus"}, 2, "", `unknown command "bogus"`, ""},
		{[]string{"user"}, 2, "user add NAME", "needs a subcommand", ""},
		{[]string{"user", "add"}, 2, "", "expected 1 argument", ""},
		{[]string{"user", "add", "alice", "--nope"}, 2, "", "provisio user add: unknown option --nope (see provisio user add --help)", ""},
		{[]string{"user", "add", "alice", "--email", "alice@example.org", "--pin", "-", "--full-name", "Alice Smith"}, 0, `User "alice" added.`, "", "1234\n"},
		{[]string{"user", "add", "ALICE"}, 1, "", `A user called "ALICE" already exists.`, ""},
		{[]string{"user", "add", "bob", "--pin", "-"}, 1, "", "A PIN is 4 to 10 digits.", "12\n"},
		{[]string{"user", "list"}, 0, "Alice Smith", "", ""},
		{[]string{"settings", "set", "policy.selfreset.code_validity", "9"}, 1, "", "Enter a whole number from 10 to 1,000,000.", ""},
		{[]string{"settings", "set", "policy.selfreset.code_validity", "1000001"}, 1, "", "Enter a whole number from 10 to 1,000,000.", ""},
		{[]string{"settings", "set", "policy.selfreset.code_validity", "900"}, 0, "policy.selfreset.code_validity = 900", "", ""},
		{[]string{"settings", "get", "policy.selfreset.code_validity"}, 0, "900", "", ""},
		{[]string{"settings", "get", "nope"}, 1, "", `There is no setting "nope"`, ""},
		{[]string{"settings", "list"}, 0, "policy.mobile.allow_pin_entry", "", ""},
		{[]string{"settings", "set", "policy.lockout.lock_seconds", "9"}, 1, "", "Enter a whole number from 10 to 86,400.", ""},
		{[]string{"settings", "set", "policy.lockout.lock_seconds", "600"}, 0, "policy.lockout.lock_seconds = 600", "", ""},
		{[]string{"settings", "set", "policy.lockout.max_locks", "21"}, 1, "", "Enter a whole number from 1 to 20.", ""},
		{[]string{"settings", "set", "policy.lockout.max_locks", "3"}, 0, "policy.lockout.max_locks = 3", "", ""},
		{[]string{"settings", "set", "policy.selfreset.max_provision_attempts", "0"}, 1, "", "Enter a whole number from 1 to 1,000.", ""},
		{[]string{"settings", "set", "policy.selfreset.max_provision_attempts", "10"}, 0, "policy.selfreset.max_provision_attempts = 10", "", ""},
		{[]string{"settings", "list"}, 0, "policy.lockout.max_locks", "", ""},
		// A missing flag is a usage error naming it, before any secret
		// is read: it was exit 1 with the empty value's rule ("\"\" is not
		// an IP address", "The shared secret needs at least 8 characters").
		{[]string{"agent", "add", "vpn", "--secret", "-"}, 2, "", "agent add needs --host H", "s3cret-123\n"},
		{[]string{"agent", "add", "vpn", "--host", "10.0.0.0/24"}, 2, "", "agent add needs --secret -", ""},
		{[]string{"agent", "add", "vpn", "--host", "10.0.0.0/24", "--secret", "-"}, 0, `Agent "vpn" saved (rights: authenticate).`, "", "s3cret-123\n"},
		{[]string{"agent", "add", "web", "--host", "not an ip", "--secret", "-"}, 1, "", "is not an IP address", "s3cret-123\n"},
		{[]string{"agent", "add", "desk", "--host", "localhost", "--secret", "-", "--helpdesk"}, 0, `Agent "desk" saved (rights: authenticate, helpdesk).`, "", "s3cret-456\n"},
		{[]string{"agent", "list"}, 0, "10.0.0.0/24", "", ""},
		{[]string{"agent", "list"}, 0, "127.0.0.1/32", "", ""},
		{[]string{"agent", "list"}, 0, "authenticate, helpdesk", "", ""},
		{[]string{"agent", "delete", "vpn"}, 0, `Agent "vpn" deleted.`, "", ""},
		{[]string{"agent", "delete", "vpn"}, 1, "", `There is no agent "vpn".`, ""},
		{[]string{"reprovision", "nobody"}, 1, "", `There is no user "nobody".`, ""},
		{[]string{"user", "delete", "alice"}, 0, `User "alice" deleted.`, "", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLIIn(t, dir, tt.stdin, tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q",
					code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestCLI_Reprovision(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLIIn(t, dir, "2468\n", "user", "add", "carol", "--pin", "-"); code != 0 {
		t.Fatal(errOut)
	}
	runCLI(t, dir, "settings", "set", "server.advertise", "127.0.0.1")
	code, out, errOut := runCLI(t, dir, "reprovision", "carol")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var url, pcode string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Provision URL: "); ok {
			url = v
		}
		if v, ok := strings.CutPrefix(line, "Provision code for carol: "); ok {
			pcode = v
		}
	}
	_, _, _, user, c, err := core.ParseProvisionURL(url)
	if err != nil || user != "carol" || c != pcode {
		t.Fatalf("URL %q (code %q): %v", url, pcode, err)
	}
	// The terminal QR decodes back to the same URL.
	qrText := out[strings.Index(out, url)+len(url):]
	qrText = strings.Trim(qrText, "\n")
	lines := strings.Split(qrText, "\n")
	img := qrtest.MustParseTerminal(t, qrText, len([]rune(lines[0])))
	if got := qrtest.MustDecode(t, img); got != url {
		t.Fatalf("terminal QR decodes to %q, want %q", got, url)
	}
}

// heldDataDir returns a data directory with a data file that this test
// process holds open until the test ends, as a running Provisio would.
func heldDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	runCLI(t, dir, "user", "list") // creates the data file
	st, err := store.Open(dir, store.Options{KeyDir: store.DefaultKeyDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return dir
}

// loopbackEnvIn opens dir as the program does, with every listener on
// loopback, and closes it when the test ends.
func loopbackEnvIn(t *testing.T, dir string) *env {
	t.Helper()
	return loopbackEnvKeys(t, dir, "")
}

// loopbackEnvKeys is loopbackEnvIn with the data key in keyDir (as
// --key-dir gives it; "" for the default).
func loopbackEnvKeys(t *testing.T, dir, keyDir string) *env {
	t.Helper()
	e, err := openEnvKey(dir, keyDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	loopbackEnv(t, e)
	return e
}

// heldWithAdmin is loopbackEnvIn with the admin socket answering, as a
// running Provisio holds dir.
func heldWithAdmin(t *testing.T, dir string) *env {
	t.Helper()
	return heldWithAdminKeys(t, dir, "")
}

// heldWithAdminKeys is heldWithAdmin with the data key in keyDir, as a
// service started with its own --key-dir.
func heldWithAdminKeys(t *testing.T, dir, keyDir string) *env {
	t.Helper()
	e := loopbackEnvKeys(t, dir, keyDir)
	var adminErr bytes.Buffer
	stop := e.startAdmin(&adminErr)
	t.Cleanup(func() {
		stop()
		if adminErr.Len() > 0 {
			t.Logf("admin server: %s", adminErr.String())
		}
	})
	return e
}

// TestCLI_SecondCopyRefused: a command on a data directory a Provisio
// holds without an admin socket is refused at once, with what to stop
// (it said "close it first", which a service cannot be); store copy says
// it once, not twice.
func TestCLI_SecondCopyRefused(t *testing.T) {
	dir := heldDataDir(t)
	start := time.Now()
	code, _, errOut := runCLI(t, dir, "user", "add", "dave")
	// A sentence, ended: the shell's next prompt follows it.
	if code != 1 || !strings.Contains(errOut, "another Provisio is already using this data directory") || !strings.Contains(errOut, "sudo systemctl stop provisio, or close the console") || !strings.HasSuffix(errOut, ".\n") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("refusal took %v", took)
	}
	code, _, errOut = runCLI(t, dir, "store", "copy", "--to", filepath.Join(t.TempDir(), "copy"))
	if code != 1 || strings.Count(errOut, "systemctl stop provisio") != 1 || !strings.Contains(errOut, "so that nothing changes during the copy.\n") {
		t.Errorf("store copy of a held directory: exit %d, stderr %q; want one sentence saying what to stop", code, errOut)
	}
}

// TestCLI_CheckWhileHeld: check on a data directory a running Provisio
// holds says so in one sentence, with what to do, not the store's "open
// PATH: ..." error.
func TestCLI_CheckWhileHeld(t *testing.T) {
	dir := heldDataDir(t)
	code, _, errOut := runCLI(t, dir, "check")
	if code != 1 || !strings.Contains(errOut, dir+" is in use by a running Provisio") || !strings.Contains(errOut, "stop it first") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(errOut, "open ") {
		t.Fatalf("stderr %q names the system call", errOut)
	}
	assertOneSentence(t, errOut)
}

func TestCLI_Serve(t *testing.T) {
	dir := t.TempDir()
	srv := startServe(t, 10*time.Second, "--data", dir, "serve", "--listen", "127.0.0.1:0")
	addr, out, errOut := srv.addr, srv.out, srv.errOut
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Post("https://"+addr+"/pinsafe/AgentXML", "application/xml",
		strings.NewReader(`<SASRequest><Version>3.6</Version><Action>ping</Action></SASRequest>`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "<Result>PASS</Result>") {
		t.Fatalf("ping: %s", body)
	}
	if code := srv.halt(); code != 0 {
		t.Fatalf("serve exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "Certificate SHA-256: ") || !strings.Contains(out.String(), "Site ID: ") {
		t.Fatalf("serve output lacks fingerprint or Site ID: %s", out.String())
	}
}

func TestCLI_ReprovisionMail(t *testing.T) {
	capture, err := smtpcapture.New(smtpcapture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downPort := strconv.Itoa(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()

	tests := []struct {
		name     string
		port     string
		wantOut  string
		captured int
	}{
		{"server up", strconv.Itoa(capture.Port()), "Message sent to erin@example.org.", 1},
		{"server down", downPort, "Mail not sent yet: Could not connect to the mail server", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if code, _, errOut := runCLIIn(t, dir, "1234\n", "user", "add", "erin", "--email", "erin@example.org", "--pin", "-"); code != 0 {
				t.Fatal(errOut)
			}
			// The mail names the certificate the server would present,
			// read from its file when this command serves nothing.
			certPath, keyPath := filepath.Join(t.TempDir(), "office.pem"), filepath.Join(t.TempDir(), "office.key")
			fp := writeOfficeCert(t, certPath, keyPath, false)
			for _, args := range [][]string{
				{"settings", "set", "server.advertise", "127.0.0.1"},
				{"settings", "set", "server.tls_cert", certPath},
				{"settings", "set", "server.tls_key", keyPath},
				{"settings", "set", "smtp.host", "127.0.0.1"},
				{"settings", "set", "smtp.port", tt.port},
				{"settings", "set", "smtp.security", "none"},
				{"settings", "set", "smtp.from", "it@example.org"},
			} {
				if code, _, errOut := runCLI(t, dir, args...); code != 0 {
					t.Fatalf("%v: %s", args, errOut)
				}
			}
			before := len(capture.Messages())
			code, out, errOut := runCLI(t, dir, "reprovision", "erin", "--mail")
			if code != 0 || !strings.Contains(out, tt.wantOut) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			msgs := capture.Messages()
			if got := len(msgs) - before; got != tt.captured {
				t.Fatalf("%d messages captured, want %d", got, tt.captured)
			}
			if tt.captured > 0 {
				// Quoted-printable wraps the long line; a mail client
				// joins it again.
				text, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(msgs[len(msgs)-1].Data)))
				if !strings.Contains(string(text), fp) {
					t.Errorf("the provision mail does not name the certificate's fingerprint %s:\n%s", fp, text)
				}
			}
		})
	}
}

// user list shows when a temporary lock runs out, and a permanent lock
// as plain "locked".
func TestCLI_UserListShowsLocks(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"alice", "bob"} {
		if code, _, errOut := runCLIIn(t, dir, "9132\n", "user", "add", n, "--pin", "-"); code != 0 {
			t.Fatal(errOut)
		}
	}
	st, err := store.Open(dir, store.Options{KeyDir: store.DefaultKeyDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	agent := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "s3cret-123", Group: core.GroupAny}
	for range 5 { // failures an agent reports count like wrong codes
		_ = svc.IncreaseLock(agent, "alice")
	}
	lock, err := svc.Lock("alice")
	if _, uerr := svc.UpdateUser("bob", func(u *core.User) error { u.Locked = true; return nil }); err != nil || uerr != nil {
		t.Fatal(err, uerr)
	}
	st.Close()
	if lock.Until.IsZero() {
		t.Fatalf("alice is not locked for a while: %+v", lock)
	}
	code, out, errOut := runCLI(t, dir, "user", "list")
	if code != 0 {
		t.Fatal(errOut)
	}
	want := map[string]string{"alice": "locked until " + lock.Until.Local().Format("15:04"), "bob": "locked"}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || want[f[0]] == "" {
			continue
		}
		if got := strings.Join(f[2:], " "); got != want[f[0]] {
			t.Errorf("%s: %q, want %q", f[0], got, want[f[0]])
		}
		delete(want, f[0])
	}
	if len(want) != 0 {
		t.Errorf("not listed: %v\n%s", want, out)
	}
}

// TestCLI_DataDirectoryIsMadePrivate: a data directory that exists
// already keeps the mode it was made with (os.MkdirAll only sets 0700
// when it creates one); opening one this user owns that lets others in
// makes it 0700 and says so on stderr, once.
func TestCLI_DataDirectoryIsMadePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, dir, "settings", "get", "server.name")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("data directory mode %04o, want 0700", got)
	}
	if want := "mode 0755); it is now 0700"; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q does not say %q", errOut, want)
	}
	if code, _, errOut := runCLI(t, dir, "settings", "get", "server.name"); code != 0 || errOut != "" {
		t.Errorf("second open: exit %d, stderr %q, want nothing said", code, errOut)
	}
}

// TestCLI_ReprovisionSaysWhatStops: the console asks before a new code for
// a user whose phone (or authenticator app) works now, since that phone
// stops once the code is used; the command printed the code and nothing
// of the kind, so a helpdesk person at the command line learnt it from
// the user's call.
func TestCLI_ReprovisionSaysWhatStops(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"carol", "dan"} {
		if code, _, errOut := runCLIIn(t, dir, "2468\n", "user", "add", name, "--pin", "-"); code != 0 {
			t.Fatal(errOut)
		}
	}
	runCLI(t, dir, "settings", "set", "server.advertise", "127.0.0.1")
	e, err := openEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	ic, err := e.svc.CreateProvisionCode("carol")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Provision("127.0.0.1", "carol", ic.Code, "Android 15"); err != nil {
		t.Fatal(err)
	}
	e.close()
	const note = "current phone stops working once the new one provisions."
	for _, tt := range []struct {
		user string
		want bool
	}{{"carol", true}, {"dan", false}} {
		code, out, errOut := runCLI(t, dir, "reprovision", tt.user)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tt.user, code, errOut)
		}
		if got := strings.Contains(out, tt.user+"'s "+note); got != tt.want {
			t.Errorf("%s: the note is there: %v, want %v:\n%s", tt.user, got, tt.want, out)
		}
	}
}
