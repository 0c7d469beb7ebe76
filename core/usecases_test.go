package core_test

import (
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// The use cases that used to exist twice (#12): each rule now holds for
// every caller. These tables drive one rule from each caller that reaches
// it and expect the same outcome.

// TestService_EditDescribedAlike: an edit is described in the audit log
// the same way from the console and from the admin API, the strings email
// and attributes included (the console's edits of the strings email used
// to be left out of the log).
func TestService_EditDescribedAlike(t *testing.T) {
	agent := core.Agent{Name: "local", Host: "127.0.0.1", Secret: "s3cret-123", Group: core.GroupAny, Repository: true}
	for _, tc := range []struct {
		caller string
		edit   func(svc *core.Service) error
		want   string
	}{
		{"console", func(svc *core.Service) error {
			_, err := svc.UpdateUser("alice", func(u *core.User) error {
				u.StringsEmail = "strings@example.org"
				return nil
			})
			return err
		}, `User "alice" changed: strings email.`},
		{"console attributes", func(svc *core.Service) error {
			_, err := svc.UpdateUser("alice", func(u *core.User) error {
				u.StringsEmail = "strings@example.org"
				u.Attributes = map[string]string{"upn": "alice@corp"}
				return nil
			})
			return err
		}, `User "alice" changed: strings email, attributes upn.`},
		{"admin API", func(svc *core.Service) error {
			_, err := svc.UpdateUsers(core.AdminScope(agent), []core.UserSpec{{Name: "alice", StringsEmail: ptr("strings@example.org")}})
			return err
		}, `User "alice" changed by agent "local": strings email.`},
	} {
		t.Run(tc.caller, func(t *testing.T) {
			svc := storetest.MustService(t)
			storetest.MustAddUser(t, svc, "alice", "1357")
			if err := tc.edit(svc); err != nil {
				t.Fatal(err)
			}
			if !logContains(t, svc, tc.want) {
				tail, _ := svc.LogTail(3)
				t.Errorf("log lacks %q; tail %v", tc.want, tail)
			}
		})
	}
}

func logLines(t *testing.T, svc *core.Service) string {
	t.Helper()
	entries, err := svc.LogTail(200)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}
