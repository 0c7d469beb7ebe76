package core

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// IssuedCode is a provision code just created, with everything a person
// needs to pass it on: Code is the only copy of the plain code and is
// shown or sent once.
type IssuedCode struct {
	User    string
	Code    string
	Expires time.Time
	// Created is the service's clock when the code was made. A console
	// counts Expires − Created down from when it received the code, so
	// its countdown does not depend on its own clock agreeing with the
	// service's (an attached or remote console's may not).
	Created time.Time
	// URL is the Provision URL: the QR code's content and the link in
	// mail.
	URL string
	// Server ("host:port") and SiteID are what a person types into the
	// mobile client instead of scanning; both are "" when the URL is not
	// one the client can read that way.
	Server, SiteID string
	// ReplacesDevice is set when the user has a provisioned device now,
	// which stops working once this code is used.
	ReplacesDevice bool
	// ReplacesApp is the kind (totp, hotp) of the user's confirmed
	// authenticator-app token, which stops working once this code
	// provisions a phone (one token per user); "" for none.
	ReplacesApp string
	// MailID is the outbox message carrying the code, when it was mailed;
	// MailTo is its address. MailHeld says mail is not set up yet, so the
	// message waits in the outbox until it is.
	MailID   uint64
	MailTo   string
	MailHeld bool
}

// describe fills in what IssuedCode derives from its URL and u.
func (ic *IssuedCode) describe(u User) {
	ic.Server, ic.SiteID = "", ""
	if host, port, site, _, _, err := ParseProvisionURL(ic.URL); err == nil {
		ic.Server, ic.SiteID = net.JoinHostPort(host, port), site
	}
	ic.ReplacesDevice = u.Provisioned()
}

// mailed records that m carries ic.
func (ic *IssuedCode) mailed(m OutMessage, set Settings) {
	ic.MailID, ic.MailTo, ic.MailHeld = m.ID, m.To, !set.Mail.Configured()
}

// CreateProvisionCode makes a new provision code for a user, replacing any
// pending one. The current device keeps working until the code is used.
func (s *Service) CreateProvisionCode(name string) (IssuedCode, error) {
	return s.createProvisionCode(name, false, nil, nil)
}

// ErrSelfProvisionOff is RequestProvisionCode's answer while the
// Self-Reset policy does not allow user self-provision.
var ErrSelfProvisionOff = &Error{Code: CodeInvalid, Message: "The Self-Reset policy does not allow user self-provision."}

// RequestProvisionCode creates a provision code at an agent's request (a
// self-service portal or a helpdesk tool: the provisioncode action) and
// queues it to the user's address; the code never goes to the agent, or
// the agent would hold the user's device.
//
// It is the self-service path, so it is gated on the Self-Reset policy's
// "Allow user self-provision": while that is off only an administrator
// makes codes. The gate is checked before the user is looked up, so a
// refused agent learns nothing about who exists. An agent restricted to a
// group may ask only for its members; that check, the code and its message
// are one transaction, so a success means the code is on its way. Every
// refusal is logged with its reason, since the agent's answer is terse.
func (s *Service) RequestProvisionCode(agent Agent, name string) (IssuedCode, error) {
	s = s.As(AgentActor(agent))
	refused := func(user, why string) {
		_ = s.Log(LevelWarn, user, "Provision code request for user %q refused: %s", clean(name), why)
	}
	if !s.Settings().SelfReset.AllowSelfProvision {
		refused("", "the Self-Reset policy does not allow user self-provision.")
		return IssuedCode{}, ErrSelfProvisionOff
	}
	ic, err := s.createProvisionCode(name, true, nil, &agent)
	switch ErrorCode(err) {
	case CodeNotInGroup:
		// Not in the agent's group, or without the mobile right.
		refused(clean(name), ErrorMessage(err))
	case CodeInvalid:
		// Such as a user without an email address.
		refused(clean(name), ErrorMessage(err))
	}
	return ic, err
}

// createProvisionCode makes a code for name, mailed when mail is set, for
// an authenticator app when oath is set. agent, when set, is the agent
// that asked, whose group must admit the user.
func (s *Service) createProvisionCode(name string, mail bool, oath *OATHOptions, agent *Agent) (IssuedCode, error) {
	set := s.Settings()
	var ic IssuedCode
	err := s.update(false, func(tx Tx, log *logger) error {
		u, err := findUser(tx, name)
		if err != nil {
			return err
		}
		if agent != nil && !agent.Admits(u) {
			return Errorf(CodeNotInGroup, "User %q is not in the agent's group %s.", u.Name, agent.Group)
		}
		if u.Disabled {
			return Errorf(CodeDisabled, "User %q is disabled; enable them before reprovisioning.", u.Name)
		}
		if oath == nil && !u.MobileAllowed {
			// The phone would provision and then be refused every
			// security-string download (download.go).
			return Errorf(CodeNotInGroup, "User %q may not use the mobile client; allow it in their account first, or set up an authenticator app, which needs no such right.", u.Name)
		}
		to := ""
		if mail {
			if to, err = provisionDestination(u, set.SelfReset); err != nil {
				return err
			}
		}
		if err := withdrawCodeMail(tx, log, u.Name, ""); err != nil { // the old code dies here
			return err
		}
		ic, err = s.issueCode(tx, log, set, u, to, oath)
		return err
	}, func() []Event {
		issued := ic
		ev := []Event{{Kind: EventCodeCreated, User: ic.User, At: s.clock.Now(), Issued: &issued}}
		if mail {
			ev = append(ev, s.outboxChanged()...)
		}
		return ev
	})
	return ic, err
}

// WithdrawProvisionCode withdraws user name's pending provision code if it
// is code, the one the caller issued and still shows: the code stops
// working and an unsent message carrying it is withdrawn. The console does
// this when the admin turns from the mobile-client Reprovision dialog to
// the authenticator-app set-up, so no code is left pending that nobody
// will use. A code made since (elsewhere), or none, is left alone, and
// withdrawn is false.
func (s *Service) WithdrawProvisionCode(name, code string) (withdrawn bool, err error) {
	var hash string
	err = s.update(false, func(tx Tx, log *logger) error {
		withdrawn = false
		u, err := findUser(tx, name)
		if err != nil {
			return err
		}
		pc, err := tx.ProvisionCode(u.Name)
		if errors.Is(err, ErrNotFound) || err == nil && !s.provisionCodeMatches(pc, u.Name, code) {
			return nil
		} else if err != nil {
			return err
		}
		if err := tx.DeleteProvisionCode(u.Name); err != nil {
			return err
		}
		if err := withdrawCodeMail(tx, log, u.Name, ""); err != nil {
			return err
		}
		withdrawn, hash = true, pc.Hash
		return log.add(LevelInfo, u.Name, "Provision code for user %q withdrawn; it no longer works.", u.Name)
	}, func() []Event {
		if withdrawn {
			// The users list shows pending codes; a withdrawn message
			// changes the outbox (the console refreshes both).
			return append(s.usersChanged(name)(), s.outboxChanged()...)
		}
		return nil
	})
	if withdrawn && err == nil {
		s.provisions.forget(hash) // its wrong attempts no longer matter
	}
	return withdrawn, err
}

// issueCode makes a new provision code for u inside tx, replacing any
// pending one, and queues it to the address to when there is one. Every
// way of making a code (console, CLI, agents, the self-service portal)
// goes through it, so a code is always made, stored and logged alike.
//
// A mobile-client code is all digits when u's effective profile, read in
// tx, says "Provision is numeric": that profile is what the phone is told,
// and a number pad cannot type letters. An authenticator-app (OATH) set-up
// code is always alphanumeric: it travels only inside the set-up link and
// is typed into no app, so it takes the stronger shape.
func (s *Service) issueCode(tx Tx, log *logger, set Settings, u User, to string, oath *OATHOptions) (IssuedCode, error) {
	numeric := false
	if oath == nil {
		prof, _, err := resolveProfile(tx, u)
		if err != nil {
			return IssuedCode{}, err
		}
		numeric = prof.ProvisionNumeric
	}
	code := NewCode(numeric)
	pc := ProvisionCode{Hash: s.storedCodeHash(HashCode(u.Name, code)), Created: log.now,
		Expires: log.now.Add(time.Duration(set.SelfReset.CodeValidity) * time.Second), OATH: oath}
	if err := tx.PutProvisionCode(u.Name, pc); err != nil {
		return IssuedCode{}, err
	}
	ic := IssuedCode{User: u.Name, Code: code, Expires: pc.Expires, Created: pc.Created, URL: s.provisionURL(set, u.Name, code)}
	if oath != nil {
		ic.URL += "&" + OATHURLParam // the page offers the authenticator set-up (oath_provision.go)
	}
	ic.describe(u)
	if oath == nil {
		rec, err := readOATH(tx, u.Name)
		if err != nil {
			return IssuedCode{}, err
		}
		if rec.Active != nil {
			ic.ReplacesApp = rec.Active.Kind
		}
	}
	if err := log.add(LevelInfo, u.Name, "Provision code created for user %q", u.Name); err != nil {
		return IssuedCode{}, err
	}
	if to != "" {
		m := OutMessage{Kind: MailProvision, User: u.Name, FullName: u.FullName, To: to,
			Code: code, URL: ic.URL, Expires: pc.Expires}
		if err := queueMail(tx, log, &m); err != nil {
			return IssuedCode{}, err
		}
		ic.mailed(m, set)
	}
	return ic, log.add(LevelInfo, u.Name, "User %q can now reprovision their mobile device.", u.Name)
}

// ProvisionURL is the link for username and code that goes into QR codes
// and mail, on the "URL complete" base when the policy sets one.
func (s *Service) ProvisionURL(username, code string) string {
	return s.provisionURL(s.Settings(), username, code)
}

func (s *Service) provisionURL(set Settings, username, code string) string {
	if set.SelfReset.URLComplete != "" {
		return ProvisionURLWithBase(set.SelfReset.URLComplete, set.SiteID, username, code)
	}
	return ProvisionURL(s.AdvertisedHost(), set.ListenPort(), set.SiteID, username, code)
}

// AdvertisedHost is the address phones are told to use: the configured
// one, else the first LAN address, else the host name.
func (s *Service) AdvertisedHost() string { return AdvertisedHostOf(s.Settings()) }

// AdvertisedHostOf is Service.AdvertisedHost under set, which need not be
// saved yet: the console checks a certificate against the address it is
// about to apply.
func AdvertisedHostOf(set Settings) string {
	if set.Advertise != "" {
		return set.AdvertiseHost()
	}
	if addrs := LANAddresses(); len(addrs) > 0 {
		return addrs[0].String()
	}
	if set.ServerName != "" {
		return set.ServerName
	}
	return "localhost"
}

// Provisioned is the result of a successful provision.
type Provisioned struct {
	User     string
	DeviceID string
	// Policies are the user's effective provisioning profile.
	Policies ClientPolicies
}

const provisionFailedLog = "User %q provision failed, A valid session could not be loaded or created for the user."

// Reasons of refused provision attempts, counted with Service.Refuse and
// logged once a minute per source: fixed sentences, never the username
// or code a stranger sent.
const (
	refusedProvisionNoCode   = "provision attempt for an unknown user or one without a pending code"
	refusedProvisionExpired  = "provision attempt with an expired code"
	refusedProvisionThrottle = "provision attempt inside the delay after a wrong code"
	refusedProvisionWrong    = "wrong provision code"
	// With the user's stored name, which the administrator acts on.
	refusedProvisionOATH = "provision attempt with the authenticator set-up code of user %q, which still works on its set-up page"
)

// attemptRefusals are the reasons Refuse counts for the attempts on one
// kind of page or action that redeems provision codes.
type attemptRefusals struct{ noCode, expired, throttle, wrong string }

var provisionRefusals = attemptRefusals{refusedProvisionNoCode, refusedProvisionExpired, refusedProvisionThrottle, refusedProvisionWrong}

// admitProvisionAttempt decides on a read, without a write, what a
// stranger's attempt to redeem a provision code may do (the rules of
// Provision, provision_guard.go): it returns the user and their pending
// code when code is right and may be checked now, and otherwise fail
// (or the store's error), having counted the refusal in memory with the
// reason of why. A wrong code counts towards the code's limit; the last
// allowed one kills the code, the one write wrong attempts cause.
func (s *Service) admitProvisionAttempt(source, username, code string, why attemptRefusals, fail error) (User, ProvisionCode, error) {
	now := s.clock.Now()
	var u User
	var pc ProvisionCode
	err := s.store.View(func(tx Tx) error {
		var err error
		if u, err = findUser(tx, username); err != nil {
			return err
		}
		pc, err = tx.ProvisionCode(u.Name)
		return err
	})
	switch {
	case ErrorCode(err) == CodeNotFound:
		s.Refuse(source, why.noCode)
		return u, pc, fail
	case err != nil:
		return u, pc, err
	case !now.Before(pc.Expires):
		s.Refuse(source, why.expired)
		return u, pc, fail
	case !s.provisions.admit(pc, source, now):
		s.Refuse(source, why.throttle)
		return u, pc, fail
	case !s.provisionCodeMatches(pc, u.Name, code):
		s.Refuse(source, why.wrong)
		if s.provisions.wrong(pc, now) < s.Settings().SelfReset.MaxProvisionAttempts {
			return u, pc, fail
		}
		return u, pc, s.killProvisionCode(u.Name, pc, fail)
	}
	return u, pc, nil
}

// Provision redeems a provision code for a new device; source is the
// caller's address. On success the previous device and all its strings
// are revoked.
//
// Every failure is the same CodeProvision, whether the user exists or
// not. A wrong attempt does not burn the code, so that a stranger cannot
// cancel anyone's enrolment: wrong attempts are throttled per code and
// source address with a doubling delay (an attempt inside the delay is
// refused without being checked), and the code dies after the Self-Reset
// policy's MaxProvisionAttempts wrong attempts in all, or at expiry
// (provision_guard.go). Attempts that fail are counted in memory
// (Refuse), not written one by one; the write that kills a code after the
// last wrong attempt is the only one. bbolt's single writer means exactly
// one of several concurrent attempts with a valid code can win.
func (s *Service) Provision(source, username, code, deviceOS string) (Provisioned, error) {
	s = s.As(PhoneActor(source))
	set := s.Settings()
	fail := Errorf(CodeProvision, "Provision failed: the code is wrong, used or expired, or there is no such user.")

	// Everything a stranger can try is decided on a read, without a write.
	u, pc, err := s.admitProvisionAttempt(source, username, code, provisionRefusals, fail)
	if err != nil {
		return Provisioned{}, err
	}
	if pc.OATH != nil {
		// Right, but made for an authenticator app: it stays for the
		// set-up page. Counted, not written: the code is not spent, so a
		// line each would let its holder write one per request for as
		// long as the code lives.
		s.Refuse(source, fmt.Sprintf(refusedProvisionOATH, u.Name))
		s.provisions.forget(pc.Hash)
		return Provisioned{}, fail
	}

	// The code is right: redeem it, checking again inside the write.
	var res Provisioned
	var failReason string
	err = s.update(true, func(tx Tx, log *logger) error {
		res, failReason = Provisioned{}, ""
		u, err := findUser(tx, username)
		if err != nil {
			return err
		}
		cur, err := tx.ProvisionCode(u.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			failReason = "the provision code was used meanwhile"
		case err != nil:
			return err
		case cur.Hash != pc.Hash || !s.provisionCodeMatches(cur, u.Name, code):
			failReason = "the provision code was replaced meanwhile"
		case !log.now.Before(cur.Expires):
			failReason = "the provision code has expired"
		case cur.OATH != nil:
			// Refused before the write (above); this is the same code
			// read again, so it cannot be reached, but if it were, the
			// code stays for the OATH set-up page.
			failReason = "the provision code sets up an authenticator app (OATH), not the mobile client"
		case u.Disabled:
			failReason = "the user is disabled"
		}
		if failReason == "" || failReason == "the user is disabled" {
			// The code was right: it is spent, also for a disabled user,
			// whom an administrator enables and reprovisions.
			if err := tx.DeleteProvisionCode(u.Name); err != nil {
				return err
			}
			if err := withdrawCodeMail(tx, log, u.Name, ""); err != nil { // redeemed
				return err
			}
		}
		if failReason != "" {
			return log.add(LevelWarn, u.Name, provisionFailedLog+" (%s)", u.Name, failReason)
		}
		// One token per user: the phone ends an authenticator app's
		// token too, which the line below says.
		rec, err := readOATH(tx, u.Name)
		if err != nil {
			return err
		}
		if rec.Active != nil || rec.Pending != nil {
			s.oath.dirty.Store(true) // its secret is scrubbed from the file
		}
		if err := revokeDevice(tx, u); err != nil {
			return err
		}
		u.DeviceID, u.DeviceOS, u.ProvisionedAt = NewDeviceID(), clean(deviceOS), log.now
		u.DeviceCert = nil // the old device's certificate dies with it (#14)
		if err := tx.PutDevice(u.DeviceID, u.Name); err != nil {
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		prof, _, err := resolveProfile(tx, u)
		if err != nil {
			return err
		}
		res = Provisioned{User: u.Name, DeviceID: u.DeviceID, Policies: prof.ClientPolicies}
		if set.SelfReset.LogDeviceInfo && u.DeviceOS != "" {
			if err := log.add(LevelInfo, u.Name, "User %q provisioned a device: %s", u.Name, u.DeviceOS); err != nil {
				return err
			}
		}
		switch {
		case rec.Active != nil:
			return log.add(LevelInfo, u.Name, "User %q provisioned successfully; their authenticator app (%s) was revoked.",
				u.Name, strings.ToUpper(rec.Active.Kind))
		case rec.Pending != nil:
			return log.add(LevelInfo, u.Name, "User %q provisioned successfully; their authenticator app (%s) waiting for confirmation was withdrawn.",
				u.Name, strings.ToUpper(rec.Pending.Kind))
		}
		return log.add(LevelInfo, u.Name, "User %q provisioned successfully", u.Name)
	}, func() []Event {
		if res.DeviceID != "" {
			return []Event{{Kind: EventProvisioned, User: res.User, DeviceOS: clean(deviceOS), At: s.clock.Now()}}
		}
		return []Event{{Kind: EventProvisionFailed, User: u.Name, Reason: failReason, At: s.clock.Now()}}
	})
	if ErrorCode(err) == CodeNotFound {
		return Provisioned{}, fail
	} else if err != nil {
		return Provisioned{}, err
	}
	s.provisions.forget(pc.Hash)
	if failReason != "" {
		return Provisioned{}, fail
	}
	return res, nil
}

// killProvisionCode deletes the pending code pc of user after its last
// allowed wrong attempt, unless it was replaced meanwhile, and returns
// fail. This is the one write wrong attempts cause, once per code.
func (s *Service) killProvisionCode(user string, pc ProvisionCode, fail error) error {
	set := s.Settings()
	killed := false
	err := s.update(false, func(tx Tx, log *logger) error {
		killed = false
		cur, err := tx.ProvisionCode(user)
		if errors.Is(err, ErrNotFound) || err == nil && cur.Hash != pc.Hash {
			return nil
		} else if err != nil {
			return err
		}
		if err := tx.DeleteProvisionCode(user); err != nil {
			return err
		}
		if err := withdrawCodeMail(tx, log, user, ""); err != nil { // burned by wrong attempts
			return err
		}
		killed = true
		return log.add(LevelWarn, user, provisionFailedLog+" (the provision code stopped working after %d wrong attempts; make a new one)", user, set.SelfReset.MaxProvisionAttempts)
	}, func() []Event {
		if killed {
			return []Event{{Kind: EventProvisionFailed, User: user, At: s.clock.Now(),
				Reason: fmt.Sprintf("the provision code stopped working after %d wrong attempts", set.SelfReset.MaxProvisionAttempts)}}
		}
		return nil
	})
	s.provisions.forget(pc.Hash)
	if err != nil {
		return err
	}
	return fail
}

// clean makes outside text safe for one log line.
func clean(s string) string {
	if len(s) > 128 {
		s = s[:128]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
