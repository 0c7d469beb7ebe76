package agentxml

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"provisio/core"
)

// The admin, helpdesk and reporting API on /pinsafe/AdminXML and
// /sentry/AdminXML (protocol.md §5, docs/api.md). A request carries one or
// more operations, each naming users; every operation and every user gets
// its own result, and the changes of one operation element commit
// together before the reply is written.

// adminVersions are the AdminXML versions this server speaks (decided:
// 3.4 and 3.6, the versions Swivel 3.4 to 3.7 answer).
var adminVersions = map[string]bool{"3.4": true, "3.6": true}

// sinceLayout is the reporting API's date form, 01-jul-2010 (the month in
// any case). Dates are midnight UTC.
const sinceLayout = "2-Jan-2006"

// adminXML serves an AdminXML endpoint.
func (s *Server) adminXML(w http.ResponseWriter, r *http.Request) {
	if !s.admitXML(w, r, "AdminXML") {
		return
	}
	buf := getBuffer()
	defer putBuffer(buf)
	var req adminRequest
	if status, msg, refused := s.refuseXMLInURL(w, r); refused {
		appendAdmin(buf, &req, &adminReply{errCode: errAdminGeneral, message: msg})
		writeXML(w, status, buf.b)
		return
	}

	body, status := readXML(w, r, buf)
	var rep adminReply
	if status == http.StatusOK {
		var err error
		if req, err = parseAdminRequest(body); err != nil {
			status = http.StatusBadRequest
		}
	}
	if status != http.StatusOK {
		// As on AgentXML: not well formed, too big, or the wrong root
		// (an SASRequest sent here) is the documented malformed FAIL.
		s.refuse(r, refusedMalformed)
		rep = adminReply{errCode: errMalformed, message: "The XML request sent from the agent was malformed."}
	} else {
		rep = s.admin(r, &req)
	}
	buf.b = buf.b[:0]
	appendAdmin(buf, &req, &rep)
	writeXML(w, status, buf.b)
}

// adminReply is the outcome of an AdminXML request.
type adminReply struct {
	errCode string // a request-level failure; "" when the request ran
	message string
	ops     []opResult
}

// opResult is the outcome of one operation element.
type opResult struct {
	op      *adminOp
	errCode string // an operation-level failure
	message string
	users   []userResult
	reports []reportResult
}

// userResult is the outcome of one operation on one user.
type userResult struct {
	name     string
	err      error
	errCode  string // overrides adminError(err) when set
	user     *core.User
	token    *core.OATHStatus // of a Read (admin_oath.go)
	hasIndex bool
	index    int
}

type reportResult struct {
	item  reportItem
	users []core.User
}

func (u *userResult) pass() bool { return u.err == nil && u.errCode == "" }

func (o *opResult) pass() bool {
	if o.errCode != "" {
		return false
	}
	for i := range o.users {
		if !o.users[i].pass() {
			return false
		}
	}
	return true
}

func (r *adminReply) pass() bool {
	if r.errCode != "" {
		return false
	}
	for i := range r.ops {
		if !r.ops[i].pass() {
			return false
		}
	}
	return true
}

// admin checks the envelope and runs the operations in document order.
// The version is checked first and the operation names before anything
// runs, so a request either fails whole or runs.
func (s *Server) admin(r *http.Request, req *adminRequest) adminReply {
	if !adminVersions[req.version] {
		s.refuse(r, refusedVersion)
		return adminReply{errCode: errAdminVersion, message: "This server speaks AdminXML versions 3.4 and 3.6."}
	}
	agent, ok := s.authorize(r, req.secret)
	if !ok {
		s.refuse(r, refusedAgentAccess)
		return adminReply{errCode: errAgentAccess, message: "The agent is not authorised to access the server."}
	}
	if req.helpdesk() && !agent.Helpdesk {
		// Explicit rights (#9): an agent that only authenticates (a VPN)
		// must not set PINs or unlock users with its secret. Counted,
		// not logged per request.
		s.refuse(r, fmt.Sprintf("a HelpdeskRequest from agent %q, which does not have the helpdesk right", agent.Name))
		return adminReply{errCode: errAgentAccess, message: fmt.Sprintf("Agent %q does not have the helpdesk right; an administrator gives it in Agents.", agent.Name)}
	}
	if req.unknown != "" {
		s.refuse(r, fmt.Sprintf("an unknown AdminXML operation from agent %q", agent.Name))
		return adminReply{errCode: errAdminUnknownOp,
			message: fmt.Sprintf("%q is not an operation of %s or part of one; names are case sensitive.", echoLog(req.unknown), req.root)}
	}
	if req.tooMuch {
		_ = s.svc.Log(core.LevelWarn, "", "AdminXML request from agent %q failed, error: %s", agent.Name, errTooMuchAsked)
		return adminReply{errCode: errAdminInvalid, message: errTooMuchAsked}
	}
	rep := adminReply{ops: make([]opResult, len(req.ops))}
	for i := range req.ops {
		rep.ops[i] = s.adminOp(agent, req, &req.ops[i])
	}
	return rep
}

// adminOp runs one operation. An AdminRequest works only in the agent's
// own repository and only for an agent that can act as a repository; a
// HelpdeskRequest and any Report may name a repository and are limited by
// the agent's group instead.
func (s *Server) adminOp(agent core.Agent, req *adminRequest, op *adminOp) opResult {
	res := opResult{op: op}
	scope := core.HelpdeskScope(agent, op.repository)
	if op.name == "Report" && !agent.Helpdesk && !agent.Repository {
		_ = s.svc.Log(core.LevelWarn, "", "AdminXML Report request from agent %q refused: reports need the helpdesk or admin right.", agent.Name)
		res.errCode, res.message = errAgentAccess, fmt.Sprintf("Agent %q needs the helpdesk or admin right for reports.", agent.Name)
		return res
	}
	if !req.helpdesk() && op.name != "Report" {
		if !agent.Repository {
			_ = s.svc.Log(core.LevelWarn, "", "AdminXML %s request from agent %q refused: the agent cannot act as a repository.", op.name, agent.Name)
			res.errCode, res.message = errAdminNotRepo, fmt.Sprintf("Agent %q cannot act as a repository.", agent.Name)
			return res
		}
		if op.hasRepo {
			res.errCode, res.message = errAdminInvalid, "An AdminRequest works in the agent's own repository; name another one in a HelpdeskRequest."
			return res
		}
		scope = core.AdminScope(agent)
	}
	switch op.name {
	case "Create":
		s.runUsers(op, &res, userSpecOnly, func(specs []core.UserSpec) ([]userResult, error) {
			errs, err := s.svc.CreateUsers(agent.Name, agent.Name, specs)
			return fromErrors(errs), err
		})
		s.applyTokens(op, &res)
	case "Update":
		s.runUsers(op, &res, helpdeskSpec(req.helpdesk()), func(specs []core.UserSpec) ([]userResult, error) {
			errs, err := s.svc.UpdateUsers(scope, specs)
			return fromErrors(errs), err
		})
		s.applyTokens(op, &res)
	case "Read":
		s.runUsers(op, &res, nameOnly, func(specs []core.UserSpec) ([]userResult, error) {
			users, errs, err := s.svc.ReadUsers(scope, names(specs))
			out := fromErrors(errs)
			for i := range out {
				if out[i].err == nil {
					out[i].user = &users[i]
					if st, err := s.svc.OATHStatus(users[i].Name); err == nil {
						out[i].token = &st
					}
				}
			}
			return out, err
		})
	case "OathSync":
		s.adminOATHSync(scope, op, &res)
	case "Delete":
		s.runUsers(op, &res, nameOnly, func(specs []core.UserSpec) ([]userResult, error) {
			errs, err := s.svc.DeleteUsers(scope, names(specs))
			return fromErrors(errs), err
		})
	case "Reset":
		s.runUsers(op, &res, nameOnly, func(specs []core.UserSpec) ([]userResult, error) {
			errs, err := s.svc.ResetPINs(scope, names(specs))
			return fromErrors(errs), err
		})
	case "Strings":
		s.runUsers(op, &res, nameOnly, func(specs []core.UserSpec) ([]userResult, error) {
			idx, errs, err := s.svc.SendStrings(scope, names(specs))
			out := fromErrors(errs)
			for i := range out {
				out[i].hasIndex, out[i].index = out[i].err == nil, idx[i]
			}
			return out, err
		})
	case "Sync":
		if err := s.svc.Sync(scope); err != nil {
			s.opFailed(&res, err)
		}
	case "PurgeDeleted":
		purged, err := s.svc.PurgeDeleted(scope)
		if err != nil {
			s.opFailed(&res, err)
		}
		for _, name := range purged {
			res.users = append(res.users, userResult{name: name})
		}
	case "Report":
		s.report(scope, op, &res)
	}
	return res
}

// opFailed records an operation-level failure; store errors are counted
// for the log here (core.Service.RequestFailed) because the reply carries
// only a generic sentence.
func (s *Server) opFailed(res *opResult, err error) {
	if core.ErrorCode(err) == core.CodeInternal {
		s.svc.RequestFailed("AdminXML "+res.op.name+" request", err)
	}
	res.errCode, res.message = adminError(err), core.ErrorMessage(err)
}

// runUsers prepares each User element of op and runs the prepared ones in
// one call. Elements that fail to prepare get that as their result and
// are not sent on.
func (s *Server) runUsers(op *adminOp, res *opResult, prepare func(*node) (core.UserSpec, error),
	run func([]core.UserSpec) ([]userResult, error)) {
	res.users = make([]userResult, len(op.users))
	var specs []core.UserSpec
	var at []int
	for i, n := range op.users {
		spec, err := prepare(n)
		res.users[i] = userResult{name: userName(n), err: err}
		if err == nil {
			specs, at = append(specs, spec), append(at, i)
		}
	}
	if len(specs) == 0 {
		return
	}
	out, err := run(specs)
	if err != nil {
		s.svc.RequestFailed("AdminXML "+op.name+" request", err)
	}
	for j, r := range out {
		r.name = res.users[at[j]].name
		res.users[at[j]] = r
	}
}

func fromErrors(errs []error) []userResult {
	out := make([]userResult, len(errs))
	for i, err := range errs {
		out[i].err = err
	}
	return out
}

func names(specs []core.UserSpec) []string {
	out := make([]string, len(specs))
	for i := range specs {
		out[i] = specs[i].Name
	}
	return out
}

func nameOnly(n *node) (core.UserSpec, error) {
	name := userName(n)
	if name == "" {
		return core.UserSpec{}, core.FieldError("name", "A User element needs a name attribute.")
	}
	return core.UserSpec{Name: name}, nil
}

func userSpecOnly(n *node) (core.UserSpec, error) {
	spec, _, err := userSpec(n)
	return spec, err
}

// helpdeskSpec reads an Update's User element; a helpdesk may change only
// credentials and policies (the lock and disabled states).
func helpdeskSpec(helpdesk bool) func(*node) (core.UserSpec, error) {
	return func(n *node) (core.UserSpec, error) {
		spec, adminOnly, err := userSpec(n)
		if err == nil && helpdesk && adminOnly != "" {
			err = core.FieldError("", "A HelpdeskRequest changes only Credentials and Policies; %s needs an AdminRequest.", adminOnly)
		}
		return spec, err
	}
}

// report runs the items of a Report operation.
func (s *Server) report(scope core.Scope, op *adminOp, res *opResult) {
	for _, it := range op.reports {
		var since time.Time
		if it.kind == core.ReportIdle {
			var ok bool
			if since, ok = parseSince(it.since); !ok {
				res.errCode, res.message = errAdminInvalid, "Idle needs a since date like 01-jul-2010."
				res.reports = nil
				return
			}
		}
		users, err := s.svc.Report(scope, it.kind, since)
		if err != nil {
			s.opFailed(res, err)
			res.reports = nil
			return
		}
		res.reports = append(res.reports, reportResult{item: it, users: users})
	}
}

// parseSince reads a date such as 01-jul-2010 as midnight UTC.
func parseSince(v string) (time.Time, bool) {
	parts := strings.Split(v, "-")
	if len(parts) != 3 || len(parts[1]) != 3 {
		return time.Time{}, false
	}
	parts[1] = strings.ToUpper(parts[1][:1]) + strings.ToLower(parts[1][1:])
	t, err := time.Parse(sinceLayout, strings.Join(parts, "-"))
	return t, err == nil
}
