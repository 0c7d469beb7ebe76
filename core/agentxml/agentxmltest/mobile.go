package agentxmltest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"provisio/core"
)

// MobileClient behaves like the mobile authenticator app: it reads the
// Provision URL, resolves the Site ID, provisions, downloads security
// strings and computes login codes from them with the user's PIN.
type MobileClient struct {
	http     *http.Client
	base     string // scheme://host:port of the server
	agentURL string // where the mobile actions go
	siteID   string
	username string
	code     string

	fp   string // the server certificate's pinned fingerprint
	csr  string // PEM CSR sent with provision (UseMutualAuth)
	key  crypto.Signer
	cert string // PEM device certificate from provision

	deviceID string
	policies []Policy
	strs     [][10]byte
	next     int
}

// NewMobileClient parses provisionURL and, when it names a Site ID, looks
// the Site ID up with getServerDetails the way a phone does, using the
// server details it returns. The server's certificate must have the given
// SHA-256 fingerprint.
func NewMobileClient(provisionURL, fingerprint string) (*MobileClient, error) {
	host, port, siteID, username, code, err := core.ParseProvisionURL(provisionURL)
	if err != nil {
		return nil, err
	}
	hc, err := PinnedClient(fingerprint)
	if err != nil {
		return nil, err
	}
	m := &MobileClient{http: hc, siteID: siteID, username: username, code: code, fp: fingerprint,
		base: "https://" + net.JoinHostPort(host, port)}
	m.agentURL = m.base + "/proxy/AgentXML"
	if siteID != "" {
		if err := m.resolve(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// serverDetails is the getServerDetails answer.
type serverDetails struct {
	ResponseCode string `xml:"responseCode"`
	Hostname     string `xml:"SSDetails>hostname"`
	Port         string `xml:"SSDetails>port"`
	UsingSSL     string `xml:"SSDetails>usingSSL"`
	Connection   string `xml:"SSDetails>connectionType"`
}

func (m *MobileClient) resolve() error {
	status, _, body, err := get(m.http, m.base+"/ssdserver/getServerDetails?id="+url.QueryEscape(m.siteID))
	if err != nil {
		return fmt.Errorf("site ID lookup: %w", err)
	}
	var d serverDetails
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&d); err != nil {
		return fmt.Errorf("site ID lookup: HTTP %d: %w", status, err)
	}
	if d.ResponseCode != "0" {
		return fmt.Errorf("site ID lookup: Error Server, Unknown Server ID (responseCode %s)", d.ResponseCode)
	}
	scheme := "http"
	if strings.EqualFold(d.UsingSSL, "YES") {
		scheme = "https"
	}
	conn := d.Connection
	if conn == "" {
		conn = "proxy"
	}
	m.base = scheme + "://" + net.JoinHostPort(d.Hostname, d.Port)
	m.agentURL = m.base + "/" + conn + "/AgentXML"
	return nil
}

// AgentURL returns where the client sends its requests.
func (m *MobileClient) AgentURL() string { return m.agentURL }

// Username returns the user named in the Provision URL.
func (m *MobileClient) Username() string { return m.username }

// DeviceID returns the Id the server gave at provisioning, or "".
func (m *MobileClient) DeviceID() string { return m.deviceID }

// Policies returns the policies of the last provision or download.
func (m *MobileClient) Policies() []Policy { return append([]Policy(nil), m.policies...) }

// Strings returns a copy of the downloaded security strings.
func (m *MobileClient) Strings() [][10]byte { return append([][10]byte(nil), m.strs...) }

// Do posts xmlBody to the client's AgentXML URL, for tests of odd requests.
func (m *MobileClient) Do(xmlBody string) (*Response, error) {
	return post(m.http, m.agentURL, xmlBody)
}

// Provision redeems the provision code. A FAIL is returned as *FailError.
func (m *MobileClient) Provision(deviceOS string) error {
	pairs := []string{"Version", "3.6", "Action", "provision", "Username", m.username,
		"ProvisionCode", m.code, "DeviceOS", deviceOS}
	if m.csr != "" {
		pairs = append(pairs, "CSR", m.csr)
	}
	r, err := m.Do(SASRequest(pairs...))
	if err != nil {
		return err
	}
	if !r.Pass() {
		return &FailError{Action: "provision", Code: r.Error}
	}
	if len(r.ID) != 32 {
		return fmt.Errorf("provision: device Id %q is not 32 hex characters", r.ID)
	}
	m.deviceID, m.policies, m.strs, m.next = r.ID, r.Policies, nil, 0
	m.cert = r.Certificate
	return nil
}

// UseMutualAuth makes a new ECDSA P-256 key and a CSR for it (CN the
// username), which the next Provision sends, as a client for a profile
// with mutual authentication does (#14).
func (m *MobileClient) UseMutualAuth() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: m.username}}, key)
	if err != nil {
		return err
	}
	m.key, m.csr = key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	return nil
}

// Certificate returns the PEM device certificate of the last provision,
// or "".
func (m *MobileClient) Certificate() string { return m.cert }

// ClientCertificate returns the device certificate with its key, for
// UseMTLS.
func (m *MobileClient) ClientCertificate() (tls.Certificate, error) {
	if m.cert == "" || m.key == nil {
		return tls.Certificate{}, errors.New("no device certificate: provision after UseMutualAuth")
	}
	b, _ := pem.Decode([]byte(m.cert))
	if b == nil {
		return tls.Certificate{}, errors.New("the device certificate is not PEM")
	}
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{b.Bytes}, PrivateKey: m.key, Leaf: leaf}, nil
}

// UseMTLS sends the client's requests to the mutual-TLS listener at addr
// (host:port), presenting cert, or no certificate when cert is nil.
func (m *MobileClient) UseMTLS(addr string, cert *tls.Certificate) error {
	hc, err := PinnedClient(m.fp)
	if err != nil {
		return err
	}
	if cert != nil {
		c := *cert
		hc.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{c}
	}
	m.http, m.agentURL = hc, "https://"+addr+"/proxy/AgentXML"
	return nil
}

// DownloadStrings fetches a new set of security strings for the device,
// which replaces every earlier set. A FAIL is returned as *FailError.
func (m *MobileClient) DownloadStrings() error {
	r, err := m.Do(SASRequest("Version", "3.6", "Action", "securitystrings", "Id", m.deviceID))
	if err != nil {
		return err
	}
	if !r.Pass() {
		return &FailError{Action: "securitystrings", Code: r.Error}
	}
	parts := strings.Split(r.SecurityStrings, ";")
	if len(parts) != core.StringsPerDownload {
		return fmt.Errorf("securitystrings: got %d strings, want %d", len(parts), core.StringsPerDownload)
	}
	strs := make([][10]byte, len(parts))
	for i, p := range parts {
		if len(p) != 10 {
			return fmt.Errorf("securitystrings: string %d is %q", i, p)
		}
		copy(strs[i][:], p)
	}
	m.strs, m.next, m.policies = strs, 0, r.Policies
	return nil
}

// SendClientLog uploads a diagnostic log with the device Id (clientlog,
// #14), as the app does when its user taps "Send diagnostic log"; it
// returns the answer, PASS or not.
func (m *MobileClient) SendClientLog(text string) (*Response, error) {
	return m.Do(SASRequest("Version", "3.6", "Action", "clientlog", "Id", m.deviceID, "Log", text))
}

// SyncIndex sets the next string to use from the server's TokenIndex, as
// the client does when the syncIndex policy is on.
func (m *MobileClient) SyncIndex() error {
	status, _, body, err := get(m.http, m.base+"/proxy/TokenIndex?username="+url.QueryEscape(m.username))
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("token index: HTTP %d: %s", status, strings.TrimSpace(string(body)))
	}
	n, err := strconv.Atoi(string(body))
	if err != nil {
		return fmt.Errorf("token index: %q is not a number", body)
	}
	m.next = n
	return nil
}

// OTC returns the login code for the next unused string, extracted with
// pin and followed by the two-digit index, and moves on to the next
// string. With no strings left it returns "" and -1.
func (m *MobileClient) OTC(pin string) (code string, index int) {
	if m.next >= len(m.strs) {
		return "", -1
	}
	index = m.next
	m.next++
	return core.MobileCode(core.ExtractOTC(m.strs[index], pin), index), index
}
