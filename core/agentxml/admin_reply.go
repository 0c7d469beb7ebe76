package agentxml

import (
	"sort"
	"strconv"
	"time"

	"provisio/core"
)

// Rendering of AdminResponse and HelpdeskResponse. The shape is documented
// in docs/api.md, whose examples the tests run, so it stays stable.

// appendAdmin renders the reply to an AdminXML request.
func appendAdmin(b *buffer, req *adminRequest, rep *adminReply) {
	root := "AdminResponse"
	if req.helpdesk() {
		root = "HelpdeskResponse"
	}
	version := defaultVersion
	if adminVersions[req.version] {
		version = req.version
	}
	b.raw(xmlProlog)
	b.raw("<" + root + ">")
	b.elem("Version", version)
	if req.requestID != "" {
		b.elem("RequestID", echo(req.requestID))
	}
	appendResult(b, rep.pass(), rep.errCode, rep.message)
	for i := range rep.ops {
		appendOp(b, &rep.ops[i])
	}
	b.raw("</" + root + ">\n")
}

// appendResult writes <Result>, and with a code <Error> and <Message>.
func appendResult(b *buffer, pass bool, errCode, message string) {
	if pass {
		b.raw("<Result>PASS</Result>")
		return
	}
	b.raw("<Result>FAIL</Result>")
	if errCode != "" {
		b.elem("Error", errCode)
		b.elem("Message", message)
	}
}

// attr writes name="value" with a leading space.
func (b *buffer) attr(name, value string) {
	b.b = append(b.b, ' ')
	b.b = append(b.b, name...)
	b.b = append(b.b, `="`...)
	b.b = appendEscaped(b.b, value)
	b.b = append(b.b, '"')
}

func appendOp(b *buffer, o *opResult) {
	b.raw("<" + o.op.name)
	if o.op.hasRepo {
		b.attr("repository", echo(o.op.repository))
	}
	b.raw(">")
	appendResult(b, o.pass(), o.errCode, o.message)
	for i := range o.users {
		appendUser(b, &o.users[i])
	}
	for _, r := range o.reports {
		appendReport(b, &r)
	}
	b.raw("</" + o.op.name + ">")
}

func appendUser(b *buffer, r *userResult) {
	b.raw("<User")
	b.attr("name", echo(r.name))
	if r.user != nil {
		b.attr("repository", r.user.RepositoryName())
	}
	b.raw(">")
	if r.pass() {
		appendResult(b, true, "", "")
	} else {
		code := r.errCode
		if code == "" {
			code = adminError(r.err)
		}
		appendResult(b, false, code, core.ErrorMessage(r.err))
	}
	if r.user != nil {
		appendUserDetail(b, r.user)
		appendToken(b, r.token)
	}
	if r.hasIndex {
		b.elem("Index", strconv.Itoa(r.index))
	}
	b.raw("</User>")
}

// appendUserDetail writes what a Read shows of a user. The PIN is never
// shown, only whether there is one.
func appendUserDetail(b *buffer, u *core.User) {
	b.raw("<Credentials")
	b.attr("haspin", strconv.FormatBool(u.PIN != ""))
	b.raw("/>")

	b.raw("<Transports>")
	for _, t := range []struct{ typ, to string }{{"alert", u.Email}, {"strings", u.StringsEmail}} {
		if t.to != "" {
			b.raw("<Transport")
			b.attr("type", t.typ)
			b.raw(` name="SMTP">`)
			b.b = appendEscaped(b.b, t.to)
			b.raw("</Transport>")
		}
	}
	b.raw("</Transports><Groups>")
	if u.Group != "" {
		b.raw("<Group")
		b.attr("name", u.Group)
		b.raw("/>")
	}
	b.raw("</Groups><Rights>")
	b.raw(`<Right name="mobile">` + strconv.FormatBool(u.MobileAllowed) + "</Right>")
	b.raw("</Rights><Policies>")
	b.raw(`<Policy name="locked">` + strconv.FormatBool(u.Locked) + "</Policy>")
	b.raw(`<Policy name="disabled">` + strconv.FormatBool(u.Disabled) + "</Policy>")
	b.raw(`<Policy name="deleted">` + strconv.FormatBool(u.Deleted) + "</Policy>")
	b.raw("</Policies><Attributes>")
	attribute := func(name, v string) {
		if v != "" {
			b.raw("<Attribute")
			b.attr("name", name)
			b.raw(">")
			b.b = appendEscaped(b.b, v)
			b.raw("</Attribute>")
		}
	}
	attribute(core.AttrFullName, u.FullName)
	attribute(core.AttrMobile, u.Mobile)
	keys := make([]string, 0, len(u.Attributes))
	for k := range u.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		attribute(k, u.Attributes[k])
	}
	b.raw("</Attributes><Status")
	b.attr("created", stamp(u.Created))
	if !u.LastLogin.IsZero() {
		b.attr("lastlogin", stamp(u.LastLogin))
	}
	b.attr("failures", strconv.Itoa(u.Failures))
	b.attr("provisioned", strconv.FormatBool(u.Provisioned()))
	if u.DeviceOS != "" {
		b.attr("deviceos", u.DeviceOS)
	}
	if !u.DeletedAt.IsZero() {
		b.attr("deletedat", stamp(u.DeletedAt))
	}
	b.raw("/>")
}

func appendReport(b *buffer, r *reportResult) {
	b.raw("<" + r.item.elem)
	if r.item.kind == core.ReportIdle {
		b.attr("since", r.item.since)
	}
	b.raw(">")
	for i := range r.users {
		u := &r.users[i]
		b.raw("<User")
		b.attr("name", u.Name)
		b.attr("repository", u.RepositoryName())
		switch r.item.kind {
		case core.ReportIdle:
			b.attr("created", stamp(u.Created))
			if !u.LastLogin.IsZero() {
				b.attr("lastlogin", stamp(u.LastLogin))
			}
		case core.ReportLocked:
			b.attr("failures", strconv.Itoa(u.Failures))
		}
		b.raw("/>")
	}
	b.raw("</" + r.item.elem + ">")
}

// stamp formats a time for the wire: RFC 3339 in UTC, to the second.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
