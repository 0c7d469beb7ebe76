package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCLI_UnknownOptionNamesTheCommand: an option a command does not
// take is a usage error (exit 2) naming the command as typed and where
// its options are listed; it was Go's "flag provided but not defined:
// -x". The option is named as typed, without a value given with "=",
// which could be a secret.
func TestCLI_UnknownOptionNamesTheCommand(t *testing.T) {
	dir := privateTempDir(t)
	tests := []struct {
		args []string
		want string // the whole of stderr
	}{
		{[]string{"user", "add", "bob", "-x"}, "provisio user add: unknown option -x (see provisio user add --help)\n"},
		{[]string{"user", "add", "--nope", "bob"}, "provisio user add: unknown option --nope (see provisio user add --help)\n"},
		{[]string{"user", "add", "bob", "--pinn=1234"}, "provisio user add: unknown option --pinn (see provisio user add --help)\n"},
		{[]string{"profile", "set", "Sales", "pin_lock_time", "-x"}, "provisio profile set: unknown option -x (see provisio profile set --help)\n"},
		{[]string{"log", "show", "--tial", "5"}, "provisio log show: unknown option --tial (see provisio log show --help)\n"},
		{[]string{"agent", "add", "vpn", "--hots", "10.0.0.1"}, "provisio agent add: unknown option --hots (see provisio agent add --help)\n"},
		{[]string{"service", "status", "-v"}, "provisio service status: unknown option -v (see provisio service status --help)\n"},
		{[]string{"check", "--deep"}, "provisio check: unknown option --deep (see provisio check --help)\n"},
		{[]string{"--verbose", "check"}, "provisio: unknown option --verbose (see provisio --help)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			code, out, errOut := runCLI(t, dir, tt.args...)
			if code != exitUsage || out != "" || errOut != tt.want {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stderr %q", code, out, errOut, exitUsage, tt.want)
			}
		})
	}
}

// TestCLI_StoreAddressMistakeIsUsage: a --store address written wrong,
// or --etcd-cert without --etcd-key, is a usage error (exit 2) with its
// sentence, before anything is opened; a TLS file that cannot be read is
// an error (exit 1). A malformed query exited 1.
func TestCLI_StoreAddressMistakeIsUsage(t *testing.T) {
	dir := privateTempDir(t)
	missing := filepath.Join(t.TempDir(), "no-ca.pem")
	tests := []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"--store", "etcd://127.0.0.1:2379/office?max-txn-ops=lots", "user", "list"}, exitUsage, `max-txn-ops="lots" in the store address is not a positive number`},
		{[]string{"--store", "etcd://127.0.0.1:2379/office?request-timeout=1h", "user", "list"}, exitUsage, `request-timeout="1h"`},
		{[]string{"--store", "etcd://127.0.0.1:2379/office?%zz", "user", "list"}, exitUsage, "has a bad query"},
		{[]string{"--store", "etcd:///office", "user", "list"}, exitUsage, "names no etcd member"},
		{[]string{"--store", "etcd://127.0.0.1:2379/office", "--etcd-cert", missing, "user", "list"}, exitUsage, "--etcd-cert and --etcd-key go together"},
		{[]string{"--store", "etcd://127.0.0.1:2379/office", "--etcd-ca", missing, "user", "list"}, exitError, "read the etcd CA"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, dir, tt.args...)
			if code != tt.code || out != "" || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tt.code, tt.want)
			}
		})
	}
}
