package ui

import "time"

// tickLoop drives a dialog's once-a-tick update: a ticker goroutine hands
// each tick to the UI thread through its window's do (Console.do,
// Attached.do). gen changes
// with every start and stop, so a tick queued for an older code or a
// closed dialog does nothing.
type tickLoop struct {
	gen  int
	halt chan struct{}
}

// start stops any running countdown and calls tick on the UI thread,
// through do, every interval until stop.
func (cd *tickLoop) start(do func(func()), every time.Duration, tick func()) {
	cd.stop()
	gen, halt := cd.gen, make(chan struct{})
	cd.halt = halt
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				do(func() {
					if cd.gen == gen {
						tick()
					}
				})
			case <-halt:
				return
			}
		}
	}()
}

// stop ends the countdown goroutine; a tick already queued is dropped.
func (cd *tickLoop) stop() {
	cd.gen++
	if cd.halt != nil {
		close(cd.halt)
		cd.halt = nil
	}
}
