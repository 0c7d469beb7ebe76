package agentxml

import (
	"os"
	"runtime"
)

// MinServerProcs is the fewest goroutines a serving process runs Go code
// on at once (GOMAXPROCS), even on a machine or container with one CPU.
//
// A durable commit blocks its thread in fdatasync for 0.2–1.5 ms. With one
// P the runtime lends that P to another thread only once sysmon notices
// the blocked system call, which can take milliseconds, so every login on
// the CPU also waits for the disk. On one CPU (the servers pinned with
// taskset, make bench-wrk) GOMAXPROCS=1 answered 1,128–4,035 durable
// logins/s with p99 75–139 ms; GOMAXPROCS=2 answered 9,715/s with p99
// 18.7 ms, while the bare TLS handler was unchanged (docs/benchmarks.md).
const MinServerProcs = 2

// TuneProcs raises GOMAXPROCS to MinServerProcs when the runtime chose
// fewer (one CPU), unless GOMAXPROCS in the environment says otherwise (an
// administrator's choice wins). It never lowers it.
func TuneProcs() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	if runtime.GOMAXPROCS(0) < MinServerProcs {
		runtime.GOMAXPROCS(MinServerProcs)
	}
}
