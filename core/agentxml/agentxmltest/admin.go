package agentxmltest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// AdminClient talks to /AdminXML like an admin script or helpdesk tool.
type AdminClient struct {
	// BaseURL is the server's https://host:port.
	BaseURL string
	// Secret is the agent's shared secret.
	Secret string
	// Version is sent in every request; NewAdminClient sets 3.6.
	Version string
	// Path is where requests go; NewAdminClient sets /pinsafe/AdminXML.
	Path string
	// HTTP is the pinned client.
	HTTP *http.Client
}

// NewAdminClient returns an admin client for the server at baseURL whose
// certificate has the given fingerprint.
func NewAdminClient(baseURL, fingerprint, secret string) (*AdminClient, error) {
	hc, err := PinnedClient(fingerprint)
	if err != nil {
		return nil, err
	}
	return &AdminClient{BaseURL: baseURL, Secret: secret, Version: "3.6", Path: "/pinsafe/AdminXML", HTTP: hc}, nil
}

// Admin sends operations (XML elements such as <Read><User name="a"/></Read>)
// in an AdminRequest with the client's secret and version.
func (c *AdminClient) Admin(ops string) (*AdminResponse, error) {
	return c.Do(c.Path, c.envelope("AdminRequest", ops))
}

// Helpdesk sends operations in a HelpdeskRequest.
func (c *AdminClient) Helpdesk(ops string) (*AdminResponse, error) {
	return c.Do(c.Path, c.envelope("HelpdeskRequest", ops))
}

func (c *AdminClient) envelope(root, ops string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" ?><%s secret="`, root)
	_ = xml.EscapeText(&b, []byte(c.Secret))
	b.WriteString(`" version="`)
	_ = xml.EscapeText(&b, []byte(c.Version))
	b.WriteString(`">` + ops + "</" + root + ">")
	return b.String()
}

// Do posts xmlBody to path and parses the AdminResponse or
// HelpdeskResponse, whatever the HTTP status.
func (c *AdminClient) Do(path, xmlBody string) (*AdminResponse, error) {
	resp, err := c.HTTP.Post(c.BaseURL+path, "application/xml; charset=utf-8", strings.NewReader(xmlBody))
	if err != nil {
		return nil, err
	}
	return readAdmin(resp)
}

// Get sends xmlBody as the xml= query parameter of a GET, as browsers and
// simple scripts do.
func (c *AdminClient) Get(path, xmlBody string) (*AdminResponse, error) {
	resp, err := c.HTTP.Get(c.BaseURL + path + "?xml=" + url.QueryEscape(xmlBody))
	if err != nil {
		return nil, err
	}
	return readAdmin(resp)
}

func readAdmin(resp *http.Response) (*AdminResponse, error) {
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	var r AdminResponse
	if err := xml.NewDecoder(bytes.NewReader(raw)).Decode(&r); err != nil {
		return nil, fmt.Errorf("HTTP %d: not an AdminResponse: %w: %.200q", resp.StatusCode, err, raw)
	}
	r.StatusCode, r.ContentType, r.Body = resp.StatusCode, resp.Header.Get("Content-Type"), raw
	return &r, nil
}

// AdminResponse is a parsed AdminResponse or HelpdeskResponse.
type AdminResponse struct {
	XMLName   xml.Name
	Version   string    `xml:"Version"`
	RequestID string    `xml:"RequestID"`
	Result    string    `xml:"Result"`
	Error     string    `xml:"Error"`
	Message   string    `xml:"Message"`
	Ops       []AdminOp `xml:",any"`

	StatusCode  int    `xml:"-"`
	ContentType string `xml:"-"`
	Body        []byte `xml:"-"`
}

// Op returns the i-th operation named name, or nil.
func (r *AdminResponse) Op(name string, i int) *AdminOp {
	for k := range r.Ops {
		if r.Ops[k].XMLName.Local == name {
			if i == 0 {
				return &r.Ops[k]
			}
			i--
		}
	}
	return nil
}

// AdminOp is the result of one operation element.
type AdminOp struct {
	XMLName    xml.Name
	Repository string          `xml:"repository,attr"`
	Result     string          `xml:"Result"`
	Error      string          `xml:"Error"`
	Message    string          `xml:"Message"`
	Users      []AdminUser     `xml:"User"`
	Reports    []ReportSection `xml:",any"`
}

// User returns the result for the named user, or nil.
func (o *AdminOp) User(name string) *AdminUser {
	for i := range o.Users {
		if o.Users[i].Name == name {
			return &o.Users[i]
		}
	}
	return nil
}

// ReportSection is an Idle, Locked or Disabled element of a Report.
type ReportSection struct {
	XMLName xml.Name
	Since   string      `xml:"since,attr"`
	Users   []AdminUser `xml:"User"`
}

// Names returns the names of the section's users in order.
func (s *ReportSection) Names() []string {
	var out []string
	for _, u := range s.Users {
		out = append(out, u.Name)
	}
	return out
}

// AdminUser is one user in a reply: a result, a Read's details, or a
// report line.
type AdminUser struct {
	Name       string `xml:"name,attr"`
	Repository string `xml:"repository,attr"`
	Result     string `xml:"Result"`
	Error      string `xml:"Error"`
	Message    string `xml:"Message"`
	Index      string `xml:"Index"`
	Credential *struct {
		HasPIN string `xml:"haspin,attr"`
	} `xml:"Credentials"`
	Transports []struct {
		Type  string `xml:"type,attr"`
		Name  string `xml:"name,attr"`
		Value string `xml:",chardata"`
	} `xml:"Transports>Transport"`
	Groups []struct {
		Name string `xml:"name,attr"`
	} `xml:"Groups>Group"`
	Rights     []NamedValue `xml:"Rights>Right"`
	Policies   []NamedValue `xml:"Policies>Policy"`
	Attributes []NamedValue `xml:"Attributes>Attribute"`
	Status     *struct {
		Created     string `xml:"created,attr"`
		LastLogin   string `xml:"lastlogin,attr"`
		Failures    string `xml:"failures,attr"`
		Provisioned string `xml:"provisioned,attr"`
		DeviceOS    string `xml:"deviceos,attr"`
		DeletedAt   string `xml:"deletedat,attr"`
	} `xml:"Status"`
	// Token is the user's token kind and state (OATH, issue #11).
	Token *struct {
		Kind    string `xml:"kind,attr"`
		State   string `xml:"state,attr"`
		Pending string `xml:"pending,attr"`
		Expires string `xml:"expires,attr"`
	} `xml:"Token"`
	// Report lines carry these as attributes.
	Created   string `xml:"created,attr"`
	LastLogin string `xml:"lastlogin,attr"`
	Failures  string `xml:"failures,attr"`
}

// NamedValue is a Right, Policy or Attribute.
type NamedValue struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

// Pass reports whether the user's result is PASS.
func (u *AdminUser) Pass() bool { return u.Result == "PASS" }

// Value returns the value of the named right, policy or attribute.
func Value(list []NamedValue, name string) (string, bool) {
	for _, nv := range list {
		if nv.Name == name {
			return nv.Value, true
		}
	}
	return "", false
}

// ReadAdmin parses an HTTP response holding an AdminResponse or
// HelpdeskResponse and closes its body, for tests that build their own
// requests.
func ReadAdmin(resp *http.Response) (*AdminResponse, error) { return readAdmin(resp) }
