package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnitFile(t *testing.T) {
	unit, err := unitFile(defaultService())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"User=provisio\n",
		"ExecStart=/usr/local/bin/provisio --data /var/lib/provisio --key-dir /etc/provisio serve\n",
		"Restart=on-failure\n",
		"ReadWritePaths=/var/lib/provisio /etc/provisio\n",
		"WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
}

// TestServiceUnit_CarriesTheStore: `service unit` (and so `service
// install`, which writes the same unit) carries the key directory and the
// etcd store given before the command, so a server of a site installed as
// a service runs on the site's records and not on a file of its own.
func TestServiceUnit_CarriesTheStore(t *testing.T) {
	t.Setenv("PROVISIO_STORE", "")
	t.Setenv("PROVISIO_KEY_DIR", "")
	const url = "etcd://127.0.0.1:2379,127.0.0.2:2379/office?max-txn-ops=1000"
	var out, errOut syncBuffer
	code := run([]string{"--key-dir", "/etc/provisio-office", "--store", url, "service", "unit"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("service unit: exit %d: %s", code, errOut.String())
	}
	want := "ExecStart=/usr/local/bin/provisio --data /var/lib/provisio --key-dir /etc/provisio-office --store " + url + " serve\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("unit lacks %q:\n%s", want, out.String())
	}
	if !strings.Contains(out.String(), "ReadWritePaths=/var/lib/provisio /etc/provisio-office\n") {
		t.Errorf("the key directory is not writable in the unit:\n%s", out.String())
	}

	// Without them, the data file as before.
	var plain, plainErr syncBuffer
	if code := run([]string{"service", "unit"}, &plain, &plainErr); code != 0 {
		t.Fatalf("service unit: exit %d: %s", code, plainErr.String())
	}
	if !strings.Contains(plain.String(), "ExecStart=/usr/local/bin/provisio --data /var/lib/provisio --key-dir /etc/provisio serve\n") {
		t.Errorf("plain unit changed:\n%s", plain.String())
	}
}

// TestUnitFile_EtcdTLSFiles: the etcd TLS files go on the ExecStart line
// as paths (TestUnitFile_SystemdVerify has systemd read such a unit).
func TestUnitFile_EtcdTLSFiles(t *testing.T) {
	cfg := defaultService()
	cfg.Store = "etcd://10.0.0.11:2379,10.0.0.12:2379/office"
	cfg.EtcdCA, cfg.EtcdCert, cfg.EtcdKey = "/etc/provisio/etcd-ca.pem", "/etc/provisio/etcd-client.pem", "/etc/provisio/etcd-client.key"
	unit, err := unitFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := "ExecStart=/usr/local/bin/provisio --data /var/lib/provisio --key-dir /etc/provisio --store etcd://10.0.0.11:2379,10.0.0.12:2379/office" +
		" --etcd-ca /etc/provisio/etcd-ca.pem --etcd-cert /etc/provisio/etcd-client.pem --etcd-key /etc/provisio/etcd-client.key serve\n"
	if !strings.Contains(unit, want) {
		t.Errorf("unit lacks %q:\n%s", want, unit)
	}
}

// TestServiceUnit_RefusesWhatItCannotCarry: a password in the store
// address (the unit file is readable by everyone), TLS files or a key
// directory the service's sandbox hides (PrivateTmp, ProtectHome) are
// refused with a sentence, and no unit is printed.
func TestServiceUnit_RefusesWhatItCannotCarry(t *testing.T) {
	t.Setenv("PROVISIO_STORE", "")
	t.Setenv("PROVISIO_KEY_DIR", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--store", "etcd://root:hunter2@127.0.0.1:2379/office"}, "cannot carry a user or password"},
		{[]string{"--key-dir", "/home/admin/provisio-keys", "--store", "etcd://127.0.0.1:2379/office"}, "hides /home"},
	} {
		var out, errOut syncBuffer
		code := run(append(tc.args, "service", "unit"), &out, &errOut)
		if code == 0 || !strings.Contains(errOut.String(), tc.want) || out.String() != "" {
			t.Errorf("%v: exit %d, %q, printed %q; want a refusal with %q", tc.args, code, errOut.String(), out.String(), tc.want)
		}
		if strings.Contains(errOut.String()+out.String(), "hunter2") {
			t.Errorf("%v: the password was repeated: %s", tc.args, errOut.String())
		}
	}
	cfg := defaultService()
	cfg.Store = "etcd://127.0.0.1:2379/office"
	cfg.EtcdCA = "/tmp/etcd-ca.pem"
	if _, err := unitFile(cfg); err == nil || !strings.Contains(err.Error(), "hides /tmp") {
		t.Errorf("a CA file in /tmp, which the service does not see: %v", err)
	}
}

func TestUnitFile_RefusesUnsafeValues(t *testing.T) {
	for _, cfg := range []serviceConfig{
		{Name: "provisio", User: "pro visio", DataDir: "/var/lib/provisio", Binary: "/usr/local/bin/provisio"},
		{Name: "provisio", User: "provisio", DataDir: "var/lib/provisio", Binary: "/usr/local/bin/provisio"},
		{Name: "provisio", User: "provisio", DataDir: "/var/lib/$HOME", Binary: "/usr/local/bin/provisio"},
		{Name: "provisio", User: "", DataDir: "/var/lib/provisio", Binary: "/usr/local/bin/provisio"},
	} {
		if _, err := unitFile(cfg); err == nil {
			t.Errorf("unitFile(%+v) accepted it", cfg)
		}
	}
}

// TestUnitFile_SystemdVerify has systemd's own checker read the unit, with
// the real binary as ExecStart.
func TestUnitFile_SystemdVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing (Debian package systemd; .ci/deps.sh installs it)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultService()
	cfg.User = "root" // a user that exists on every machine
	cfg.Binary = self
	cfg.DataDir = t.TempDir()
	etcd := cfg
	etcd.Store = "etcd://127.0.0.1:2379,127.0.0.2:2379/office?max-txn-ops=1000"
	etcd.EtcdCA, etcd.EtcdCert, etcd.EtcdKey = "/etc/provisio/etcd-ca.pem", "/etc/provisio/etcd-client.pem", "/etc/provisio/etcd-client.key"
	for _, cfg := range []serviceConfig{cfg, etcd} {
		unit, err := unitFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "provisio.service")
		if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", path).CombinedOutput()
		if err != nil || strings.Contains(string(out), "provisio.service:") {
			t.Fatalf("systemd-analyze verify: %v\n%s\n%s", err, out, unit)
		}
	}
}

// TestUnitFile_SecurityExposure: systemd's own rating of the unit's
// sandbox (systemd-analyze security) stays "OK", at most 2.5 of 10. With
// only NoNewPrivileges, ProtectSystem, ProtectHome and PrivateTmp the
// unit was rated 8.5, "EXPOSED": an authentication server's unit is
// what an office's security review reads first.
func TestUnitFile_SecurityExposure(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing (Debian package systemd; .ci/deps.sh installs it)")
	}
	unit, err := unitFile(defaultService())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "provisio.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	// --threshold is on a 0-100 scale: 25 is 2.5.
	out, err := exec.Command(analyze, "security", "--offline=yes", "--threshold=25", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
}

// TestServiceInstallCommand_CarriesTheStore: the console's "Install as a
// service" command, shown by a console on an etcd site, names the site,
// quoted for the shell, so the service it installs serves the same site.
func TestServiceInstallCommand_CarriesTheStore(t *testing.T) {
	got := serviceInstallCommand(storeChoice{url: "etcd://127.0.0.1:2379/office?max-txn-ops=1000", ca: "/etc/provisio/etcd-ca.pem"})
	want := " --store 'etcd://127.0.0.1:2379/office?max-txn-ops=1000' --etcd-ca /etc/provisio/etcd-ca.pem service install"
	if !strings.HasPrefix(got, "sudo ") || !strings.HasSuffix(got, want) {
		t.Errorf("command %q, want it to end in %q", got, want)
	}
	if got := serviceInstallCommand(storeChoice{}); !strings.HasSuffix(got, " service install") || strings.Contains(got, "--store") {
		t.Errorf("command for the data file: %q", got)
	}
}

// TestServiceCommands_WithoutSystemd: on a machine not booted with
// systemd, status printed systemctl's "System has not been booted with
// systemd as init system (PID 1). Can't operate." and "Failed to connect
// to bus: Host is down" before its own line, and install created the
// user and copied the program before failing at daemon-reload. Each now
// says why in one sentence, before doing anything; unit still prints.
func TestServiceCommands_WithoutSystemd(t *testing.T) {
	old := systemdRoot
	systemdRoot = t.TempDir() // no run/systemd/system
	t.Cleanup(func() { systemdRoot = old })
	for _, args := range [][]string{{"service", "status"}, {"service", "install"}, {"service", "uninstall"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(args, &out, &errOut)
			want := "provisio: this machine does not run systemd, so Provisio cannot be installed or managed as a systemd service here;"
			if code != exitError || out.Len() != 0 || !strings.HasPrefix(errOut.String(), want) || strings.Count(errOut.String(), "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and one sentence starting %q", code, out.String(), errOut.String(), exitError, want)
			}
		})
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"service", "unit"}, &out, &errOut); code != exitOK || !strings.Contains(out.String(), "ExecStart=") {
		t.Errorf("service unit without systemd: exit %d, %q %q", code, out.String(), errOut.String())
	}
}
