package core

import (
	"sync"
	"time"
)

// SessionTTL is how long a sessionstart id stays valid. An agent starts a
// session just before it asks the user for a code, so two minutes is
// ample; a session is also spent by the first login that names it.
const SessionTTL = 2 * time.Minute

// maxSessions bounds the table, so that an agent looping on sessionstart
// cannot exhaust memory.
const maxSessions = 10_000

// session is one sessionstart id, bound to a user and to the agent that
// started it.
type session struct {
	user    string // Key of the username
	agent   string
	expires time.Time
}

// sessionTable holds sessions in memory: they live for minutes, so a
// restart that forgets them only makes an agent start a new one. The zero
// value is ready to use.
type sessionTable struct {
	mu sync.Mutex
	m  map[string]session
}

func (t *sessionTable) add(id string, s session, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]session{}
	}
	if len(t.m) >= maxSessions {
		for k, v := range t.m {
			if !now.Before(v.expires) {
				delete(t.m, k)
			}
		}
		if len(t.m) >= maxSessions {
			return false
		}
	}
	t.m[id] = s
	return true
}

// take removes and returns the live session id if agent started it.
func (t *sessionTable) take(id, agent string, now time.Time) (session, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.m[id]
	if !ok || s.agent != agent {
		return session{}, false
	}
	delete(t.m, id)
	return s, now.Before(s.expires)
}

// dropUser ends every session of a user (a deleted user).
func (t *sessionTable) dropUser(name string) {
	key := Key(name)
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, v := range t.m {
		if v.user == key {
			delete(t.m, k)
		}
	}
}

// StartSession starts an authentication session for a user (sessionstart)
// and returns its id, 32 hex characters. The session belongs to the agent
// that started it; a login naming it spends it, killsession ends it, and
// it expires after SessionTTL.
func (s *Service) StartSession(agent Agent, username string) (string, error) {
	s = s.As(AgentActor(agent))
	var u User
	err := s.store.View(func(tx Tx) (err error) {
		u, err = agentUser(tx, agent, username)
		return err
	})
	if err != nil {
		return "", err
	}
	switch {
	case u.Disabled:
		return "", Errorf(CodeDisabled, "User %q is disabled.", u.Name)
	case u.Locked:
		return "", Errorf(CodeLocked, "User %q is locked.", u.Name)
	}
	now := s.clock.Now()
	id := NewDeviceID()
	if !s.sessions.add(id, session{user: Key(u.Name), agent: agent.Name, expires: now.Add(SessionTTL)}, now) {
		return "", Errorf(CodeInternal, "Too many sessions are open (%d); try again in a few minutes.", maxSessions)
	}
	return id, s.Log(LevelInfo, u.Name, "Session started for user: %s by agent %q.", u.Name, agent.Name)
}

// KillSession ends a session the agent started (killsession). An unknown,
// expired or foreign id is CodeSession.
func (s *Service) KillSession(agent Agent, id string) error {
	s = s.As(AgentActor(agent))
	ss, ok := s.sessions.take(id, agent.Name, s.clock.Now())
	if !ok {
		return Errorf(CodeSession, "There is no such session.")
	}
	return s.Log(LevelInfo, ss.user, "Session ended for user: %s by agent %q.", ss.user, agent.Name)
}

// SessionLogin is Login inside a session from sessionstart (a login
// naming a SessionID): the session is spent first, and it must be the
// agent's own, for this user and not expired, or the login fails with
// CodeSession without its code being checked. A session serves one login
// attempt, right or wrong.
func (s *Service) SessionLogin(agent Agent, id, username, otc string) error {
	if err := s.useSession(agent, id, username); err != nil {
		return err
	}
	return s.Login(agent, username, otc)
}

// useSession spends a session for a login of username. It fails with
// CodeSession unless the agent started the session for that user and it
// has not expired.
func (s *Service) useSession(agent Agent, id, username string) error {
	s = s.As(AgentActor(agent))
	ss, ok := s.sessions.take(id, agent.Name, s.clock.Now())
	if !ok || ss.user != Key(username) {
		_ = s.Log(LevelWarn, clean(username), "Login failed for user: %s, error: unknown or expired session", clean(username))
		return Errorf(CodeSession, "The session is unknown or has expired.")
	}
	return nil
}
