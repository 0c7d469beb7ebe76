package agentxml

import (
	"fmt"
	"testing"
	"time"

	"provisio/core"
)

func TestLimiter(t *testing.T) {
	l := newLimiter(Rate{PerSecond: 0.5, Burst: 2})
	for i := 0; i < 2; i++ {
		if ok, _ := l.allow("10.0.0.1:1"); !ok {
			t.Fatalf("request %d within the burst refused", i+1)
		}
	}
	ok, wait := l.allow("10.0.0.1:2")
	if ok || wait < time.Second || wait > 2*time.Second {
		t.Errorf("past the burst: %v, wait %v (want about 2 s)", ok, wait)
	}
	if spent, _ := l.spent("10.0.0.1:3"); !spent {
		t.Error("spent is false with no tokens left")
	}
	if ok, _ := l.allow("10.0.0.2:1"); !ok {
		t.Error("another source was limited")
	}
	// charge takes a token even when it leaves the bucket empty.
	l.charge("10.0.0.3:1")
	l.charge("10.0.0.3:1")
	if spent, _ := l.spent("10.0.0.3:1"); !spent {
		t.Error("two charges did not spend a burst of two")
	}
	// Past maxTracked busy sources, new ones share one bucket instead
	// of growing the map.
	for i := 0; len(l.sources) < maxTracked; i++ {
		l.charge(fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255))
	}
	l.allow("192.0.2.1:1")
	if len(l.sources) > maxTracked {
		t.Errorf("%d sources tracked, at most %d", len(l.sources), maxTracked)
	}
	if _, ok := l.sources[core.SourceKey("192.0.2.1:1")]; ok {
		t.Error("a source past the bound got its own bucket")
	}
	// Unlimited when PerSecond is 0.
	free := newLimiter(Rate{})
	for i := 0; i < 1000; i++ {
		if ok, _ := free.allow("10.0.0.1:1"); !ok {
			t.Fatal("a zero Rate limited")
		}
	}
}
