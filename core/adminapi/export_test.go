package adminapi

import "time"

// SetStreamIdle sets how long a silent event stream lasts before it is
// taken for lost, for a test that cannot wait 40 s; it returns the
// function that puts it back.
func SetStreamIdle(d time.Duration) (restore func()) {
	old := streamIdle.Swap(int64(d))
	return func() { streamIdle.Store(old) }
}
