package agentxml

// Device certificates for mutual authentication (#14). A provision may
// carry a PEM certificate request (<CSR>); when the user's effective
// profile has mutual authentication, the reply returns a client
// certificate signed by the device CA (<Certificate>). That user's
// security-string downloads are then accepted only on the mutual-TLS
// listener (OpenMTLS), which requires a client certificate from the
// device CA, and only with the certificate of the current device
// (core.Service.SecurityStringsFrom).

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"

	"provisio/core"
)

// DeviceCA is the device certificate authority (core/certs.DeviceCA).
type DeviceCA interface {
	// SignDevice signs a client certificate for username with the
	// public key of csr (signature already checked) and returns it as
	// PEM with its serial (upper-case hex) and expiry.
	SignDevice(username string, csr *x509.CertificateRequest) (certPEM []byte, serial string, notAfter time.Time, err error)
	// Pool holds the CA certificate, to verify client certificates.
	Pool() (*x509.CertPool, error)
}

// errCSR is the sentence for a CSR that cannot be used. It is checked
// before the provision code is redeemed, so a bad CSR costs nothing.
const errCSR = "The CSR is not a PEM certificate request with a valid signature."

// parseCSR reads and checks a PEM certificate request.
func parseCSR(s string) (*x509.CertificateRequest, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE REQUEST" && b.Type != "NEW CERTIFICATE REQUEST" {
		return nil, errors.New(errCSR)
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		return nil, errors.New(errCSR)
	}
	return csr, nil
}

// issueDeviceCert signs and records a certificate for the device just
// provisioned, when its profile asks for mutual authentication and the
// client sent a CSR. It returns the PEM certificate or "". A failure is
// logged for the administrator; the provision itself stands (the code is
// spent), and the device's downloads are refused until it is
// reprovisioned with a CSR.
func (s *Server) issueDeviceCert(p core.Provisioned, csr *x509.CertificateRequest) string {
	if csr == nil || !p.Policies.MutualAuth {
		return ""
	}
	if s.opt.DeviceCA == nil {
		_ = s.svc.Log(core.LevelError, p.User, "No device certificate was issued for user %q: this server has no device CA.", p.User)
		return ""
	}
	certPEM, serial, notAfter, err := s.opt.DeviceCA.SignDevice(p.User, csr)
	if err == nil {
		err = s.svc.SetDeviceCert(p.User, p.DeviceID, serial, notAfter)
	}
	if err != nil {
		_ = s.svc.Log(core.LevelError, p.User, "No device certificate was issued for user %q: %v", p.User, err)
		return ""
	}
	return string(certPEM)
}

// clientCertSerial is the serial of the verified client certificate of r
// (only the mutual-TLS listener verifies one), or "".
func clientCertSerial(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	return serialHex(r.TLS.VerifiedChains[0][0].SerialNumber)
}

// serialHex matches certs.SerialHex, which this package cannot import.
func serialHex(n *big.Int) string { return strings.ToUpper(n.Text(16)) }

// OpenMTLS opens the mutual-TLS listener (server.mtls_listen): the same
// handler as the HTTPS listener, but every connection must present a
// client certificate that chains to the device CA.
func (s *Server) OpenMTLS(addr string) error {
	if s.opt.DeviceCA == nil {
		return errors.New("agentxml: open: no device CA for the mutual-TLS listener")
	}
	if len(s.opt.Certificate.Certificate) == 0 && s.opt.GetCertificate == nil {
		return errors.New("agentxml: open: no TLS certificate")
	}
	pool, err := s.opt.DeviceCA.Pool()
	if err != nil {
		return fmt.Errorf("agentxml: device CA: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mtlsSrv != nil {
		return errors.New("agentxml: open: the mutual-TLS listener is already open")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("agentxml: listen on %s: %w", addr, err)
	}
	srv := s.newHTTPServer()
	srv.TLSConfig = s.serverTLS()
	srv.TLSConfig.ClientAuth = tls.RequireAndVerifyClientCert
	srv.TLSConfig.ClientCAs = pool
	s.mtlsSrv, s.mtlsLn = srv, ln
	go s.serve(srv, tls.NewListener(s.capped(ln), srv.TLSConfig), "mutual-TLS")
	return nil
}

// MTLSAddr returns the mutual-TLS listener's address, or nil when it is
// not open.
func (s *Server) MTLSAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mtlsLn == nil {
		return nil
	}
	return s.mtlsLn.Addr()
}
