package core_test

import (
	"testing"

	"provisio/core"
)

// TestHealth_Message: the health line the console shows in red and the
// service writes to stderr reads as sentences, whatever the store said.
func TestHealth_Message(t *testing.T) {
	tests := []struct {
		name string
		h    core.Health
		want string
	}{
		{"ok", core.Health{}, ""},
		{"etcd down", core.Health{CommitError: "The etcd cluster did not answer (are most of its members running and reachable?); nothing was changed."},
			"Changes cannot be saved. The etcd cluster did not answer (are most of its members running and reachable?); nothing was changed. Logins and provisioning fail until this is fixed."},
		{"a sentence without its full stop", core.Health{CommitError: "The disk is full"},
			"Changes cannot be saved. The disk is full. Logins and provisioning fail until this is fixed."},
		{"backup", core.Health{BackupError: "The backup folder /srv/b is not writable."},
			"The last backup failed. The backup folder /srv/b is not writable. Fix it on Server → Backups, then back up now."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.Message(); got != tt.want {
				t.Errorf("Message() = %q\nwant        %q", got, tt.want)
			}
		})
	}
}
