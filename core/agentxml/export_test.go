package agentxml

import "provisio/core"

// Request is the parsed request, for tests in package agentxml_test.
type Request = request

// ParseRequest exposes the request parser to the fuzz target.
var ParseRequest = parseRequest

// ParseSimple and ParseFull are parseRequest's two paths, compared by
// FuzzParseRequest_FastMatchesFull.
var (
	ParseSimple = parseSimple
	ParseFull   = parseFull
)

// TLSConfigFor exposes the server's TLS setup so the baseline benchmark
// uses the same one.
var TLSConfigFor = tlsConfig

// RenderSAS renders a reply for req the way the server does.
func RenderSAS(req *Request, pass bool, errCode string) []byte {
	b := getBuffer()
	defer putBuffer(b)
	rep := reply{pass: pass, errCode: errCode}
	appendSAS(b, req, &rep)
	return append([]byte(nil), b.b...)
}

// AdminRequest is a parsed AdminXML request, for the fuzz target.
type AdminRequest = adminRequest

// ParseAdminRequest exposes the AdminXML parser.
var ParseAdminRequest = parseAdminRequest

// AdminOps returns the operation names of req in order.
func AdminOps(req *AdminRequest) []string {
	var out []string
	for _, op := range req.ops {
		out = append(out, op.name)
	}
	return out
}

// RenderAdmin runs every reader of req (User elements, report dates) and
// renders a reply in which users alternately pass, with their details as
// a Read shows them, and fail, so that arbitrary request text passes
// through every writer.
func RenderAdmin(req *AdminRequest) []byte {
	rep := adminReply{ops: make([]opResult, len(req.ops))}
	for i := range req.ops {
		op := &req.ops[i]
		res := opResult{op: op}
		for j, n := range op.users {
			spec, _, err := userSpec(n)
			r := userResult{name: userName(n), err: err}
			if err == nil && j%2 == 0 {
				u := core.User{Name: spec.Name, Attributes: spec.Attributes, Repository: op.repository}
				for dst, v := range map[*string]*string{&u.PIN: spec.PIN, &u.Email: spec.Email,
					&u.StringsEmail: spec.StringsEmail, &u.Group: spec.Group, &u.FullName: spec.FullName, &u.Mobile: spec.Mobile} {
					if v != nil {
						*dst = *v
					}
				}
				r.user, r.hasIndex, r.index = &u, true, j
			} else if err == nil {
				r.err = core.Errorf(core.CodeNotFound, "There is no user %q.", spec.Name)
			}
			res.users = append(res.users, r)
		}
		for _, it := range op.reports {
			_, _ = parseSince(it.since)
			res.reports = append(res.reports, reportResult{item: it, users: []core.User{{Name: it.since, Repository: op.repository}}})
		}
		rep.ops[i] = res
	}
	b := getBuffer()
	defer putBuffer(b)
	appendAdmin(b, req, &rep)
	return append([]byte(nil), b.b...)
}

// AdminRequestID returns the RequestID of req.
func AdminRequestID(req *AdminRequest) string { return req.requestID }

// XMLText exposes the request-body normaliser (BOM, UTF-16) to its fuzz
// target.
var XMLText = xmlText
