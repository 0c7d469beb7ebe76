package core

import (
	"errors"
	"sync"
	"time"
)

// SessionTTL is how long a sessionstart id stays valid. An agent starts a
// session just before it asks the user for a code, so two minutes is
// ample; a session is also spent by the first login that names it.
const SessionTTL = 2 * time.Minute

// MaxSessions bounds the sessions open at once, so that an agent looping
// on sessionstart cannot exhaust memory (or, shared through a store,
// the store).
const MaxSessions = 10_000

// Session is one sessionstart id's binding: the user (Key of the
// username) and the agent that started it, and when it expires.
type Session struct {
	User    string    `json:"user"`
	Agent   string    `json:"agent"`
	Expires time.Time `json:"expires"`
}

// SessionTable keeps the sessions sessionstart opens. An id is a bearer
// token. The Service keeps them in its memory (memSessions) unless its
// store keeps them (SessionKeeper).
type SessionTable interface {
	// Add stores session id; ErrTooManySessions when MaxSessions are
	// open.
	Add(id string, s Session, now time.Time) error
	// Take removes and returns session id if agent started it and it has
	// not expired at now; ok is false otherwise (an id another agent
	// started stays). Of several Takes of one id, at most one is ok.
	Take(id, agent string, now time.Time) (s Session, ok bool, err error)
	// DropUser ends every session of the user whose Key is user.
	DropUser(user string) error
}

// SessionKeeper is implemented by a store that keeps sessionstart
// sessions itself: a store several servers share (core/etcdstore), so that
// a session started on one serves a login on another. SessionTable
// returns nil when the store keeps none (the bbolt file): the Service
// keeps them in memory.
type SessionKeeper interface {
	SessionTable() SessionTable
}

// ErrTooManySessions is SessionTable.Add's refusal when MaxSessions are
// open.
var ErrTooManySessions = errors.New("too many sessions are open")

// memSessions holds sessions in memory: they live for minutes, so a
// restart that forgets them only makes an agent start a new one. The zero
// value is ready to use.
type memSessions struct {
	mu sync.Mutex
	m  map[string]Session
}

func (t *memSessions) Add(id string, s Session, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]Session{}
	}
	if len(t.m) >= MaxSessions {
		for k, v := range t.m {
			if !now.Before(v.Expires) {
				delete(t.m, k)
			}
		}
		if len(t.m) >= MaxSessions {
			return ErrTooManySessions
		}
	}
	t.m[id] = s
	return nil
}

func (t *memSessions) Take(id, agent string, now time.Time) (Session, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.m[id]
	if !ok || s.Agent != agent {
		return Session{}, false, nil
	}
	delete(t.m, id)
	return s, now.Before(s.Expires), nil
}

func (t *memSessions) DropUser(user string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, v := range t.m {
		if v.User == user {
			delete(t.m, k)
		}
	}
	return nil
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
	err = s.sessions.Add(id, Session{User: Key(u.Name), Agent: agent.Name, Expires: now.Add(SessionTTL)}, now)
	if errors.Is(err, ErrTooManySessions) {
		return "", Errorf(CodeInternal, "Too many sessions are open (%d); try again in a few minutes.", MaxSessions)
	}
	if err != nil {
		return "", err
	}
	return id, s.Log(LevelInfo, u.Name, "Session started for user: %s.", u.Name)
}

// KillSession ends a session the agent started (killsession). An unknown,
// expired or foreign id is CodeSession.
func (s *Service) KillSession(agent Agent, id string) error {
	s = s.As(AgentActor(agent))
	ss, ok, err := s.sessions.Take(id, agent.Name, s.clock.Now())
	if err != nil {
		return err
	}
	if !ok {
		return Errorf(CodeSession, "There is no such session.")
	}
	return s.Log(LevelInfo, ss.User, "Session ended for user: %s.", ss.User)
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
	ss, ok, err := s.sessions.Take(id, agent.Name, s.clock.Now())
	if err != nil {
		return err
	}
	if !ok || ss.User != Key(username) {
		_ = s.Log(LevelWarn, clean(username), "Login failed for user: %s, error: unknown or expired session", clean(username))
		return Errorf(CodeSession, "The session is unknown or has expired.")
	}
	return nil
}

// dropSessions ends a deleted user's sessions, after the commit that
// deleted the user. A failure (the shared store unreachable) is logged,
// not returned: the deletion stands, a leftover session expires within
// SessionTTL, and a login in it is still checked against the user.
func (s *Service) dropSessions(name string) {
	if err := s.sessions.DropUser(Key(name)); err != nil {
		_ = s.Log(LevelWarn, name, "The sessions of deleted user %s were not ended: %v", name, err)
	}
}
