package agentxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"provisio/core"
)

// maxBody is the largest request body accepted (protocol.md §1).
const maxBody = 64 << 10

// maxEcho bounds how much of a RequestID or Version is echoed back, so a
// client cannot make the server repeat 64 KiB at it.
const maxEcho = 256

// defaultVersion is sent when a request carries no usable Version.
const defaultVersion = "3.6"

// request is an SASRequest with every element this server reads. It is a
// fixed struct filled by one pass over the XML tokens: unknown elements are
// skipped, names are matched without regard to case, and an element form
// overrides the attribute form of the same field.
type request struct {
	Version       string
	Secret        string
	Action        string
	Username      string
	RequestID     string
	OTC           string
	Password      string
	ProvisionCode string
	PushID        string
	DeviceOS      string
	ID            string

	// Fields of the actions in actions_auth.go.
	NewOTC         string
	SessionID      string
	AttributeName  string
	AttributeValue string
	ResetCode      string
	Message        string
	Level          string
	NextOTC        string // oathsync's second code (actions_oath.go)
	CSR            string // provision's PEM certificate request (#14, devicecert.go)
	Log            string // clientlog's diagnostic log (#14, clientlog.go)
}

// field returns the request field for an element or attribute name, or nil
// for a name this server does not read. Real clients differ in case
// (PushId, PushID, Id, ID), so the match ignores it.
func (r *request) field(name string) *string {
	switch {
	case strings.EqualFold(name, "Action"):
		return &r.Action
	case strings.EqualFold(name, "Version"):
		return &r.Version
	case strings.EqualFold(name, "Secret"):
		return &r.Secret
	case strings.EqualFold(name, "Username"):
		return &r.Username
	case strings.EqualFold(name, "OTC"):
		return &r.OTC
	case strings.EqualFold(name, "RequestID"):
		return &r.RequestID
	case strings.EqualFold(name, "Id"):
		return &r.ID
	case strings.EqualFold(name, "ProvisionCode"):
		return &r.ProvisionCode
	case strings.EqualFold(name, "DeviceOS"):
		return &r.DeviceOS
	case strings.EqualFold(name, "PushId"):
		return &r.PushID
	case strings.EqualFold(name, "Password"):
		return &r.Password
	case strings.EqualFold(name, "NewOTC"):
		return &r.NewOTC
	case strings.EqualFold(name, "SessionID"):
		return &r.SessionID
	case strings.EqualFold(name, "AttributeName"):
		return &r.AttributeName
	case strings.EqualFold(name, "AttributeValue"):
		return &r.AttributeValue
	case strings.EqualFold(name, "ResetCode"):
		return &r.ResetCode
	case strings.EqualFold(name, "Message"):
		return &r.Message
	case strings.EqualFold(name, "Level"):
		return &r.Level
	case strings.EqualFold(name, "NextOTC"):
		return &r.NextOTC
	case strings.EqualFold(name, "CSR"):
		return &r.CSR
	case strings.EqualFold(name, "Log"):
		return &r.Log
	}
	return nil
}

// errBadXML is returned by parseRequest for anything that is not a
// well-formed SASRequest. Its detail is never sent or logged: the protocol
// has one sentence for all of them.
var errBadXML = errors.New("agentxml: malformed request")

// parseRequest reads an SASRequest. It accepts the element and attribute
// forms, no prolog, a namespace prefix, and ignores unknown elements and
// anything after the root element closes.
func parseRequest(data []byte) (request, error) {
	// The common simple form skips encoding/xml (envelope_fast.go).
	if req, ok := parseSimple(data); ok {
		return req, nil
	}
	return parseFull(data)
}

// parseFull is parseRequest with encoding/xml, for every form.
func parseFull(data []byte) (request, error) {
	var req request
	p := parser{d: xml.NewDecoder(bytes.NewReader(data))}
	p.d.CharsetReader = charsetReader
	p.stack = p.backing[:0]
	for {
		tok, err := p.next()
		if err != nil {
			return request{}, errBadXML
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !strings.EqualFold(t.Name.Local, "SASRequest") {
				return request{}, errBadXML
			}
			for _, a := range t.Attr {
				if f := req.field(a.Name.Local); f != nil {
					*f = strings.TrimSpace(a.Value)
				}
			}
			if err := p.children(&req); err != nil {
				return request{}, err
			}
			return req, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return request{}, errBadXML
			}
		}
		// The prolog, comments and directives before the root are ignored.
	}
}

// parser reads tokens with RawToken, which skips the namespace
// bookkeeping and second allocation per element of Token, and checks
// itself that every end tag matches its start tag.
type parser struct {
	d       *xml.Decoder
	stack   []xml.Name
	backing [8]xml.Name
}

func (p *parser) next() (xml.Token, error) {
	tok, err := p.d.RawToken()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		p.stack = append(p.stack, t.Name)
	case xml.EndElement:
		n := len(p.stack)
		if n == 0 || p.stack[n-1] != t.Name {
			return nil, errBadXML
		}
		p.stack = p.stack[:n-1]
	}
	return tok, nil
}

// skip consumes the rest of the element just opened, nested ones included.
func (p *parser) skip() error {
	depth := len(p.stack)
	for len(p.stack) >= depth {
		if _, err := p.next(); err != nil {
			return errBadXML
		}
	}
	return nil
}

// children fills req from the children of the root element and returns
// once the root closes.
func (p *parser) children(req *request) error {
	for {
		tok, err := p.next()
		if err != nil {
			return errBadXML
		}
		switch t := tok.(type) {
		case xml.StartElement:
			f := req.field(t.Name.Local)
			if f == nil {
				if err := p.skip(); err != nil {
					return err
				}
				continue
			}
			v, err := p.text()
			if err != nil {
				return err
			}
			*f = v
		case xml.EndElement:
			return nil
		}
	}
}

// text returns the trimmed text of the element just opened, up to its end
// tag. Text inside nested elements is not part of the value.
func (p *parser) text() (string, error) {
	// CharData points into the decoder's buffer until the next token, so
	// it is copied at once; nearly every value is a single token.
	var text string
	var more []byte
	parts := 0
	for {
		tok, err := p.next()
		if err != nil {
			return "", errBadXML
		}
		switch t := tok.(type) {
		case xml.CharData:
			switch parts {
			case 0:
				text = string(t)
			case 1:
				more = append(append(more, text...), t...)
			default:
				more = append(more, t...)
			}
			parts++
		case xml.StartElement:
			if err := p.skip(); err != nil {
				return "", err
			}
		case xml.EndElement:
			if parts > 1 {
				return string(bytes.TrimSpace(more)), nil
			}
			return strings.TrimSpace(text), nil
		}
	}
}

// charsetReader lets agents that declare a Latin-1, ASCII or UTF-16
// prolog in.
// windows-1252 is read as Latin-1: the two differ only in 0x80-0x9F, which
// no username, code or secret this server issues contains.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	if utf16Label(label) {
		// The decoder has just read this declaration as single bytes, so
		// the text is not UTF-16 (xmlText already decoded a body that
		// was): it is the UTF-8 that .NET sends after serialising to a
		// string, whose declaration always says utf-16.
		return in, nil
	}
	if !latin1Label(label) {
		return nil, fmt.Errorf("unsupported charset %q", label)
	}
	raw, err := io.ReadAll(io.LimitReader(in, maxBody))
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(latin1ToUTF8(raw)), nil
}

// latin1Label reports whether a charset label names Latin-1 or one of
// the charsets read as Latin-1 (ASCII, windows-1252).
func latin1Label(label string) bool {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "windows-1252", "cp1252":
		return true
	}
	return false
}

// utf16Label reports whether a charset label names UTF-16.
func utf16Label(label string) bool {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-16", "utf16", "utf-16le", "utf-16be", "unicode":
		return true
	}
	return false
}

// latin1ToUTF8 returns Latin-1 text as UTF-8: each byte is the code point
// of the same value.
func latin1ToUTF8(raw []byte) []byte {
	out := make([]byte, 0, len(raw)+len(raw)/8)
	for _, c := range raw {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// buffer is a pooled byte slice for reading bodies and writing replies, so
// the hot path allocates little per request.
type buffer struct{ b []byte }

var bufferPool = sync.Pool{New: func() any { return &buffer{b: make([]byte, 0, 4096)} }}

func getBuffer() *buffer { return bufferPool.Get().(*buffer) }

func putBuffer(b *buffer) {
	// A buffer grown by a securitystrings reply (~1.2 KiB) is worth
	// keeping; one grown by a huge body is not.
	if cap(b.b) > 2*maxBody {
		return
	}
	b.b = b.b[:0]
	bufferPool.Put(b)
}

// readFrom appends everything r returns, up to EOF.
func (b *buffer) readFrom(r io.Reader) error {
	for {
		if len(b.b) == cap(b.b) {
			b.b = append(b.b, 0)[:len(b.b)]
		}
		n, err := r.Read(b.b[len(b.b):cap(b.b)])
		b.b = b.b[:len(b.b)+n]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Write lets html/template render straight into a pooled buffer.
func (b *buffer) Write(p []byte) (int, error) {
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *buffer) raw(s string) { b.b = append(b.b, s...) }

// elem writes <name>value</name> with value escaped.
func (b *buffer) elem(name, value string) {
	b.b = append(b.b, '<')
	b.b = append(b.b, name...)
	b.b = append(b.b, '>')
	b.b = appendEscaped(b.b, value)
	b.b = append(b.b, "</"...)
	b.b = append(b.b, name...)
	b.b = append(b.b, '>')
}

// appendEscaped appends s as XML character data safe in text and in
// attribute values. Bytes that are not valid UTF-8 and characters XML 1.0
// forbids become U+FFFD, so whatever a client sent, the reply parses.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				dst = append(dst, "&amp;"...)
			case c == '<':
				dst = append(dst, "&lt;"...)
			case c == '>':
				dst = append(dst, "&gt;"...)
			case c == '"':
				dst = append(dst, "&quot;"...)
			case c == '\'':
				dst = append(dst, "&apos;"...)
			case c == '\t' || c == '\n':
				dst = append(dst, c)
			case c == '\r':
				// A literal CR would be normalised away by the reader.
				dst = append(dst, "&#xD;"...)
			case c < 0x20 || c == 0x7f:
				dst = append(dst, "\uFFFD"...)
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF || (r >= 0x80 && r <= 0x9f) {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}

// echo cuts a client-supplied value to maxEcho bytes.
func echo(s string) string { return truncate(s, maxEcho) }

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	// Back up to the start of the rune that straddles the cut.
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// replyVersion is the Version sent back: the client's own when it looks
// like a version number (old clients compare it), else defaultVersion.
func replyVersion(v string) string {
	if v == "" || len(v) > 8 {
		return defaultVersion
	}
	for i := 0; i < len(v); i++ {
		if (v[i] < '0' || v[i] > '9') && v[i] != '.' {
			return defaultVersion
		}
	}
	return v
}

// reply is the outcome of one action, rendered by appendSAS. It is a plain
// struct rather than a tree of XML values so that writing it allocates
// nothing.
type reply struct {
	pass    bool
	errCode string // with !pass; "" is a bare FAIL (wrong OTC)
	message string // <Message>, a sentence for people; only for refusals of the request itself

	id          string // <Id> of a newly provisioned device
	cert        string // <Certificate>: the device certificate, PEM (#14)
	strings     string // <SecurityStrings>
	hasPolicies bool
	policies    core.ClientPolicies
	certPin     string // with certPinning ON: the certificate's SHA-256

	sessionID string // <SessionID> of sessionstart
	username  string // <Username> of getusernamebyattribute
	attrValue string // <AttributeValue> of getuserattribute
	hasIndex  bool
	index     int // <Index> of transportindex and ondemandmessage
}

var passReply = reply{pass: true}

func failReply(code string) reply { return reply{errCode: code} }

const xmlProlog = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// appendSAS renders an SASResponse for req into b.
func appendSAS(b *buffer, req *request, rep *reply) {
	b.raw(xmlProlog)
	b.raw("<SASResponse>")
	b.elem("Version", replyVersion(req.Version))
	if req.RequestID != "" {
		b.elem("RequestID", echo(req.RequestID))
	}
	if rep.pass {
		b.raw("<Result>PASS</Result>")
	} else {
		b.raw("<Result>FAIL</Result>")
		if rep.errCode != "" {
			b.elem("Error", rep.errCode)
		}
		if rep.message != "" {
			b.elem("Message", rep.message)
		}
	}
	if rep.id != "" {
		b.elem("Id", rep.id)
	}
	if rep.cert != "" {
		b.elem("Certificate", rep.cert)
	}
	if rep.strings != "" {
		b.elem("SecurityStrings", rep.strings)
	}
	if rep.hasPolicies {
		appendPolicies(b, &rep.policies, rep.certPin)
	}
	if rep.sessionID != "" {
		b.elem("SessionID", rep.sessionID)
	}
	if rep.username != "" {
		b.elem("Username", rep.username)
	}
	if rep.attrValue != "" {
		b.elem("AttributeValue", rep.attrValue)
	}
	if rep.hasIndex {
		b.elem("Index", strconv.Itoa(rep.index))
	}
	b.raw("</SASResponse>\n")
}

// appendPolicies writes the Policies element with the stable ids of
// protocol.md §4, in that order, then the provisioning-profile ids of
// #14 (docs/api.md), which older clients ignore.
func appendPolicies(b *buffer, p *core.ClientPolicies, certPin string) {
	b.raw("<Policies>")
	onOff := func(id string, v bool) {
		if v {
			policy(b, id, "ON")
		} else {
			policy(b, id, "OFF")
		}
	}
	onOff("allowPinEntry", p.AllowPINEntry)
	onOff("allowChooseExtraction", p.AllowChooseExtraction)
	onOff("allowBrowseStrings", p.AllowBrowseStrings)
	onOff("provisionNumeric", p.ProvisionNumeric)
	onOff("syncIndex", p.SyncIndex)
	policy(b, "supportEmail", p.SupportEmail)
	policy(b, "supportPhone", p.SupportPhone)
	policy(b, "vpnUrlScheme", p.VPNURLScheme)
	onOff("logging", p.Logging)
	onOff("readOnlySettings", p.ReadOnlySettings)
	policy(b, "pinMode", strings.ToUpper(p.PINMode))
	policy(b, "pinCacheTimeout", strconv.Itoa(p.PINCacheTimeout))
	policy(b, "pinMaxRetries", strconv.Itoa(p.PINMaxRetries))
	policy(b, "pinLockTime", strconv.Itoa(p.PINLockTime))
	onOff("mutualAuth", p.MutualAuth)
	onOff("certPinning", p.CertPinning)
	if certPin != "" {
		policy(b, "certPin", certPin)
	}
	b.raw("</Policies>")
}

func policy(b *buffer, id, value string) {
	b.raw(`<Policy id="`)
	b.raw(id)
	b.raw(`" section="MobileClient" show="true">`)
	b.b = appendEscaped(b.b, value)
	b.raw("</Policy>")
}
