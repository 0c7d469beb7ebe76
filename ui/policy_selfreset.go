package ui

// newSelfResetPolicy builds Policy → Self-Reset: whether users may
// provision themselves and how long a provision code lasts.
func newSelfResetPolicy(c *Console) *settingsForm {
	return newSettingsForm(c, settingsSpec{
		title: "Policy → Self-Reset",
		what:  "Policy Self-Reset",
		note: "The validity period applies to codes created from now on; " +
			"codes already issued keep their expiry.",
		checks: []string{
			"policy.selfreset.allow_self_provision",
			"policy.selfreset.log_device_info",
		},
		entries: []entrySpec{
			{key: "policy.selfreset.code_validity", placeholder: "600",
				hint: "Seconds, from 10 to 1,000,000. 600 is ten minutes."},
			{key: "policy.selfreset.qr_code_url", placeholder: "https://host:8443/userportal/getQRCode?text=",
				hint: "Optional. When set, provision mail links the QR code to this address followed by the Provision URL instead of attaching the image."},
		},
	})
}
