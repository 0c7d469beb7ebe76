package ui

// newMobilePolicy builds Policy → Mobile Client: the settings phones get in
// the Policies element of provision and security string responses.
func newMobilePolicy(c *Console) *settingsForm {
	return newSettingsForm(c, settingsSpec{
		title: "Policy → Mobile Client",
		what:  "Policy Mobile Client",
		// The first sentence is the seed's line under Policy > Mobile
		// Client ("Set the polices ...", its typo corrected).
		note: "Set the policies to be downloaded to mobile clients. " +
			"These are the Default profile's values (Policy → Profiles has the other options and profiles for groups and users). " +
			"Phones receive them at their next provision or security string download, not at once.",
		checks: []string{
			"policy.mobile.allow_pin_entry",
			"policy.mobile.allow_choose_extraction",
			"policy.mobile.allow_browse_strings",
			"policy.mobile.provision_numeric",
			"policy.mobile.sync_index",
		},
		explain: map[string]string{
			"policy.mobile.allow_pin_entry":         "The phone asks for the PIN and shows the one-time code itself.",
			"policy.mobile.allow_choose_extraction": "The user may choose automatic or manual extraction of the one-time code on the phone.",
			"policy.mobile.allow_browse_strings":    "The user may browse through their security strings on the phone.",
			"policy.mobile.provision_numeric":       "Provision codes are digits only, and the phone shows a number pad to type them.",
			"policy.mobile.sync_index":              "The phone asks the server for the next unused string, so it never offers a spent code.",
		},
		entries: []entrySpec{
			{key: "policy.mobile.support_email", placeholder: "e.g. helpdesk@example.org"},
			{key: "policy.mobile.support_phone", placeholder: "e.g. +44 20 7946 0000"},
			{key: "policy.mobile.vpn_url_scheme", placeholder: "e.g. openvpn://"},
		},
	})
}
