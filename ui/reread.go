package ui

// reread asks the service again for what a screen shows, when an event
// says it changed: off the UI thread when the console is attached
// (request), at once on its own store.
//
// Like latest, one request is on its way at a time and a burst of events
// holds one more at most. Unlike latest, the answer on its way is shown
// even when another ask waits, and then that one is sent: the question
// never changes, so an earlier answer is still newer than what the
// screen shows, and dropping it would leave the screen as it was for as
// long as events keep coming faster than the network answers (a busy
// outbox over a slow link).
type reread[T any] struct {
	c    *Console
	show func(T, error) // on the UI thread, with each answer
	busy bool           // a request is on its way
	next func() (T, error)
}

// ask asks work, or asks it once the answer on its way is shown.
func (r *reread[T]) ask(work func() (T, error)) {
	if r.busy {
		r.next = work
		return
	}
	r.busy = true
	request(r.c, nil, work, func(v T, err error) {
		r.busy = false
		r.show(v, err)
		if next := r.next; next != nil {
			r.next = nil
			r.ask(next)
		}
	})
}
