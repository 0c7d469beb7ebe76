package core

import (
	"bytes"
	"context"
	"strings"
	"time"
)

// The use cases the full console needs over the admin API (ConsoleAPI),
// as the server runs them for its caller: each use case writes its own
// audit line, whose Actor names the operator (l.svc()).
// The routes are in core/adminapi/server_console.go.

// UserRecords lists the users as the full console shows them.
func (l LocalAdmin) UserRecords() ([]AdminUserRecord, error) {
	users, err := l.svc().Users()
	if err != nil {
		return nil, err
	}
	out := make([]AdminUserRecord, 0, len(users))
	for _, u := range users {
		out = append(out, AdminUserRecordOf(u))
	}
	return out, nil
}

// UserRecord is one user as the full console shows it.
func (l LocalAdmin) UserRecord(name string) (AdminUserRecord, error) {
	u, err := l.svc().User(name)
	if err != nil {
		return AdminUserRecord{}, err
	}
	return AdminUserRecordOf(u), nil
}

// EditUser changes the fields of c, by the one rule of UpdateUser.
func (l LocalAdmin) EditUser(name string, c AdminUserChange) (AdminUserRecord, error) {
	u, err := l.svc().UpdateUser(name, func(u *User) error { c.Apply(u); return nil })
	if err != nil {
		return AdminUserRecord{}, err
	}
	return AdminUserRecordOf(u), nil
}

// PreviewImportCSV reads and checks a user import file.
func (l LocalAdmin) PreviewImportCSV(data []byte) (ImportPreview, error) {
	return l.svc().PreviewImport(bytes.NewReader(data))
}

// Import saves the rows of a preview.
func (l LocalAdmin) Import(rows []ImportRow) (int, error) {
	return l.svc().ImportUsers(rows, nil)
}

// MailCode queues a code issued before (CreateProvisionCode) for mail.
func (l LocalAdmin) MailCode(ic IssuedCode) (AdminIssued, error) {
	out, err := l.svc().MailIssuedCode(ic)
	if err != nil {
		return AdminIssued{}, err
	}
	return AdminIssuedOf(out), nil
}

// WithdrawProvisionCode withdraws the user's pending code if it is code
// (Service.WithdrawProvisionCode).
func (l LocalAdmin) WithdrawProvisionCode(name, code string) (bool, error) {
	return l.svc().WithdrawProvisionCode(name, code)
}

// OATHStatuses are the users' authenticator-app tokens, by user key.
func (l LocalAdmin) OATHStatuses() (map[string]OATHStatus, error) { return l.svc().OATHStatuses() }

// OATHStatus is a user's token.
func (l LocalAdmin) OATHStatus(name string) (OATHStatus, error) { return l.svc().OATHStatus(name) }

// IssueOATH issues a pending token; its secret is in the answer only.
func (l LocalAdmin) IssueOATH(name string, opt OATHOptions) (OATHIssued, error) {
	is, err := l.svc().IssueOATH(name, opt)
	if err != nil {
		return OATHIssued{}, err
	}
	return is, nil
}

// ConfirmOATH confirms a pending token with a code from the app.
func (l LocalAdmin) ConfirmOATH(name, code string) error {
	if err := l.svc().ConfirmOATH(name, code); err != nil {
		return err
	}
	return nil
}

// MailOATHCode mails a provision code that sets up an authenticator app.
func (l LocalAdmin) MailOATHCode(name string, opt OATHOptions) (AdminIssued, error) {
	ic, err := l.svc().MailOATHProvisionCode(name, opt)
	if err != nil {
		return AdminIssued{}, err
	}
	ic.Code, ic.URL = "", "" // it went by mail; the caller shows only where
	return AdminIssuedOf(ic), nil
}

// Profile is one provisioning profile with its values.
func (l LocalAdmin) Profile(name string) (Profile, error) { return l.svc().Profile(name) }

// ProfileRecords lists the profiles with their values.
func (l LocalAdmin) ProfileRecords() ([]Profile, error) { return l.svc().Profiles() }

// ProfileImpact counts the users a profile applies to.
func (l LocalAdmin) ProfileImpact(name string) (int, error) { return l.svc().ProfileImpact(name) }

// AddProfile adds a profile.
func (l LocalAdmin) AddProfile(p Profile) error {
	return l.svc().AddProfile(p)
}

// SaveProfile replaces a profile's values.
func (l LocalAdmin) SaveProfile(p Profile) error {
	return l.svc().SaveProfile(p)
}

// EditProfile saves what edit makes of the profile as stored when the
// save's transaction runs (Service.EditProfile).
func (l LocalAdmin) EditProfile(name string, edit func(cur *Profile) error) error {
	return l.svc().EditProfile(name, edit)
}

// DeleteProfile deletes a profile, giving its users reassignTo.
func (l LocalAdmin) DeleteProfile(name, reassignTo string) error {
	return l.svc().DeleteProfile(name, reassignTo)
}

// AssignProfileToGroup makes a profile a group's default.
func (l LocalAdmin) AssignProfileToGroup(profile, group string) error {
	return l.svc().AssignProfileToGroup(profile, group)
}

// EffectiveProfile is the profile a user of group with their own profile
// would get.
func (l LocalAdmin) EffectiveProfile(group, profile string) (EffectiveProfile, error) {
	return l.svc().EffectiveProfileFor(User{Group: group, Profile: profile})
}

// Outbox lists the outbox without codes or message texts.
func (l LocalAdmin) Outbox() ([]OutMessage, error) {
	msgs, err := l.svc().Outbox()
	for i := range msgs {
		msgs[i] = AdminOutMessage(msgs[i])
	}
	return msgs, err
}

// RetryMail sends a failed message again.
func (l LocalAdmin) RetryMail(id uint64) error {
	if err := l.svc().RetryMail(id); err != nil {
		return err
	}
	return nil
}

// RetryFailedMail queues every failed message that can still be sent
// again and says how many it queued.
func (l LocalAdmin) RetryFailedMail() (int, error) { return l.svc().RetryFailedMail() }

// DiscardMail discards a message.
func (l LocalAdmin) DiscardMail(id uint64) error {
	if err := l.svc().DiscardMail(id); err != nil {
		return err
	}
	return nil
}

// Logs pages through the audit log from after, oldest first.
func (l LocalAdmin) Logs(after uint64, limit int) ([]LogEntry, error) {
	return l.svc().Logs(after, limit)
}

// LogTail is the newest limit entries.
func (l LocalAdmin) LogTail(limit int) ([]LogEntry, error) { return l.svc().LogTail(limit) }

// VerifyLog checks the log's chain.
func (l LocalAdmin) VerifyLog() (LogChain, error) { return l.svc().VerifyLog() }

// Note adds a line from the console to the audit log, naming it.
func (l LocalAdmin) Note(level Level, user, message string) error {
	switch level {
	case LevelInfo, LevelWarn, LevelError:
	default:
		return FieldError("level", "The level is info, warn or error.")
	}
	message = strings.TrimSpace(message)
	if message == "" || len(message) > 2000 {
		return FieldError("message", "A log note is 1 to 2000 characters.")
	}
	// The line's Actor names who wrote the note.
	return l.svc().Log(level, user, "%s", message)
}

// Config is every setting, the SMTP password masked.
func (l LocalAdmin) Config() Settings { return MaskSettings(l.svc().Settings()) }

// EditConfig saves what edit makes of the settings as GET /v1/config
// shows them (the password masked), read in the save's transaction
// (Service.EditSettings); a masked password keeps the stored one.
func (l LocalAdmin) EditConfig(edit func(cur Settings) (Settings, error), what string) (Settings, error) {
	if strings.TrimSpace(what) == "" {
		what = "Settings"
	}
	err := l.svc().EditSettings(func(cur Settings) (Settings, error) {
		set, err := edit(MaskSettings(cur))
		if set.Mail.Password == SecretMask {
			set.Mail.Password = cur.Mail.Password
		}
		return set, err
	}, what)
	if err != nil {
		return Settings{}, err
	}
	return l.Config(), nil
}

// ServerStatus is where the server answers, its certificate and store,
// and its data and key directories for a caller on this machine; a
// remote console is not told this machine's folders.
func (l LocalAdmin) ServerStatus() ServerStatus {
	st := l.Svc.ServerStatus()
	if l.Caller.Remote {
		st.DataDir, st.KeyDir = "", ""
	}
	return st
}

// Health is the server's health.
func (l LocalAdmin) Health() Health { return l.svc().Health() }

// BackupNow backs up into the backup folder now; the use case logs the
// outcome (written or failed), or nothing when no folder is set.
func (l LocalAdmin) BackupNow() BackupResult {
	return l.svc().BackupNow(false)
}

// CheckBackupSettings checks backup settings on the server, where the
// folder and the key files are.
func (l LocalAdmin) CheckBackupSettings(b BackupSettings) error {
	return l.svc().CheckBackupSettings(b)
}

// mailTestTimeout bounds a test send made for the admin API.
const mailTestTimeout = time.Minute

// SendTestMail sends a test message with m (not necessarily saved) from
// the server; a masked password is the stored one. The error's sentence
// is the mail adapter's description.
func (l LocalAdmin) SendTestMail(m MailSettings, to string) error {
	tools := l.svc().MailTools()
	if tools == nil {
		return Errorf(CodeInternal, "This server cannot send a test message.")
	}
	if m.Password == SecretMask {
		m.Password = l.svc().Settings().Mail.Password
	}
	if err := ValidateEmail("to", to); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), mailTestTimeout)
	defer cancel()
	if err := tools.SendTest(ctx, m, nil, to); err != nil {
		// Err keeps the cause, so a refused certificate still travels
		// as data (RefusedMailCertificate) to the console that asked.
		ce := &Error{Code: CodeInvalid, Message: tools.Describe(err), Err: err}
		if e, ok := err.(*Error); ok {
			ce.Field = e.Field
		}
		return ce
	}
	// The one admin-API action whose use case writes no audit line: the
	// send bypasses the outbox. The line's Actor names who sent it.
	if l.Operator != "" {
		_ = l.svc().Log(LevelInfo, "", "Test message sent to %s.", to)
	}
	return nil
}

// DefaultMailTemplate is the built-in provision message.
func (l LocalAdmin) DefaultMailTemplate() (MailTemplate, error) {
	tools := l.svc().MailTools()
	if tools == nil {
		return MailTemplate{}, Errorf(CodeInternal, "This server has no mail transport.")
	}
	return tools.DefaultProvisionTemplate(), nil
}
