package core

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The dotted keys of Settings (`provisio settings get/set`, the admin
// API, the console): each key's help, how it reads and writes its field,
// and the check its value must pass.

// setting describes one dotted key of Settings.
type setting struct {
	help   string
	get    func(*Settings) string
	set    func(*Settings, string) error
	secret bool
	// logLong shows the values in the audit line however long they are
	// (a pinned fingerprint is 95 characters, and which certificate was
	// trusted is the point of the line).
	logLong bool
}

func boolSetting(help string, f func(*Settings) *bool) setting {
	return setting{help: help,
		get: func(s *Settings) string { return yesNo(*f(s)) },
		set: func(s *Settings, v string) error {
			b, err := parseYesNo(v)
			if err != nil {
				return err
			}
			*f(s) = b
			return nil
		}}
}

func textSetting(help string, f func(*Settings) *string, check func(string) error) setting {
	return setting{help: help,
		get: func(s *Settings) string { return *f(s) },
		set: func(s *Settings, v string) error {
			v = strings.TrimSpace(v)
			if check != nil && v != "" {
				if err := check(v); err != nil {
					return err
				}
			}
			*f(s) = v
			return nil
		}}
}

func intSetting(help string, f func(*Settings) *int, min, max int) setting {
	return setting{help: help,
		get: func(s *Settings) string { return strconv.Itoa(*f(s)) },
		set: func(s *Settings, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < min || n > max {
				return &Error{Code: CodeInvalid, Message: fmt.Sprintf("Enter a whole number from %s to %s.", GroupDigits(min), GroupDigits(max))}
			}
			*f(s) = n
			return nil
		}}
}

// settings is the registry of dotted keys used by the CLI and console.
var settings = map[string]setting{
	"server.name":                 textSetting("server name shown to people", func(s *Settings) *string { return &s.ServerName }, nil),
	"server.siteid":               textSetting("Site ID phones use to find this server", func(s *Settings) *string { return &s.SiteID }, validateSiteID),
	"server.listen":               textSetting("HTTPS listen address host:port", func(s *Settings) *string { return &s.Listen }, validateListen),
	"server.advertise":            textSetting("address phones use (empty: first LAN address)", func(s *Settings) *string { return &s.Advertise }, validateAdvertise),
	"server.http_listen":          textSetting("plain HTTP listener for legacy agents (empty: off)", func(s *Settings) *string { return &s.HTTPListen }, validateListen),
	"server.mtls_listen":          textSetting("HTTPS listener requiring device certificates, for mutual authentication (empty: off)", func(s *Settings) *string { return &s.MTLSListen }, validateListen),
	"server.admin_listen":         textSetting("HTTPS listener with mutual TLS for paired remote consoles (empty: off)", func(s *Settings) *string { return &s.AdminListen }, validateListen),
	"server.tls_cert":             textSetting("PEM certificate file phones trust (empty: the generated one)", func(s *Settings) *string { return &s.TLSCert }, nil),
	"server.tls_key":              textSetting("PEM key file of server.tls_cert", func(s *Settings) *string { return &s.TLSKey }, nil),
	"policy.lockout.max_failures": intSetting("wrong OTCs in a row before a user is locked", func(s *Settings) *int { return &s.MaxFailures }, 1, 100),
	"policy.lockout.lock_seconds": intSetting("seconds the first lock lasts; each further lock in a row lasts twice as long", func(s *Settings) *int { return &s.LockSeconds }, 10, 86_400),
	"policy.lockout.max_locks":    intSetting("locks in a row until the lock is permanent and only an administrator can unlock", func(s *Settings) *int { return &s.MaxLocks }, 1, 20),
	"policy.pin.min_length":       intSetting("shortest PIN", func(s *Settings) *int { return &s.PINMin }, 4, 10),
	"policy.pin.max_length":       intSetting("longest PIN", func(s *Settings) *int { return &s.PINMax }, 4, 10),

	"policy.mobile.allow_pin_entry":         boolSetting("Allow user to enter PIN", func(s *Settings) *bool { return &s.MobileClient.AllowPINEntry }),
	"policy.mobile.allow_choose_extraction": boolSetting("Allow user to choose how to extract OTC", func(s *Settings) *bool { return &s.MobileClient.AllowChooseExtraction }),
	"policy.mobile.allow_browse_strings":    boolSetting("Allow user to browse strings", func(s *Settings) *bool { return &s.MobileClient.AllowBrowseStrings }),
	"policy.mobile.provision_numeric":       boolSetting("Provision is numeric", func(s *Settings) *bool { return &s.MobileClient.ProvisionNumeric }),
	"policy.mobile.sync_index":              boolSetting("Sync Index", func(s *Settings) *bool { return &s.MobileClient.SyncIndex }),
	"policy.mobile.support_email":           textSetting("Support Email Address", func(s *Settings) *string { return &s.MobileClient.SupportEmail }, func(v string) error { return ValidateEmail("support_email", v) }),
	"policy.mobile.support_phone":           textSetting("Support Phone Number", func(s *Settings) *string { return &s.MobileClient.SupportPhone }, func(v string) error { return ValidatePhone("support_phone", v) }),
	"policy.mobile.vpn_url_scheme":          textSetting("VPN URL Scheme", func(s *Settings) *string { return &s.MobileClient.VPNURLScheme }, nil),

	"policy.selfreset.allow_self_provision":         boolSetting("Allow user self-provision of mobile client", func(s *Settings) *bool { return &s.SelfReset.AllowSelfProvision }),
	"policy.selfreset.log_device_info":              boolSetting("Log device information when provisioning", func(s *Settings) *bool { return &s.SelfReset.LogDeviceInfo }),
	"policy.selfreset.code_validity":                intSetting("Provision Code Validity period (seconds)", func(s *Settings) *int { return &s.SelfReset.CodeValidity }, MinCodeValidity, MaxCodeValidity),
	"policy.selfreset.max_provision_attempts":       intSetting("wrong attempts, from all addresses together, after which a provision code stops working", func(s *Settings) *int { return &s.SelfReset.MaxProvisionAttempts }, 1, 1000),
	"policy.selfreset.qr_code_url":                  textSetting("QR Code URL", func(s *Settings) *string { return &s.SelfReset.QRCodeURL }, validateURL),
	"policy.selfreset.send_code_as_security_string": boolSetting("Send provision code as security string", func(s *Settings) *bool { return &s.SelfReset.SendCodeAsSecurityString }),
	"policy.selfreset.url_provisioning":             textSetting("URL provisioning", func(s *Settings) *string { return &s.SelfReset.URLProvisioning }, validateURL),
	"policy.selfreset.url_get_settings":             textSetting("URL to get settings", func(s *Settings) *string { return &s.SelfReset.URLGetSettings }, validateURL),
	"policy.selfreset.url_complete":                 textSetting("URL complete", func(s *Settings) *string { return &s.SelfReset.URLComplete }, validateURL),

	"oath.enabled":         boolSetting("OATH authenticator-app tokens (TOTP/HOTP) can be issued and used", func(s *Settings) *bool { return &s.OATH.Enabled }),
	"oath.issuer":          textSetting("name shown in authenticator apps (empty: the Site ID)", func(s *Settings) *string { return &s.OATH.Issuer }, validateOATHIssuer),
	"oath.window":          intSetting("TOTP steps accepted either side of now", func(s *Settings) *int { return &s.OATH.Window }, 0, 10),
	"oath.hotp_lookahead":  intSetting("HOTP counters accepted ahead of the expected one", func(s *Settings) *int { return &s.OATH.LookAhead }, 1, 100),
	"agentxml.allow_get":   boolSetting("accept AgentXML/AdminXML as GET ?xml= (puts secrets in URLs; default No)", func(s *Settings) *bool { return &s.AllowGet }),
	"agentxml.qr_any_text": boolSetting("getQRCode renders any text, not only this server's Provision URLs", func(s *Settings) *bool { return &s.QRAnyText }),
	"log.max_age_days":     intSetting("audit log entries older than this are trimmed (0: no age bound)", func(s *Settings) *int { return &s.LogMaxAgeDays }, 0, 36500),
	"log.max_mb":           intSetting("the oldest audit log entries are trimmed past this size (0: no size bound)", func(s *Settings) *int { return &s.LogMaxMB }, 0, 1_000_000),
	"server.min_free_mb":   intSetting("below this free space (MB) the server refuses unauthenticated work (0: off)", func(s *Settings) *int { return &s.MinFreeMB }, 0, 1_000_000),

	"backup.folder":          textSetting("folder scheduled backups are written to (empty: no scheduled backups)", func(s *Settings) *string { return &s.Backup.Folder }, validateAbsPath("backup folder", "/var/backups/provisio")),
	"backup.time":            backupTimeSetting(),
	"backup.keep":            intSetting("how many scheduled backups the folder keeps; older ones are deleted", func(s *Settings) *int { return &s.Backup.Keep }, 1, 365),
	"backup.recipient":       textSetting("age recipient (age1…) scheduled backups are encrypted to; its identity restores them", func(s *Settings) *string { return &s.Backup.Recipient }, validateRecipientSyntax),
	"backup.passphrase_file": textSetting("file whose first line is the passphrase scheduled backups are encrypted with (instead of backup.recipient)", func(s *Settings) *string { return &s.Backup.PassphraseFile }, validateAbsPath("passphrase file", "/etc/provisio/backup.pass")),

	"console.setup_done": boolSetting("first-run setup finished or skipped (No offers it again)", func(s *Settings) *bool { return &s.SetupDone }),

	"smtp.host":      textSetting("SMTP server host name", func(s *Settings) *string { return &s.Mail.Host }, validateHost),
	"smtp.port":      intSetting("SMTP server port", func(s *Settings) *int { return &s.Mail.Port }, 1, 65535),
	"smtp.security":  textSetting("none, starttls or tls", func(s *Settings) *string { return &s.Mail.Security }, validateMailSecurity),
	"smtp.username":  textSetting("SMTP user name (empty: no AUTH)", func(s *Settings) *string { return &s.Mail.Username }, nil),
	"smtp.password":  secretSetting("SMTP password", func(s *Settings) *string { return &s.Mail.Password }),
	"smtp.from":      textSetting("From address", func(s *Settings) *string { return &s.Mail.From }, func(v string) error { return ValidateEmail("smtp.from", v) }),
	"smtp.from_name": textSetting("From display name", func(s *Settings) *string { return &s.Mail.FromName }, nil),
	"smtp.tls_fingerprint": fingerprintSetting("SHA-256 fingerprint of the one mail server certificate trusted, for a relay with its own certificate (empty: this computer's trusted authorities)",
		func(s *Settings) *string { return &s.Mail.TLSFingerprint }),

	"template.provision.subject": textSetting("provision message subject (empty: default)", func(s *Settings) *string { return &s.ProvisionTemplate.Subject }, nil),
	"template.provision.text":    rawSetting("provision message plain text (empty: default)", func(s *Settings) *string { return &s.ProvisionTemplate.Text }),
	"template.provision.html":    rawSetting("provision message HTML; url4 is the QR image (empty: default)", func(s *Settings) *string { return &s.ProvisionTemplate.HTML }),
}

// secretSetting is a text setting whose value Get masks, so "settings
// list" never prints it.
func secretSetting(help string, f func(*Settings) *string) setting {
	st := textSetting(help, f, nil)
	st.secret = true
	return st
}

// fingerprintSetting is a certificate pin: any common way of writing a
// SHA-256 fingerprint is taken and kept in the form Provisio shows, so
// the audit log and the console show the value the admin compared.
func fingerprintSetting(help string, f func(*Settings) *string) setting {
	return setting{help: help, logLong: true,
		get: func(s *Settings) string { return *f(s) },
		set: func(s *Settings, v string) error {
			if strings.TrimSpace(v) == "" {
				*f(s) = ""
				return nil
			}
			fp, err := NormalizeFingerprint(v)
			if err != nil {
				return err
			}
			*f(s) = fp
			return nil
		}}
}

// rawSetting keeps text exactly as given (templates keep their spacing).
func rawSetting(help string, f func(*Settings) *string) setting {
	return setting{help: help,
		get: func(s *Settings) string { return *f(s) },
		set: func(s *Settings, v string) error { *f(s) = v; return nil }}
}

func validateMailSecurity(v string) error {
	switch v {
	case MailSecurityNone, MailSecurityStartTLS, MailSecurityTLS:
		return nil
	}
	return &Error{Code: CodeInvalid, Message: fmt.Sprintf("Mail security is none, starttls or tls, not %q.", v)}
}

// SettingKeys returns every dotted key, sorted.
func SettingKeys() []string {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SettingHelp returns the one-line description of key.
func SettingHelp(key string) string { return settings[key].help }

// SettingIsSecret reports whether key holds a secret (the SMTP password),
// which is shown masked and is best not typed on a command line.
func SettingIsSecret(key string) bool { return settings[key].secret }

// Get returns the value of a dotted key as text. Secret values (the SMTP
// password) come back as "********" when set.
func (s *Settings) Get(key string) (string, error) {
	st, ok := settings[key]
	if !ok {
		return "", Errorf(CodeNotFound, "There is no setting %q; 'provisio settings list' shows them all.", key)
	}
	v := st.get(s)
	if st.secret && v != "" {
		return "********", nil
	}
	return v, nil
}

// Set parses and stores value under a dotted key, validating it.
func (s *Settings) Set(key, value string) error {
	st, ok := settings[key]
	if !ok {
		return Errorf(CodeNotFound, "There is no setting %q; 'provisio settings list' shows them all.", key)
	}
	if err := st.set(s, value); err != nil {
		if e, ok := err.(*Error); ok && e.Field == "" {
			e.Field = key
		}
		return err
	}
	return s.Validate()
}

// SetValues parses and stores several dotted keys at once, then checks
// the record once, on the final values. A rule between keys (the
// shortest PIN is not longer than the longest; a recipient or a
// passphrase file, not both) so sees every change together: raising the
// PIN lengths from 4–6 to 8–10 is one valid change, not a refused first
// step (min 8 next to max 6). Every key that does not parse is reported,
// each a *Error naming its key (joined; FieldErrors lists them); when all
// parse, the record's own check (Validate) may refuse. s changes only
// when everything is right.
func (s *Settings) SetValues(values map[string]string) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	next := *s
	var errs []error
	for _, k := range keys {
		st, ok := settings[k]
		if !ok {
			errs = append(errs, &Error{Code: CodeNotFound, Field: k,
				Message: fmt.Sprintf("There is no setting %q; 'provisio settings list' shows them all.", k)})
			continue
		}
		if err := st.set(&next, values[k]); err != nil {
			// The key is the field at fault, whatever the check that
			// refused it calls it (ValidateEmail's "support_email").
			var e *Error
			if errors.As(err, &e) {
				e.Field = k
			}
			errs = append(errs, err)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	if len(errs) > 1 {
		return errors.Join(errs...)
	}
	if err := next.Validate(); err != nil {
		return err
	}
	*s = next
	return nil
}

// ChangedKeys lists, sorted, the dotted keys whose value differs between
// old and s. What only the service writes (BackupState) is no key.
func (s *Settings) ChangedKeys(old Settings) []string {
	var out []string
	for _, k := range SettingKeys() {
		st := settings[k]
		if st.get(s) != st.get(&old) {
			out = append(out, k)
		}
	}
	return out
}

// describeSettingChanges is the part of an audit line that says which keys a
// save changed: "policy.pin.min_length 4 → 8, smtp.password changed".
// Values are shown only when they are short and one line, and never
// those of secret keys.
func describeSettingChanges(old, set Settings) string {
	keys := set.ChangedKeys(old)
	if len(keys) == 0 {
		return "no setting changed"
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		st := settings[k]
		from, to := st.get(&old), st.get(&set)
		if st.secret || !st.logLong && (!loggable(from) || !loggable(to)) {
			parts[i] = k + " changed"
			continue
		}
		parts[i] = fmt.Sprintf("%s %s → %s", k, quoteEmpty(from), quoteEmpty(to))
	}
	return strings.Join(parts, ", ")
}

// loggable reports whether a setting's value fits in an audit line.
func loggable(v string) bool { return len(v) <= 80 && !strings.ContainsAny(v, "\r\n") }

func quoteEmpty(v string) string {
	if v == "" {
		return `""`
	}
	return v
}

// Validate checks rules that span fields and re-checks every field, so a
// settings record built in code gets the same checks as one typed in.
func (s *Settings) Validate() error {
	if s.PINMin > s.PINMax {
		return FieldError("policy.pin.min_length", "The shortest PIN cannot be longer than the longest.")
	}
	if s.Mail.TLSFingerprint != "" && s.Mail.Security == MailSecurityNone {
		// Without TLS nothing checks the pin, and mail would go out in
		// clear while the settings say one certificate is trusted (the
		// mailer refuses to send that way too).
		return FieldError("smtp.security", "A trusted mail server certificate (smtp.tls_fingerprint) is checked only over TLS; set Security to starttls or tls, or clear the trusted certificate.")
	}
	if s.Backup.Recipient != "" && s.Backup.PassphraseFile != "" {
		return FieldError("backup.passphrase_file", "Backups are encrypted either to an age recipient or with a passphrase file, not both; clear one of them.")
	}
	for _, k := range SettingKeys() {
		st := settings[k]
		probe := *s
		if err := st.set(&probe, st.get(s)); err != nil {
			if e, ok := err.(*Error); ok && e.Field == "" {
				e.Field = k
			}
			return err
		}
	}
	// A whole record (the admin API's PUT /v1/config) may carry the pin
	// in any spelling its setter accepts, spaces and line breaks around
	// it included; keep the one form, so the audit line, the console and
	// the mailer all show the same text.
	if fp := s.Mail.TLSFingerprint; fp != "" {
		if n, err := NormalizeFingerprint(fp); err == nil {
			s.Mail.TLSFingerprint = n
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func parseYesNo(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "y", "true", "on", "1":
		return true, nil
	case "no", "n", "false", "off", "0":
		return false, nil
	}
	return false, &Error{Code: CodeInvalid, Message: fmt.Sprintf("Enter Yes or No, not %q.", v)}
}

func validateSiteID(v string) error {
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return &Error{Code: CodeInvalid, Message: "A Site ID uses letters, digits, '-', '_' and '.' only."}
		}
	}
	if len(v) > 64 {
		return &Error{Code: CodeInvalid, Message: "A Site ID can have at most 64 characters."}
	}
	return nil
}

func validateListen(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 1 || n > 65535) {
			err = fmt.Errorf("port out of range")
		}
		if err == nil && host != "" {
			if _, perr := netip.ParseAddr(host); perr != nil {
				err = validateHost(host)
			}
		}
	}
	if err != nil {
		return &Error{Code: CodeInvalid, Message: fmt.Sprintf("%q is not a listen address like 0.0.0.0:8443.", v)}
	}
	return nil
}

func validateHost(v string) error {
	if _, err := netip.ParseAddr(v); err == nil {
		return nil
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 {
			return &Error{Code: CodeInvalid, Message: fmt.Sprintf("%q is not a host name or IP address.", v)}
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return &Error{Code: CodeInvalid, Message: fmt.Sprintf("%q is not a host name or IP address.", v)}
			}
		}
	}
	return nil
}

// validateAdvertise accepts a host, or host:port when phones reach the
// server on another port (NAT, a port forward).
func validateAdvertise(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return validateHost(v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return &Error{Code: CodeInvalid, Message: fmt.Sprintf("%q: the port must be a number from 1 to 65535.", v)}
	}
	return validateHost(host)
}

func validateURL(v string) error {
	if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		return &Error{Code: CodeInvalid, Message: fmt.Sprintf("%q is not a web address starting with https://.", v)}
	}
	return nil
}

// validateAbsPath wants a full path, so the server finds the file or
// folder whatever folder it was started from.
func validateAbsPath(what, example string) func(string) error {
	return func(v string) error {
		if !filepath.IsAbs(v) {
			return &Error{Code: CodeInvalid, Message: fmt.Sprintf("Enter the full path of the %s, such as %s.", what, example)}
		}
		return nil
	}
}

// validateRecipientSyntax is the check core can make of an age
// recipient; the backup writer parses it fully (CheckBackupSettings).
func validateRecipientSyntax(v string) error {
	if IsAgeIdentity(v) {
		// Never echoed: it is the secret that opens every backup.
		return &Error{Code: CodeInvalid, Message: "That is an age identity (AGE-SECRET-KEY-1…), the secret that restores the backups, not a recipient; enter its public key (age1…, which age-keygen -y prints), and keep the identity off this machine."}
	}
	if !strings.HasPrefix(v, "age1") || strings.ContainsAny(v, " \t,") {
		return &Error{Code: CodeInvalid, Message: fmt.Sprintf("%q is not an age recipient; it starts with age1, as age-keygen prints it.", v)}
	}
	return nil
}

// IsAgeIdentity reports whether s holds an age identity, the secret key
// of a recipient (AGE-SECRET-KEY-1…, also a plugin's), which no message
// may repeat.
func IsAgeIdentity(s string) bool {
	return strings.Contains(strings.ToUpper(s), "AGE-SECRET-KEY-") || strings.Contains(strings.ToUpper(s), "AGE-PLUGIN-")
}

// backupTimeSetting is backup.time, HH:MM on a 24-hour clock.
func backupTimeSetting() setting {
	return setting{help: "daily time of the scheduled backup, HH:MM (24-hour, local time)",
		get: func(s *Settings) string { return s.Backup.Time },
		set: func(s *Settings, v string) error {
			v = strings.TrimSpace(v)
			t, err := time.Parse("15:04", v)
			if err != nil {
				if t, err = time.Parse("15:04", "0"+v); err != nil { // 2:30
					return &Error{Code: CodeInvalid, Message: fmt.Sprintf("Enter the time as HH:MM on a 24-hour clock, such as 02:30, not %q.", v)}
				}
			}
			s.Backup.Time = t.Format("15:04")
			return nil
		}}
}
