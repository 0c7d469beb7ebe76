package main

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"

	"provisio/core/certs"
)

// TestServer_MTLSListener: with server.mtls_listen set, the supervisor's
// Open opens the mutual-TLS listener (#14) with the device CA made beside
// the server's key (key 0600); a client without a device certificate gets
// no TLS session there, while the normal listener still serves it. Empty
// turns the listener off.
func TestServer_MTLSListener(t *testing.T) {
	dir := t.TempDir()
	e, err := openEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	// The setting takes no port 0: borrow a free loopback port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	if err := e.svc.SetSetting("server.mtls_listen", free); err != nil {
		t.Fatal(err)
	}
	srv, err := e.sup.Open("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := srv.MTLSAddr()
	if a == nil {
		t.Fatal("the mutual-TLS listener is not open")
	}
	// The CA's private key lives in the key directory, never in the data
	// directory a copy of which must reveal nothing (#13).
	if fi, err := os.Stat(filepath.Join(e.keyDir, certs.DeviceCAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("device CA key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.keyDir, certs.DeviceCACertFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, certs.DeviceCAKeyFile)); err == nil {
		t.Fatal("the device CA key is in the data directory")
	}
	conn, err := tls.Dial("tcp", a.String(), &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		// TLS 1.3 reports the refused client certificate on first read.
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil {
		t.Fatal("the mutual-TLS listener accepted a client without a certificate")
	}
	servedFingerprint(t, srv.Addr().String()) // the normal listener asks for none
	srv.Close()

	if err := e.svc.SetSetting("server.mtls_listen", ""); err != nil {
		t.Fatal(err)
	}
	srv, err = e.sup.Open("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.MTLSAddr() != nil {
		t.Fatal("server.mtls_listen empty, but the listener is open")
	}
}
