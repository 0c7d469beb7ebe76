package adminapi

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"provisio/core"
)

// The remote console's side: it pairs once (ServerFingerprint, Pair),
// keeps its Identity in the user's configuration directory, and connects
// with it (DialRemote), pinning the server's certificate.

// Identity is what a paired console keeps about one server: its client
// certificate and key, and the server certificate it pinned.
type Identity struct {
	// Addr is the server's HOST:PORT.
	Addr string    `json:"addr"`
	Name string    `json:"name"`
	Role core.Role `json:"role"`
	// ServerFingerprint is the SHA-256 of the pinned server certificate.
	ServerFingerprint string    `json:"server_fingerprint"`
	PairedAt          time.Time `json:"paired_at"`

	CertPEM   []byte `json:"-"`
	KeyPEM    []byte `json:"-"`
	ServerPEM []byte `json:"-"`
}

// Files of an Identity in its directory, all 0600 in a 0700 directory.
const (
	identityFile = "console.json"
	clientCert   = "client.pem"
	clientKey    = "client.key"
	serverCert   = "server.pem"
)

// ErrNotPaired means no identity is kept for that server yet.
var ErrNotPaired = errors.New("this console is not paired with that server yet")

// ErrServerChanged means the server presented another certificate than
// the one pinned: the connection is refused.
var ErrServerChanged = errors.New("the server's certificate is not the one this console paired with")

// NormalizeAddr adds the default port (DefaultRemotePort) to a bare host.
func NormalizeAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", fmt.Errorf("--connect needs a host name or address, e.g. --connect provisio.office.lan")
	}
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr, nil
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if strings.ContainsAny(host, "/ ") {
		return "", fmt.Errorf("%q is not a host name or HOST:PORT", addr)
	}
	return net.JoinHostPort(host, DefaultRemotePort), nil
}

// IdentityDir is where the identity for addr is kept under configDir (the
// user's configuration directory, e.g. ~/.config).
func IdentityDir(configDir, addr string) string {
	safe := strings.Map(func(r rune) rune {
		if r == ':' || r == '/' || r == '\\' || r == '[' || r == ']' {
			return '_'
		}
		return r
	}, addr)
	return filepath.Join(configDir, "provisio-consoles", safe)
}

// LoadIdentity reads the identity kept in dir; ErrNotPaired when there is
// none.
func LoadIdentity(dir string) (*Identity, error) {
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotPaired
	} else if err != nil {
		return nil, err
	}
	var id Identity
	if err := json.Unmarshal(b, &id); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v); remove the directory and pair again", filepath.Join(dir, identityFile), err)
	}
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{{clientCert, &id.CertPEM}, {clientKey, &id.KeyPEM}, {serverCert, &id.ServerPEM}} {
		if *f.dst, err = os.ReadFile(filepath.Join(dir, f.name)); err != nil {
			return nil, fmt.Errorf("the console's pairing in %s is incomplete (%v); remove the directory and pair again", dir, err)
		}
	}
	return &id, nil
}

// Save writes the identity into dir: the directory 0700, every file 0600,
// the key first and the description last, so a crash in between leaves
// no identity that looks complete.
func (id *Identity) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	desc, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{clientKey, id.KeyPEM}, {clientCert, id.CertPEM}, {serverCert, id.ServerPEM}, {identityFile, desc}} {
		if err := writePrivate(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// writePrivate writes a 0600 file atomically and durably.
func writePrivate(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// dialTimeout bounds connecting to a remote server.
const dialTimeout = 10 * time.Second

// ServerFingerprint connects to addr and returns the SHA-256 fingerprint
// and PEM of the certificate it presents, trusting nothing yet: the
// person compares the fingerprint with the one the server shows before
// typing the pairing code.
func ServerFingerprint(addr string) (fingerprint string, certPEM []byte, err error) {
	d := &net.Dialer{Timeout: dialTimeout}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) // #nosec: pinned by the person, below
	if err != nil {
		return "", nil, fmt.Errorf("cannot reach the Provisio server at %s: %w", addr, err)
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", nil, fmt.Errorf("the server at %s presented no certificate", addr)
	}
	return core.CertFingerprint(certs[0].Raw), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw}), nil
}

// pinnedConfig trusts exactly the certificate with fingerprint, and
// presents client when it has one.
func pinnedConfig(addr, fingerprint string, client *tls.Certificate) *tls.Config {
	host, _, _ := net.SplitHostPort(addr)
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: host,
		// The chain is not what is trusted: the pinned certificate is.
		InsecureSkipVerify: true, // #nosec: VerifyConnection pins the certificate
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrServerChanged
			}
			if got := core.CertFingerprint(cs.PeerCertificates[0].Raw); !core.SameFingerprint(got, fingerprint) {
				return fmt.Errorf("%w: the server at %s presents SHA-256 %s, this console paired with %s; if its certificate was replaced on purpose, pair again, otherwise something stands between you and the server", ErrServerChanged, addr, got, fingerprint)
			}
			return nil
		},
	}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	return cfg
}

// Pair pairs with the server at addr: it makes a key, sends the pairing
// code with a certificate request to the server whose certificate has
// fingerprint (as shown to the person), and returns the identity to
// Save. The key never leaves this machine; the code never goes to
// another server than the one shown.
func Pair(addr, fingerprint string, serverPEM []byte, code string) (*Identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Provisio console on " + host}}, key)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(pairRequest{Code: code, CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))})
	hc := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{TLSClientConfig: pinnedConfig(addr, fingerprint, nil)}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post("https://"+addr+Version+"/pair", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, unwrapURL(err)
	}
	defer resp.Body.Close()
	var ans pairAnswer
	if err := readAnswer(resp, &ans); err != nil {
		return nil, err
	}
	b, _ := pem.Decode([]byte(ans.Certificate))
	if b == nil {
		return nil, fmt.Errorf("the server's answer holds no certificate")
	}
	if _, err := x509.ParseCertificate(b.Bytes); err != nil {
		return nil, fmt.Errorf("the server's certificate for this console does not parse: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Identity{Addr: addr, Name: ans.Name, Role: ans.Role, ServerFingerprint: fingerprint, PairedAt: time.Now().UTC(),
		CertPEM: []byte(ans.Certificate), KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), ServerPEM: serverPEM}, nil
}

// DialRemote connects to the server of id with its client certificate,
// trusting only the pinned server certificate, and checks the server
// knows this console (GET /v1/me).
func DialRemote(id *Identity) (*Client, error) {
	cert, err := tls.X509KeyPair(id.CertPEM, id.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("this console's certificate for %s cannot be read (%v); pair again", id.Addr, err)
	}
	tr := &http.Transport{
		TLSClientConfig:     pinnedConfig(id.Addr, id.ServerFingerprint, &cert),
		TLSHandshakeTimeout: dialTimeout,
		DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
		MaxIdleConns:        2,
	}
	c := newClient(tr, "https://"+id.Addr)
	if _, err := c.Me(); err != nil {
		tr.CloseIdleConnections()
		// At start the window says what the network said, with a
		// button to try again (ui.ShowConnectProblem).
		var ce *core.Error
		if errors.As(err, &ce) && ce.Code == core.CodeUnavailable {
			return nil, ce.Err
		}
		return nil, err
	}
	return c, nil
}

// unwrapURL drops net/http's `Post "https://...":` prefix, which says
// nothing a person needs, keeping the cause.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Close drops the client's idle connections.
func (c *Client) Close() {
	c.http.CloseIdleConnections()
}
