package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// TestNav_UnsavedMarkGoesWithApplyAndReset: Mail Transport, its message
// template and Server mark themselves "(unsaved)" in the navigation when
// the admin leaves them with a draft (or when any change is announced
// meanwhile, an event from another console or server of the site).
// Apply or Reset then takes the mark away, as it does on the policy
// screens. It stayed, "Mail Transport (unsaved)" beside "Saved.", until
// another screen was shown.
func TestNav_UnsavedMarkGoesWithApplyAndReset(t *testing.T) {
	for _, tc := range []struct {
		title string
		edit  func(c *Console)
		apply func(c *Console) *widget.Button
		reset func(c *Console) *widget.Button
	}{
		{"Mail Transport",
			func(c *Console) { c.transport.fieldFor(keySMTPHost).entry.SetText("mail.example.org") },
			func(c *Console) *widget.Button { return c.transport.apply },
			func(c *Console) *widget.Button { return c.transport.reset }},
		{"Mail Transport",
			func(c *Console) { c.transport.template.subject.entry.SetText("Your phone, set up in a minute") },
			func(c *Console) *widget.Button { return c.transport.template.apply },
			func(c *Console) *widget.Button { return c.transport.template.reset }},
		{"Server",
			func(c *Console) { c.server.name.entry.SetText("Front office") },
			func(c *Console) *widget.Button { return c.server.apply },
			func(c *Console) *widget.Button { return c.server.reset }},
	} {
		for _, how := range []string{"Apply", "Reset"} {
			t.Run(tc.title+"/"+how, func(t *testing.T) {
				h := newHarness(t)
				c := h.c
				at, users := -1, -1
				for i, s := range c.screens {
					switch s.title {
					case tc.title:
						at = i
					case "User Management":
						users = i
					}
				}
				if at < 0 || users < 0 {
					t.Fatalf("no %q or User Management screen", tc.title)
				}
				c.show(at)
				h.answered()
				tc.edit(c)
				c.show(users) // leaving keeps the draft and marks it
				if got := c.navTitle(at); got != tc.title+unsavedMark {
					t.Fatalf("left with a draft, the navigation shows %q", got)
				}
				c.show(at)
				h.answered()
				b := tc.apply(c)
				if how == "Reset" {
					b = tc.reset(c)
				}
				test.Tap(b)
				h.answered()
				if got := c.navTitle(at); got != tc.title {
					t.Errorf("after %s the navigation shows %q, want %q", how, got, tc.title)
				}
			})
		}
	}
}
