// Package adminapi carries Provisio's admin API, version 1, over the
// wire: the use cases the command line and the console need (users,
// reprovision, settings, agents, the event stream) are one Go interface,
// core.AdminAPI, with two implementations: core.LocalAdmin, in the process
// that holds the data directory, and Client here, which speaks JSON over
// HTTP to a Server on the data directory's Unix socket (admin.sock). docs/admin-api.md documents the
// wire form; its examples are executed by apidoc_test.go.
package adminapi

import "provisio/core"

// Version is the path prefix of every request of this version of the API.
const Version = "/v1"

// SocketName is the file name of the admin socket in the data directory.
const SocketName = "admin.sock"

// The API's Go interface and its types live in core (adminops.go), so
// the console can program against them without importing this adapter;
// these names are the same types.
type (
	// API is core.AdminAPI.
	API = core.AdminAPI
	// Local is the in-process implementation, core.LocalAdmin.
	Local = core.LocalAdmin
	// User is core.AdminUser.
	User = core.AdminUser
	// NewUser is core.AdminNewUser.
	NewUser = core.AdminNewUser
	// Issued is core.AdminIssued.
	Issued = core.AdminIssued
	// Setting is core.AdminSetting.
	Setting = core.AdminSetting
	// Agent is core.AdminAgent.
	Agent = core.AdminAgent
	// NewAgent is core.AdminNewAgent.
	NewAgent = core.AdminNewAgent
	// Event is core.AdminEvent.
	Event = core.AdminEvent
	// LogEntry is core.AdminLogEntry.
	LogEntry = core.AdminLogEntry
)
