package core_test

import (
	"errors"
	"strings"
	"testing"

	"provisio/core"
)

func TestParseRole(t *testing.T) {
	tests := []struct {
		in   string
		want core.Role
		ok   bool
	}{
		{"", core.RoleHelpdesk, true},
		{"helpdesk", core.RoleHelpdesk, true},
		{" Admin ", core.RoleAdmin, true},
		{"root", "", false},
	}
	for _, tt := range tests {
		got, err := core.ParseRole(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseRole(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestRole_Allows(t *testing.T) {
	tests := []struct {
		role core.Role
		act  core.AdminAction
		want bool
	}{
		{core.RoleHelpdesk, core.ActListUsers, true},
		{core.RoleHelpdesk, core.ActReprovision, true},
		{core.RoleHelpdesk, core.ActUnlock, true},
		{core.RoleHelpdesk, core.ActResetPIN, true},
		{core.RoleHelpdesk, core.ActRevokeDevice, true},
		{core.RoleHelpdesk, core.ActAddUser, false},
		{core.RoleHelpdesk, core.ActDeleteUser, false},
		{core.RoleHelpdesk, core.ActWriteSettings, false},
		{core.RoleHelpdesk, core.ActReadSettings, false},
		{core.RoleHelpdesk, core.ActWriteAgents, false},
		{core.RoleHelpdesk, core.ActConsoles, false},
		{core.RoleAdmin, core.ActWriteSettings, true},
		{core.RoleAdmin, core.ActConsoles, true},
		// The full console's actions (#12): admin-only.
		{core.RoleHelpdesk, core.ActEditUser, false},
		{core.RoleHelpdesk, core.ActImportUsers, false},
		{core.RoleHelpdesk, core.ActWriteProfiles, false},
		{core.RoleHelpdesk, core.ActReadOutbox, false},
		{core.RoleHelpdesk, core.ActWriteOutbox, false},
		{core.RoleHelpdesk, core.ActReadLog, false},
		{core.RoleHelpdesk, core.ActWriteLog, false},
		{core.RoleHelpdesk, core.ActHealth, false},
		{core.RoleHelpdesk, core.ActMailTest, false},
		{core.RoleAdmin, core.ActReadOutbox, true},
		{core.RoleAdmin, core.ActMailTest, true},
		{core.Role("other"), core.ActListUsers, false},
	}
	for _, tt := range tests {
		if got := tt.role.Allows(tt.act); got != tt.want {
			t.Errorf("%s allows %s = %v", tt.role, tt.act, got)
		}
	}
}

// TestService_ConsolePairing: a code is stored only hashed, pairs once,
// a paired name gets no new code until revoked, a revoked console is
// refused with a sentence that says so and can be paired again.
func TestService_ConsolePairing(t *testing.T) {
	svc, _ := newProfileService(t)
	for _, bad := range []string{"", "   ", strings.Repeat("x", 65), "desk\n2"} {
		if _, err := svc.PairConsole(bad, core.RoleHelpdesk); core.ErrorCode(err) != core.CodeInvalid {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	if _, err := svc.PairConsole("desk", core.Role("root")); core.ErrorCode(err) != core.CodeInvalid {
		t.Errorf("role root: %v", err)
	}
	p, err := svc.PairConsole("desk", core.RoleHelpdesk)
	if err != nil {
		t.Fatal(err)
	}
	if core.GroupPairingCode(p.Code) == p.Code || len(p.Code) != 12 {
		t.Errorf("code %q", p.Code)
	}
	sign := func(serial string) func(string) (core.ConsoleCert, error) {
		return func(name string) (core.ConsoleCert, error) {
			return core.ConsoleCert{PEM: []byte("pem"), Serial: serial, Fingerprint: "FP-" + serial}, nil
		}
	}
	// A wrong code, and a sign failure, spend nothing.
	if _, _, err := svc.RedeemConsolePairing("192.0.2.7", "AAAAAAAAAAAA", sign("1")); !errors.Is(err, core.ErrPairingCode) {
		t.Errorf("wrong code: %v", err)
	}
	if _, _, err := svc.RedeemConsolePairing("192.0.2.7", p.Code, func(string) (core.ConsoleCert, error) { return core.ConsoleCert{}, errors.New("disk full") }); err == nil {
		t.Error("a sign failure paired the console")
	}
	c, _, err := svc.RedeemConsolePairing("192.0.2.7", strings.ToLower(core.GroupPairingCode(p.Code)), sign("AB"))
	if err != nil || c.Name != "desk" || c.Serial != "AB" {
		t.Fatalf("redeem: %+v, %v", c, err)
	}
	if _, _, err := svc.RedeemConsolePairing("192.0.2.7", p.Code, sign("CD")); !errors.Is(err, core.ErrPairingCode) {
		t.Errorf("second use: %v", err)
	}
	if got, err := svc.PairedConsole("AB", "FP-AB"); err != nil || got.Role != core.RoleHelpdesk {
		t.Errorf("paired: %+v, %v", got, err)
	}
	if _, err := svc.PairedConsole("AB", "FP-other"); core.ErrorCode(err) != core.CodeNotPaired {
		t.Errorf("another fingerprint with the serial: %v", err)
	}
	if _, err := svc.PairConsole("DESK", core.RoleAdmin); core.ErrorCode(err) != core.CodeConflict {
		t.Errorf("a paired name got a new code: %v", err)
	}
	if err := svc.RevokeConsole("desk"); err != nil {
		t.Fatal(err)
	}
	if err := svc.RevokeConsole("desk"); core.ErrorCode(err) != core.CodeConflict {
		t.Errorf("revoked twice: %v", err)
	}
	if err := svc.RevokeConsole("nobody"); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("revoke nobody: %v", err)
	}
	if _, err := svc.PairedConsole("AB", "FP-AB"); core.ErrorCode(err) != core.CodeNotPaired || !strings.Contains(core.ErrorMessage(err), "revoked") {
		t.Errorf("revoked: %v", err)
	}
	if _, err := svc.PairConsole("desk", core.RoleAdmin); err != nil {
		t.Errorf("a revoked name cannot be paired again: %v", err)
	}
	list, err := svc.Consoles()
	if err != nil || len(list) != 1 || list[0].State() != "pending" || list[0].Role != core.RoleAdmin || list[0].CodeHash != "" {
		t.Errorf("consoles %+v, %v", list, err)
	}
}
