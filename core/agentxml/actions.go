package agentxml

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"provisio/core"
)

// notOffered are the actions of the Swivel seed list this server does not
// offer (docs/api.md, "Actions not offered"): Provisio keeps no passwords,
// no OCRA and no AuthControl Desktop caches, and sends no
// confirmation codes. They answer AGENT_ERROR_UNKNOWN_ACTION like an
// unknown name does, but the log says "not offered" so an administrator
// can tell a misconfigured agent from a typo.
var notOffered = map[string]bool{
	"changepassword": true, "checkpassword": true, "hascachedpassword": true, "ocraverify": true,
	"sendconfirmationcode": true, "validateconfirmationcode": true,
}

// dispatch runs one well-formed request and returns its reply.
//
// The /proxy path (mobile) serves ping, provision, securitystrings and
// clientlog with no agent secret: a provision code or a device Id
// authorises them. Any
// other action there answers AGENT_ERROR_AGENT_ACCESS (decided), not
// AGENT_ERROR_UNKNOWN_ACTION: the caller is not an authorised agent, and
// the mobile path must not let anyone on the LAN probe which agent actions
// exist or reach one without a secret. The refusal is logged like any
// other unauthorised agent. Version is not required on /proxy (decided):
// phones are not agents, and some clients leave it out of ping.
func (s *Server) dispatch(r *http.Request, req *request, mobile bool) reply {
	// strings.ToLower returns its argument when it is already lower case.
	action := strings.ToLower(req.Action)
	if mobile {
		switch action {
		case "ping":
			return passReply
		case "provision":
			return s.provision(r, req)
		case "securitystrings":
			return s.securityStrings(r, req)
		case "clientlog":
			return s.clientLog(r, req)
		}
		s.refuse(r, refusedMobile)
		return failReply(errAgentAccess)
	}

	if req.Version == "" {
		s.refuse(r, refusedMalformed)
		return failReply(errMalformed)
	}
	if action == "ping" {
		return passReply
	}
	agent, ok := s.authorize(r, req.Secret)
	if !ok {
		s.refuse(r, refusedAgentAccess)
		return failReply(errAgentAccess)
	}
	switch action {
	case "login":
		return s.login(agent, req)
	case "exists":
		return s.exists(req)
	case "provisioncode":
		return s.provisionCode(agent, req)
	case "provision":
		return s.provision(r, req)
	case "securitystrings":
		return s.securityStrings(r, req)
	case "clientlog":
		return s.clientLog(r, req)
	case "changepin":
		return s.changePIN(agent, req)
	case "existsbyattribute":
		return s.existsByAttribute(agent, req)
	case "getuserattribute":
		return s.getUserAttribute(agent, req)
	case "getusernamebyattribute":
		return s.getUsernameByAttribute(agent, req)
	case "loginbyattribute":
		return s.loginByAttribute(agent, req)
	case "increaselock":
		return s.increaseLock(agent, req)
	case "logevent":
		return s.logEvent(agent, req)
	case "resetcode":
		return s.resetCode(agent, req)
	case "reset":
		return s.reset(agent, req)
	case "sessionstart":
		return s.sessionStart(agent, req)
	case "killsession":
		return s.killSession(agent, req)
	case "transportindex":
		return s.transportIndex(agent, req)
	case "ondemandmessage":
		return s.onDemandMessage(agent, req)
	case "oathsync":
		return s.oathSync(agent, req)
	}
	// Counted, not logged one by one: even a real agent's loop must not
	// fill the disk. The reason names the agent (configured, so bounded)
	// and an action only when it is one of the few not offered.
	reason := fmt.Sprintf("an unknown action from agent %q", agent.Name)
	if notOffered[action] {
		reason = fmt.Sprintf("the action %q, which this server does not offer, from agent %q", action, agent.Name)
	}
	s.refuse(r, reason)
	return failReply(errUnknownAction)
}

// authorize finds the agent for the request's source address and secret.
// Only the TCP peer counts: forwarding headers are whatever the client
// wants them to be.
func (s *Server) authorize(r *http.Request, secret string) (core.Agent, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || secret == "" {
		return core.Agent{}, false
	}
	return s.svc.AuthorizeAgent(ap.Addr().Unmap(), secret)
}

// failure maps a service error to a reply. Internal errors (store, disk)
// are counted here, since the service logs only rule outcomes: counted,
// not written, so the agent's answer never waits for a second write to a
// store that has just failed (core.Service.RequestFailed). The count names
// the action but never the request's secrets.
func (s *Server) failure(action string, err error) reply {
	if core.ErrorCode(err) == core.CodeInternal {
		s.svc.RequestFailed("AgentXML "+action+" request", err)
	}
	return failReply(protocolError(err))
}

// login checks a mobile OTC, within the agent's session when the request
// names one (core.Service.SessionLogin).
func (s *Server) login(agent core.Agent, req *request) reply {
	login := s.svc.Login
	if req.SessionID != "" {
		login = func(agent core.Agent, username, otc string) error {
			return s.svc.SessionLogin(agent, req.SessionID, username, otc)
		}
	}
	if err := login(agent, req.Username, req.OTC); err != nil {
		return s.failure("login", err)
	}
	return passReply
}

func (s *Server) exists(req *request) reply {
	ok, err := s.svc.Exists(req.Username)
	if err != nil {
		return s.failure("exists", err)
	}
	if !ok {
		return failReply(errNoUser)
	}
	return passReply
}

// provisionCode asks core for a provision code for a user at an agent's
// request (core.Service.RequestProvisionCode holds the self-provision gate,
// the group check and the logging); PASS means the code is on its way to
// the user, and the code is never in the reply.
func (s *Server) provisionCode(agent core.Agent, req *request) reply {
	if _, err := s.svc.RequestProvisionCode(agent, req.Username); err != nil {
		return s.failure("provisioncode", err)
	}
	return passReply
}

func (s *Server) provision(r *http.Request, req *request) reply {
	// PushId is accepted and ignored: this server offers no push. Wrong
	// codes are throttled per source address: the TCP peer, never a
	// forwarding header.
	// A CSR (#14) is checked before the code is redeemed, so an unusable
	// one leaves the code for a corrected request.
	var csr *x509.CertificateRequest
	if req.CSR != "" {
		var err error
		if csr, err = parseCSR(req.CSR); err != nil {
			s.refuse(r, refusedCSR)
			return reply{errCode: errMalformed, message: errCSR}
		}
	}
	p, err := s.svc.Provision(core.SourceIP(r.RemoteAddr), req.Username, req.ProvisionCode, req.DeviceOS)
	if err != nil {
		return s.failure("provision", err)
	}
	return reply{pass: true, id: p.DeviceID, cert: s.issueDeviceCert(p, csr),
		hasPolicies: true, policies: p.Policies, certPin: s.certPin(p.Policies)}
}

func (s *Server) securityStrings(r *http.Request, req *request) reply {
	// The serial is "" off the mutual-TLS listener; the audit line names
	// the phone's address, as a provision's does.
	d, err := s.svc.SecurityStringsFrom(core.SourceIP(r.RemoteAddr), req.ID, clientCertSerial(r))
	if errors.Is(err, core.ErrDeviceCert) {
		// Mutual authentication (#14): no certificate, or not the
		// device's current one. Counted, not written.
		s.refuse(r, refusedDeviceCert)
		return reply{errCode: errSession, message: core.ErrorMessage(err)}
	}
	if core.ErrorCode(err) == core.CodeSession {
		// A device Id nobody holds: someone guessing, or a replaced
		// phone. Counted, not written.
		s.refuse(r, refusedDevice)
	}
	if reason := core.SecurityStringsRefused(err); reason != "" {
		// A disabled, locked or no-right user's phone, or whoever holds
		// its Id: counted and charged to the refused bucket like an
		// unknown Id, not written. The answer still names the state, as
		// the protocol has it: only the Id's holder gets it.
		s.refuse(r, reason)
	}
	if err != nil {
		return s.failure("securitystrings", err)
	}
	return reply{pass: true, strings: d.Strings, hasPolicies: true, policies: d.Policies, certPin: s.certPin(d.Policies)}
}

// certPin is the server certificate's SHA-256 fingerprint for a profile
// with certificate pinning (#14), "" otherwise.
func (s *Server) certPin(p core.ClientPolicies) string {
	if !p.CertPinning {
		return ""
	}
	return s.fingerprint()
}

// fingerprint is the SHA-256 fingerprint of the certificate served now,
// "" when Options.Fingerprint is nil.
func (s *Server) fingerprint() string {
	if s.opt.Fingerprint == nil {
		return ""
	}
	return s.opt.Fingerprint()
}

// echoLog shortens client text quoted in a log line. %q in the format
// already escapes control characters.
func echoLog(s string) string {
	const max = 64
	if len(s) > max {
		return truncate(s, max) + "..."
	}
	return s
}
