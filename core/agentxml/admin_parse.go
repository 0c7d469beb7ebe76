package agentxml

import (
	"bytes"
	"encoding/xml"
	"strings"

	"provisio/core"
)

// Roots of the /AdminXML API. Unlike AgentXML, this API is case
// sensitive, as Swivel's is: element and attribute names must be written
// exactly as docs/api.md shows them.
const (
	rootAdmin    = "AdminRequest"
	rootHelpdesk = "HelpdeskRequest"
)

// Bounds on a request's shape. The body is already at most 64 KiB; these
// keep a hostile document from making the tree costly to build or walk.
const (
	maxAdminNodes = 8192
	maxAdminDepth = 8
)

// Bounds on the work one request asks for. Each report lists every
// matching user, so without them a 64 KiB request of Report elements
// could ask for a reply of hundreds of megabytes.
const (
	maxAdminOps     = 32
	maxReportItems  = 16
	errTooMuchAsked = "A request carries at most 32 operations and 16 report items."
)

// node is one element of an AdminXML request.
type node struct {
	name  string
	attrs []xml.Attr
	text  []byte // character data directly inside, untrimmed
	kids  []*node
}

// attr returns the value of the attribute with exactly this local name.
func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func (n *node) value() string { return string(bytes.TrimSpace(n.text)) }

// parseTree reads a document into a tree of nodes. Like parseRequest it
// accepts no prolog, comments and a namespace prefix, refuses text before
// the root, and ignores anything after the root closes.
func parseTree(data []byte) (*node, error) {
	p := parser{d: xml.NewDecoder(bytes.NewReader(data))}
	p.d.CharsetReader = charsetReader
	p.stack = p.backing[:0]
	var root *node
	var open []*node
	count := 0
	for {
		tok, err := p.next()
		if err != nil {
			return nil, errBadXML
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxAdminNodes || len(open) >= maxAdminDepth {
				return nil, errBadXML
			}
			n := &node{name: t.Name.Local, attrs: t.Attr}
			if root == nil {
				root = n
			} else {
				parent := open[len(open)-1]
				parent.kids = append(parent.kids, n)
			}
			open = append(open, n)
		case xml.EndElement:
			open = open[:len(open)-1]
			if len(open) == 0 {
				return root, nil
			}
		case xml.CharData:
			if len(open) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, errBadXML
				}
				continue
			}
			cur := open[len(open)-1]
			cur.text = append(cur.text, t...)
		}
	}
}

// adminRequest is a parsed AdminRequest or HelpdeskRequest.
type adminRequest struct {
	root      string // rootAdmin or rootHelpdesk
	version   string
	secret    string
	requestID string
	ops       []adminOp
	// unknown is the first element that is not an operation of this
	// root, or not part of its operation; the request then fails whole
	// with ADMIN_ERROR_UNKNOWN_OPERATION before anything runs.
	unknown string
	// tooMuch is set when the request exceeds maxAdminOps or
	// maxReportItems; it then fails whole with ADMIN_ERROR_INVALID.
	tooMuch bool
}

func (r *adminRequest) helpdesk() bool { return r.root == rootHelpdesk }

// adminOp is one operation element with its users or report items.
type adminOp struct {
	name       string
	repository string
	hasRepo    bool
	users      []*node
	reports    []reportItem
}

// reportItem is one Idle, Locked or Disabled element of a Report.
type reportItem struct {
	elem  string // the element name, echoed in the reply
	kind  core.ReportKind
	since string
}

// Operations each root offers, by exact element name.
var (
	adminOps    = map[string]bool{"Create": true, "Read": true, "Update": true, "Delete": true, "Reset": true, "Sync": true, "PurgeDeleted": true, "Report": true}
	helpdeskOps = map[string]bool{"Read": true, "Update": true, "Reset": true, "Strings": true, "OathSync": true, "PurgeDeleted": true, "Report": true}
	reportKinds = map[string]core.ReportKind{"Idle": core.ReportIdle, "Locked": core.ReportLocked, "Disabled": core.ReportDisabled}
)

// parseAdminRequest reads an AdminRequest or HelpdeskRequest. Anything
// else, an SASRequest included, is errBadXML: protocol.md calls a request
// sent to the wrong endpoint malformed.
func parseAdminRequest(data []byte) (adminRequest, error) {
	root, err := parseTree(data)
	if err != nil {
		return adminRequest{}, err
	}
	if root.name != rootAdmin && root.name != rootHelpdesk {
		return adminRequest{}, errBadXML
	}
	req := adminRequest{root: root.name}
	// The attribute form, then the element form, which wins.
	for _, a := range root.attrs {
		switch a.Name.Local {
		case "secret":
			req.secret = a.Value
		case "version":
			req.version = strings.TrimSpace(a.Value)
		case "requestid":
			req.requestID = strings.TrimSpace(a.Value)
		}
	}
	ops := adminOps
	if req.helpdesk() {
		ops = helpdeskOps
	}
	reports := 0
	for _, k := range root.kids {
		switch {
		case k.name == "Secret":
			req.secret = k.value()
		case k.name == "Version":
			req.version = k.value()
		case k.name == "RequestID":
			req.requestID = k.value()
		case ops[k.name]:
			op, bad := readOp(k)
			if bad != "" && req.unknown == "" {
				req.unknown = bad
			}
			req.ops = append(req.ops, op)
			reports += len(op.reports)
			req.tooMuch = req.tooMuch || len(req.ops) > maxAdminOps || reports > maxReportItems
		default:
			if req.unknown == "" {
				req.unknown = k.name
			}
		}
	}
	return req, nil
}

// readOp reads an operation element. bad names the first child that does
// not belong in it.
func readOp(n *node) (op adminOp, bad string) {
	op.name = n.name
	op.repository, op.hasRepo = n.attr("repository")
	op.repository = strings.TrimSpace(op.repository)
	for _, k := range n.kids {
		if n.name == "Report" {
			kind, ok := reportKinds[k.name]
			if !ok {
				if bad == "" {
					bad = n.name + "/" + k.name
				}
				continue
			}
			since, _ := k.attr("since")
			op.reports = append(op.reports, reportItem{elem: k.name, kind: kind, since: strings.TrimSpace(since)})
			continue
		}
		if k.name != "User" {
			if bad == "" {
				bad = n.name + "/" + k.name
			}
			continue
		}
		op.users = append(op.users, k)
	}
	return op, bad
}

// userName is the name attribute of a User element, trimmed.
func userName(n *node) string {
	v, _ := n.attr("name")
	return strings.TrimSpace(v)
}

// userSpec reads a User element of a Create or Update. adminOnly names the
// first element a HelpdeskRequest may not change (anything but
// Credentials and Policies). A problem is a *core.Error (CodeInvalid).
func userSpec(n *node) (spec core.UserSpec, adminOnly string, problem error) {
	spec.Name = userName(n)
	if spec.Name == "" {
		return spec, "", core.FieldError("name", "A User element needs a name attribute.")
	}
	fail := func(format string, args ...any) error { return core.FieldError("", format, args...) }
	for _, k := range n.kids {
		switch k.name {
		case "Credentials":
			for _, a := range k.attrs {
				if a.Name.Local != "pin" {
					return spec, adminOnly, fail("Credentials take a pin only: this server keeps no passwords.")
				}
				// An empty pin would leave the user unable to log in
				// with nothing said; a new random PIN is a Reset.
				pin := strings.TrimSpace(a.Value)
				if pin == "" {
					return spec, adminOnly, fail("Give the PIN in pin, or use Reset for a random one.")
				}
				spec.PIN = &pin
			}
		case "Policies":
			for _, p := range k.kids {
				name, _ := p.attr("name")
				b, ok := parseBool(p.value())
				switch {
				case p.name != "Policy":
					return spec, adminOnly, fail("Policies hold Policy elements, not %q.", p.name)
				case !ok:
					return spec, adminOnly, fail("The value of policy %q is true or false.", name)
				case name == "locked":
					spec.Locked = &b
				case name == "disabled":
					spec.Disabled = &b
				case name == "deleted":
					return spec, adminOnly, fail("The deleted policy is read-only: use Delete.")
				default:
					return spec, adminOnly, fail("There is no user policy %q; use locked or disabled.", name)
				}
			}
		case "Token":
			// Read after the user is saved (admin_oath.go); checked here
			// so a bad one fails the element before anything changes.
			if _, _, err := tokenOptions(n); err != nil {
				return spec, adminOnly, err
			}
		case "Transports", "Groups", "Rights", "Attributes":
			if adminOnly == "" {
				adminOnly = k.name
			}
			if err := readUserDetail(k, &spec); err != nil {
				return spec, adminOnly, err
			}
		default:
			return spec, adminOnly, fail("%q is not part of a User; see docs/api.md.", k.name)
		}
	}
	return spec, adminOnly, nil
}

// readUserDetail reads the Transports, Groups, Rights or Attributes of a
// User element into spec.
func readUserDetail(k *node, spec *core.UserSpec) error {
	fail := func(format string, args ...any) error { return core.FieldError("", format, args...) }
	switch k.name {
	case "Transports":
		for _, t := range k.kids {
			typ, _ := t.attr("type")
			name, hasName := t.attr("name")
			v := t.value()
			switch {
			case t.name != "Transport":
				return fail("Transports hold Transport elements, not %q.", t.name)
			case hasName && !strings.EqualFold(strings.TrimSpace(name), "SMTP"):
				return fail("The transport %q is not offered: this server sends mail (SMTP) only.", name)
			case typ == "alert":
				spec.Email = &v
			case typ == "strings":
				spec.StringsEmail = &v
			default:
				return fail("A Transport's type is alert or strings.")
			}
		}
	case "Groups":
		group := ""
		for i, g := range k.kids {
			name, _ := g.attr("name")
			switch {
			case g.name != "Group":
				return fail("Groups hold Group elements, not %q.", g.name)
			case i > 0:
				return fail("A user belongs to one group at most.")
			}
			group = strings.TrimSpace(name)
		}
		spec.Group = &group
	case "Rights":
		for _, r := range k.kids {
			name, _ := r.attr("name")
			b, ok := parseBool(r.value())
			switch {
			case r.name != "Right":
				return fail("Rights hold Right elements, not %q.", r.name)
			case name != "mobile":
				return fail("The right %q is not offered: this server knows only mobile.", name)
			case !ok:
				return fail("The value of right %q is true or false.", name)
			}
			spec.MobileAllowed = &b
		}
	case "Attributes":
		for _, a := range k.kids {
			name, _ := a.attr("name")
			if a.name != "Attribute" {
				return fail("Attributes hold Attribute elements, not %q.", a.name)
			}
			if spec.Attributes == nil {
				spec.Attributes = map[string]string{}
			}
			spec.Attributes[name] = a.value()
		}
	}
	return nil
}

// parseBool reads a right or policy value. An empty element means true,
// so the presence form <Policy name="locked"/> works too.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "", "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}
