package core_test

import (
	"reflect"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// Agents written before each agent needed its own secret (straight into
// the store, past secretFree) are grouped by secret, on a plain store and
// on a sealed one, whose keyed hashes are compared as secretFree compares.
func TestService_AgentsSharingSecrets(t *testing.T) {
	tests := []struct {
		name    string
		secrets map[string]string // agent → secret
		want    [][]string
	}{
		{"each its own", map[string]string{"a": "secret-one-1", "b": "secret-two-2"}, nil},
		{"two share", map[string]string{"vpn": "secret-one-1", "wiki": "secret-one-1", "mail": "secret-two-2"}, [][]string{{"vpn", "wiki"}}},
		{"two pairs and a three", map[string]string{
			"d": "secret-one-1", "a": "secret-one-1",
			"c": "secret-two-2", "b": "secret-two-2", "e": "secret-two-2",
			"f": "secret-three-3", "g": "secret-four-4", "h": "secret-four-4",
		}, [][]string{{"a", "d"}, {"b", "c", "e"}, {"g", "h"}}},
	}
	for _, sealed := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if sealed {
				name += ", sealed"
			}
			t.Run(name, func(t *testing.T) {
				st := storetest.MustOpen(t)
				if sealed {
					st = storetest.MustOpenSealed(t)
				}
				if err := st.Update(func(tx core.Tx) error {
					for n, s := range tt.secrets {
						if err := tx.PutAgent(core.Agent{Name: n, Host: "127.0.0.1", Secret: s, Group: core.GroupAny}); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				svc := storetest.MustServiceOn(t, st)
				if got := svc.AgentsSharingSecrets(); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("AgentsSharingSecrets() = %v, want %v", got, tt.want)
				}
				s := core.SharedSecretsSentence(svc.AgentsSharingSecrets())
				if (s == "") != (tt.want == nil) {
					t.Errorf("sentence %q for %v", s, tt.want)
				}
				for _, secret := range tt.secrets {
					if strings.Contains(s, secret) {
						t.Errorf("the sentence shows a secret: %q", s)
					}
				}
			})
		}
	}
}

func TestSharedSecretsSentence(t *testing.T) {
	tests := []struct {
		groups [][]string
		want   string // its start
	}{
		{nil, ""},
		{[][]string{{"vpn", "wiki"}}, `Agents "vpn" and "wiki" have the same shared secret, saved before`},
		{[][]string{{"a", "b", "c"}}, `Agents "a", "b" and "c" have the same shared secret, saved before`},
		{[][]string{{"a", "d"}, {"b", "c", "e"}}, `Agents "a" and "d" have the same shared secret, and so do "b", "c" and "e", saved before`},
	}
	for _, tt := range tests {
		got := core.SharedSecretsSentence(tt.groups)
		if !strings.HasPrefix(got, tt.want) || (tt.want == "") != (got == "") {
			t.Errorf("SharedSecretsSentence(%v) = %q, want it to start %q", tt.groups, got, tt.want)
		}
	}
}
