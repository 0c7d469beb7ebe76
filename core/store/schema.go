package store

// Key layout, in one place. Every bucket is created when the store opens.
//
//	users     lower(username)      → JSON core.User
//	codes     lower(username)      → JSON core.ProvisionCode (hash only)
//	devices   device id (32 hex)   → username
//	strings   lower(username)      → binary: next index (1 byte) + 100×10 digits;
//	                                 the live next index is in logins
//	logins    lower(username)      → binary core.LoginState (loginstate.go)
//	agents    agent name           → JSON core.Agent
//	config    "settings"           → JSON core.Settings
//	config    "logins_migrated"    → "1" once login state moved to logins
//	config    "format"             → data format number, decimal ASCII ("1"; FormatVersion,
//	                                 format.go); absent in a store from before the numbers.
//	                                 A store with a higher number is refused unread.
//	log       8-byte big-endian seq→ JSON core.LogEntry
//	outbox    8-byte big-endian id → JSON core.OutMessage
//	oath      lower(username)      → JSON core.OATHRecord (holds the token secret; see oath.go)
//	profiles  lower(profile name)  → JSON core.Profile (with the groups it is the default of)
//	clientlogs lower(username)     → JSON core.ClientLog (each upload's text sealed; clientlog.go)
//	consoles  lower(console name)  → JSON core.Console (remote consoles, #12; code hash only)
//	config    "shared_identity"    → JSON name → sealed file: the certificate, its key and
//	                                 the device CA every server on one etcd store serves (identity.go)
//
// On etcd (core/etcdstore) the same layout lives under /provisio/<site>/<bucket>/<key>,
// and a bucket's sequence is the key /provisio/<site>/.seq/<bucket>.
var (
	bucketUsers    = []byte("users")
	bucketCodes    = []byte("codes")
	bucketDevices  = []byte("devices")
	bucketStrings  = []byte("strings")
	bucketAgents   = []byte("agents")
	bucketConfig   = []byte("config")
	bucketLog      = []byte("log")
	bucketOutbox   = []byte("outbox")
	bucketLogins   = []byte("logins")
	bucketOATH     = []byte("oath")
	bucketProfiles = []byte("profiles")
	// bucketClientLogs holds client diagnostic logs (clientlog.go).
	bucketClientLogs = []byte("clientlogs")
	bucketConsoles   = []byte("consoles")

	allBuckets = [][]byte{bucketUsers, bucketCodes, bucketDevices, bucketStrings, bucketAgents, bucketConfig, bucketLog, bucketOutbox, bucketLogins, bucketOATH, bucketProfiles, bucketClientLogs, bucketConsoles}

	keySettings = []byte("settings")
	// keyLoginsMigrated in config marks that the login state of every user
	// has moved into the logins bucket (migrateLogins).
	keyLoginsMigrated = []byte("logins_migrated")
)

// Record names one record by bucket and key; an empty Key stands for
// every record of the bucket.
type Record struct{ Bucket, Key string }

// ConfigRecords are the records a Service's configuration snapshot is
// read from (settings and agents, core.Service.ReloadConfig), with the
// profiles and the site's shared identity that follow a configuration
// change. A store shared by several servers watches them
// (core/etcdstore), so that a change reaches every server whoever wrote
// it: another server, or a command line attached to none.
func ConfigRecords() []Record {
	return []Record{
		{string(bucketConfig), string(keySettings)},
		{string(bucketConfig), string(keySharedIdentity)},
		{string(bucketAgents), ""},
		{string(bucketProfiles), ""},
	}
}
