package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUnitSandbox_CoversWhatTheServerDoes runs the real server under
// strace through what an office does with it: a phone provisions and
// downloads its strings, a VPN logs in, the command line asks the running
// server through its admin socket, and the server stops on SIGTERM. Every
// system call, socket, memory mapping, new thread and file written is then
// held against the sandbox the service's unit declares (SystemCallFilter,
// RestrictAddressFamilies, MemoryDenyWriteExecute, RestrictNamespaces,
// PrivateDevices, ProtectSystem with ReadWritePaths). systemd cannot run
// in a test (it is not PID 1 there), and a sandbox line that the server
// crosses stops the service at an office's first login, not at install;
// this finds it here.
func TestUnitSandbox_CoversWhatTheServerDoes(t *testing.T) {
	straceBin, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("strace is missing (Debian package strace; .ci/deps.sh installs it)")
	}
	unit, err := unitFile(defaultService())
	if err != nil {
		t.Fatal(err)
	}
	allowed := allowedSyscalls(t, unitValues(unit, "SystemCallFilter"))
	families := strings.Fields(strings.Join(unitValues(unit, "RestrictAddressFamilies"), " "))
	if len(allowed) == 0 || len(families) == 0 {
		t.Fatalf("the unit has no SystemCallFilter or RestrictAddressFamilies:\n%s", unit)
	}

	o := newCrashOffice(t)
	trace := filepath.Join(t.TempDir(), "trace")
	// -f: every thread; -qq: no attach and exit notes. The test binary
	// acts as "provisio serve" (childServeEnv), the program the unit runs.
	child := startServeChildEnv(t, childServeEnv+"="+o.dir, o.dir, straceBin, "-f", "-qq", "-o", trace)
	server := tracee(t, child.cmd.Process.Pid)
	// Killing strace would leave the server running, detached.
	t.Cleanup(func() { _ = syscall.Kill(server, syscall.SIGKILL) })

	// The command line beside a running server asks it over DIR/admin.sock.
	p := &phoneCrash{o: o, fingerprint: child.fingerprint}
	_, url := p.reprovision(t)
	phone := p.phone(t, url)
	if err := phone.Provision("TestOS"); err != nil {
		t.Fatal(err)
	}
	if err := phone.DownloadStrings(); err != nil {
		t.Fatal(err)
	}
	otc, _ := phone.OTC("9132")
	if got := p.login(t, otc); got != "PASS" {
		t.Fatalf("login: %s", got)
	}
	if err := syscall.Kill(server, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- child.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the server did not stop cleanly on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop on SIGTERM")
	}

	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	// PrivateTmp=yes gives the service a /tmp of its own, writable; the
	// test's data directory is under it too.
	writable := []string{o.dir, keyDirFor(o.dir, ""), "/tmp", "/var/tmp"}
	for _, bad := range sandboxCrossings(string(data), allowed, families, server, writable) {
		t.Error(bad)
	}
}

// unitValues returns the values of every key= line of a unit.
func unitValues(unit, key string) []string {
	var out []string
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

// allowedSyscalls expands an allow-list SystemCallFilter (groups such as
// @system-service, and names) into system call names, as systemd does,
// from systemd-analyze's own tables; @default is always allowed.
func allowedSyscalls(t *testing.T, filters []string) map[string]bool {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing (Debian package systemd; .ci/deps.sh installs it)")
	}
	out, err := exec.Command(analyze, "syscall-filter").Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter: %v", err)
	}
	groups := map[string][]string{}
	var group string
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "@"):
			group = strings.TrimSpace(line)
		case strings.HasPrefix(line, "    ") && !strings.HasPrefix(strings.TrimSpace(line), "#") && group != "":
			groups[group] = append(groups[group], strings.TrimSpace(line))
		}
	}
	allowed := map[string]bool{}
	var add func(name string)
	add = func(name string) {
		if !strings.HasPrefix(name, "@") {
			allowed[name] = true
			return
		}
		members, ok := groups[name]
		if !ok {
			t.Fatalf("systemd-analyze knows no group %s", name)
		}
		for _, m := range members {
			add(m)
		}
	}
	add("@default")
	for _, f := range filters {
		if strings.HasPrefix(f, "~") {
			t.Fatalf("SystemCallFilter=%s: this test reads allow lists only", f)
		}
		for _, name := range strings.Fields(f) {
			add(name)
		}
	}
	return allowed
}

// tracee is the process strace (pid) started.
func tracee(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		t.Fatalf("strace has children %q, want one", b)
	}
	child, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return child
}

var (
	// A call as strace -f prints it: "PID name(args…".
	traceCall = regexp.MustCompile(`^\d+ +([a-z0-9_]+)\((.*)$`)
	// The first quoted argument of an open or a path call.
	tracePath = regexp.MustCompile(`"([^"]*)"`)
)

// privateDevices are the device nodes PrivateDevices=yes keeps.
var privateDevices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx"}

// sandboxCrossings lists, one sentence each, what in an strace -f log
// the unit's sandbox would stop: a system call outside allowed, a socket
// of a family not in families, memory both writable and executable or
// made executable, a new namespace, a device PrivateDevices hides,
// another process's /proc, or a file written outside writable.
func sandboxCrossings(log string, allowed map[string]bool, families []string, self int, writable []string) []string {
	var bad []string
	seen := map[string]bool{}
	// report names what the sandbox stops once, with the first line that
	// did it.
	report := func(what, line string) {
		if !seen[what] {
			seen[what] = true
			bad = append(bad, what+", first: "+line)
		}
	}
	under := func(p string, dirs []string) bool {
		for _, d := range dirs {
			if p == d || strings.HasPrefix(p, d+"/") {
				return true
			}
		}
		return false
	}
	for _, line := range strings.Split(log, "\n") {
		m := traceCall.FindStringSubmatch(line)
		if m == nil {
			continue // a resumed call, a signal, an exit
		}
		name, args := m[1], m[2]
		if !allowed[name] {
			report("SystemCallFilter refuses "+name, line)
		}
		switch name {
		case "socket", "socketpair":
			family, _, _ := strings.Cut(args, ",")
			if !slices.Contains(families, family) {
				report("RestrictAddressFamilies refuses "+family, line)
			}
		case "mmap", "mprotect", "pkey_mprotect":
			if strings.Contains(args, "PROT_EXEC") && (name != "mmap" || strings.Contains(args, "PROT_WRITE")) {
				report("MemoryDenyWriteExecute refuses "+name+" of executable memory", line)
			}
		case "clone", "clone3", "unshare", "setns":
			if strings.Contains(args, "CLONE_NEW") || name == "setns" {
				report("RestrictNamespaces refuses a new namespace", line)
			}
		}
		p := tracePath.FindStringSubmatch(args)
		if p == nil || !strings.HasPrefix(p[1], "/") {
			continue
		}
		path := p[1]
		switch {
		case strings.HasPrefix(path, "/dev/") && !slices.Contains(privateDevices, path) && !strings.HasPrefix(path, "/dev/pts/"):
			report("PrivateDevices hides "+path, line)
		case strings.HasPrefix(path, "/home/") || strings.HasPrefix(path, "/root/") || strings.HasPrefix(path, "/run/user/"):
			report("ProtectHome hides "+path, line)
		case strings.HasPrefix(path, "/proc/") && !strings.HasPrefix(path, "/proc/self/") && !strings.HasPrefix(path, "/proc/thread-self/") &&
			regexp.MustCompile(`^/proc/\d+(/|$)`).MatchString(path) && !strings.HasPrefix(path, fmt.Sprintf("/proc/%d/", self)):
			report("ProtectProc=invisible hides "+path, line)
		}
		writes := name == "mkdir" || name == "mkdirat" || name == "unlink" || name == "unlinkat" || name == "rename" || name == "renameat" || name == "renameat2" ||
			((name == "open" || name == "openat") && (strings.Contains(args, "O_WRONLY") || strings.Contains(args, "O_RDWR") || strings.Contains(args, "O_CREAT")))
		if writes && !under(path, writable) && !slices.Contains(privateDevices, path) {
			report("ProtectSystem=strict makes "+path+" read-only (ReadWritePaths has the data and key directories only)", line)
		}
	}
	return bad
}

// TestCLI_ServeSaysWhyItCannotListen: serve on an address another
// program holds says so in the console's sentence, naming the address,
// where it printed the listener's chain ("start the server on …:
// agentxml: listen on …: listen tcp …: bind: address already in use").
func TestCLI_ServeSaysWhyItCannotListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	loopbackListeners(t, "--data", dir)
	code, _, errOut := runCLI(t, dir, "serve", "--listen", busy.Addr().String())
	want := "provisio: the server could not start: another program already uses " + busy.Addr().String() + ". Choose another port, or stop the other program.\n"
	if code != exitError || !strings.HasSuffix(errOut, want) || strings.Contains(errOut, "bind:") {
		t.Errorf("exit %d, stderr %q, want it to end %q", code, errOut, want)
	}
}
