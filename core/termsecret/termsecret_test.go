package termsecret

import (
	"strings"
	"testing"
)

func TestRead_Pipe(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"line", "2468\n", "2468", ""},
		{"no newline", "s3cret-123", "s3cret-123", ""},
		{"windows line end", "2468\r\n", "2468", ""},
		{"only the first line", "pw one\npw two\n", "pw one", ""},
		{"spaces kept", " pass word \n", " pass word ", ""},
		{"empty", "", "", "no PIN for bob was given on standard input"},
		{"empty line", "\n", "", "no PIN for bob was given on standard input"},
		{"too long", strings.Repeat("x", maxLen+10), "", "longer than 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prompt strings.Builder
			got, err := Read(strings.NewReader(tt.in), &prompt, "PIN for bob")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
			if prompt.Len() != 0 {
				t.Fatalf("prompted %q when reading a pipe", prompt.String())
			}
		})
	}
}
