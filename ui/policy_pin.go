package ui

// newPINPolicy builds Policy → PIN & Lockout: the PIN lengths and the
// escalating lockout (how many wrong one-time codes lock a user, how long
// the first lock lasts, and which lock in a row is permanent). Its
// labels are its own, not core's help: that is lower-case, written for
// `settings list`, and every other form's labels start with a capital.
func newPINPolicy(c *Console) *settingsForm {
	return newSettingsForm(c, settingsSpec{
		title: "Policy → PIN & Lockout",
		what:  "Policy PIN and Lockout",
		note: "PIN lengths apply to PINs set from now on; existing PINs keep working. " +
			"A user who enters the lockout number of wrong one-time codes in a row is locked for a while; " +
			"each further lock in a row lasts twice as long, and the last one lasts until an admin unlocks them. " +
			"The Users screen shows \"locked until 10:42\", and Unlock lifts any lock.",
		entries: []entrySpec{
			{key: "policy.pin.min_length", label: "Shortest PIN", placeholder: "e.g. 4", hint: "Digits, from 4 to 10."},
			{key: "policy.pin.max_length", label: "Longest PIN", placeholder: "e.g. 10", hint: "Digits, from 4 to 10; not less than the shortest."},
			{key: "policy.lockout.max_failures", label: "Wrong OTCs in a row before a user is locked", placeholder: "e.g. 5", hint: "From 1 to 100. A correct code resets the count."},
			{key: "policy.lockout.lock_seconds", label: "First lock (seconds)", placeholder: "e.g. 300",
				hint: "How long the first lock lasts, from 10 to 86,400 seconds. Each further lock in a row lasts twice as long: 300 gives 5, 10, 20, 40 minutes."},
			{key: "policy.lockout.max_locks", label: "Locks until permanent", placeholder: "e.g. 5",
				hint: "The lock in a row that lasts until an admin unlocks, from 1 to 20; 1 makes the first lock permanent. A correct code or Unlock starts the count again."},
		},
	})
}
