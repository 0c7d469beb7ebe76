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
// twice; those that were enabled are enabled again before done runs.
// done is dropped when the console has closed (Console.do); a dialog the
// person closed meanwhile is for done to check, and it must not show it
// again.
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
	var enable []fyne.Disableable
	for _, b := range hold {
		if !b.Disabled() {
			b.Disable()
			enable = append(enable, b)
		}
	}
	go func() {
		v, err := work()
		c.do(func() {
			c.requests--
			for _, b := range enable {
				b.Enable()
			}
			done(v, err)
		})
	}()
}

// requestErr is request for work that answers only an error.
func requestErr(c *Console, hold []fyne.Disableable, work func() error, done func(error)) {
	request(c, hold, func() (struct{}, error) { return struct{}{}, work() }, func(_ struct{}, err error) { done(err) })
}
