package main

import (
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
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
