package core

import (
	"encoding/json"
	"net"
	"os"
	"strings"
)

// MobileClientPolicy is Policy → Mobile Client: settings sent to phones in
// the Policies element of provision and securitystrings responses.
type MobileClientPolicy struct {
	AllowPINEntry         bool   `json:"allow_pin_entry"`
	AllowChooseExtraction bool   `json:"allow_choose_extraction"`
	AllowBrowseStrings    bool   `json:"allow_browse_strings"`
	ProvisionNumeric      bool   `json:"provision_numeric"`
	SyncIndex             bool   `json:"sync_index"`
	SupportEmail          string `json:"support_email"`
	SupportPhone          string `json:"support_phone"`
	VPNURLScheme          string `json:"vpn_url_scheme"`
}

// SelfResetPolicy is Policy → Self-Reset.
type SelfResetPolicy struct {
	AllowSelfProvision bool   `json:"allow_self_provision"`
	LogDeviceInfo      bool   `json:"log_device_info"`
	CodeValidity       int    `json:"code_validity"` // seconds, 10-1,000,000
	QRCodeURL          string `json:"qr_code_url"`
	// MaxProvisionAttempts is how many wrong attempts, from all addresses
	// together, a provision code survives; the next kills it.
	MaxProvisionAttempts int `json:"max_provision_attempts"`
	// SendCodeAsSecurityString sends provision codes over the user's
	// security-string transport instead of their alert transport.
	SendCodeAsSecurityString bool `json:"send_code_as_security_string"`

	// The Provision URL settings. Each is empty by default, which means
	// this server's own address (https://ADVERTISED-HOST:PORT/...); an
	// admin sets them only when phones must reach the server under
	// another name, such as a reverse proxy or a public address.
	//
	// URLProvisioning is where a phone's browser redeems a provision code
	// for a named user (this server: /userportal/provision).
	URLProvisioning string `json:"url_provisioning"`
	// URLGetSettings is where a phone looks up the server settings for a
	// Site ID, which is appended to it (this server:
	// /ssdserver/getServerDetails?id=).
	URLGetSettings string `json:"url_get_settings"`
	// URLComplete is the one link that carries the Site ID and the
	// provision code together, the Provision URL in QR codes and mail
	// (this server: /userportal/provision?siteid=…&username=…&code=…).
	URLComplete string `json:"url_complete"`
}

// Mail security modes for MailSettings.Security.
const (
	MailSecurityNone     = "none"
	MailSecurityStartTLS = "starttls"
	MailSecurityTLS      = "tls"
)

// MailSettings is the SMTP transport.
type MailSettings struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Security string `json:"security"` // none | starttls | tls
	Username string `json:"username"`
	Password string `json:"password"` // never logged
	From     string `json:"from"`
	FromName string `json:"from_name"`
	// TLSFingerprint pins the relay's certificate (smtp.tls_fingerprint):
	// when set, the SHA-256 fingerprint of the one leaf certificate
	// accepted, in place of the check against the trusted authorities and
	// the name, for an office relay with its own certificate. "" trusts
	// the computer's authorities, as usual.
	TLSFingerprint string `json:"tls_fingerprint,omitempty"`
}

// Configured reports whether mail can be sent at all.
func (m MailSettings) Configured() bool { return m.Host != "" && m.From != "" }

// MailTemplate is an editable message. Empty fields mean the built-in
// default of the mail transport.
type MailTemplate struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// Code validity bounds from the Self-Reset policy.
const (
	MinCodeValidity = 10
	MaxCodeValidity = 1_000_000
)

// Settings is all of Provisio's configuration apart from users and agents.
// It is stored as one record and read through an atomic snapshot.
type Settings struct {
	ServerName string `json:"server_name"`
	SiteID     string `json:"site_id"`
	Listen     string `json:"listen"`      // HTTPS listener, host:port
	Advertise  string `json:"advertise"`   // host[:port] phones use; "" = first LAN address
	HTTPListen string `json:"http_listen"` // optional plain HTTP for legacy agents; "" = off
	// MTLSListen is the HTTPS listener that requires a device certificate
	// (#14): security-string downloads of users with mutual
	// authentication go there. "" = off.
	MTLSListen string `json:"mtls_listen"`
	// AdminListen is the HTTPS listener with mutual TLS for remote
	// consoles (#12): the admin API for paired consoles. "" = off.
	AdminListen string `json:"admin_listen"`
	// TLSCert and TLSKey are PEM files (e.g. from the office's CA) served
	// instead of the generated certificate when both are set.
	TLSCert     string `json:"tls_cert,omitempty"`
	TLSKey      string `json:"tls_key,omitempty"`
	MaxFailures int    `json:"max_failures"` // consecutive wrong OTCs before lock
	// LockSeconds is how long the first lock lasts; each further lock in
	// a row lasts twice as long as the one before.
	LockSeconds int `json:"lock_seconds"`
	// MaxLocks is the lock in a row that is permanent: only an
	// administrator lifts it.
	MaxLocks int `json:"max_locks"`
	PINMin   int `json:"pin_min"`
	PINMax   int `json:"pin_max"`

	MobileClient MobileClientPolicy `json:"mobile_client"`
	SelfReset    SelfResetPolicy    `json:"self_reset"`
	Mail         MailSettings       `json:"mail"`
	// ProvisionTemplate is the message that carries a provision code.
	ProvisionTemplate MailTemplate `json:"provision_template"`
	// OATH is the OATH token policy (oath.go).
	OATH OATHPolicy `json:"oath"`

	// SetupDone is set when the console's first-run setup has been
	// finished or skipped; until then the console offers it at start.
	SetupDone bool `json:"setup_done"`

	// Listening is where this process's HTTPS server actually listens
	// (serve --listen may differ from Listen). It is never saved; the
	// Service fills it in, and phones are told its port.
	Listening string `json:"-"`
	// The server's open surface (#9, docs/decisions.md "Hardening the
	// open surface").
	//
	// AllowGet accepts AgentXML and AdminXML as a GET ?xml= parameter,
	// which puts agent secrets and OTCs in URLs that proxies log.
	AllowGet bool `json:"agentxml_allow_get"`
	// QRAnyText lets getQRCode render any text, not only Provision URLs of
	// this server.
	QRAnyText bool `json:"agentxml_qr_any_text"`
	// LogMaxAgeDays and LogMaxMB bound the audit log; the oldest entries
	// are trimmed past either. 0 means no bound.
	LogMaxAgeDays int `json:"log_max_age_days"`
	LogMaxMB      int `json:"log_max_mb"`
	// MinFreeMB is the free space in the data directory below which the
	// server refuses unauthenticated work; 0 turns the check off.
	MinFreeMB int `json:"min_free_mb"`
	// Hardened is set once the agents of a data file saved before #9 have
	// been given their explicit rights (hardenStored).
	Hardened bool `json:"hardened"`

	// Backup is the schedule of backups into a folder (#13, backups.go).
	Backup BackupSettings `json:"backup"`
	// BackupState is the outcome of the last backup into the folder. It
	// is no setting: only the service writes it (recordBackup), and
	// SetSettings keeps the stored value whatever it is given.
	BackupState BackupState `json:"backup_state"`
}

// Defaults of the #9 settings.
const (
	DefaultLogMaxAgeDays = 90
	DefaultLogMaxMB      = 200
	DefaultMinFreeMB     = 100
)

// UnmarshalJSON decodes a settings record over the documented defaults,
// so a record written before a field existed (a lock duration, the OATH
// window, the log bounds) gets that field's default rather than zero,
// while a value that was saved, zero included, is kept.
func (s *Settings) UnmarshalJSON(b []byte) error {
	type plain Settings
	p := plain(DefaultSettings())
	// Only a record that says so has had the one-time #9 upgrade of its
	// agents' rights (hardenStored).
	p.Hardened = false
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Settings(p)
	return nil
}

// DefaultSettings returns the documented defaults.
func DefaultSettings() Settings {
	host, _ := os.Hostname()
	return Settings{
		ServerName:  host,
		SiteID:      defaultSiteID(host),
		Listen:      "0.0.0.0:8443",
		MTLSListen:  "0.0.0.0:9443",
		AdminListen: "0.0.0.0:8444",
		MaxFailures: 5,
		LockSeconds: 300,
		MaxLocks:    5,
		PINMin:      4,
		PINMax:      10,
		SelfReset:   SelfResetPolicy{CodeValidity: 600, MaxProvisionAttempts: 20},
		Mail:        MailSettings{Port: 587, Security: MailSecurityStartTLS, FromName: "Provisio"},
		OATH:        DefaultOATHPolicy(),

		LogMaxAgeDays: DefaultLogMaxAgeDays,
		LogMaxMB:      DefaultLogMaxMB,
		MinFreeMB:     DefaultMinFreeMB,
		Hardened:      true,
		Backup:        BackupSettings{Time: DefaultBackupTime, Keep: DefaultBackupKeep},
	}
}

// fillDefaults replaces zeros that no valid record holds (a lock of 0 s,
// 0 locks, 0 provision attempts) with their defaults: such a record was
// written by a version that did not have the field as a struct value.
func (s *Settings) fillDefaults() {
	d := DefaultSettings()
	if s.LockSeconds == 0 {
		s.LockSeconds = d.LockSeconds
	}
	if s.MaxLocks == 0 {
		s.MaxLocks = d.MaxLocks
	}
	if s.SelfReset.MaxProvisionAttempts == 0 {
		s.SelfReset.MaxProvisionAttempts = d.SelfReset.MaxProvisionAttempts
	}
}

// defaultSiteID derives a Site ID from the host name: lower case letters,
// digits and dashes, so it is easy to read out and type on a phone.
func defaultSiteID(host string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(host) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		}
		if r == '.' {
			break
		}
	}
	if b.Len() == 0 {
		return "provisio"
	}
	return b.String()
}

// ListenPort returns the port phones are told to use: the one
// server.advertise names, else the one the server actually listens on,
// else the server.listen setting's.
func (s Settings) ListenPort() string {
	for _, a := range []string{s.Advertise, s.Listening, s.Listen} {
		if _, port, err := net.SplitHostPort(a); err == nil && port != "" && port != "0" {
			return port
		}
	}
	return "8443"
}

// AdvertiseHost is server.advertise without a port.
func (s Settings) AdvertiseHost() string {
	if host, _, err := net.SplitHostPort(s.Advertise); err == nil {
		return host
	}
	return s.Advertise
}
