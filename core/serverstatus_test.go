package core_test

import (
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestLocalAdmin_ServerStatusDirsOnThisMachineOnly: a caller on this
// machine (the admin socket) is told the server's data and key
// directories, so an attached "backup --out" can refuse them; a paired
// remote console, on another machine, is told the rest of the status but
// not this machine's folders.
func TestLocalAdmin_ServerStatusDirsOnThisMachineOnly(t *testing.T) {
	svc := storetest.MustService(t)
	svc.SetServerStatus(func() core.ServerStatus {
		return core.ServerStatus{URLs: []string{"https://192.0.2.10:8443"}, DataDir: "/var/lib/provisio", KeyDir: "/etc/provisio/keys"}
	})
	for _, tc := range []struct {
		name               string
		caller             core.AdminOperator
		wantData, wantKeys string
	}{
		{"the admin socket", core.AdminOperator{Name: "uid 1000", Role: core.RoleAdmin}, "/var/lib/provisio", "/etc/provisio/keys"},
		{"this process", core.AdminOperator{}, "/var/lib/provisio", "/etc/provisio/keys"},
		{"a remote admin console", core.AdminOperator{Name: "desk-1", Role: core.RoleAdmin, Remote: true}, "", ""},
		{"a remote helpdesk console", core.AdminOperator{Name: "desk-2", Role: core.RoleHelpdesk, Remote: true}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := core.LocalAdmin{Svc: svc, Caller: tc.caller}.ServerStatus()
			if st.DataDir != tc.wantData || st.KeyDir != tc.wantKeys || len(st.URLs) != 1 {
				t.Errorf("status %+v; want data %q, keys %q and the URL", st, tc.wantData, tc.wantKeys)
			}
		})
	}
}
