package ui

// newPINPolicy builds Policy → PIN & Lockout: the PIN lengths and how many
// wrong one-time codes lock a user, which were command-line only before.
func newPINPolicy(c *Console) *settingsForm {
	return newSettingsForm(c, settingsSpec{
		title: "Policy → PIN & Lockout",
		what:  "Policy PIN and Lockout",
		note: "PIN lengths apply to PINs set from now on; existing PINs keep working. " +
			"A user who enters the lockout number of wrong one-time codes in a row is locked until an admin unlocks them.",
		entries: []entrySpec{
			{key: "policy.pin.min_length", placeholder: "e.g. 4", hint: "Digits, from 4 to 10."},
			{key: "policy.pin.max_length", placeholder: "e.g. 10", hint: "Digits, from 4 to 10; not less than the shortest."},
			{key: "policy.lockout.max_failures", placeholder: "e.g. 5", hint: "From 1 to 100. A correct code resets the count."},
		},
	})
}
