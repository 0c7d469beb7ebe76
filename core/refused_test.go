package core_test

import (
	"fmt"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

func TestService_FlushRefused(t *testing.T) {
	svc := storetest.MustService(t)
	before := countLogs(t, svc)
	for i := 0; i < 312; i++ {
		svc.Refuse("10.0.0.7", "wrong agent secret")
	}
	svc.Refuse("10.0.0.8", "malformed request")
	if got := countLogs(t, svc); got != before {
		t.Fatalf("Refuse wrote %d log lines; it must only count", got-before)
	}
	if err := svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	tail, err := svc.LogTail(2)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"312 refused requests from 10.0.0.7 in the last minute: wrong agent secret",
		"1 refused request from 10.0.0.8 in the last minute: malformed request",
	}
	for i, w := range want {
		if tail[i].Message != w {
			t.Errorf("line %d = %q, want %q", i, tail[i].Message, w)
		}
	}
	// A second flush with nothing counted writes nothing.
	n := countLogs(t, svc)
	if err := svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	if got := countLogs(t, svc); got != n {
		t.Errorf("an empty flush wrote %d lines", got-n)
	}
	if strings.Contains(tail[0].Message, "\n") {
		t.Error("multi-line log message")
	}
}

func countLogs(t *testing.T, svc *core.Service) int {
	t.Helper()
	logs, err := svc.Logs(0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return len(logs)
}

// Refusals are counted per source as the rate limits count them: an IPv6
// host rotating through its /64 makes one aggregated line, not one per
// address, and a crowd of sources makes a bounded number of lines, the
// rest folded into "other sources".
func TestService_RefuseGroupsAndBoundsSources(t *testing.T) {
	const reason = "wrong agent secret or address"
	tests := []struct {
		name   string
		source func(i int) string
		want   []string // the flushed lines, in order
		// maxLines bounds the lines when want is nil; folded is then the
		// count the "other sources" line must carry at least.
		maxLines, folded int
	}{
		{name: "1,000 addresses in one /64",
			source: func(i int) string { return fmt.Sprintf("2001:db8:1:2:%x::%x", i, i+1) },
			want:   []string{"1000 refused requests from 2001:db8:1:2::/64 in the last minute: " + reason}},
		{name: "two /64s",
			source: func(i int) string { return fmt.Sprintf("2001:db8:1:%c::%x", 'a'+i%2, i+1) },
			want: []string{"500 refused requests from 2001:db8:1:a::/64 in the last minute: " + reason,
				"500 refused requests from 2001:db8:1:b::/64 in the last minute: " + reason}},
		{name: "IPv4 as is, mapped or not",
			source: func(i int) string { return [...]string{"10.0.0.7", "::ffff:10.0.0.7"}[i%2] },
			want:   []string{"1000 refused requests from 10.0.0.7 in the last minute: " + reason}},
		{name: "1,000 IPv4 sources",
			source:   func(i int) string { return fmt.Sprintf("10.0.%d.%d", i/250, i%250+1) },
			maxLines: 300, folded: 700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := storetest.MustService(t)
			before := countLogs(t, svc)
			for i := range 1000 {
				svc.Refuse(tt.source(i), reason)
			}
			if got := countLogs(t, svc); got != before {
				t.Fatalf("Refuse wrote %d log lines; it must only count", got-before)
			}
			if err := svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			n := countLogs(t, svc) - before
			tail, err := svc.LogTail(n)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				var got []string
				for _, e := range tail {
					got = append(got, e.Message)
				}
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Fatalf("flushed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
				}
				return
			}
			if n > tt.maxLines {
				t.Fatalf("%d lines for 1,000 sources, want at most %d", n, tt.maxLines)
			}
			total, other := 0, 0
			for _, e := range tail {
				var c int
				if _, err := fmt.Sscanf(e.Message, "%d refused request", &c); err != nil {
					t.Fatalf("line %q: %v", e.Message, err)
				}
				total += c
				if strings.HasSuffix(e.Message, "from other sources in the last minute: "+reason) {
					other = c
				}
			}
			if total != 1000 || other < tt.folded {
				t.Fatalf("%d refusals in the lines, %d of them from other sources; want 1000 and at least %d", total, other, tt.folded)
			}
			if last := tail[len(tail)-1].Message; !strings.Contains(last, "other sources") {
				t.Fatalf("the folded count is not the last line: %q", last)
			}
		})
	}
}
