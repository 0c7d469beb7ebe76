package core

import (
	"errors"
	"net/netip"
	"reflect"
	"sort"
)

// SetSettings validates and saves a whole settings record. It takes effect
// on the next request. Certificate files it changes are checked as the
// server would load them (checkCertChange). Its one audit line names the
// save (what) and the keys it changed, with their old and new values
// unless secret or long.
func (s *Service) SetSettings(set Settings, what string) error {
	return s.saveSettings(set, what, func(Settings) (Settings, error) { return set, nil })
}

// SetSetting changes one dotted key.
func (s *Service) SetSetting(key, value string) error {
	return s.ChangeSettings(map[string]string{key: value}, "Setting "+key)
}

// ChangeSettings sets several dotted keys at once and saves them, as one
// change with one audit line: each key is parsed, and the rules between
// keys are checked once, on the final values (Settings.SetValues). Only
// these keys change, on the settings as stored when the transaction runs:
// a form that passes the keys it changed keeps every other key as another
// console or server saved it meanwhile (docs/decisions.md, "Two consoles
// editing the same record").
func (s *Service) ChangeSettings(values map[string]string, what string) error {
	return s.EditSettings(func(cur Settings) (Settings, error) {
		err := cur.SetValues(values)
		return cur, err
	}, what)
}

// EditSettings saves what edit makes of the settings as stored when its
// transaction runs, for a caller that changes some settings and must
// keep the rest as they are then (the admin API's PUT /v1/config merges
// the fields it is given). edit runs first on this server's snapshot, so
// a refusal comes before any write, then in the transaction; it must
// only compute.
func (s *Service) EditSettings(edit func(cur Settings) (Settings, error), what string) error {
	set, err := edit(s.Settings())
	if err != nil {
		return err
	}
	return s.saveSettings(set, what, edit)
}

// saveSettings checks set, the change as this server sees it (a changed
// provision template's placeholders too: checkTemplateChange), then
// commits apply(the record stored now). The values are applied to what
// the transaction reads, not to this server's snapshot, so that a change
// committed since the snapshot (by another server of an etcd site, or a
// save a moment earlier) is not put back to what the snapshot held.
func (s *Service) saveSettings(set Settings, what string, apply func(cur Settings) (Settings, error)) error {
	if err := set.Validate(); err != nil {
		return err
	}
	if err := checkTemplateChange(s.Settings().ProvisionTemplate, set.ProvisionTemplate); err != nil {
		return err
	}
	if err := s.checkBackupChange(s.Settings().Backup, set.Backup); err != nil {
		return err
	}
	if err := s.checkCertChange(s.Settings(), set); err != nil {
		return err
	}
	// Held from the commit to the snapshot's replacement, so two saves on
	// this server replace the snapshot in the order they committed.
	s.cfgWrite.Lock()
	defer s.cfgWrite.Unlock()
	var saved Settings
	err := s.update(false, func(tx Tx, log *logger) error {
		old, err := tx.Settings()
		if errors.Is(err, ErrNotFound) {
			old, err = s.Settings(), nil // a store that never saved any
		}
		if err != nil {
			return err
		}
		old.fillDefaults()
		next, err := apply(old)
		if err != nil {
			return err
		}
		// Again on what is stored: the rules between keys hold for the
		// record as it will be, with another's change in it (and
		// Validate puts values in their one stored form).
		if err := next.Validate(); err != nil {
			return err
		}
		// The backup outcome is the service's to record, never a form's.
		next.BackupState = old.BackupState
		if old.Backup.Folder == "" && next.Backup.Folder != "" {
			// Turning backups on counts the schedule from now: the
			// first comes at the next backup.time, not at once.
			next.BackupState.LastScheduled = log.now
		}
		saved = next
		// A save that changes nothing (Save pressed twice, a script that
		// sets what is set) commits nothing and logs nothing: the audit
		// log records changes.
		if reflect.DeepEqual(old, next) {
			return errUnchanged
		}
		if err := tx.PutSettings(next); err != nil {
			return err
		}
		// policy.mobile.* are the Default profile's Mobile Client
		// fields; the profile follows in the same transaction.
		if err := syncDefaultProfile(tx, next.MobileClient); err != nil {
			return err
		}
		line := describeSettingChanges(old, next)
		if next.Mail != old.Mail {
			n, err := sendWaitingMailNow(tx, log.now)
			if err != nil {
				return err
			}
			if n > 0 {
				line += "; " + Plural(n, "waiting message", "waiting messages") + " will be tried now with these mail settings"
			}
		}
		return log.add(LevelInfo, "", "%s saved: %s.", what, line)
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		return err
	}
	// The snapshot changes only once the commit has succeeded.
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	cfg := *s.config.Load()
	cfg.Settings = saved
	s.config.Store(&cfg)
	s.bus.Publish(Event{Kind: EventConfigChanged, At: s.clock.Now(), Origin: s.actor})
	return nil
}

// errUnchanged rolls back a settings save that would store what is
// stored; the save succeeds without a write.
var errUnchanged = errors.New("no setting changed")

// Agents returns the configured agents sorted by name.
func (s *Service) Agents() []Agent { return s.Config().Agents }

// PutAgent adds or replaces an agent. An empty secret keeps the one the
// agent of that name has: a console edits an agent without ever holding
// its secret, which a sealed store keeps only as a keyed hash.
func (s *Service) PutAgent(a Agent) error {
	keep := a.Secret == ""
	if !keep && IsHashedSecret(a.Secret) {
		// It would be stored as it is and never match what the agent sends.
		return FieldError("secret", "A shared secret cannot start with %q, which marks a stored hash; generate one or choose another.", hashedSecretPrefix)
	}
	if err := validateAgent(&a, !keep); err != nil {
		return err
	}
	return s.changeAgents(func(tx Tx, log *logger) error {
		old, err := tx.Agent(a.Name)
		found := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if keep {
			if !found {
				return errAgentNeedsSecret()
			}
			a.Secret = old.Secret
		} else if err := s.secretFree(tx, a.Name, a.Secret); err != nil {
			return err
		}
		if err := tx.PutAgent(a); err != nil {
			return err
		}
		if !found {
			return log.add(LevelInfo, "", "Agent %q saved (host %s, group %s, rights: %s).", a.Name, a.Host, a.Group, a.Rights())
		}
		// A replacement says what it changed, as ChangeAgent does.
		return log.add(LevelInfo, "", "Agent %q saved (host %s, group %s, rights: %s); changed: %s.", a.Name, a.Host, a.Group, a.Rights(), describeAgentChanges(old, a, !keep))
	})
}

// secretFree refuses secret, new for the agent called name, when another
// agent already has it. AuthorizeAgent takes the first agent by name whose
// range holds the address and whose secret matches, so two agents with one
// secret on overlapping ranges were one agent: the first answered for both,
// and a secret given to a group- or right-limited agent acted with the
// other's group and rights.
func (s *Service) secretFree(tx Tx, name, secret string) error {
	agents, err := tx.Agents()
	if err != nil {
		return err
	}
	for _, o := range agents {
		if o.Name != name && s.secretMatches(SecretAgent, o.Secret, secret) {
			return FieldError("secret", "Agent %q already has this shared secret; give each agent its own (Generate makes one).", o.Name)
		}
	}
	return nil
}

// errAgentNeedsSecret refuses an agent saved without a shared secret when
// no agent of that name has one to keep: the Add agent form left empty,
// in this process or attached (whose client asks to keep the secret of a
// form it never read), or an Edit form whose agent another console
// deleted meanwhile. In the console's words, beside the secret field:
// the length rule or "keep" would be about a secret nobody typed.
func errAgentNeedsSecret() error {
	return FieldError("secret", "Enter a shared secret for the agent.")
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

// changeAgents commits fn and puts the agents it leaves into this
// server's snapshot, in commit order (cfgWrite, as saveSettings), then
// looks their host names up with cfgWrite released: a slow or dead DNS
// server must not hold up every settings save and reload on this server
// for seconds (resolveAgentsFor). It returns once the lookup is done,
// so the caller sees the addresses its change resolved to.
func (s *Service) changeAgents(fn func(Tx, *logger) error) error {
	s.cfgWrite.Lock() // see saveSettings
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
		s.cfgWrite.Unlock()
		return err
	}
	sort.Slice(agents, func(i, j int) bool { return agents[i].Name < agents[j].Name })
	s.cfgMu.Lock()
	gen := s.putAgentsLocked(agents)
	s.cfgMu.Unlock()
	s.cfgWrite.Unlock()
	s.resolveAgentsFor(gen, agents)
	s.bus.Publish(Event{Kind: EventConfigChanged, At: s.clock.Now(), Origin: s.actor})
	return nil
}

// AuthorizeAgent returns the agent that accepts addr and secret: addr is
// in the agent's range, or one its host name resolved to, and the secret
// matches (in constant time).
func (s *Service) AuthorizeAgent(addr netip.Addr, secret string) (Agent, bool) {
	cfg := s.config.Load()
	hashed := secret
	if s.hasher != nil {
		hashed = s.hasher.HashSecret(SecretAgent, secret)
	}
	for _, a := range cfg.Agents {
		// A store with a data key keeps only the secret's keyed hash.
		presented := secret
		if IsHashedSecret(a.Secret) {
			presented = hashed
		}
		if allows(cfg.agentAddrs[a.Name], a.Secret, addr, presented) {
			return a, true
		}
	}
	return Agent{}, false
}
