package main

import (
	"strings"
	"testing"

	"provisio/core/oathkey"
	"provisio/core/qr/qrtest"
)

func TestCLI_ReprovisionOATH(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLIIn(t, dir, "2468\n", "user", "add", "carol", "--pin", "-"); code != 0 {
		t.Fatal(errOut)
	}
	// The sentence says how to turn them on: no console screen has the
	// setting.
	if code, _, errOut := runCLI(t, dir, "reprovision", "carol", "--oath"); code != 1 || !strings.Contains(errOut, "OATH tokens are turned off") ||
		!strings.Contains(errOut, "provisio settings set oath.enabled yes") {
		t.Fatalf("with OATH off: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, dir, "reprovision", "carol", "--hotp"); code != 2 || !strings.Contains(errOut, "go with --oath") {
		t.Fatalf("--hotp without --oath: exit %d, %q", code, errOut)
	}
	// A flag's value out of its choices is the command line's mistake
	// (exit 2, naming the flag), said before the data is opened: it was
	// exit 1, after "OATH tokens are turned off" or the token's rule.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--digits", "7"}, "--digits takes 6 or 8, not 7"},
		{[]string{"--algorithm", "MD5"}, `--algorithm takes SHA1, SHA256 or SHA512, not "MD5"`},
	} {
		args := append([]string{"reprovision", "carol", "--oath"}, tt.args...)
		if code, _, errOut := runCLI(t, dir, args...); code != 2 || !strings.Contains(errOut, tt.want) {
			t.Fatalf("%v: exit %d, %q; want exit 2, %q", args, code, errOut, tt.want)
		}
	}
	runCLI(t, dir, "settings", "set", "oath.enabled", "yes")
	runCLI(t, dir, "settings", "set", "oath.issuer", "Example Office")
	code, out, errOut := runCLI(t, dir, "reprovision", "carol", "--oath", "--hotp", "--digits", "8", "--algorithm", "SHA256")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var uri string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "otpauth URI: "); ok {
			uri = v
		}
	}
	p, err := oathkey.Parse(uri)
	if err != nil || p.Kind != "hotp" || p.Digits != 8 || p.Algorithm != "SHA256" || p.Issuer != "Example Office" || p.Account != "carol" {
		t.Fatalf("URI %q: %+v %v", uri, p, err)
	}
	if !strings.Contains(out, "Confirm by: ") {
		t.Errorf("no deadline in %q", out)
	}
	// The terminal QR decodes back to the same URI.
	qrText := strings.Trim(out[strings.Index(out, "after it the token is wiped.")+len("after it the token is wiped."):], "\n")
	lines := strings.Split(qrText, "\n")
	img := qrtest.MustParseTerminal(t, qrText, len([]rune(lines[0])))
	if got := qrtest.MustDecode(t, img); got != uri {
		t.Fatalf("terminal QR decodes to %q, want %q", got, uri)
	}
}
