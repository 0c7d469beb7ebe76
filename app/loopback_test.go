package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"provisio/core"
)

// loopbackListeners points the mutual-TLS and remote-console listeners of
// the store that globals open ("--data", dir, and any --store or --key-dir)
// at free loopback ports, unless the test chose them itself. Their
// defaults listen on every network (0.0.0.0:9443 and :8444), and a test
// opens nothing beyond loopback.
func loopbackListeners(t *testing.T, globals ...string) {
	t.Helper()
	defaults := core.DefaultSettings()
	for _, kv := range [][2]string{
		{"server.mtls_listen", defaults.MTLSListen},
		{"server.admin_listen", defaults.AdminListen},
	} {
		var out, errOut bytes.Buffer
		if code := run(append(slices.Clone(globals), "settings", "get", kv[0]), &out, &errOut); code != 0 {
			t.Fatalf("settings get %s: %s", kv[0], errOut.String())
		}
		if strings.TrimSpace(out.String()) != kv[1] {
			continue // the test set it
		}
		if code := run(append(slices.Clone(globals), "settings", "set", kv[0], freeAddr(t)), &out, &errOut); code != 0 {
			t.Fatalf("settings set %s: %s", kv[0], errOut.String())
		}
	}
}

// loopbackEnv is loopbackListeners for an env the test opened itself,
// before it starts a listener.
func loopbackEnv(t *testing.T, e *env) {
	t.Helper()
	for _, key := range []string{"server.mtls_listen", "server.admin_listen"} {
		if err := e.svc.SetSetting(key, freeAddr(t)); err != nil {
			t.Fatal(err)
		}
	}
}
