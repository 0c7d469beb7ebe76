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

// electedServer names, for a sentence on an etcd site, the server the
// site elected to do duty (one of the run-once tasks: "send the mail"),
// or says that none is elected or that etcd cannot say which.
func electedServer(si StoreInfo, duty string) string {
	switch {
	case si.Leader != "" && si.Leader == si.ThisServer:
		return "this server (" + si.Leader + ", elected by this etcd site to " + duty + ")"
	case si.Leader != "":
		return "server " + si.Leader + " (elected by this etcd site to " + duty + ")"
	case si.LeaderProblem != "":
		return "the server this etcd site elects to " + duty + " (which one is not known now: " + si.LeaderProblem + ")"
	}
	return "the server this etcd site elects to " + duty + " (none is elected now)"
}

// thisServerName is " (NAME)" for this server's name in a sentence, ""
// when it has none.
func thisServerName(si StoreInfo) string {
	if si.ThisServer == "" {
		return ""
	}
	return " (" + si.ThisServer + ")"
}

// askSite reads the store (Deps.Store) off the UI thread for the screens
// whose wording depends on it: on an etcd site Mail Transport and
// Server → Backups name the server that sends the mail and takes the
// backups, which may be another machine than this server's. It asks when
// one of them is shown, one read at a time: asked while one is on its
// way, it asks again once that one is answered, which may predate what
// made the screen be shown again. Nothing when there is no Deps.Store
// (the single-server wording stays).
func (c *Console) askSite() {
	if c.deps.Store == nil {
		return
	}
	if c.siteAsking {
		c.siteAgain = true
		return
	}
	c.siteAsking = true
	store := c.deps.Store
	go func() {
		si := store()
		c.do(func() {
			c.siteAsking = false
			if c.transport != nil {
				c.transport.showSite(si)
			}
			if c.backups != nil {
				c.backups.showSite(si)
			}
			if c.siteAgain {
				c.siteAgain = false
				c.askSite()
			}
		})
	}()
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
