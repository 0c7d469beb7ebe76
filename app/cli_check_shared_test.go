package main

import (
	"path/filepath"
	"strings"
	"testing"

	"provisio/core"
)

// Agents saved before each agent needed its own secret may share one:
// check names them in a warning (the data is not damaged, so the result
// stays OK) without printing the secret or its hash, and stops once each
// has its own. The records are written straight into the sealed store,
// as the old rule let the service write them.
func TestCLI_CheckNamesAgentsSharingASecret(t *testing.T) {
	const shared = "one-secret-for-two"
	dir := filepath.Join(privateTempDir(t), "data")
	e, err := openEnvKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !e.st.Encrypted() {
		t.Fatal("the data file is not sealed")
	}
	var hash string
	err = e.st.Update(func(tx core.Tx) error {
		for _, a := range []core.Agent{
			{Name: "vpn", Host: "127.0.0.1", Secret: shared, Group: core.GroupAny},
			{Name: "wiki", Host: "127.0.0.0/8", Secret: shared, Group: core.GroupAny},
			{Name: "mail", Host: "127.0.0.2", Secret: "a-secret-of-its-own", Group: core.GroupAny},
		} {
			if err := tx.PutAgent(a); err != nil {
				return err
			}
		}
		a, err := tx.Agent("vpn")
		hash = a.Secret
		return err
	})
	e.close()
	if err != nil {
		t.Fatal(err)
	}
	if !core.IsHashedSecret(hash) {
		t.Fatalf("stored %q, not a keyed hash", hash)
	}

	code, out, errOut := runCLI(t, dir, "check")
	want := `Warning: Agents "vpn" and "wiki" have the same shared secret, saved before each agent needed its own: a request with it may act as any of them.`
	if code != exitOK || !strings.Contains(out, want) || !strings.Contains(out, "Result: OK") {
		t.Fatalf("check: exit %d, stdout %q, stderr %q; want exit 0 and %q", code, out, errOut, want)
	}
	if strings.Contains(out, `"mail"`) || strings.Contains(out+errOut, shared) || strings.Contains(out+errOut, strings.TrimPrefix(hash, "h1:")) {
		t.Errorf("check names mail, or shows the secret or its hash: %q", out)
	}

	// wiki gets its own secret: no warning.
	if code, _, errOut := runCLIIn(t, dir, "wiki-has-its-own-now\n", "agent", "add", "wiki", "--host", "127.0.0.0/8", "--secret", "-"); code != exitOK {
		t.Fatalf("agent add: %d %q", code, errOut)
	}
	if code, out, errOut := runCLI(t, dir, "check"); code != exitOK || strings.Contains(out, "Warning") {
		t.Errorf("check after the fix: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
