package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// agentColumns are the widths of name, host, group, modes and repository.
var agentColumns = columns{0.2, 0.22, 0.14, 0.28, 0.16}

// modeNames are how the console names the authentication modes.
var modeNames = map[string]string{
	core.AgentModeMobile: "Mobile client",
	core.AgentModeDual:   "Dual channel",
}

// agentsScreen is Agents: the programs (VPNs, web apps, scripts) allowed
// to ask this server to check one-time codes, each from a host or range
// and with a shared secret.
type agentsScreen struct {
	c *Console

	list  *widget.List
	empty *widget.Label
	// shared names the agents that share a shared secret (saved before
	// each needed its own), hidden when none do.
	shared *widget.Label

	add, edit, del *widget.Button

	agents   []core.Agent
	hosts    map[string]string // each agent's host column (hostText), by name
	selected string            // name of the selected agent
	// reads asks for the agents and their addresses, one trip at a
	// time (refresh).
	reads *reread[agentsRead]

	form    *agentForm
	confirm *askDialog

	content fyne.CanvasObject
}

func newAgentsScreen(c *Console) *agentsScreen {
	s := &agentsScreen{c: c}
	s.list = widget.NewList(
		func() int { return len(s.agents) },
		func() fyne.CanvasObject { return container.New(agentColumns, newCells(len(agentColumns))...) },
		s.updateRow,
	)
	s.list.OnSelected = func(id widget.ListItemID) {
		if id >= 0 && id < len(s.agents) {
			s.selected = s.agents[id].Name
		}
		s.updateButtons()
	}
	s.list.OnUnselected = func(widget.ListItemID) {
		s.selected = ""
		s.updateButtons()
	}
	s.empty = &widget.Label{Alignment: fyne.TextAlignCenter, Wrapping: fyne.TextWrapWord, Text: agentsNone}
	s.shared = &widget.Label{Importance: widget.WarningImportance, Wrapping: fyne.TextWrapWord}
	s.shared.Hide()

	s.add = widget.NewButtonWithIcon("Add agent", theme.ContentAddIcon(), func() { s.openForm(nil) })
	s.add.Importance = widget.HighImportance
	s.edit = widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() {
		if a, ok := s.selectedAgent(); ok {
			s.openForm(&a)
		}
	})
	s.del = widget.NewButtonWithIcon("Delete…", theme.DeleteIcon(), s.confirmDelete)

	top := container.NewVBox(
		container.NewBorder(nil, nil, nil, s.add, newHeading("Agents")),
		newNote("An agent may call the AgentXML API from its host or address range with its shared secret. "+
			"Its group limits which users it may sign in; ANY admits everyone."),
		s.shared,
		newHeader(agentColumns, "Name", "Host or range", "Group", "Authentication modes", "Can act as repository"),
		widget.NewSeparator(),
	)
	bottom := container.NewVBox(widget.NewSeparator(), container.NewBorder(nil, nil, nil, container.NewHBox(s.edit, s.del)))
	s.content = container.NewBorder(top, bottom, nil, nil, container.NewStack(s.list, centred(s.empty)))
	s.reads = &reread[agentsRead]{c: c, show: s.show}
	if c.attached() {
		// The first read crosses the network; "No agents yet" meanwhile
		// would be a guess.
		s.empty.SetText(agentsReading)
	}
	s.refresh()
	return s
}

// Texts of the Agents screen's empty list.
const (
	agentsNone    = "No agents yet. Add the VPN or web application that checks one-time codes with this server."
	agentsReading = "Reading the agents from the service…"
)

// agentsRead is what the Agents screen shows, read in one trip: the
// agents and each one's host column, whose addresses the service holds.
type agentsRead struct {
	agents []core.Agent
	hosts  map[string]string
	shared [][]string // AgentsSharingSecrets
}

// refresh reads the service's agents again. An attached console asks off
// the UI thread (reread), so a burst of events holds one request; the
// list stays as it is until the answer comes.
func (s *agentsScreen) refresh() { s.reads.ask(s.read()) }

// refreshThen is refresh, and then, once the answer to a read asked now
// or later has been shown, fn: what acts on the rows a change made (the
// agent saved selected, the focus moved off Delete… once the agent is
// gone) waits for them (reread.askThen).
func (s *agentsScreen) refreshThen(fn func()) { s.reads.askThen(s.read(), fn) }

// read is the request refresh sends.
func (s *agentsScreen) read() func() (agentsRead, error) {
	svc := s.c.svc
	return func() (agentsRead, error) {
		r := agentsRead{agents: svc.Agents(), hosts: map[string]string{}, shared: svc.AgentsSharingSecrets()}
		for _, a := range r.agents {
			r.hosts[a.Name] = agentHostText(svc, a)
		}
		return r, nil
	}
}

// show puts a read on screen, keeping the selection.
func (s *agentsScreen) show(r agentsRead, _ error) {
	s.agents, s.hosts = r.agents, r.hosts
	s.shared.SetText(core.SharedSecretsSentence(r.shared))
	if hidden := s.shared.Text == ""; hidden != s.shared.Hidden {
		// The heading grows or shrinks: the screen lays out again.
		s.shared.Hidden = hidden
		s.content.Refresh()
	}
	s.empty.SetText(agentsNone)
	s.empty.Hidden = len(s.agents) > 0
	s.empty.Refresh()
	s.list.Refresh()
	s.keepSelection()
}

// keepSelection selects the selected agent again, or none when it is
// gone.
func (s *agentsScreen) keepSelection() {
	selectNamed(s.list, len(s.agents), func(i int) string { return s.agents[i].Name }, &s.selected)
	s.updateButtons()
}

func (s *agentsScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(s.agents) {
		return
	}
	a := s.agents[id]
	cells := o.(*fyne.Container).Objects
	// The host column comes with the read: a row drawn asks nothing.
	for i, t := range []string{a.Name, s.hosts[a.Name], a.Group, modesText(a), yesNo(a.Repository)} {
		cells[i].(*widget.Label).SetText(t)
	}
}

// hostText is the agent's host column as the service holds it now.
func (s *agentsScreen) hostText(a core.Agent) string { return agentHostText(s.c.svc, a) }

// agentHostText is the agent's host, with the addresses a host name
// resolved to, since those are what requests are matched against.
func agentHostText(svc core.ConsoleAPI, a core.Agent) string {
	if _, err := core.ParseAgentHost(a.Host); err == nil {
		return a.Host
	}
	addrs := svc.AgentAddresses(a.Name)
	if len(addrs) == 0 {
		return a.Host + " (does not resolve)"
	}
	out := make([]string, len(addrs))
	for i, p := range addrs {
		out[i] = p.Addr().String()
	}
	return a.Host + " → " + strings.Join(out, ", ")
}

// modesText lists an agent's modes for people.
func modesText(a core.Agent) string {
	var out []string
	for _, m := range core.AgentModes {
		if a.AllowsMode(m) {
			out = append(out, modeNames[m])
		}
	}
	return strings.Join(out, ", ")
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func (s *agentsScreen) selectedAgent() (core.Agent, bool) {
	for _, a := range s.agents {
		if a.Name == s.selected && s.selected != "" {
			return a, true
		}
	}
	return core.Agent{}, false
}

// updateButtons enables Edit and Delete… when an agent is selected,
// through setEnabled: Delete… stays disabled while its request is on its
// way.
func (s *agentsScreen) updateButtons() {
	_, ok := s.selectedAgent()
	s.c.setEnabled(ok, s.edit, s.del)
}

func (s *agentsScreen) confirmDelete() {
	a, ok := s.selectedAgent()
	if !ok {
		return
	}
	spec := confirmSpec("Delete agent",
		fmt.Sprintf("Delete %s? Requests from %s with its secret are refused from then on.", a.Name, a.Host),
		func(yes bool) {
			s.confirm = nil
			if !yes {
				return
			}
			// Off the UI thread when attached (request.go).
			requestErr(s.c, []fyne.Disableable{s.del}, func() error { return s.c.svc.DeleteAgent(a.Name) }, func(err error) {
				// Off the Delete button the deletion disabled, once the
				// list shows the agent gone.
				s.refreshThen(func() { leaveDisabled(s.c.win.Canvas(), s.list, len(s.agents), s.add) })
				if err != nil {
					s.c.showError(err)
				}
			})
		})
	spec.confirm, spec.danger = "Delete", true
	s.confirm = s.c.ask(spec)
}
