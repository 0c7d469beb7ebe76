package ui

import (
	"fmt"
	"strings"

	"provisio/core"
)

// StoreInfo describes where the records are kept, for the Server screen:
// the data file, or an etcd cluster with its members and the server that
// leads the run-once work (issue #16). It is core's type, so a console
// attached over the admin API shows the same (GET /v1/server).
type StoreInfo = core.StoreStatus

// StoreMember is one etcd member.
type StoreMember = core.StoreMember

// storeText is the Store section's text for a person.
func storeText(si StoreInfo) string {
	if !si.Etcd {
		return "Data file: " + si.Where
	}
	var b strings.Builder
	fmt.Fprintf(&b, "etcd cluster: %s\n", si.Where)
	if si.Problem != "" {
		fmt.Fprintf(&b, "Members could not be listed: %s\n", si.Problem)
	}
	for _, m := range si.Members {
		state := "healthy"
		if !m.Healthy {
			state = "NOT healthy: " + m.Problem
		}
		lead := ""
		if m.RaftLeader {
			lead = ", Raft leader"
		}
		fmt.Fprintf(&b, "  %s  %s  %s%s\n", m.Name, m.Endpoint, state, lead)
	}
	writeServers(&b, si)
	switch {
	case si.LeaderProblem != "":
		b.WriteString("Mail and log trim: unknown: " + si.LeaderProblem)
	case si.Leader == "":
		b.WriteString("Mail and log trim: no server elected yet")
	case si.Leader == si.ThisServer:
		fmt.Fprintf(&b, "Mail and log trim: this server (%s) leads", si.ThisServer)
	default:
		fmt.Fprintf(&b, "Mail and log trim: server %s leads (this is %s)", si.Leader, si.ThisServer)
	}
	return b.String()
}

// writeServers writes the site's Provisio servers that are up, the one
// leading first, marking it and this server: what shows that another
// server of the site is down. One that stopped, or lost etcd for longer
// than the election's lease, is no longer listed.
func writeServers(b *strings.Builder, si StoreInfo) {
	if si.LeaderProblem != "" {
		// The same read as the leader's: its sentence follows.
		b.WriteString("Provisio servers up: unknown, etcd cannot say (below)\n")
		return
	}
	if len(si.Servers) == 0 {
		b.WriteString("Provisio servers up: none listed yet\n")
	} else {
		fmt.Fprintf(b, "Provisio servers up (%d):\n", len(si.Servers))
	}
	listed := false
	for i, name := range si.Servers {
		var notes []string
		if name == si.ThisServer {
			notes = append(notes, "this server")
			listed = true
		}
		if i == 0 {
			notes = append(notes, "leads mail, log trim and backups")
		}
		line := "  " + name
		if len(notes) > 0 {
			line += "  " + strings.Join(notes, ", ")
		}
		b.WriteString(line + "\n")
	}
	if !listed && si.ThisServer != "" {
		fmt.Fprintf(b, "  (this server, %s, is not listed: it has not joined the site's election yet, or has lost etcd)\n", si.ThisServer)
	}
}

// refreshStore asks Deps.Store again (Refresh, and the screen built).
func (s *serverScreen) refreshStore() { s.askStore(true) }

// askStore asks Deps.Store again unless a read is on its way. The member
// status takes a network round trip (seconds while etcd members are
// down), so it runs off the UI thread and the text is set through
// Console.do. announce shows "Asking the store…" meanwhile (Refresh);
// otherwise the section keeps the state last read until the answer
// comes (the screen shown again).
func (s *serverScreen) askStore(announce bool) {
	if s.store == nil || s.storeAsking {
		return
	}
	s.storeAsking = true
	s.storeRefresh.Disable()
	if announce || s.store.Text == "" {
		s.store.SetText("Asking the store…")
	}
	go func() {
		text := storeText(s.c.deps.Store())
		s.c.do(func() {
			s.storeAsking = false
			s.storeRefresh.Enable()
			s.store.SetText(text)
		})
	}()
}
