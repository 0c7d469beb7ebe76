package agentxml

import (
	"provisio/core"
)

// The authentication actions beyond login and provisioning. Each is a
// thin call into core.Service, which holds the rules; docs/api.md shows a
// request and a response for every one.

// explained is failure for errors that reach the wire only as
// AGENT_ERROR_GENERAL (a missing element, an ambiguous attribute): the
// agent learns nothing more, so the log says why.
func (s *Server) explained(action string, agent core.Agent, err error) reply {
	if protocolError(err) == errGeneral && core.ErrorCode(err) != core.CodeInternal {
		_ = s.svc.Log(core.LevelWarn, "", "AgentXML %s request from agent %q failed, error: %s", action, agent.Name, core.ErrorMessage(err))
	}
	return s.failure(action, err)
}

// changePIN checks the OTC like login and sets the PIN read from NewOTC.
func (s *Server) changePIN(agent core.Agent, req *request) reply {
	if err := s.svc.ChangePIN(agent, req.Username, req.OTC, req.NewOTC); err != nil {
		return s.failure("changepin", err)
	}
	return passReply
}

// existsByAttribute passes when at least one active user has the value.
func (s *Server) existsByAttribute(agent core.Agent, req *request) reply {
	_, err := s.svc.UserByAttribute(req.AttributeName, req.AttributeValue)
	switch core.ErrorCode(err) {
	case "", core.CodeConflict:
		return passReply
	case core.CodeNotFound:
		return failReply(errNoUser)
	}
	return s.explained("existsbyattribute", agent, err)
}

// getUserAttribute answers one attribute of a user in <AttributeValue>.
func (s *Server) getUserAttribute(agent core.Agent, req *request) reply {
	if req.AttributeName == "" {
		return s.explained("getuserattribute", agent, core.FieldError("attribute", "Give an AttributeName."))
	}
	v, err := s.svc.UserAttribute(req.Username, req.AttributeName)
	if err != nil {
		return s.failure("getuserattribute", err)
	}
	return reply{pass: true, attrValue: v}
}

// getUsernameByAttribute answers the username in <Username>. Several
// users with the value is a FAIL: the agent must not pick one.
func (s *Server) getUsernameByAttribute(agent core.Agent, req *request) reply {
	u, err := s.svc.UserByAttribute(req.AttributeName, req.AttributeValue)
	if err != nil {
		return s.explained("getusernamebyattribute", agent, err)
	}
	return reply{pass: true, username: u.Name}
}

func (s *Server) loginByAttribute(agent core.Agent, req *request) reply {
	if err := s.svc.LoginByAttribute(agent, req.AttributeName, req.AttributeValue, req.OTC); err != nil {
		return s.failure("loginbyattribute", err)
	}
	return passReply
}

func (s *Server) increaseLock(agent core.Agent, req *request) reply {
	if err := s.svc.IncreaseLock(agent, req.Username); err != nil {
		return s.failure("increaselock", err)
	}
	return passReply
}

func (s *Server) logEvent(agent core.Agent, req *request) reply {
	if err := s.svc.LogEvent(agent, req.Username, req.Level, req.Message); err != nil {
		return s.explained("logevent", agent, err)
	}
	return passReply
}

// resetCode mails the user a PIN reset code; the code never appears in
// the reply, or the agent could reset the PIN itself.
func (s *Server) resetCode(agent core.Agent, req *request) reply {
	if err := s.svc.RequestPINReset(agent, req.Username); err != nil {
		return s.failure("resetcode", err)
	}
	return passReply
}

// reset redeems the code from resetcode; the new PIN goes by mail.
func (s *Server) reset(agent core.Agent, req *request) reply {
	if err := s.svc.RedeemPINReset(agent, req.Username, req.ResetCode); err != nil {
		return s.failure("reset", err)
	}
	return passReply
}

func (s *Server) sessionStart(agent core.Agent, req *request) reply {
	id, err := s.svc.StartSession(agent, req.Username)
	if err != nil {
		return s.failure("sessionstart", err)
	}
	return reply{pass: true, sessionID: id}
}

func (s *Server) killSession(agent core.Agent, req *request) reply {
	if err := s.svc.KillSession(agent, req.SessionID); err != nil {
		return s.failure("killsession", err)
	}
	return passReply
}

func (s *Server) transportIndex(agent core.Agent, req *request) reply {
	n, err := s.svc.TokenIndex(&agent, req.Username, "")
	if err != nil {
		return s.failure("transportindex", err)
	}
	return reply{pass: true, hasIndex: true, index: n}
}

// onDemandMessage mails the user's next unused security string and
// answers its index, so the agent can ask for "the code for string 07".
func (s *Server) onDemandMessage(agent core.Agent, req *request) reply {
	n, err := s.svc.OnDemandMessage(agent, req.Username)
	if err != nil {
		return s.failure("ondemandmessage", err)
	}
	return reply{pass: true, hasIndex: true, index: n}
}
