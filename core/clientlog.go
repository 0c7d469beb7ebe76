package core

import (
	"errors"
	"strings"
	"sync"
	"time"
)

// Client diagnostic logs (#14, docs/decisions.md "Client diagnostic logs
// (#14)"). With client logging on in a user's effective provisioning
// profile, the user's phone may upload a diagnostic log of its own; the
// console shows it under the user. The upload is authorised by the
// device Id (and, for a mutual-auth user, the device certificate), the
// same proof a security-string download needs. Everything that refuses an
// upload does so on a read, counted in memory, so a stranger cannot make
// the server write; and the answer is the same whether the device is
// unknown or the user's logging is off.

// Bounds of client logs.
const (
	// MaxClientLogUpload is the largest log one upload may carry, in
	// bytes of text. It fits an AgentXML request (64 KiB bodies) with
	// room for the envelope and escaping.
	MaxClientLogUpload = 32 << 10
	// MaxClientLogKept is how much log text is kept per user: the newest
	// uploads, the oldest dropped first.
	MaxClientLogKept = 256 << 10
	// ClientLogUploadsPerHour bounds the uploads of one user, counted in
	// memory: a person taps "Send" a few times at most.
	ClientLogUploadsPerHour = 6
)

// ClientLogEntry is one uploaded diagnostic log.
type ClientLogEntry struct {
	Time time.Time `json:"time"` // when the server received it
	// Text is the log, control characters removed. The store seals it
	// at rest, bound to the user (core/store).
	Text string `json:"text"`
}

// Size is the length of the log in bytes.
func (e ClientLogEntry) Size() int { return len(e.Text) }

// ClientLog is a user's uploaded logs, oldest first.
type ClientLog struct {
	Entries []ClientLogEntry `json:"entries"`
}

// ErrClientLogRefused is the one answer to an upload from a device that
// may not send one: unknown or replaced, its user deleted or disabled,
// client logging off in the user's profile, or a mutual-auth user without
// the device certificate. It is the same for all of them, so it tells a
// stranger nothing about an account.
var ErrClientLogRefused = &Error{Code: CodeInvalid, Message: "This server does not accept a diagnostic log from this device: client logging is off in its profile, or the device is not set up for an account."}

// ErrClientLogTooOften refuses an upload over ClientLogUploadsPerHour.
var ErrClientLogTooOften = &Error{Code: CodeInvalid, Message: "This device has sent several diagnostic logs in the last hour; try again later."}

// refusedClientLog is the Refuse reason of a refused upload.
const refusedClientLog = "diagnostic log upload from a device that may not send one"

// clientLogLimit counts uploads per user in the last hour, in memory.
type clientLogLimit struct {
	mu sync.Mutex
	m  map[string][]time.Time
}

// allow records an upload for user at now and reports whether it is
// within ClientLogUploadsPerHour.
func (l *clientLogLimit) allow(user string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string][]time.Time{}
	}
	k := Key(user)
	kept := l.m[k][:0]
	for _, t := range l.m[k] {
		if now.Sub(t) < time.Hour {
			kept = append(kept, t)
		}
	}
	if len(kept) >= ClientLogUploadsPerHour {
		l.m[k] = kept
		return false
	}
	l.m[k] = append(kept, now)
	// Only authorised devices get here, so the map is bounded by the
	// users; drop the idle ones now and then all the same.
	if len(l.m) > 10_000 {
		for u, ts := range l.m {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= time.Hour {
				delete(l.m, u)
			}
		}
	}
	return true
}

// CleanClientLog returns text fit to store and show: valid UTF-8, line
// ends as LF, and no control characters other than tab and newline (nor
// the Unicode bidirectional overrides, which can make a line read
// differently from what it holds).
func CleanClientLog(text string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch {
		case r == '\n' || r == '\t':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			continue
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
			continue
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// clientLogAllowed reports whether deviceID may upload a log now, and
// whose it is: the device is a user's current one, the user is neither
// deleted nor disabled, their effective profile has client logging on,
// and with mutual authentication certSerial is their device's certificate.
func (s *Service) clientLogAllowed(tx Tx, deviceID, certSerial string) (User, bool, error) {
	if deviceID == "" {
		return User{}, false, nil
	}
	name, err := tx.DeviceUser(deviceID)
	if errors.Is(err, ErrNotFound) {
		return User{}, false, nil
	} else if err != nil {
		return User{}, false, err
	}
	u, err := tx.User(name)
	if errors.Is(err, ErrNotFound) {
		return User{}, false, nil
	} else if err != nil {
		return User{}, false, err
	}
	if u.Deleted || u.Disabled || !s.secretMatches(SecretDevice, u.DeviceID, deviceID) {
		return User{}, false, nil
	}
	prof, _, err := resolveProfile(tx, u)
	if err != nil {
		return User{}, false, err
	}
	if !prof.Logging || prof.MutualAuth && !u.DeviceCert.valid(u, certSerial) {
		return User{}, false, nil
	}
	return u, true, nil
}

// UploadClientLog stores a diagnostic log sent by the device deviceID
// from source (an IP address, for the refusal counts) and returns its
// size as stored. certSerial is the serial of the verified device
// certificate the client presented, "" for none. A refusal costs no
// write: it is counted with Refuse and answered with
// ErrClientLogRefused. The log is kept with the user's earlier ones, at
// most MaxClientLogKept bytes in all, the oldest dropped first; the audit
// log says who sent how much, never what.
func (s *Service) UploadClientLog(source, deviceID, certSerial, text string) (int, error) {
	s = s.As(PhoneActor(source))
	// Bounds first, before anything is looked up, so that their answers
	// say nothing about the device.
	if len(text) > MaxClientLogUpload {
		return 0, Errorf(CodeInvalid, "The log is larger than %d KiB; send the newest %d KiB of it.", MaxClientLogUpload>>10, MaxClientLogUpload>>10)
	}
	text = CleanClientLog(text)
	if text == "" {
		return 0, Errorf(CodeInvalid, "The log is empty.")
	}
	var user string
	err := s.store.View(func(tx Tx) error {
		u, ok, err := s.clientLogAllowed(tx, deviceID, certSerial)
		if ok {
			user = u.Name
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	if user == "" {
		s.Refuse(source, refusedClientLog)
		return 0, ErrClientLogRefused
	}
	if !s.clientLogs.allow(user, s.clock.Now()) {
		s.Refuse(source, "diagnostic log uploads over the per-user limit")
		return 0, ErrClientLogTooOften
	}
	err = s.update(false, func(tx Tx, log *logger) error {
		// Checked again inside the write: a reprovision or a profile
		// change may have come in between. Returning the refusal rolls
		// the transaction back, so it writes nothing.
		u, ok, err := s.clientLogAllowed(tx, deviceID, certSerial)
		if err != nil {
			return err
		}
		if !ok {
			return ErrClientLogRefused
		}
		cl, err := tx.ClientLog(u.Name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		cl.Entries = append(cl.Entries, ClientLogEntry{Time: log.now.UTC(), Text: text})
		total := 0
		for _, e := range cl.Entries {
			total += e.Size()
		}
		for total > MaxClientLogKept && len(cl.Entries) > 1 {
			total -= cl.Entries[0].Size()
			cl.Entries = cl.Entries[1:]
		}
		if err := tx.PutClientLog(u.Name, cl); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "Client log uploaded by %s (%d bytes)", u.Name, len(text))
	}, func() []Event { return []Event{{Kind: EventClientLog, User: user, At: s.clock.Now()}} })
	if errors.Is(err, ErrClientLogRefused) {
		s.Refuse(source, refusedClientLog)
	}
	if err != nil {
		return 0, err
	}
	return len(text), nil
}

// ClientLogs returns the diagnostic logs a user's phone uploaded, newest
// first; none is an empty list.
func (s *Service) ClientLogs(username string) ([]ClientLogEntry, error) {
	var out []ClientLogEntry
	err := s.store.View(func(tx Tx) error {
		u, err := findUser(tx, username)
		if err != nil {
			return err
		}
		cl, err := tx.ClientLog(u.Name)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		for i := len(cl.Entries) - 1; i >= 0; i-- {
			out = append(out, cl.Entries[i])
		}
		return nil
	})
	return out, err
}

// ClearClientLogs deletes a user's uploaded logs and returns how many
// there were; the log line's Actor names who asked.
func (s *Service) ClearClientLogs(username string) (int, error) {
	n := 0
	var name string
	err := s.update(false, func(tx Tx, log *logger) error {
		n = 0
		u, err := findUser(tx, username)
		if err != nil {
			return err
		}
		name = u.Name
		cl, err := tx.ClientLog(u.Name)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		n = len(cl.Entries)
		if err := tx.PutClientLog(u.Name, ClientLog{}); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "Client log of user %q cleared (%s)", u.Name, Plural(n, "upload", "uploads"))
	}, func() []Event { return []Event{{Kind: EventClientLog, User: name, At: s.clock.Now()}} })
	return n, err
}
