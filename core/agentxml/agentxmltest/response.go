package agentxmltest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Response is a parsed SASResponse with the HTTP details tests check.
type Response struct {
	XMLName         xml.Name `xml:"SASResponse"`
	Version         string   `xml:"Version"`
	RequestID       string   `xml:"RequestID"`
	Result          string   `xml:"Result"`
	Error           string   `xml:"Error"`
	Message         string   `xml:"Message"`
	ID              string   `xml:"Id"`
	Certificate     string   `xml:"Certificate"`
	SecurityStrings string   `xml:"SecurityStrings"`
	Policies        []Policy `xml:"Policies>Policy"`
	SessionID       string   `xml:"SessionID"`
	Username        string   `xml:"Username"`
	AttributeValue  string   `xml:"AttributeValue"`
	Index           string   `xml:"Index"`

	StatusCode  int    `xml:"-"`
	ContentType string `xml:"-"`
	Body        []byte `xml:"-"`
}

// Policy is one entry of the Policies element.
type Policy struct {
	ID      string `xml:"id,attr"`
	Section string `xml:"section,attr"`
	Show    string `xml:"show,attr"`
	Value   string `xml:",chardata"`
}

// Pass reports whether the result is PASS.
func (r *Response) Pass() bool { return r.Result == "PASS" }

// Policy returns the value of the policy with the given id.
func (r *Response) Policy(id string) (string, bool) {
	for _, p := range r.Policies {
		if p.ID == id {
			return p.Value, true
		}
	}
	return "", false
}

// FailError is a FAIL answer turned into a Go error. Code is the protocol
// error, "" for a bare FAIL.
type FailError struct {
	Action string
	Code   string
}

// Error says which action failed, and with which error code.
func (e *FailError) Error() string {
	if e.Code == "" {
		return "agentxml " + e.Action + ": FAIL"
	}
	return "agentxml " + e.Action + ": FAIL " + e.Code
}

// SASRequest builds a request in the child-element form from name/value
// pairs, escaping the values: SASRequest("Action", "ping", "Version", "3.6").
func SASRequest(pairs ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" ?><SASRequest>`)
	for i := 0; i+1 < len(pairs); i += 2 {
		b.WriteString("<" + pairs[i] + ">")
		_ = xml.EscapeText(&b, []byte(pairs[i+1]))
		b.WriteString("</" + pairs[i] + ">")
	}
	b.WriteString("</SASRequest>")
	return b.String()
}

// post sends body to url and parses the SASResponse. Any HTTP status is
// accepted as long as the body is an SASResponse (malformed requests get
// 400 and oversized ones 413 with a FAIL inside).
func post(hc *http.Client, url, body string) (*Response, error) {
	resp, err := hc.Post(url, "application/xml; charset=utf-8", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	return readResponse(resp)
}

func readResponse(resp *http.Response) (*Response, error) {
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var r Response
	if err := xml.NewDecoder(bytes.NewReader(raw)).Decode(&r); err != nil {
		return nil, fmt.Errorf("HTTP %d: not an SASResponse: %w: %.200q", resp.StatusCode, err, raw)
	}
	r.StatusCode, r.ContentType, r.Body = resp.StatusCode, resp.Header.Get("Content-Type"), raw
	return &r, nil
}

// get fetches url and returns the status, content type and body.
func get(hc *http.Client, url string) (int, string, []byte, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, resp.Header.Get("Content-Type"), body, err
}

// ReadResponse parses an HTTP response holding an SASResponse and closes
// its body, for tests that build their own requests.
func ReadResponse(resp *http.Response) (*Response, error) { return readResponse(resp) }
