package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/certs"
	"provisio/core/store"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// provisioBinary builds the real program once per test run, so the damage
// tests see exactly what a user's shell sees: exit code, stderr and no
// recover of the test harness in between.
func provisioBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		dir, err := os.MkdirTemp("", "provisio-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "provisio")
		cmd := exec.Command(goBin, "build", "-tags", "migrated_fynedo", "-o", builtBin, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// runBinary runs the built program with stdin and a time limit.
func runBinary(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	bin := provisioBinary(t) // built before the clock starts
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "LANG=en_US.UTF-8")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v did not finish in 30 s (stdout %q, stderr %q)", args, out.String(), errOut.String())
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// assertOneSentence fails unless stderr is exactly one sentence without
// any trace of a crash.
func assertOneSentence(t *testing.T, stderr string) {
	t.Helper()
	for _, bad := range []string{"goroutine", "panic", "SIGSEGV", "SIGBUS", "fatal error", ".go:", "runtime."} {
		if strings.Contains(stderr, bad) {
			t.Fatalf("stderr shows %q: %s", bad, stderr)
		}
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, ".\n") || !strings.HasPrefix(stderr, "provisio: ") {
		t.Fatalf("stderr is not one sentence: %q", stderr)
	}
}

// soundDataDir makes a data directory with users, an agent, log lines and
// a certificate, as a working office's would be, and returns the bytes of
// its data file.
func soundDataDir(t *testing.T) (string, []byte) {
	t.Helper()
	dir := privateTempDir(t)
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		if _, err := svc.AddUser(core.User{Name: fmt.Sprintf("user%02d", i), Email: fmt.Sprintf("user%02d@example.org", i), PIN: "2468", MobileAllowed: true}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if _, err := certs.LoadOrCreate(dir, []string{"localhost"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return dir, data
}

func TestBinary_DamagedDataFile(t *testing.T) {
	_, sound := soundDataDir(t)
	// The page size and the root page from the newest header page (bbolt
	// writes them in the machine's byte order); the older one's root may
	// be a page freed since.
	ne := binary.NativeEndian
	ps := int(ne.Uint32(sound[16+8:]))
	newest := 0
	if ne.Uint64(sound[ps+16+48:]) > ne.Uint64(sound[16+48:]) {
		newest = ps
	}
	root := int(ne.Uint64(sound[newest+16+16:]))
	if ps < 512 || root < 2 || (root+1)*ps > len(sound) {
		t.Fatalf("unexpected header: page size %d, root %d", ps, root)
	}
	damages := []struct {
		name   string
		damage func([]byte) []byte
		want   string
	}{
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }, "is damaged (it is cut short"},
		{"zero length", func([]byte) []byte { return nil }, "is empty (0 bytes)"},
		{"data page damaged", func(b []byte) []byte {
			for i := 8; i < 16; i++ { // page type, count, overflow
				b[root*ps+i] ^= 0xa5
			}
			return b
		}, "is damaged (page"},
		{"meta page damaged", func(b []byte) []byte { b[16+40] ^= 0xff; b[16+41] ^= 0x0f; return b }, "is damaged (its first header page is damaged"},
	}
	commands := [][]string{
		{"serve", "--listen", "127.0.0.1:0"},
		{"user", "list"},
		{"check"},
	}
	for _, d := range damages {
		for _, args := range commands {
			t.Run(d.name+"/"+strings.Join(args[:1], " "), func(t *testing.T) {
				dir, _ := soundDataDir(t)
				path := filepath.Join(dir, store.FileName)
				if err := os.WriteFile(path, d.damage(append([]byte(nil), sound...)), 0o600); err != nil {
					t.Fatal(err)
				}
				before, _ := os.ReadFile(path)
				code, stdout, stderr := runBinary(t, "", append([]string{"--data", dir}, args...)...)
				if code != 1 {
					t.Fatalf("exit %d, want 1 (stdout %q, stderr %q)", code, stdout, stderr)
				}
				assertOneSentence(t, stderr)
				if !strings.Contains(stderr, d.want) {
					t.Fatalf("stderr %q does not say %q", stderr, d.want)
				}
				if args[0] == "check" && !strings.Contains(stdout, "Result: ") {
					t.Fatalf("check printed no report: %q", stdout)
				}
				if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
					t.Fatal("the damaged file was changed")
				}
			})
		}
	}
}

func TestBinary_CheckSoundFile(t *testing.T) {
	dir, _ := soundDataDir(t)
	code, stdout, stderr := runBinary(t, "", "--data", dir, "check")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	fields := strings.Join(strings.Fields(stdout), " ")
	for _, want := range []string{"Result: OK, no damage found.", "users 60 0", "log 60 0", "BUCKET RECORDS UNREADABLE"} {
		if !strings.Contains(fields, want) {
			t.Fatalf("report lacks %q:\n%s", want, stdout)
		}
	}
}

func TestBinary_LostDataFile(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    string
	}{
		{"certificate but no data file", func(t *testing.T, dir string) {
			if _, err := certs.LoadOrCreate(dir, []string{"localhost"}); err != nil {
				t.Fatal(err)
			}
		}, "its server certificate cert.pem is there"},
		{"data file deleted after use", func(t *testing.T, dir string) {
			if code, _, stderr := runBinary(t, "", "--data", dir, "user", "list"); code != 0 {
				t.Fatal(stderr)
			}
			os.Remove(filepath.Join(dir, store.FileName))
		}, "the marker file provisio.db.expected is there"},
	}
	for _, tt := range tests {
		for _, args := range [][]string{{"serve", "--listen", "127.0.0.1:0"}, {"user", "list"}, {"check"}} {
			t.Run(tt.name+"/"+args[0], func(t *testing.T) {
				dir := privateTempDir(t)
				tt.prepare(t, dir)
				code, stdout, stderr := runBinary(t, "", append([]string{"--data", dir}, args...)...)
				if code != 1 {
					t.Fatalf("exit %d, want 1 (stdout %q, stderr %q)", code, stdout, stderr)
				}
				assertOneSentence(t, stderr)
				if !strings.Contains(stderr, "is missing although this data directory has held data ("+tt.want+")") {
					t.Fatalf("stderr %q", stderr)
				}
				if _, err := os.Stat(filepath.Join(dir, store.FileName)); !os.IsNotExist(err) {
					t.Fatal("a new, empty data file was created")
				}
			})
		}
	}

	// The admin's explicit choice to start again works, and only then.
	dir := t.TempDir()
	if _, err := certs.LoadOrCreate(dir, []string{"localhost"}); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runBinary(t, "", "--data", dir, "check", "--create-empty"); code != 0 || !strings.Contains(stdout, "Created an empty data file") {
		t.Fatalf("create-empty: exit %d, %q %q", code, stdout, stderr)
	}
	if code, _, stderr := runBinary(t, "", "--data", dir, "user", "list"); code != 0 {
		t.Fatalf("user list after create-empty: %s", stderr)
	}
	code, _, stderr := runBinary(t, "", "--data", dir, "check", "--create-empty")
	if code != 1 || !strings.Contains(stderr, "is not empty, so nothing was changed") {
		t.Fatalf("create-empty over a data file: exit %d, %q", code, stderr)
	}
}

func TestBinary_SecretsOffTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	const refused = "on the command line is refused, as other users see it in 'ps' and it stays in shell history; give "
	tests := []struct {
		name        string
		stdin       string
		args        []string
		wantCode    int
		wantRefusal bool
		wantErr     string
	}{
		{"pin from stdin", "2468\n", []string{"user", "add", "bob", "--pin", "-"}, 0, false, ""},
		{"pin on argv refused", "", []string{"user", "add", "carol", "--pin", "1357"}, 2, true, "A PIN " + refused + "--pin - instead"},
		{"pin missing on stdin", "", []string{"user", "add", "dave", "--pin", "-"}, 1, false, "no PIN for dave was given on standard input"},
		{"bad pin from stdin", "12\n", []string{"user", "add", "erin", "--pin", "-"}, 1, false, "A PIN is 4 to 10 digits."},
		{"agent secret from stdin", "s3cret-from-pipe\n", []string{"agent", "add", "vpn", "--host", "127.0.0.1", "--secret", "-"}, 0, false, ""},
		{"agent secret on argv refused", "", []string{"agent", "add", "web", "--host", "127.0.0.1", "--secret", "s3cret-123"}, 2, true, "An agent secret " + refused + "--secret - instead"},
		{"smtp password from stdin", "mail-pass\n", []string{"settings", "set", "smtp.password", "-"}, 0, false, ""},
		{"smtp password on argv refused", "", []string{"settings", "set", "smtp.password", "argv-pass"}, 2, true, "The value of smtp.password " + refused + "'settings set smtp.password -' instead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runBinary(t, tt.stdin, append([]string{"--data", dir}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (stdout %q, stderr %q)", code, tt.wantCode, stdout, stderr)
			}
			if got := strings.Contains(stderr, refused); got != tt.wantRefusal {
				t.Fatalf("refusal %v, want %v: %q", got, tt.wantRefusal, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Fatalf("stderr %q, want %q", stderr, tt.wantErr)
			}
			if tt.stdin != "" && strings.Contains(stdout+stderr, strings.TrimSpace(tt.stdin)) {
				t.Fatalf("the secret was printed: %q %q", stdout, stderr)
			}
			if tt.wantRefusal && strings.Contains(stdout+stderr, tt.args[len(tt.args)-1]) {
				t.Fatalf("the refused secret was printed: %q %q", stdout, stderr)
			}
		})
	}
	st, err := store.Open(dir, store.Options{KeyDir: store.DefaultKeyDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(func(tx core.Tx) error {
		if u, err := tx.User("bob"); err != nil || u.PIN != "2468" {
			t.Errorf("bob: PIN %q, %v; want 2468", u.PIN, err)
		}
		if _, err := tx.User("carol"); err == nil {
			t.Error("carol was added with the PIN refused on the command line")
		}
		if _, err := tx.User("dave"); err == nil {
			t.Error("dave was added without a PIN")
		}
		if _, err := tx.Agent("web"); err == nil {
			t.Error("agent web was added with the secret refused on the command line")
		}
		a, err := tx.Agent("vpn")
		// The store keeps the agent secret only as its keyed hash (#13).
		if err != nil || a.Secret != st.HashSecret(core.SecretAgent, "s3cret-from-pipe") {
			t.Errorf("agent vpn: %+v %v", a, err)
		}
		set, err := tx.Settings()
		if err != nil || set.Mail.Password != "mail-pass" {
			t.Errorf("smtp password %q %v", set.Mail.Password, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
