// Package core holds Provisio's domain: users, devices, provision codes,
// security strings, policies, settings, agents and the audit log, and the
// Service that applies the rules to them.
//
// core uses the standard library only. Outside libraries live in adapter
// packages below it (store, agentxml, qr, certs, ...) that import core and
// never each other, and never Fyne.
package core
