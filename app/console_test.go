package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"
)

// childCLIEnv makes the test binary run one command line (its arguments
// separated by newlines) as the built program does, then report whether
// a Fyne app was created.
const childCLIEnv = "PROVISIO_TEST_CLI_ARGS"

func init() {
	if args := os.Getenv(childCLIEnv); args != "" {
		code := run(strings.Split(args, "\n"), os.Stdout, os.Stderr)
		// CurrentApp logs when there is none, which is the good case.
		log.SetOutput(io.Discard)
		if fyne.CurrentApp() != nil {
			fmt.Fprintln(os.Stderr, "a headless command created a Fyne app")
			code = 99
		}
		os.Exit(code)
	}
}

// runChild runs args in a separate process whose locale variables are
// exactly env, and returns its exit code and output.
func runChild(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LC_CTYPE":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Env = append(cmd.Env, childCLIEnv+"="+strings.Join(args, "\n"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// TestCLI_QuietUnderAnyLocale runs headless commands as separate
// processes under the locales Debian systems and containers use: none
// may print Fyne's "Error parsing user locale" lines (or anything else
// on stderr), and none may create a Fyne app.
func TestCLI_QuietUnderAnyLocale(t *testing.T) {
	dir := t.TempDir()
	locales := [][]string{
		{"LANG=C.UTF-8"},
		{"LANG=C"},
		{},
		{"LC_ALL=C.UTF-8"},
		{"LANG=POSIX.UTF-8"},
		{"LANG=en_US.UTF-8"},
	}
	if code, _, errOut := runCLI(t, dir, "user", "add", "quiet", "--email", "quiet@example.org"); code != 0 {
		t.Fatal(errOut)
	}
	commands := [][]string{
		{"--data", dir, "user", "list"},
		{"--data", dir, "settings", "get", "server.listen"},
		{"--data", dir, "agent", "list"},
		{"--data", dir, "reprovision", "quiet"},
	}
	for _, env := range locales {
		for _, args := range commands {
			name := fmt.Sprintf("%v %s", env, strings.Join(args[2:], " "))
			code, _, errOut := runChild(t, env, args...)
			if code != 0 || errOut != "" {
				t.Errorf("%s: exit %d, stderr %q", name, code, errOut)
			}
		}
	}
}

// TestCLI_ServeAdvertisesListeningPort is #8 item 7: serve --listen
// tells phones (getServerDetails, the provision page, the printed
// addresses) the port it really listens on, not the server.listen
// setting's, unless server.advertise names a port.
func TestCLI_ServeAdvertisesListeningPort(t *testing.T) {
	for _, tt := range []struct {
		name, advertise string
		wantPort        func(actual string) string
	}{
		{"listening port", "127.0.0.1", func(actual string) string { return actual }},
		{"advertised port", "127.0.0.1:9443", func(string) string { return "9443" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, args := range [][]string{
				{"settings", "set", "server.listen", "0.0.0.0:8443"},
				{"settings", "set", "server.advertise", tt.advertise},
				{"settings", "set", "server.siteid", "office"},
			} {
				if code, _, errOut := runCLI(t, dir, args...); code != 0 {
					t.Fatalf("%v: %s", args, errOut)
				}
			}
			srv := startServe(t, 10*time.Second, "--data", dir, "serve", "--listen", "127.0.0.1:0")
			addr, out, errOut := srv.addr, srv.out, srv.errOut
			_, actual, _ := net.SplitHostPort(addr)
			want := tt.wantPort(actual)
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
			get := func(path string) string {
				resp, err := client.Get("https://" + addr + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return string(b)
			}
			if body := get("/ssdserver/getServerDetails?id=office"); !strings.Contains(body, "<port>"+want+"</port>") {
				t.Errorf("getServerDetails advertises %s, want port %s", body, want)
			}
			if code := srv.halt(); code != 0 {
				t.Fatalf("serve exit %d: %s", code, errOut.String())
			}
			if !strings.Contains(out.String(), "https://127.0.0.1:"+want+"/") {
				t.Errorf("serve prints no address with port %s:\n%s", want, out.String())
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for name, out := range map[string]io.Writer{"pipe": w, "null": null, "buffer": &bytes.Buffer{}} {
		if isTerminal(out) {
			t.Errorf("%s is taken for a terminal: a second copy started from a menu would show no window", name)
		}
	}
}

// childConsoleEnv makes the test binary open the console on a data
// directory, as the built program does with no command.
const childConsoleEnv = "PROVISIO_TEST_CONSOLE_DIR"

func init() {
	if dir := os.Getenv(childConsoleEnv); dir != "" {
		os.Exit(run([]string{"--data", dir}, os.Stdout, os.Stderr))
	}
}

// startXvfb runs a virtual X server for the test and returns its
// display. The console needs a real display; Xvfb is one (.ci/deps.sh
// installs it).
func startXvfb(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Fatal("Xvfb is needed to start the real console window: apt-get install xvfb (make test installs it)")
	}
	// A display number nobody holds (no lock file); Xvfb's own -displayfd
	// choice proved unreliable under go test. Several attempts, in case
	// another process takes the number first.
	for n := 90; n < 190; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		num := strconv.Itoa(n)
		cmd := exec.Command(bin, ":"+num, "-screen", "0", "1600x1000x24", "-nolisten", "tcp")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		// Xvfb accepts connections once its socket is there; until then a
		// console would fail to open the display.
		sock := "/tmp/.X11-unix/X" + num
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case <-exited:
				deadline = time.Time{} // the number was taken: try the next
				continue
			default:
			}
			c, err := net.Dial("unix", sock)
			if err != nil {
				continue
			}
			c.Close()
			// SIGTERM, not SIGKILL: Xvfb then removes its socket and lock.
			t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); <-exited })
			return ":" + num
		}
		cmd.Process.Kill()
		<-exited
	}
	t.Fatal("no Xvfb display could be started")
	return ""
}

// TestConsole_StartsQuietlyUnderAnyLocale opens the real console window
// (GLFW on Xvfb) under LANG=C.UTF-8, C and no locale: it must come up and
// stay up without a line on stderr.
func TestConsole_StartsQuietlyUnderAnyLocale(t *testing.T) {
	display := startXvfb(t)
	for _, env := range [][]string{{"LANG=C.UTF-8"}, {"LANG=C"}, {}} {
		t.Run(fmt.Sprint(env), func(t *testing.T) {
			home := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			for _, kv := range os.Environ() {
				k, _, _ := strings.Cut(kv, "=")
				switch k {
				case "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "DISPLAY", "WAYLAND_DISPLAY", "HOME", "XDG_CONFIG_HOME":
					continue
				}
				cmd.Env = append(cmd.Env, kv)
			}
			cmd.Env = append(cmd.Env, env...)
			// Free loopback ports rather than the defaults, so that other
			// tests (and other test binaries running in parallel) holding
			// the default ports cannot make it fail.
			data := t.TempDir()
			for _, kv := range [][2]string{{"server.listen", freeAddr(t)}, {"server.admin_listen", freeAddr(t)}, {"server.mtls_listen", freeAddr(t)}} {
				var o, e bytes.Buffer
				if code := run([]string{"--data", data, "settings", "set", kv[0], kv[1]}, &o, &e); code != 0 {
					t.Fatalf("settings set %s %s: %s", kv[0], kv[1], e.String())
				}
			}
			cmd.Env = append(cmd.Env, "DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+home+"/.config",
				childConsoleEnv+"="+data)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				t.Fatalf("the console exited at once (%v): %s", err, errOut.String())
			case <-time.After(6 * time.Second):
			}
			cmd.Process.Kill()
			<-done
			if errOut.Len() != 0 {
				t.Errorf("stderr while starting the console: %q", errOut.String())
			}
		})
	}
}
