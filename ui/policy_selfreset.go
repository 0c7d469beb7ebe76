package ui

// newSelfResetPolicy builds Policy → Self-Reset: whether users may
// provision themselves, how long a provision code lasts and how many
// wrong attempts it survives.
func newSelfResetPolicy(c *Console) *settingsForm {
	return newSettingsForm(c, settingsSpec{
		title: "Policy → Self-Reset",
		what:  "Policy Self-Reset",
		note: "The validity period applies to codes created from now on; codes already issued keep their expiry. " +
			"Leave the three Provision URL settings empty unless phones reach this server through another address, such as a reverse proxy. " +
			"Send provision code as security string sends codes to the user's security-string address instead of their email.",
		checks: []string{
			"policy.selfreset.allow_self_provision",
			"policy.selfreset.log_device_info",
			"policy.selfreset.send_code_as_security_string",
		},
		explain: map[string]string{
			"policy.selfreset.allow_self_provision":         "Agents (user self-service) may ask for a provision code, which is mailed to the user.",
			"policy.selfreset.log_device_info":              "The log records the phone's system when it provisions.",
			"policy.selfreset.send_code_as_security_string": "Codes go to the user's security-string address, when they have one, instead of their email.",
		},
		entries: []entrySpec{
			{key: "policy.selfreset.code_validity", placeholder: "e.g. 600",
				hint: "Seconds, from 10 to 1,000,000. 600 is ten minutes."},
			{key: "policy.selfreset.max_provision_attempts", label: "Wrong attempts per code", placeholder: "e.g. 20",
				hint: "Wrong attempts, from all addresses together, after which a code stops working: 1 to 1,000. Each address also waits twice as long after each of its wrong attempts."},
			{key: "policy.selfreset.qr_code_url", placeholder: "e.g. https://host:8443/userportal/getQRCode?text=",
				hint: "Optional. When set, provision mail links the QR code to this address followed by the Provision URL instead of attaching the image."},
			{key: "policy.selfreset.url_provisioning",
				hint: "Where a phone's browser redeems a provision code for a user. Empty: this server, https://ADDRESS:PORT/userportal/provision."},
			{key: "policy.selfreset.url_get_settings",
				hint: "Where a phone looks up the server settings; the Site ID is added to it. Empty: this server, https://ADDRESS:PORT/ssdserver/getServerDetails?id=."},
			{key: "policy.selfreset.url_complete",
				hint: "The one link that carries the Site ID and the provision code together: the Provision URL in QR codes and mail. Empty: this server."},
		},
	})
}
