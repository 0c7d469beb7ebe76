package agentxml_test

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

// Character sets and byte-order marks as agents really send them
// (protocol.md §2: be lenient in what you accept), over HTTPS.

const bom = "\xef\xbb\xbf"

// charsetCase is one AgentXML exists request for "josé" (or "alice")
// with the bytes, the Content-Type and the way it is sent.
type charsetCase struct {
	name        string
	contentType string
	form        bool // POST as xml=... form field
	body        string
	wantResult  string
	wantError   string
	wantStatus  int // default 200
}

func existsBody(prolog, user string) string {
	return prolog + `<SASRequest><Version>3.6</Version><Secret>` + agentSecret +
		`</Secret><Action>exists</Action><Username>` + user + `</Username></SASRequest>`
}

var charsetCases = []charsetCase{
	// A UTF-8 byte-order mark is what .NET's XmlWriter, PowerShell's
	// Out-File and Windows Notepad put first; XML 1.0 (4.3.3) allows it.
	{name: "BOM and prolog", contentType: "text/xml", body: bom + existsBody(`<?xml version="1.0" encoding="UTF-8"?>`, "alice"), wantResult: "PASS"},
	{name: "BOM without prolog", contentType: "text/xml", body: bom + existsBody("", "alice"), wantResult: "PASS"},
	{name: "BOM then a line break", contentType: "text/xml", body: bom + "\r\n" + existsBody(`<?xml version="1.0"?>`, "alice"), wantResult: "PASS"},
	{name: "BOM inside a form field", form: true, body: bom + existsBody(`<?xml version="1.0"?>`, "alice"), wantResult: "PASS"},
	{name: "BOM and a UTF-8 username", contentType: "text/xml", body: bom + existsBody("", "josé"), wantResult: "PASS"},

	{name: "UTF-8 username", contentType: "text/xml", body: existsBody("", "josé"), wantResult: "PASS"},
	{name: "UTF-8 username in upper case", contentType: "text/xml", body: existsBody("", "JOSÉ"), wantResult: "PASS"},
	{name: "Latin-1 in the prolog", contentType: "text/xml", body: existsBody(`<?xml version="1.0" encoding="ISO-8859-1"?>`, "jos\xe9"), wantResult: "PASS"},
	{name: "Latin-1 in the prolog, single quotes", contentType: "text/xml", body: existsBody(`<?xml version='1.0' encoding='iso-8859-1'?>`, "jos\xe9"), wantResult: "PASS"},
	// RFC 7303 3.2: the charset parameter says how the bytes are
	// encoded when the document does not say it itself.
	{name: "Latin-1 in the Content-Type only", contentType: "text/xml; charset=ISO-8859-1", body: existsBody("", "jos\xe9"), wantResult: "PASS"},
	{name: "Latin-1 in the Content-Type, quoted", contentType: `application/xml;charset="iso-8859-1"`, body: existsBody(`<?xml version="1.0"?>`, "jos\xe9"), wantResult: "PASS"},
	{name: "windows-1252 in the Content-Type", contentType: "text/xml; charset=windows-1252", body: existsBody("", "jos\xe9"), wantResult: "PASS"},
	{name: "prolog wins over the Content-Type", contentType: "text/xml; charset=ISO-8859-1", body: existsBody(`<?xml version="1.0" encoding="UTF-8"?>`, "josé"), wantResult: "PASS"},
	// RFC 7303 3.3: a byte-order mark decides over the charset parameter.
	{name: "UTF-8 BOM wins over a Latin-1 Content-Type", contentType: "text/xml; charset=ISO-8859-1", body: bom + existsBody("", "josé"), wantResult: "PASS"},
	{name: "UTF-16 BOM wins over a Latin-1 Content-Type", contentType: "text/xml; charset=ISO-8859-1", body: utf16Body(false, existsBody("", "josé")), wantResult: "PASS"},
	{name: "UTF-8 Content-Type, UTF-8 body", contentType: "application/xml; charset=utf-8", body: existsBody("", "josé"), wantResult: "PASS"},

	// .NET's XmlDocument.Save to a StringWriter declares UTF-16 and the
	// HTTP client then sends the string as UTF-8.
	{name: "UTF-16 declared, UTF-8 bytes", contentType: "text/xml; charset=utf-8", body: existsBody(`<?xml version="1.0" encoding="utf-16"?>`, "josé"), wantResult: "PASS"},
	// What .NET's Encoding.Unicode writes: UTF-16 after a byte-order mark.
	{name: "UTF-16LE with a byte-order mark", contentType: "text/xml; charset=utf-16", body: utf16Body(false, existsBody(`<?xml version="1.0" encoding="utf-16"?>`, "josé")), wantResult: "PASS"},
	{name: "UTF-16BE with a byte-order mark", contentType: "text/xml", body: utf16Body(true, existsBody("", "josé")), wantResult: "PASS"},

	{name: "Latin-1 bytes declared nowhere", contentType: "text/xml", body: existsBody("", "jos\xe9"),
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"},
	{name: "Latin-1 bytes under a UTF-8 Content-Type", contentType: "text/xml; charset=utf-8", body: existsBody("", "jos\xe9"),
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"},
}

func TestServer_Charsets(t *testing.T) {
	e := newEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	storetest.MustAddUser(t, e.svc, "josé", "1234")
	for _, tc := range charsetCases {
		t.Run(tc.name, func(t *testing.T) {
			u := e.srv.URL() + "/pinsafe/AgentXML"
			var resp *http.Response
			var err error
			if tc.form {
				resp, err = e.agent.HTTP.PostForm(u, url.Values{"xml": {tc.body}})
			} else {
				resp, err = e.agent.HTTP.Post(u, tc.contentType, strings.NewReader(tc.body))
			}
			if err != nil {
				t.Fatal(err)
			}
			r, err := agentxmltest.ReadResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			checkResponse(t, r, envelopeCase{wantStatus: tc.wantStatus, wantResult: tc.wantResult, wantError: tc.wantError})
		})
	}
}

// The AdminXML path reads its body the same way.
func TestAdminXML_ByteOrderMarkAndCharset(t *testing.T) {
	f := newFixture(t)
	c := f.admin(t, "")
	for _, tc := range []struct{ name, contentType, body string }{
		{"BOM and prolog", "text/xml", bom + `<?xml version="1.0" encoding="UTF-8"?><AdminRequest secret="hr-secret-1234" version="3.6"><Read><User name="carol"/></Read></AdminRequest>`},
		{"BOM without prolog", "text/xml", bom + `<AdminRequest secret="hr-secret-1234" version="3.6"><Read><User name="carol"/></Read></AdminRequest>`},
		{"Latin-1 in the Content-Type", "text/xml; charset=ISO-8859-1", "<AdminRequest secret=\"hr-secret-1234\" version=\"3.6\"><Create><User name=\"ren\xe9e\"/></Create></AdminRequest>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.HTTP.Post(f.url+"/pinsafe/AdminXML", tc.contentType, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			r, err := agentxmltest.ReadAdmin(resp)
			if err != nil {
				t.Fatal(err)
			}
			if r.StatusCode != 200 || r.Result != "PASS" {
				t.Errorf("HTTP %d %s %s, want 200 PASS\n%s", r.StatusCode, r.Result, r.Error, r.Body)
			}
		})
	}
	if ok, err := f.svc.Exists("renée"); err != nil || !ok {
		t.Errorf("renée created from a Latin-1 request: exists=%v err=%v", ok, err)
	}
}

// utf16Body is s in UTF-16 with its byte-order mark, big- or little-endian.
func utf16Body(bigEndian bool, s string) string {
	var order binary.AppendByteOrder = binary.LittleEndian
	if bigEndian {
		order = binary.BigEndian
	}
	b := order.AppendUint16(nil, 0xFEFF)
	for _, u := range utf16.Encode([]rune(s)) {
		b = order.AppendUint16(b, u)
	}
	return string(b)
}

// FuzzXMLText feeds the body normaliser arbitrary bytes: it must never
// panic, must return UTF-16 input (after its byte-order mark) as UTF-8,
// and must leave every other body as it was, but for a leading UTF-8
// byte-order mark and surrounding whitespace.
func FuzzXMLText(f *testing.F) {
	for _, tc := range charsetCases {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte("\xff\xfe<\x00"))
	f.Add([]byte("\xfe\xff\x00<\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out := agentxml.XMLText(data)
		switch {
		case bytes.HasPrefix(data, []byte("\xff\xfe")), bytes.HasPrefix(data, []byte("\xfe\xff")):
			if !utf8.Valid(out) {
				t.Fatalf("UTF-16 input %q gave invalid UTF-8 %q", data, out)
			}
		default:
			want := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(bom)))
			if !bytes.Equal(out, want) {
				t.Fatalf("xmlText(%q) = %q, want %q", data, out, want)
			}
		}
	})
}

// A UTF-8 username goes the whole way: the Provision URL carries it, the
// phone provisions and downloads with it, and an agent logs the user in
// under another letter case and in a Latin-1 request.
func TestServer_UTF8UsernameEndToEnd(t *testing.T) {
	e := newEnv(t)
	m := e.provisioned(t, "josé", "2468")
	if got := m.Username(); got != "josé" {
		t.Fatalf("username from the Provision URL = %q, want josé", got)
	}
	code, _ := m.OTC("2468")
	if res, errCode, err := e.agent.Login("JOSÉ", code); err != nil || res != "PASS" {
		t.Fatalf("login as JOSÉ: %s %s %v", res, errCode, err)
	}
	code, _ = m.OTC("2468")
	body := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><SASRequest><Version>3.6</Version><Secret>" + agentSecret +
		"</Secret><Action>login</Action><Username>jos\xe9</Username><OTC>" + code + "</OTC></SASRequest>"
	r, err := e.agent.Do("/pinsafe/AgentXML", body)
	if err != nil || !r.Pass() {
		t.Fatalf("login in Latin-1: %v %+v", err, r)
	}
	wantLog(t, e.svc, `User "josé" provisioned successfully`, "Login successful for user: josé.")
}
