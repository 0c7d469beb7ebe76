package core

// Store is the persistent state. Implementations commit durably before
// Update or Batch return nil, so a caller may acknowledge the change.
type Store interface {
	// View runs fn in a read-only transaction.
	View(fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits it.
	Update(fn func(Tx) error) error
	// Batch is Update for hot paths: concurrent calls may share one commit
	// (group commit). fn may run more than once, so it must have no side
	// effects outside the transaction.
	Batch(fn func(Tx) error) error
	Close() error
}

// Tx is one transaction. Values returned are copies, safe after the
// transaction ends. Lookups of missing records return ErrNotFound.
type Tx interface {
	User(name string) (User, error)
	PutUser(u User) error
	DeleteUser(name string) error
	// Users calls fn for each user in key order until fn returns false.
	Users(fn func(User) bool) error

	ProvisionCode(username string) (ProvisionCode, error)
	PutProvisionCode(username string, c ProvisionCode) error
	DeleteProvisionCode(username string) error
	// ProvisionCodes calls fn for each pending code.
	ProvisionCodes(fn func(username string, c ProvisionCode) bool) error

	// DeviceUser returns the username owning a device id, as a phone
	// presents it (a store that keeps hashes hashes it, whatever it
	// looks like).
	DeviceUser(id string) (string, error)
	PutDevice(id, username string) error
	DeleteDevice(id string) error

	// LoginState returns the login record of a user (ErrNotFound for a
	// user who has none yet); PutLoginState replaces it. DeleteUser
	// deletes it with the user.
	LoginState(username string) (LoginState, error)
	PutLoginState(username string, ls LoginState) error
	// OATH returns a user's OATH tokens (core/oath.go). PutOATH of a
	// record with neither token deletes it.
	OATH(username string) (OATHRecord, error)
	PutOATH(username string, r OATHRecord) error
	DeleteOATH(username string) error
	// OATHRecords calls fn for each record, by lower-case username.
	OATHRecords(fn func(username string, r OATHRecord) bool) error

	// Profile returns a provisioning profile by name (case-insensitive);
	// Profiles returns them all in key order (profiles.go).
	Profile(name string) (Profile, error)
	PutProfile(p Profile) error
	DeleteProfile(name string) error
	Profiles() ([]Profile, error)

	// ClientLog returns the diagnostic logs a user's phone uploaded
	// (ErrNotFound for none; clientlog.go); PutClientLog replaces them,
	// and an empty ClientLog deletes the record. DeleteUser deletes it
	// with the user.
	ClientLog(username string) (ClientLog, error)
	PutClientLog(username string, l ClientLog) error

	Strings(username string) (StringSet, error)
	PutStrings(username string, s *StringSet) error
	DeleteStrings(username string) error

	Settings() (Settings, error)
	PutSettings(s Settings) error

	Agent(name string) (Agent, error)
	PutAgent(a Agent) error
	DeleteAgent(name string) error
	Agents() ([]Agent, error)

	// PutMail stores m, giving it the next ID when m.ID is 0.
	PutMail(m *OutMessage) error
	Mail(id uint64) (OutMessage, error)
	DeleteMail(id uint64) error
	// Mails calls fn for each outbox message, oldest first.
	Mails(fn func(OutMessage) bool) error

	// AppendLog stores e with the next sequence number and returns it.
	AppendLog(e LogEntry) (LogEntry, error)
	// Logs returns up to limit entries with Seq > after, oldest first.
	Logs(after uint64, limit int) ([]LogEntry, error)
	// LogTail returns the newest limit entries, oldest first.
	LogTail(limit int) ([]LogEntry, error)
	// LogSize returns the number of log entries and the bytes their keys
	// and values take.
	LogSize() (count int, bytes int64, err error)
	// TrimLog deletes the oldest entries, in order, while drop returns
	// true for them (size is the entry's bytes), at most limit of them,
	// and returns how many it deleted and the bytes they took.
	TrimLog(limit int, drop func(e LogEntry, size int) bool) (n int, bytes int64, err error)

	// Console returns a remote console by name (case-insensitive);
	// Consoles returns them all by name (consoles.go).
	Console(name string) (Console, error)
	PutConsole(c Console) error
	Consoles() ([]Console, error)
}
