package mailer

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
)

// FuzzBuild feeds build the fields people type (subject, display names)
// and checks the result is a well-formed message: ASCII headers of legal
// length, exactly the header fields we set (no injection), and the subject
// reads back.
func FuzzBuild(f *testing.F) {
	seeds := [][3]string{
		{"Your code", "Provisio", "Bob"},
		{"Ihr Bereitstellungscode – Grüße aus Köln", "Prüfstelle", "Jürgen Groß"},
		{"モバイル認証コード", "プロビジオ", "山田太郎"},
		{"Hi\r\nBcc: eve@example.org", "Provisio\r\nX-Evil: 1", "Bob\nCc: eve@example.org"},
		{strings.Repeat("Überlänge ", 30), `"Quoted" <Name>`, "a,b;c"},
		{"", "", ""},
		{"\xff\xfe broken utf-8", "\x00", "\t"},
		{strings.Repeat("0", 1000), "0", "0"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	cfg := Config{From: "provisio@example.org"}
	want := []string{"Auto-Submitted", "Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}

	f.Fuzz(func(t *testing.T, subject, fromName, toName string) {
		cfg := cfg
		cfg.FromName = fromName
		data, err := build(cfg, Message{To: "bob@example.org", ToName: toName, Subject: subject, Text: "x"}, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		head, _, ok := bytes.Cut(data, []byte("\r\n\r\n"))
		if !ok {
			t.Fatal("no end of header")
		}
		for _, line := range strings.Split(string(head), "\r\n") {
			if len(line) > 998 {
				t.Fatalf("header line of %d bytes", len(line))
			}
			for i := 0; i < len(line); i++ {
				if c := line[i]; c > 0x7e || c < ' ' && c != '\t' {
					t.Fatalf("header byte %#x in %q", c, line)
				}
			}
		}
		r, err := mail.CreateReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		var keys []string
		for fl := r.Header.Fields(); fl.Next(); {
			keys = append(keys, fl.Key())
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("header fields %v, want %v", keys, want)
		}
		// Two things no typed subject does, where the standard itself, not
		// our code, changes the text: one that looks like an encoded word
		// ("=?utf-8?q?x?=") is decoded by every reader, and a run of over
		// 998 bytes without a space has to be folded somewhere.
		if strings.Contains(subject, "=?") || slices.ContainsFunc(strings.Fields(subject), func(w string) bool { return len(w) > 900 }) {
			return
		}
		got, err := r.Header.Subject()
		if err != nil {
			t.Fatalf("subject: %v", err)
		}
		if flat(got) != flat(oneLine(subject)) {
			t.Errorf("subject reads back %q, want %q", got, oneLine(subject))
		}
	})
}

func flat(s string) string { return strings.Join(strings.Fields(s), " ") }
