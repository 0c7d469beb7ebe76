package agentxml_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
)

// simpleCases are bodies the fast path must read itself (fast) or leave to
// the full parser (!fast). Either way the result must be the full
// parser's.
var simpleCases = []struct {
	name string
	body string
	fast bool
}{
	{"ping with prolog", `<?xml version="1.0" ?><SASRequest><Version>3.6</Version><Action>ping</Action></SASRequest>`, true},
	{"login", `<?xml version="1.0" encoding="UTF-8"?>` + "\n<SASRequest>\n <Version>3.6</Version>\n <Secret>s3cret-123</Secret>\n <Action>login</Action>\n <Username>alice</Username>\n <OTC>123456</OTC>\n</SASRequest>\n", true},
	{"no prolog, lower case root, unknown element", `<sasrequest><Colour>blue</Colour><ACTION> ping </ACTION><id>x</id></sasrequest>`, true},
	{"empty element and repeated field", `<SASRequest><Username></Username><Action>a</Action><Action>b</Action></SASRequest>`, true},
	{"trailing data ignored", `<SASRequest><Action>ping</Action></SASRequest><junk`, true},
	{"greater-than in text", `<SASRequest><Secret>a>b</Secret></SASRequest>`, true},
	{"provision with a PEM CSR", "<SASRequest><Action>provision</Action><CSR>-----BEGIN CERTIFICATE REQUEST-----\nMIIBAz+/=\n-----END CERTIFICATE REQUEST-----\n</CSR></SASRequest>", true},
	{"PEM CSR with CRLF", "<SASRequest><CSR>-----BEGIN CERTIFICATE REQUEST-----\r\nMIIB\r\n-----END CERTIFICATE REQUEST-----\r\n</CSR></SASRequest>", false},

	{"entity", `<SASRequest><Secret>a&amp;b</Secret></SASRequest>`, false},
	{"attribute form", `<SASRequest secret="x" version="3.4"><Action>exists</Action></SASRequest>`, false},
	{"namespace prefix", `<s:SASRequest xmlns:s="urn:x"><s:Action>ping</s:Action></s:SASRequest>`, false},
	{"CDATA", `<SASRequest><Secret><![CDATA[x]]></Secret></SASRequest>`, false},
	{"comment", `<SASRequest><!-- c --><Action>ping</Action></SASRequest>`, false},
	{"nested element", `<SASRequest><Username>a<b>c</b></Username></SASRequest>`, false},
	{"self-closing element", `<SASRequest><Empty/><Action>ping</Action></SASRequest>`, false},
	{"non-ASCII text", `<SASRequest><Username>zoë</Username></SASRequest>`, false},
	{"CR in text", "<SASRequest><Username>a\r\nb</Username></SASRequest>", false},
	{"other prolog", `<?xml version="1.0" encoding="ISO-8859-1"?><SASRequest><Action>ping</Action></SASRequest>`, false},
	{"unsupported version", `<?xml version="2.0"?><SASRequest><Action>ping</Action></SASRequest>`, false},
	{"cdata end in text", `<SASRequest><Secret>a]]>b</Secret></SASRequest>`, false},
	{"mismatched end tag", `<SASRequest><Action>ping</action></SASRequest>`, false},
	{"unclosed", `<SASRequest><Action>ping</Action>`, false},
	{"wrong root", `<AdminRequest><Action>ping</Action></AdminRequest>`, false},
	{"text between elements", `<SASRequest>hello<Action>ping</Action></SASRequest>`, false},
	{"control character", "<SASRequest><Username>a\x01</Username></SASRequest>", false},
	{"space in tag", `<SASRequest ><Action>ping</Action></SASRequest >`, false},
}

// TestParseRequest_FastPath checks which bodies the fast path reads and
// that it reads them as the full parser does.
func TestParseRequest_FastPath(t *testing.T) {
	for _, tc := range simpleCases {
		t.Run(tc.name, func(t *testing.T) {
			fast, ok := agentxml.ParseSimple([]byte(tc.body))
			if ok != tc.fast {
				t.Fatalf("fast path took it: %v, want %v", ok, tc.fast)
			}
			full, err := agentxml.ParseFull([]byte(tc.body))
			if ok && (err != nil || fast != full) {
				t.Fatalf("fast path read %+v, full parser %+v (err %v)", fast, full, err)
			}
			got, gotErr := agentxml.ParseRequest([]byte(tc.body))
			if got != full || (gotErr == nil) != (err == nil) {
				t.Fatalf("parseRequest = %+v, %v; full parser %+v, %v", got, gotErr, full, err)
			}
		})
	}
}

// FuzzParseRequest_FastMatchesFull: whatever the fast path accepts, the
// full parser accepts too and reads to the same request.
func FuzzParseRequest_FastMatchesFull(f *testing.F) {
	for _, tc := range simpleCases {
		f.Add([]byte(tc.body))
	}
	for _, tc := range envelopeCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := agentxml.ParseSimple(data)
		if !ok {
			return
		}
		full, err := agentxml.ParseFull(data)
		if err != nil {
			t.Fatalf("fast path accepted what the full parser rejects (%v): %q", err, data)
		}
		if fast != full {
			t.Fatalf("fast path read %+v, full parser %+v: %q", fast, full, data)
		}
	})
}

// TestServer_OversizedChunkedBody: a body without a Content-Length
// (chunked) is still cut at 64 KiB; readXML only skips MaxBytesReader when
// net/http bounds the body by its Content-Length.
func TestServer_OversizedChunkedBody(t *testing.T) {
	e := newEnv(t)
	client, err := agentxmltest.PinnedClient(e.fp)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pad        int
		wantStatus int
	}{
		{64 << 10, http.StatusRequestEntityTooLarge},
		{60 << 10, http.StatusOK},
	} {
		body := io.MultiReader(strings.NewReader(`<SASRequest><Version>3.6</Version><Action>ping</Action><Pad>`),
			strings.NewReader(strings.Repeat("x", tc.pad)), strings.NewReader(`</Pad></SASRequest>`))
		req, err := http.NewRequest(http.MethodPost, e.srv.URL()+"/pinsafe/AgentXML", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1 // unknown: the client sends chunks
		req.Header.Set("Content-Type", "application/xml")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("chunked %d-byte pad: status %d, want %d: %s", tc.pad, resp.StatusCode, tc.wantStatus, out)
		}
	}
}
