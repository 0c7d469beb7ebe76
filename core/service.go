package core

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Service applies Provisio's rules to the Store. The AgentXML server, the
// console and the CLI all go through it, so every change is validated,
// committed and written to the audit log in the same transaction.
type Service struct {
	store Store
	clock Clock
	bus   Bus

	// config is a snapshot of settings and agents, replaced on every
	// change, so the hot path reads configuration without a transaction.
	config atomic.Pointer[Config]

	// sessions are the agent API's sessionstart ids (api_sessions.go).
	sessions sessionTable
}

// Config is a read-only snapshot of settings and agents.
type Config struct {
	Settings Settings
	Agents   []Agent
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (tests use a fake one).
func WithClock(c Clock) Option { return func(s *Service) { s.clock = c } }

// NewService loads configuration from st, writing defaults on first use.
func NewService(st Store, opts ...Option) (*Service, error) {
	s := &Service{store: st, clock: systemClock{}}
	for _, o := range opts {
		o(s)
	}
	err := st.Update(func(tx Tx) error {
		set, err := tx.Settings()
		if errors.Is(err, ErrNotFound) {
			set = DefaultSettings()
			if err := tx.PutSettings(set); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		agents, err := tx.Agents()
		if err != nil {
			return err
		}
		s.config.Store(&Config{Settings: set, Agents: agents})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load configuration: %w", err)
	}
	return s, nil
}

// Events returns the bus on which committed changes are announced.
func (s *Service) Events() *Bus { return &s.bus }

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.clock.Now() }

// Config returns the current configuration snapshot.
func (s *Service) Config() Config { return *s.config.Load() }

// Settings returns the current settings.
func (s *Service) Settings() Settings { return s.config.Load().Settings }

// logger collects audit entries during a transaction and publishes them
// once it has committed.
type logger struct {
	tx      Tx
	now     time.Time
	entries []LogEntry
}

func (l *logger) add(level Level, user, format string, args ...any) error {
	e, err := l.tx.AppendLog(LogEntry{Time: l.now, Level: level, User: user, Message: fmt.Sprintf(format, args...)})
	if err != nil {
		return err
	}
	l.entries = append(l.entries, e)
	return nil
}

// update runs fn in a write transaction with a logger. It resets state that
// fn fills in, because Batch may run fn twice, and publishes the log events
// and extra events only after the commit.
func (s *Service) update(batch bool, fn func(tx Tx, log *logger) error, events ...func() []Event) error {
	var l *logger
	run := func(tx Tx) error {
		l = &logger{tx: tx, now: s.clock.Now()}
		return fn(tx, l)
	}
	var err error
	if batch {
		err = s.store.Batch(run)
	} else {
		err = s.store.Update(run)
	}
	if err != nil {
		return err
	}
	for _, e := range l.entries {
		s.bus.Publish(Event{Kind: EventLog, User: e.User, At: e.Time, Log: e})
	}
	for _, f := range events {
		for _, e := range f() {
			s.bus.Publish(e)
		}
	}
	return nil
}

// Log writes one entry to the audit log (for events outside a change, such
// as a refused agent).
func (s *Service) Log(level Level, user, format string, args ...any) error {
	return s.update(true, func(tx Tx, log *logger) error {
		return log.add(level, user, format, args...)
	})
}

// Logs returns up to limit log entries after sequence number after.
func (s *Service) Logs(after uint64, limit int) ([]LogEntry, error) {
	var out []LogEntry
	err := s.store.View(func(tx Tx) (err error) {
		out, err = tx.Logs(after, limit)
		return err
	})
	return out, err
}

// LogTail returns the newest limit log entries, oldest first.
func (s *Service) LogTail(limit int) ([]LogEntry, error) {
	var out []LogEntry
	err := s.store.View(func(tx Tx) (err error) {
		out, err = tx.LogTail(limit)
		return err
	})
	return out, err
}

// ---- users ----

// User returns one user by name (any case).
func (s *Service) User(name string) (User, error) {
	var u User
	err := s.store.View(func(tx Tx) (err error) {
		u, err = tx.User(name)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return User{}, Errorf(CodeNotFound, "There is no user %q.", name)
	}
	return u, err
}

// Users returns all users sorted by name, except users deleted through
// the admin API (DeletedUsers lists those).
func (s *Service) Users() ([]User, error) {
	var out []User
	err := s.store.View(func(tx Tx) error {
		return tx.Users(func(u User) bool {
			if !u.Deleted {
				out = append(out, u)
			}
			return true
		})
	})
	return out, err
}

// PendingCodes returns the usernames with an unexpired provision code and
// when each code expires.
func (s *Service) PendingCodes() (map[string]time.Time, error) {
	now := s.clock.Now()
	out := map[string]time.Time{}
	err := s.store.View(func(tx Tx) error {
		return tx.ProvisionCodes(func(user string, c ProvisionCode) bool {
			if now.Before(c.Expires) {
				out[user] = c.Expires
			}
			return true
		})
	})
	return out, err
}

// AddUser validates and creates a user. New users may use the mobile
// client unless the caller says otherwise.
func (s *Service) AddUser(u User) (User, error) {
	set := s.Settings()
	if err := ValidateUser(&u, set.PINMin, set.PINMax); err != nil {
		return User{}, err
	}
	u.Created = s.clock.Now()
	u.DeviceID, u.DeviceOS, u.ProvisionedAt = "", "", time.Time{}
	err := s.update(false, func(tx Tx, log *logger) error {
		// A user deleted through the admin API only awaits purging: a new
		// local user of that name replaces the record.
		if old, err := tx.User(u.Name); err == nil && !old.Deleted {
			return Errorf(CodeConflict, "A user called %q already exists.", u.Name)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "User %q added.", u.Name)
	}, s.usersChanged(u.Name))
	return u, err
}

func (s *Service) usersChanged(name string) func() []Event {
	return func() []Event { return []Event{{Kind: EventUsersChanged, User: name, At: s.clock.Now()}} }
}

// UpdateUser applies edit to the stored user and saves it if it validates.
// The device, creation time and name key cannot be changed this way.
func (s *Service) UpdateUser(name string, edit func(*User) error) (User, error) {
	set := s.Settings()
	var out User
	err := s.update(false, func(tx Tx, log *logger) error {
		old, err := tx.User(name)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "There is no user %q.", name)
		} else if err != nil {
			return err
		}
		u := old
		if err := edit(&u); err != nil {
			return err
		}
		if err := ValidateUser(&u, set.PINMin, set.PINMax); err != nil {
			return err
		}
		if Key(u.Name) != Key(old.Name) {
			return FieldError("name", "A username cannot be changed; add a new user instead.")
		}
		u.Created, u.DeviceID, u.DeviceOS, u.ProvisionedAt = old.Created, old.DeviceID, old.DeviceOS, old.ProvisionedAt
		if old.Locked && !u.Locked {
			u.Failures = 0
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		out = u
		return log.add(LevelInfo, u.Name, "User %q changed: %s.", u.Name, describeChanges(old, u))
	}, s.usersChanged(name))
	return out, err
}

// describeChanges lists changed field names, never their secret values.
func describeChanges(a, b User) string {
	var ch []string
	add := func(cond bool, name string) {
		if cond {
			ch = append(ch, name)
		}
	}
	add(a.FullName != b.FullName, "full name")
	add(a.Email != b.Email, "email")
	add(a.Mobile != b.Mobile, "mobile")
	add(a.Group != b.Group, "group")
	add(a.MobileAllowed != b.MobileAllowed, "mobile right "+yesNo(b.MobileAllowed))
	add(a.PIN != b.PIN, "PIN")
	add(a.Locked != b.Locked, map[bool]string{true: "locked", false: "unlocked"}[b.Locked])
	add(a.Disabled != b.Disabled, map[bool]string{true: "disabled", false: "enabled"}[b.Disabled])
	if len(ch) == 0 {
		return "nothing"
	}
	return strings.Join(ch, ", ")
}

// DeleteUser removes a user with their device, strings and pending code.
func (s *Service) DeleteUser(name string) error {
	return s.update(false, func(tx Tx, log *logger) error {
		u, err := tx.User(name)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "There is no user %q.", name)
		} else if err != nil {
			return err
		}
		if err := revokeDevice(tx, u); err != nil {
			return err
		}
		if err := tx.DeleteProvisionCode(u.Name); err != nil {
			return err
		}
		if err := tx.DeleteUser(u.Name); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "User %q deleted.", u.Name)
	}, s.usersChanged(name))
}

func revokeDevice(tx Tx, u User) error {
	if u.DeviceID != "" {
		if err := tx.DeleteDevice(u.DeviceID); err != nil {
			return err
		}
	}
	return tx.DeleteStrings(u.Name)
}

// ---- provisioning ----

// IssuedCode is a provision code just created; Code is the only copy of
// the plain code and is shown or sent once.
type IssuedCode struct {
	User    string
	Code    string
	Expires time.Time
	URL     string
	// MailID is the outbox message carrying the code, when it was mailed.
	MailID uint64
}

// CreateProvisionCode makes a new provision code for a user, replacing any
// pending one. The current device keeps working until the code is used.
func (s *Service) CreateProvisionCode(name string) (IssuedCode, error) {
	return s.createProvisionCode(name, false)
}

func (s *Service) createProvisionCode(name string, mail bool) (IssuedCode, error) {
	set := s.Settings()
	var ic IssuedCode
	err := s.update(false, func(tx Tx, log *logger) error {
		u, err := tx.User(name)
		if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
			return Errorf(CodeNotFound, "There is no user %q.", name)
		} else if err != nil {
			return err
		}
		if u.Disabled {
			return Errorf(CodeDisabled, "User %q is disabled; enable them before reprovisioning.", u.Name)
		}
		to := ""
		if mail {
			if to, err = provisionDestination(u, set.SelfReset); err != nil {
				return err
			}
		}
		code := NewCode(set.MobileClient.ProvisionNumeric)
		pc := ProvisionCode{Hash: HashCode(u.Name, code), Created: log.now,
			Expires: log.now.Add(time.Duration(set.SelfReset.CodeValidity) * time.Second)}
		if err := tx.PutProvisionCode(u.Name, pc); err != nil {
			return err
		}
		ic = IssuedCode{User: u.Name, Code: code, Expires: pc.Expires,
			URL: s.provisionURL(set, u.Name, code)}
		if err := log.add(LevelInfo, u.Name, "Provision code created for user %q", u.Name); err != nil {
			return err
		}
		if mail {
			m := OutMessage{Kind: MailProvision, User: u.Name, FullName: u.FullName, To: to,
				Code: code, URL: ic.URL, Expires: pc.Expires}
			if err := queueMail(tx, log, &m); err != nil {
				return err
			}
			ic.MailID = m.ID
		}
		return log.add(LevelInfo, u.Name, "User %q can now reprovision their mobile device.", u.Name)
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
func (s *Service) AdvertisedHost() string {
	set := s.Settings()
	if set.Advertise != "" {
		return set.Advertise
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
	Policies MobileClientPolicy
}

const provisionFailedLog = "User %q provision failed, A valid session could not be loaded or created for the user."

// Provision redeems a provision code for a new device. A wrong or late
// attempt burns the code, and bbolt's single writer means exactly one of
// several concurrent attempts with a valid code can win. On success the
// previous device and all its strings are revoked.
func (s *Service) Provision(username, code, deviceOS string) (Provisioned, error) {
	set := s.Settings()
	var res Provisioned
	var failReason string
	err := s.update(true, func(tx Tx, log *logger) error {
		res, failReason = Provisioned{}, ""
		u, err := tx.User(username)
		if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
			if err := log.add(LevelWarn, "", "Mobile request from unknown user; the user needs to reprovision"); err != nil {
				return err
			}
			if err := log.add(LevelWarn, "", "AgentXML request failed, error: No suitable authentication method for the user %q was found. The user may be missing from the user repository or a synchronisation has not yet occurred.", clean(username)); err != nil {
				return err
			}
			failReason = "unknown user"
			return nil
		} else if err != nil {
			return err
		}
		pc, err := tx.ProvisionCode(u.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			failReason = "no provision code is pending"
		case err != nil:
			return err
		case !log.now.Before(pc.Expires):
			failReason = "the provision code has expired"
		case !pc.Matches(u.Name, code):
			failReason = "the provision code is wrong"
		case u.Disabled:
			failReason = "the user is disabled"
		}
		// Any attempt spends the code: one guess per code.
		if err := tx.DeleteProvisionCode(u.Name); err != nil {
			return err
		}
		if failReason != "" {
			return log.add(LevelWarn, u.Name, provisionFailedLog, u.Name)
		}
		if err := revokeDevice(tx, u); err != nil {
			return err
		}
		u.DeviceID, u.DeviceOS, u.ProvisionedAt = NewDeviceID(), clean(deviceOS), log.now
		if err := tx.PutDevice(u.DeviceID, u.Name); err != nil {
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		res = Provisioned{User: u.Name, DeviceID: u.DeviceID, Policies: set.MobileClient}
		if set.SelfReset.LogDeviceInfo && u.DeviceOS != "" {
			if err := log.add(LevelInfo, u.Name, "User %q provisioned a device: %s", u.Name, u.DeviceOS); err != nil {
				return err
			}
		}
		return log.add(LevelInfo, u.Name, "User %q provisioned successfully", u.Name)
	}, func() []Event {
		if res.DeviceID != "" {
			return []Event{{Kind: EventProvisioned, User: res.User, DeviceOS: clean(deviceOS), At: s.clock.Now()}}
		}
		return []Event{{Kind: EventProvisionFailed, User: username, Reason: failReason, At: s.clock.Now()}}
	})
	if err != nil {
		return Provisioned{}, err
	}
	switch {
	case failReason == "unknown user":
		return Provisioned{}, Errorf(CodeNotFound, "There is no user %q.", username)
	case failReason != "":
		return Provisioned{}, Errorf(CodeProvision, "Provision failed: %s.", failReason)
	}
	return res, nil
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

// Download is a fresh set of security strings for a device.
type Download struct {
	User     string
	Strings  string // 100 strings joined by ';'
	Policies MobileClientPolicy
}

// SecurityStrings replaces the strings of the user owning deviceID with 100
// new ones and returns them.
func (s *Service) SecurityStrings(deviceID string) (Download, error) {
	set := s.Settings()
	// Made before the transaction so the single writer is held no longer
	// than the write itself takes.
	ss := NewStringSet()
	var d Download
	var fail error
	err := s.update(true, func(tx Tx, log *logger) error {
		d, fail = Download{}, nil
		name, err := tx.DeviceUser(deviceID)
		if errors.Is(err, ErrNotFound) {
			fail = Errorf(CodeSession, "This device is not provisioned; the user needs to reprovision.")
			return log.add(LevelWarn, "", "Mobile request from unknown user; the user needs to reprovision")
		} else if err != nil {
			return err
		}
		u, err := tx.User(name)
		if err != nil || !equalConstantTime(u.DeviceID, deviceID) {
			fail = Errorf(CodeSession, "This device is not provisioned; the user needs to reprovision.")
			return log.add(LevelWarn, name, "Mobile request from unknown user; the user needs to reprovision")
		}
		switch {
		case u.Disabled:
			fail = Errorf(CodeDisabled, "User %q is disabled.", u.Name)
		case u.Locked:
			fail = Errorf(CodeLocked, "User %q is locked.", u.Name)
		case !u.MobileAllowed:
			fail = Errorf(CodeNotInGroup, "User %q may not use the mobile client.", u.Name)
		}
		if fail != nil {
			return log.add(LevelWarn, u.Name, "Security strings refused for user: %s, error: %s", u.Name, ErrorMessage(fail))
		}
		if err := tx.PutStrings(u.Name, &ss); err != nil {
			return err
		}
		d = Download{User: u.Name, Strings: ss.Joined(), Policies: set.MobileClient}
		return log.add(LevelInfo, u.Name, "Security strings fetched for user: %s", u.Name)
	})
	if err != nil {
		return Download{}, err
	}
	if fail != nil {
		return Download{}, fail
	}
	return d, nil
}

// TokenIndex returns the next unused string index of a user.
func (s *Service) TokenIndex(username string) (int, error) {
	next := 0
	err := s.update(true, func(tx Tx, log *logger) error {
		u, err := tx.User(username)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "There is no user %q.", username)
		} else if err != nil {
			return err
		}
		ss, err := tx.Strings(u.Name)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNoStrings, "User %q has no security strings.", u.Name)
		} else if err != nil {
			return err
		}
		next = ss.Next
		return log.add(LevelInfo, u.Name, "Token index request for user: %s", u.Name)
	})
	return next, err
}

// Exists reports whether a user exists.
func (s *Service) Exists(username string) (bool, error) {
	_, err := s.User(username)
	if ErrorCode(err) == CodeNotFound {
		return false, nil
	}
	return err == nil, err
}

// Login checks a mobile one-time code: the OTC extracted from string
// `index` with the user's PIN, followed by the index.
//
// To keep an attacker from learning which usernames exist or are locked,
// an unknown user, a locked or disabled user and a wrong code all fail the
// same way (CodeWrongOTC); the audit log says which it was. A locked or
// disabled user who presents a correct code is told why, since only the
// real user can do that.
func (s *Service) Login(agent Agent, username, otc string) error {
	set := s.Settings()
	var fail error
	var locked bool
	err := s.update(true, func(tx Tx, log *logger) error {
		fail, locked = nil, false
		logFail := func(why string) error {
			return log.add(LevelWarn, clean(username), "Login failed for user: %s, error: %s", clean(username), why)
		}
		if strings.TrimSpace(otc) == "" {
			fail = Errorf(CodeNoOTC, "No one-time code was given.")
			return logFail("no one-time code")
		}
		code, index, ok := ParseMobileOTC(otc, set.PINMin, set.PINMax)
		if !ok {
			fail = Errorf(CodeBadOTC, "The one-time code is not of the expected form.")
			return logFail("malformed one-time code")
		}
		u, err := tx.User(username)
		if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
			fail = Errorf(CodeWrongOTC, "Login failed.")
			return logFail("no such user")
		} else if err != nil {
			return err
		}
		if !agent.Admits(u) {
			fail = Errorf(CodeNotInGroup, "User %q is not in the agent's group.", u.Name)
			return logFail("not in the agent's group " + agent.Group)
		}
		if !agent.AllowsMode(AgentModeMobile) {
			fail = Errorf(CodeAgentAccess, "Agent %q is not set up for mobile client authentication.", agent.Name)
			return logFail(fmt.Sprintf("agent %q does not allow mobile client authentication", agent.Name))
		}
		if u.PIN == "" {
			fail = Errorf(CodeNoPIN, "User %q has no PIN.", u.Name)
			return logFail("the user has no PIN")
		}
		ss, err := tx.Strings(u.Name)
		if errors.Is(err, ErrNotFound) {
			fail = Errorf(CodeNoStrings, "User %q has no security strings.", u.Name)
			return logFail("the user has no security strings")
		} else if err != nil {
			return err
		}
		right := index >= ss.Next && index < StringsPerDownload && len(code) == len(u.PIN) &&
			equalConstantTime(ExtractOTC(ss.S[index], u.PIN), code)
		if right {
			// The index is spent whatever happens next.
			ss.Next = index + 1
			if err := tx.PutStrings(u.Name, &ss); err != nil {
				return err
			}
		}
		switch {
		case u.Disabled:
			fail = Errorf(CodeWrongOTC, "Login failed.")
			if right {
				fail = Errorf(CodeDisabled, "User %q is disabled.", u.Name)
			}
			return logFail("the user is disabled")
		case u.Locked:
			fail = Errorf(CodeWrongOTC, "Login failed.")
			if right {
				fail = Errorf(CodeLocked, "User %q is locked.", u.Name)
			}
			return logFail("the user is locked")
		case !right:
			u.Failures++
			reason := "wrong one-time code"
			if index < ss.Next {
				reason = "string index already used"
			}
			fail = Errorf(CodeWrongOTC, "Login failed.")
			if u.Failures >= set.MaxFailures {
				u.Locked, locked = true, true
				reason += fmt.Sprintf("; locked after %d failures in a row", u.Failures)
			}
			if err := tx.PutUser(u); err != nil {
				return err
			}
			return logFail(reason)
		}
		u.Failures, u.LastLogin = 0, log.now
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "Login successful for user: %s.", u.Name)
	}, func() []Event {
		if locked {
			return []Event{{Kind: EventUsersChanged, User: username, At: s.clock.Now()}}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return fail
}

// ---- settings and agents ----

// SetSettings validates and saves a whole settings record. It takes effect
// on the next request.
func (s *Service) SetSettings(set Settings, what string) error {
	if err := set.Validate(); err != nil {
		return err
	}
	err := s.update(false, func(tx Tx, log *logger) error {
		if err := tx.PutSettings(set); err != nil {
			return err
		}
		return log.add(LevelInfo, "", "%s saved.", what)
	})
	if err != nil {
		return err
	}
	// The snapshot changes only once the commit has succeeded.
	cfg := *s.config.Load()
	cfg.Settings = set
	s.config.Store(&cfg)
	s.bus.Publish(Event{Kind: EventConfigChanged, At: s.clock.Now()})
	return nil
}

// SetSetting changes one dotted key.
func (s *Service) SetSetting(key, value string) error {
	set := s.Settings()
	if err := set.Set(key, value); err != nil {
		return err
	}
	return s.SetSettings(set, "Setting "+key)
}

// Agents returns the configured agents sorted by name.
func (s *Service) Agents() []Agent { return s.Config().Agents }

// PutAgent adds or replaces an agent.
func (s *Service) PutAgent(a Agent) error {
	if err := ValidateAgent(&a); err != nil {
		return err
	}
	return s.changeAgents(func(tx Tx, log *logger) error {
		if err := tx.PutAgent(a); err != nil {
			return err
		}
		return log.add(LevelInfo, "", "Agent %q saved (host %s, group %s).", a.Name, a.Host, a.Group)
	})
}

// DeleteAgent removes an agent.
func (s *Service) DeleteAgent(name string) error {
	return s.changeAgents(func(tx Tx, log *logger) error {
		if _, err := tx.Agent(name); errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "There is no agent %q.", name)
		} else if err != nil {
			return err
		}
		if err := tx.DeleteAgent(name); err != nil {
			return err
		}
		return log.add(LevelInfo, "", "Agent %q deleted.", name)
	})
}

func (s *Service) changeAgents(fn func(Tx, *logger) error) error {
	var agents []Agent
	err := s.update(false, func(tx Tx, log *logger) error {
		if err := fn(tx, log); err != nil {
			return err
		}
		var err error
		agents, err = tx.Agents()
		return err
	})
	if err != nil {
		return err
	}
	sort.Slice(agents, func(i, j int) bool { return agents[i].Name < agents[j].Name })
	cfg := *s.config.Load()
	cfg.Agents = agents
	s.config.Store(&cfg)
	s.bus.Publish(Event{Kind: EventConfigChanged, At: s.clock.Now()})
	return nil
}

// AuthorizeAgent returns the agent that accepts addr and secret.
func (s *Service) AuthorizeAgent(addr netip.Addr, secret string) (Agent, bool) {
	for _, a := range s.config.Load().Agents {
		if a.Allows(addr, secret) {
			return a, true
		}
	}
	return Agent{}, false
}
