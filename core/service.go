package core

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Service applies Provisio's rules to the Store. The AgentXML server, the
// console and the CLI all go through it, so every change is validated,
// committed and written to the audit log in the same transaction.
//
// A Service acts for one actor (actor.go): NewService's acts for the
// console, and As returns a Service over the same state acting for
// another, whose events carry that origin.
type Service struct {
	*serviceState
	actor Actor
}

// serviceState is everything a Service holds; the Services As returns
// share it. New fields go here, never in Service, or As would lose them.
type serviceState struct {
	store Store
	clock Clock
	bus   Bus

	// config is a snapshot of settings and agents, replaced on every
	// change, so the hot path reads configuration without a transaction.
	config atomic.Pointer[Config]
	// cfgMu serialises replacements of config, so a settings change and
	// an agent change cannot lose each other's snapshot.
	cfgMu sync.Mutex
	// cfgWrite serialises this server's settings and agent changes from
	// their commit to their snapshot, and reloads (ReloadConfig), so the
	// snapshot ends as the last commit left the store (saveSettings).
	// Taken before cfgMu, never while waiting for anything that needs it,
	// nor while looking up host names (changeAgents): neither lock is
	// held during a DNS lookup.
	cfgWrite sync.Mutex
	// trimGate, when set, says whether this server trims the audit log
	// (SetTrimGate, health.go).
	trimGate atomic.Pointer[func() bool]
	// resolver looks up agent host names (agent.go); lookups numbers
	// each round of lookups, so only the newest is applied.
	resolver Resolver
	lookups  atomic.Uint64
	// hasher is the store's keyed hash of device Ids and agent secrets,
	// when it keeps only those (secrethash.go).
	hasher SecretHasher
	// logVerifier checks the log's MAC chain, when the store keeps one.
	logVerifier LogVerifier

	// sessions are the agent API's sessionstart ids (sessions.go): in
	// memory, or in the store when it keeps them (SessionKeeper).
	sessions SessionTable

	// refused counts refused unauthenticated requests (refused.go).
	refused refusals
	// consoles is where remote consoles connect (consoles.go).
	consoles consoleEndpoint

	// clientLogs counts client log uploads per user (clientlog.go).
	clientLogs clientLogLimit

	// provisions counts wrong provision attempts (provision_guard.go).
	provisions provisionGuard
	// OATH tokens (oath.go).
	oathKeys OATHKeys
	oath     oathState
	// listening is where the HTTPS server of this process listens, set by
	// the composition root; Settings reports it as Settings.Listening.
	listening atomic.Pointer[string]
	// mailTools is the mail adapter's test send, for the admin API's
	// (SetMailTools, adminops_console.go).
	mailTools atomic.Pointer[MailTools]
	// serverStatus reports the server this process runs, for the admin
	// API (SetServerStatus, serverstatus.go).
	serverStatus atomic.Pointer[func() ServerStatus]
	// Health (health.go): the free-space probe, the state a person must
	// see, and lock-free copies of its two flags for the hot path.
	freeSpace FreeSpace
	health    health
	lowDisk   atomic.Bool
	commitBad atomic.Bool
	// backupWriter writes backups (backups.go), wired by the
	// composition root.
	backupMu     sync.Mutex
	backupWriter BackupWriter
	// certCheck checks certificate files a settings save names
	// (WithCertFilesCheck, certcheck.go); nil checks only the paths.
	certCheck CertFilesCheck
}

// Config is a read-only snapshot of settings and agents.
type Config struct {
	Settings Settings
	Agents   []Agent
	// agentAddrs are the ranges each agent is accepted from, by name,
	// with host names resolved (agent.go).
	agentAddrs map[string][]netip.Prefix
	// agentsGen counts the agent lists this snapshot has held, and
	// addrsLookup is the lookup agentAddrs came from: a lookup, which
	// runs with no lock held, is applied only while its list is still
	// the snapshot's and no later lookup of it was applied
	// (resolveAgentsFor).
	agentsGen, addrsLookup uint64
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (tests use a fake one).
func WithClock(c Clock) Option { return func(s *Service) { s.clock = c } }

// NewService loads configuration from st, writing defaults on first use.
func NewService(st Store, opts ...Option) (*Service, error) {
	s := &Service{serviceState: &serviceState{store: st, clock: systemClock{}, resolver: systemResolver}, actor: ConsoleActor}
	s.hasher, _ = st.(SecretHasher)
	s.logVerifier, _ = st.(LogVerifier)
	s.sessions = &memSessions{}
	if k, ok := st.(SessionKeeper); ok {
		if t := k.SessionTable(); t != nil {
			s.sessions = t
		}
	}
	for _, o := range opts {
		o(s)
	}
	// Every transaction of the service sees users with their login state
	// (loginstate.go).
	s.store = lockedStore{Store: st, clock: s.clock}
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
		set.fillDefaults()
		// A data file from before #14: today's Mobile Client policy
		// becomes the Default profile in this same transaction.
		if err := migrateProfiles(tx, set); err != nil {
			return err
		}
		agents, err := tx.Agents()
		if err != nil {
			return err
		}
		if !set.Hardened {
			if err := hardenStored(tx, &set, agents, s.clock.Now()); err != nil {
				return err
			}
		}
		s.config.Store(&Config{Settings: set, Agents: agents})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load configuration: %w", err)
	}
	cfg := s.Config()
	cfg.agentAddrs = s.resolveAgents(cfg.Agents)
	s.config.Store(&cfg)
	return s, nil
}

// ReloadConfig reads the settings and agents again from the store, for a
// change made on a shared store by another server or command (issue #16;
// node names where it was seen), and tells the subscribers with an event
// from that node.
func (s *Service) ReloadConfig(node string) error {
	// cfgWrite first, as every save holds it from its commit to its
	// snapshot: a reload waits for a save in progress and then reads
	// what it committed and anything after, instead of running between
	// its commit and its snapshot, which would put the save's record,
	// without a change another server committed meanwhile, over what the
	// reload read (and the watch sends no second reload for it).
	s.cfgWrite.Lock()
	// Held from the read to the replacement, so that a reload cannot put
	// what it read over the snapshot of a change this server committed
	// meanwhile.
	s.cfgMu.Lock()
	var cfg Config
	err := s.store.View(func(tx Tx) error {
		set, err := tx.Settings()
		if err != nil {
			return err
		}
		set.fillDefaults()
		agents, err := tx.Agents()
		if err != nil {
			return err
		}
		sort.Slice(agents, func(i, j int) bool { return agents[i].Name < agents[j].Name })
		cfg = Config{Settings: set, Agents: agents}
		return nil
	})
	if err != nil {
		s.cfgMu.Unlock()
		s.cfgWrite.Unlock()
		return fmt.Errorf("reload configuration: %w", err)
	}
	cur := *s.config.Load()
	cur.Settings = cfg.Settings
	s.config.Store(&cur)
	gen := s.putAgentsLocked(cfg.Agents)
	s.cfgMu.Unlock()
	s.cfgWrite.Unlock()
	// Looked up with no lock held (changeAgents).
	s.resolveAgentsFor(gen, cfg.Agents)
	s.bus.Publish(Event{Kind: EventConfigChanged, At: s.clock.Now(), Node: node})
	return nil
}

// hardenStored upgrades a data file saved before #9: the settings get
// the new defaults and the agents keep only the rights they had
// (authenticate, and admin where they could act as a repository), which
// is logged once so an administrator knows to give helpdesk rights.
func hardenStored(tx Tx, set *Settings, agents []Agent, now time.Time) error {
	set.LogMaxAgeDays, set.LogMaxMB, set.MinFreeMB = DefaultLogMaxAgeDays, DefaultLogMaxMB, DefaultMinFreeMB
	set.Hardened = true
	if err := tx.PutSettings(*set); err != nil {
		return err
	}
	if len(agents) == 0 {
		return nil
	}
	names := make([]string, len(agents))
	for i, a := range agents {
		names[i] = fmt.Sprintf("%q (%s)", a.Name, a.Rights())
	}
	_, err := tx.AppendLog(LogEntry{Time: now, Level: LevelWarn, Actor: ServerActor.String(), Message: "Agents now have explicit rights; HelpdeskRequests need the helpdesk right, which no existing agent has. " +
		"Agents kept: " + strings.Join(names, ", ") + ". Give the helpdesk right in Agents where an agent needs it."})
	return err
}

// Events returns the bus on which committed changes are announced.
func (s *Service) Events() *Bus { return &s.bus }

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.clock.Now() }

// Config returns the current configuration snapshot.
func (s *Service) Config() Config { return *s.config.Load() }

// Settings returns the current settings, with Listening filled in.
func (s *Service) Settings() Settings {
	set := s.config.Load().Settings
	if l := s.listening.Load(); l != nil {
		set.Listening = *l
	}
	return set
}

// SetListening records where the HTTPS server actually listens ("" when
// it stopped), so phones are told that port rather than the setting's.
func (s *Service) SetListening(addr string) { s.listening.Store(&addr) }

// logger collects audit entries during a transaction and publishes them
// once it has committed.
type logger struct {
	tx  Tx
	now time.Time
	// who describes the actor the Service acts for, each entry's Actor.
	who     string
	entries []LogEntry
}

func (l *logger) add(level Level, user, format string, args ...any) error {
	e, err := l.tx.AppendLog(LogEntry{Time: l.now, Level: level, User: user, Actor: l.who, Message: fmt.Sprintf(format, args...)})
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
		l = &logger{tx: tx, now: s.clock.Now(), who: s.actor.String()}
		return fn(tx, l)
	}
	var err error
	if batch {
		err = s.store.Batch(run)
	} else {
		err = s.store.Update(run)
	}
	if err != nil {
		if ErrorCode(err) == CodeInternal && !errors.Is(err, errUnchanged) {
			// A store error, not a rule's refusal: a person must see it
			// even when the log itself cannot be written (a full disk).
			// A save that changes nothing rolls back on purpose.
			s.commitFailed(err)
		}
		return err
	}
	s.commitOK()
	for _, e := range l.entries {
		s.bus.Publish(Event{Kind: EventLog, User: e.User, At: e.Time, Log: e, Origin: s.actor})
	}
	for _, f := range events {
		for _, e := range f() {
			if e.Origin.Kind == "" {
				e.Origin = s.actor
			}
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
