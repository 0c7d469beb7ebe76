package agentxml

import (
	"strconv"
	"strings"

	"provisio/core"
)

// OATH in the admin and helpdesk API (issue #11, docs/api.md): Read shows
// a <Token>, Create and Update may carry one to set the user's token
// kind, and the helpdesk OathSync resynchronises a token.

// adminOATHSync runs a helpdesk OathSync: each User element carries two
// consecutive codes, <OTC> and <NextOTC>.
func (s *Server) adminOATHSync(scope core.Scope, op *adminOp, res *opResult) {
	res.users = make([]userResult, len(op.users))
	for i, n := range op.users {
		name := userName(n)
		res.users[i].name = name
		if name == "" {
			res.users[i].err = core.FieldError("name", "A User element needs a name attribute.")
			continue
		}
		var codes [2]string
		for _, k := range n.kids {
			switch k.name {
			case "OTC":
				codes[0] = k.value()
			case "NextOTC":
				codes[1] = k.value()
			}
		}
		err := s.svc.OATHSyncUsers(scope, []string{name}, [][2]string{codes})[0]
		switch core.ErrorCode(err) {
		case core.CodeNoStrings:
			res.users[i].errCode = errAdminNoToken
		case core.CodeWrongOTC, core.CodeNoOTC:
			res.users[i].errCode = errAdminInvalid
		}
		res.users[i].err = err
	}
}

// tokenOptions reads the Token element of a Create or Update User, if
// any: kind is strings, oath (TOTP), totp or hotp.
func tokenOptions(n *node) (opt *core.OATHOptions, strings_ bool, err error) {
	for _, k := range n.kids {
		if k.name != "Token" {
			continue
		}
		kind, _ := k.attr("kind")
		kind = strings.ToLower(strings.TrimSpace(kind))
		switch kind {
		case "strings":
			return nil, true, nil
		case "oath":
			kind = core.OATHTOTP
		case core.OATHTOTP, core.OATHHOTP:
		default:
			return nil, false, core.FieldError("kind", "A Token kind is strings, oath, totp or hotp.")
		}
		o := core.OATHOptions{Kind: kind}
		o.Algorithm, _ = k.attr("algorithm")
		if v, ok := k.attr("digits"); ok {
			if o.Digits, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				return nil, false, core.FieldError("digits", "An OATH code has 6 or 8 digits.")
			}
		}
		if v, ok := k.attr("period"); ok {
			if o.Period, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				return nil, false, core.FieldError("period", "A TOTP period is 15 to 300 seconds.")
			}
		}
		if err := o.Normalize(); err != nil {
			return nil, false, err
		}
		return &o, false, nil
	}
	return nil, false, nil
}

// applyTokens sets the token kind of each User of a Create or Update that
// passed and carries a Token: an OATH kind mails the user a single-use
// Provision URL that reveals the authenticator QR once (the secret never
// goes into the mail); strings mails a provision code for the mobile
// client. The current device or token works until the new one is in use.
func (s *Server) applyTokens(op *adminOp, res *opResult) {
	for i, n := range op.users {
		if i >= len(res.users) || !res.users[i].pass() {
			continue
		}
		opt, str, err := tokenOptions(n)
		switch {
		case err != nil:
		case opt != nil:
			_, err = s.svc.MailOATHProvisionCode(res.users[i].name, *opt)
		case str:
			_, err = s.svc.MailProvisionCode(res.users[i].name)
			if core.ErrorCode(err) == core.CodeNotInGroup {
				// No agent group is checked here, so it is the mobile
				// right the user lacks: a user in reach, whose change was
				// saved, which ADMIN_ERROR_NO_USER would deny.
				res.users[i].errCode = errAdminInvalid
			}
		}
		if err != nil {
			res.users[i].err = err
		}
	}
}

// appendToken writes what a Read shows of the user's token: its kind
// (strings, totp or hotp), its state (none, pending, confirmed), when a
// pending token expires, and the kind of a token pending beside the one
// in use. Never the secret.
func appendToken(b *buffer, st *core.OATHStatus) {
	if st == nil {
		return
	}
	b.raw("<Token")
	b.attr("kind", st.Kind)
	b.attr("state", st.State)
	if st.Pending != "" {
		b.attr("pending", st.Pending)
		b.attr("expires", stamp(st.Expires))
	}
	b.raw("/>")
}
