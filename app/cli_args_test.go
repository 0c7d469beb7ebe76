package main

import (
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
