package agentxml

import (
	"os"
	"runtime/debug"
)

// ServerGCPercent is the garbage collector's target for a process whose
// main work is serving agents (provisio serve, loadbench). Go's default of
// 100 collects whenever the heap doubles; at tens of logins a second per
// CPU core the collections and the memory they hand back and fault in
// again (madvise) cost about a tenth of the server's CPU. 300 lets the
// heap grow to four times what is live: measured 9-15 % more logins a
// second in back-to-back runs (docs/benchmarks.md), for a heap of a few
// tens of MB. The console keeps the default, as its memory is measured.
const ServerGCPercent = 300

// TuneGC sets ServerGCPercent, unless GOGC in the environment says
// otherwise (an administrator's choice wins).
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(ServerGCPercent)
	}
}
