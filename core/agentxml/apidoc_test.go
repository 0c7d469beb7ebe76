package agentxml_test

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"provisio/core"
)

// docs/api.md is executable: every ```xml request block is sent to a
// server holding the fixture, and the ```xml response block after it must
// match the reply. Each ### section starts a fresh server; within one,
// examples run in order, and a <SessionID> in a request is replaced by the
// last one the server gave in the section. go test -run TestAPIDoc -update
// rewrites the response blocks from the server's replies (review the diff
// before committing).

var updateDoc = flag.Bool("update", false, "rewrite the response blocks of docs/api.md")

const apiDoc = "../../docs/api.md"

// volatile elements hold values that differ on every run: they compare
// equal whatever their text.
var volatile = map[string]bool{"SessionID": true, "Id": true, "SecurityStrings": true}

var sessionRe = regexp.MustCompile(`<SessionID>[^<]*</SessionID>`)

// docExample is one request with the response the document promises.
type docExample struct {
	section    string
	line       int    // of the request block, for messages
	method     string // POST
	path       string
	request    string
	status     int
	response   string
	respStart  int // line range of the response body, for -update
	respEnd    int
	hasRequest bool
}

var fenceRe = regexp.MustCompile("^```xml (request|response)(.*)$")

// readDoc returns the examples of the document grouped by section, in
// order, and the document's lines.
func readDoc(t testing.TB) ([]string, [][]docExample) {
	t.Helper()
	data, err := os.ReadFile(apiDoc)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	var sections [][]docExample
	section := ""
	var cur *docExample
	for i := 0; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "### ") {
			section = strings.TrimPrefix(lines[i], "### ")
			sections = append(sections, nil)
			continue
		}
		m := fenceRe.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		start := i + 1
		end := start
		for end < len(lines) && lines[end] != "```" {
			end++
		}
		body := strings.Join(lines[start:end], "\n")
		args := strings.Fields(m[2])
		if len(sections) == 0 {
			t.Fatalf("%s:%d: example before the first ### section", apiDoc, i+1)
		}
		switch m[1] {
		case "request":
			if len(args) != 2 {
				t.Fatalf("%s:%d: want ```xml request METHOD PATH", apiDoc, i+1)
			}
			cur = &docExample{section: section, line: i + 1, method: args[0], path: args[1], request: body, hasRequest: true, status: 200}
		case "response":
			if cur == nil {
				t.Fatalf("%s:%d: response without a request", apiDoc, i+1)
			}
			if len(args) == 1 {
				cur.status, _ = strconv.Atoi(args[0])
			}
			cur.response, cur.respStart, cur.respEnd = body, start, end
			last := len(sections) - 1
			sections[last] = append(sections[last], *cur)
			cur = nil
		}
		i = end
	}
	return lines, sections
}

func TestAPIDoc(t *testing.T) {
	lines, sections := readDoc(t)
	if len(sections) < 30 {
		t.Fatalf("docs/api.md has %d sections; the examples were not found", len(sections))
	}
	updates := map[int][]string{} // response start line → new body lines
	ends := map[int]int{}
	for _, exs := range sections {
		if len(exs) == 0 {
			continue
		}
		t.Run(exs[0].section, func(t *testing.T) {
			f := newFixture(t)
			if setup := sectionSetup[exs[0].section]; setup != nil {
				setup(t, f)
			}
			hc := f.agent(t, "").HTTP
			session := "" // the last SessionID the server gave
			for _, ex := range exs {
				body := ex.request
				if session != "" {
					body = sessionRe.ReplaceAllLiteralString(body, "<SessionID>"+session+"</SessionID>")
				}
				req, err := http.NewRequest(ex.method, f.url+ex.path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != ex.status {
					t.Errorf("%s:%d: HTTP %d, document says %d", apiDoc, ex.line, resp.StatusCode, ex.status)
				}
				if m := sessionRe.Find(raw); m != nil {
					session = strings.TrimSuffix(strings.TrimPrefix(string(m), "<SessionID>"), "</SessionID>")
				}
				if *updateDoc {
					updates[ex.respStart] = strings.Split(pretty(t, raw), "\n")
					ends[ex.respStart] = ex.respEnd
					continue
				}
				want, err := normalise(ex.response)
				if err != nil {
					t.Fatalf("%s:%d: documented response: %v", apiDoc, ex.line, err)
				}
				got, err := normalise(string(raw))
				if err != nil {
					t.Fatalf("%s:%d: reply: %v\n%s", apiDoc, ex.line, err, raw)
				}
				if got != want {
					t.Errorf("%s:%d: reply differs from the document\n got: %s\nwant: %s", apiDoc, ex.line, got, want)
				}
			}
		})
	}
	if *updateDoc {
		var out []string
		for i := 0; i < len(lines); i++ {
			if body, ok := updates[i]; ok {
				// Lines i up to the closing fence are the old body.
				out = append(out, body...)
				i = ends[i]
			}
			out = append(out, lines[i])
		}
		if err := os.WriteFile(apiDoc, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sectionSetup prepares the fixture for the sections whose examples need
// more than it holds; each such section says so in its text.
var sectionSetup = map[string]func(t testing.TB, f *fixtureEnv){
	// alice's own profile has client logging on (#14).
	"clientlog": func(t testing.TB, f *fixtureEnv) {
		p := core.Profile{Name: "Diagnostics", ClientPolicies: core.DefaultClientPolicies(f.svc.Settings().MobileClient)}
		p.SupportEmail, p.Logging = "help@example.org", true
		if err := f.svc.AddProfile(p); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.AssignProfileToUser("Diagnostics", "alice"); err != nil {
			t.Fatal(err)
		}
	},
}

// normalise reduces an XML document to a canonical one-line form: no
// whitespace-only text, text trimmed, volatile element text replaced by
// "*".
func normalise(doc string) (string, error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	var b strings.Builder
	var stack []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			fmt.Fprintf(&b, "<?%s %s?>", t.Target, t.Inst)
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			b.WriteString("<" + t.Name.Local)
			for _, a := range t.Attr {
				fmt.Fprintf(&b, " %s=%q", a.Name.Local, a.Value)
			}
			b.WriteString(">")
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			b.WriteString("</" + t.Name.Local + ">")
		case xml.CharData:
			text := strings.TrimSpace(string(t))
			if text == "" {
				continue
			}
			if len(stack) > 0 && volatile[stack[len(stack)-1]] {
				text = "*"
			}
			xml.EscapeText(&b, []byte(text))
		}
	}
}

// pretty indents a reply for the document: one element per line, text
// elements on their line, empty ones self-closed. A download's 100
// security strings are cut to two: the text is volatile anyway.
func pretty(t testing.TB, raw []byte) string {
	t.Helper()
	type elem struct {
		start xml.StartElement
		text  string
		kids  []*elem
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	prolog := ""
	var root *elem
	var open []*elem
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reply is not XML: %v\n%s", err, raw)
		}
		switch tt := tok.(type) {
		case xml.ProcInst:
			prolog = fmt.Sprintf("<?%s %s?>\n", tt.Target, tt.Inst)
		case xml.StartElement:
			e := &elem{start: tt.Copy()}
			if len(open) == 0 {
				root = e
			} else {
				open[len(open)-1].kids = append(open[len(open)-1].kids, e)
			}
			open = append(open, e)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 {
				open[len(open)-1].text += strings.TrimSpace(string(tt))
			}
		}
	}
	var b strings.Builder
	b.WriteString(prolog)
	var write func(e *elem, indent string)
	write = func(e *elem, indent string) {
		b.WriteString(indent + "<" + e.start.Name.Local)
		for _, a := range e.start.Attr {
			b.WriteString(" " + a.Name.Local + `="`)
			xml.EscapeText(&b, []byte(a.Value)) // escapes " as &#34;
			b.WriteString(`"`)
		}
		text := e.text
		if e.start.Name.Local == "SecurityStrings" && len(text) > 22 {
			text = text[:22] + "..."
		}
		switch {
		case len(e.kids) == 0 && text == "":
			b.WriteString("/>\n")
		case len(e.kids) == 0:
			b.WriteString(">")
			b.WriteString(strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text))
			b.WriteString("</" + e.start.Name.Local + ">\n")
		default:
			b.WriteString(">\n")
			for _, k := range e.kids {
				write(k, indent+"  ")
			}
			b.WriteString(indent + "</" + e.start.Name.Local + ">\n")
		}
	}
	if root != nil {
		write(root, "")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
