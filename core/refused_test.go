package core_test

import (
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
