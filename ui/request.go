package ui

import "fyne.io/fyne/v2"

// request runs work, a request to the service that a button or a dialog
// started, and hands its answer to done on the UI thread.
//
// An attached console's requests cross the network, where one waits for
// the client's timeout (30 s) when the network carries nothing: asked on
// the UI thread, the whole window froze that long, with no redraw, no
// Escape and no Cancel. So for an attached console work runs on a
// goroutine and done through Console.do, and hold (the buttons that send
// the request) stay disabled meanwhile, so a second tap cannot send it
// twice, whatever their screen's rules say meanwhile (Console.setEnabled);
// they get the state those rules give before done runs. done is dropped
// when the console has closed (Console.do); a dialog the person closed
// meanwhile is for done to check, and it must not show it again.
//
// A console working on its own store asks the service in this process,
// which answers from its own disk: work and done run here and now, as
// before, so its screens show the answer at once.
func request[T any](c *Console, hold []fyne.Disableable, work func() (T, error), done func(T, error)) {
	if !c.attached() {
		v, err := work()
		done(v, err)
		return
	}
	c.requests++
	for _, w := range hold {
		c.hold(w)
	}
	go func() {
		v, err := work()
		c.do(func() {
			c.requests--
			for _, w := range hold {
				c.release(w)
			}
			done(v, err)
		})
	}()
}

// heldWidget is a widget that requests on their way keep disabled.
type heldWidget struct {
	n int // the requests holding it
	// on is the state its screen's rules give it: as it was when the
	// first request took it, until a rule says otherwise (setEnabled).
	on bool
}

// hold keeps w disabled until as many releases as holds.
//
// Counted, because two requests may hold one widget (Apply's read of the
// settings and then its save), and the first answer must not enable it
// while the second is on its way.
func (c *Console) hold(w fyne.Disableable) {
	if h := c.held[w]; h != nil {
		h.n++
		return
	}
	if c.held == nil {
		c.held = map[fyne.Disableable]*heldWidget{}
	}
	c.held[w] = &heldWidget{n: 1, on: !w.Disabled()}
	w.Disable()
}

// release ends one hold of w; the last gives it the state its screen's
// rules give it now. Not blindly enabled: the selection may have changed
// meanwhile, or the row gone, and the rules said so while it was held.
func (c *Console) release(w fyne.Disableable) {
	h := c.held[w]
	if h == nil {
		return
	}
	if h.n--; h.n > 0 {
		return
	}
	delete(c.held, w)
	if h.on {
		w.Enable()
	}
}

// holding says whether a request on its way holds w disabled.
func (c *Console) holding(w fyne.Disableable) bool { return c.held[w] != nil }

// setEnabled enables or disables each of ws by a screen's rule (the
// selected row, what a list read found, a first read still on its way).
// Every such rule goes through it, so that one a list read applies while
// a request holds the widget (request) does not enable it under the
// request on its way, where a second tap sent it again: a held widget
// stays disabled and takes the rule's state when the request ends.
func (c *Console) setEnabled(on bool, ws ...fyne.Disableable) {
	for _, w := range ws {
		switch h := c.held[w]; {
		case h != nil:
			h.on = on
		case on:
			w.Enable()
		default:
			w.Disable()
		}
	}
}

// requestErr is request for work that answers only an error.
func requestErr(c *Console, hold []fyne.Disableable, work func() error, done func(error)) {
	request(c, hold, func() (struct{}, error) { return struct{}{}, work() }, func(_ struct{}, err error) { done(err) })
}

// latest asks the service a question that the person keeps changing (a
// count as a group is typed) and shows only the answer to the newest.
//
// One request is on its way at a time: a question asked meanwhile waits,
// and when the answer comes it is dropped if a newer question waits, and
// the newest is asked instead. So an answer for an older text never
// overwrites a newer one, and a silent network holds one request, not
// one a keystroke. Like request, a console on its own store asks at once.
type latest[T any] struct {
	c      *Console
	show   func(T, error)     // on the UI thread, with the newest answer
	hold   []fyne.Disableable // disabled while a request is on its way (request)
	busy   bool               // a request is on its way
	queued func() (T, error)
}

// ask asks work, or queues it behind the request on its way, replacing
// any question queued before it.
func (l *latest[T]) ask(work func() (T, error)) {
	if l.busy {
		l.queued = work
		return
	}
	l.busy = true
	request(l.c, l.hold, work, func(v T, err error) {
		l.busy = false
		if next := l.queued; next != nil {
			l.queued = nil
			l.ask(next)
			return
		}
		l.show(v, err)
	})
}
