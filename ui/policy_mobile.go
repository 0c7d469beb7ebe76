package ui

// newMobilePolicy builds Policy → Mobile Client: the settings phones get in
// the Policies element of provision and security string responses.
func newMobilePolicy(c *Console) *settingsForm {
	return newSettingsForm(c, settingsSpec{
		title: "Policy → Mobile Client",
		what:  "Policy Mobile Client",
		note:  "Phones receive this policy at their next provision or security string download, not at once.",
		checks: []string{
			"policy.mobile.allow_pin_entry",
			"policy.mobile.allow_choose_extraction",
			"policy.mobile.allow_browse_strings",
			"policy.mobile.provision_numeric",
			"policy.mobile.sync_index",
		},
		entries: []entrySpec{
			{key: "policy.mobile.support_email", placeholder: "helpdesk@example.org"},
			{key: "policy.mobile.support_phone", placeholder: "+44 20 7946 0000"},
			{key: "policy.mobile.vpn_url_scheme", placeholder: "e.g. openvpn://"},
		},
	})
}
