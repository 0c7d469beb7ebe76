package mailer_test

import (
	"testing"

	"provisio/core"
	"provisio/core/mailer"
)

func TestConfigFrom(t *testing.T) {
	tests := []struct {
		name string
		in   core.MailSettings
		want mailer.Config
	}{
		{
			name: "every field",
			in:   core.MailSettings{Host: "smtp.example.org", Port: 465, Security: "tls", Username: "u", Password: "p", From: from, FromName: "Provisio"},
			want: mailer.Config{Host: "smtp.example.org", Port: 465, Security: "tls", Username: "u", Password: "p", From: from, FromName: "Provisio", Timeout: mailer.DefaultTimeout},
		},
		{
			name: "empty",
			want: mailer.Config{Timeout: mailer.DefaultTimeout},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mailer.ConfigFrom(tt.in); got != tt.want {
				t.Errorf("ConfigFrom = %+v, want %+v", got, tt.want)
			}
		})
	}
}
