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
	// asked counts the asks; nextAt is the count next was asked at, and
	// after what waits for the answer to an ask (askThen).
	asked, nextAt int
	after         []rereadAfter
}

// rereadAfter is what waits for the answer to the ask counted at, or to
// a later one (askThen).
type rereadAfter struct {
	at int
	fn func()
}

// ask asks work, or asks it once the answer on its way is shown.
func (r *reread[T]) ask(work func() (T, error)) {
	r.asked++
	r.send(work, r.asked)
}

// askThen is ask, and then, once the answer to this ask (or to a later
// one) has been shown, fn: what acts on the rows a change made (the
// profile saved selected, the focus moved off a button the change
// disabled) waits for a read asked after the change, not for the answer
// to one asked before it, which may land after the change's. On the
// console's own store fn runs before askThen returns.
func (r *reread[T]) askThen(work func() (T, error), fn func()) {
	r.after = append(r.after, rereadAfter{at: r.asked + 1, fn: fn})
	r.ask(work)
}

// send sends work, asked at the count at, or keeps it for when the
// answer on its way has been shown.
func (r *reread[T]) send(work func() (T, error), at int) {
	if r.busy {
		r.next, r.nextAt = work, at
		return
	}
	r.busy = true
	request(r.c, nil, work, func(v T, err error) {
		r.busy = false
		r.show(v, err)
		r.ran(at)
		if next := r.next; next != nil {
			r.next = nil
			r.send(next, r.nextAt)
		}
	})
}

// ran runs what waited for the answer to the ask counted at, or to an
// earlier one.
func (r *reread[T]) ran(at int) {
	var due []func()
	keep := r.after[:0]
	for _, a := range r.after {
		if a.at <= at {
			due = append(due, a.fn)
		} else {
			keep = append(keep, a)
		}
	}
	r.after = keep
	for _, fn := range due {
		fn()
	}
}
