package agentxml_test

import (
	"runtime"
	"testing"

	"provisio/core/agentxml"
)

func TestTuneProcs(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(was) })
	tests := []struct {
		name string
		env  string // GOMAXPROCS in the environment
		have int    // what the runtime runs with before
		want int
	}{
		{"one CPU is raised to two", "", 1, agentxml.MinServerProcs},
		{"two CPUs stay", "", 2, 2},
		{"eight CPUs are never lowered", "", 8, 8},
		{"the administrator's one stays", "1", 1, 1},
		{"the administrator's three stay", "3", 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOMAXPROCS", tt.env)
			runtime.GOMAXPROCS(tt.have)
			agentxml.TuneProcs()
			if got := runtime.GOMAXPROCS(0); got != tt.want {
				t.Fatalf("GOMAXPROCS = %d, want %d", got, tt.want)
			}
		})
	}
}
