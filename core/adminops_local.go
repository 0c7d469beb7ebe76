package core

import (
	"context"
	"io"
	"strings"
	"time"
)

// LocalAdmin is the API in the process that holds the data directory. With
// Operator set (the Server sets it per caller), the use cases act as that
// operator, so their own audit lines name who made each change in their
// Actor; the CLI on its own directory leaves it empty and acts as the
// command line.
type LocalAdmin struct {
	Svc *Service
	// Operator describes the caller, e.g. "the command line on this
	// machine (uid 1000)".
	Operator string
	// Caller is who Me reports; the zero value is an admin on this
	// machine. The role is checked by the API server, not here.
	Caller AdminOperator
}

var _ AdminAPI = LocalAdmin{}

// svc is the service acting for the operator (actor.go), so events of
// the admin API's changes carry their origin.
func (l LocalAdmin) svc() *Service {
	who := l.Operator
	if who == "" {
		who = CommandLine
	}
	return l.Svc.As(OperatorActor(who))
}

// Users implements AdminAPI.
func (l LocalAdmin) Users() ([]AdminUser, error) {
	users, err := l.svc().Users()
	if err != nil {
		return nil, err
	}
	pending, err := l.svc().PendingCodes()
	if err != nil {
		return nil, err
	}
	apps, err := l.svc().OATHStatuses()
	if err != nil {
		return nil, err
	}
	out := make([]AdminUser, 0, len(users))
	for _, u := range users {
		out = append(out, toAdminUser(u, pending, apps))
	}
	return out, nil
}

func toAdminUser(u User, pending map[string]time.Time, apps map[string]OATHStatus) AdminUser {
	out := AdminUser{Name: u.Name, FullName: u.FullName, Email: u.Email, Mobile: u.Mobile, Group: u.Group,
		MobileAllowed: u.MobileAllowed, Profile: u.Profile, Disabled: u.Disabled, Locked: u.Locked, DeviceOS: u.DeviceOS}
	if u.Locked {
		out.LockText = u.LockText()
	}
	if u.Provisioned() {
		t := u.ProvisionedAt
		out.ProvisionedAt = &t
	}
	if exp, ok := pending[Key(u.Name)]; ok {
		out.PendingUntil = &exp
	}
	if st, ok := apps[Key(u.Name)]; ok {
		if st.State == OATHStateConfirmed && st.Kind != "strings" {
			out.App = st.Kind
		}
		out.AppPending = st.Pending
	}
	return out
}

// AddUser implements AdminAPI.
func (l LocalAdmin) AddUser(nu AdminNewUser) (AdminUser, error) {
	mobile := nu.MobileAllowed == nil || *nu.MobileAllowed
	u, err := l.svc().AddUser(User{Name: nu.Name, FullName: nu.FullName, Email: nu.Email, Mobile: nu.Mobile,
		Group: nu.Group, PIN: nu.PIN, MobileAllowed: mobile, StringsEmail: nu.StringsEmail, Disabled: nu.Disabled,
		Locked: nu.Locked, Profile: nu.Profile})
	if err != nil {
		return AdminUser{}, err
	}
	return toAdminUser(u, nil, nil), nil
}

// DeleteUser implements AdminAPI.
func (l LocalAdmin) DeleteUser(name string) error {
	if err := l.svc().DeleteUser(name); err != nil {
		return err
	}
	return nil
}

// Reprovision implements AdminAPI. The code is in the result only.
func (l LocalAdmin) Reprovision(name string, mail bool) (AdminIssued, error) {
	create := l.svc().CreateProvisionCode
	if mail {
		create = l.svc().MailProvisionCode
	}
	ic, err := create(name)
	if err != nil {
		return AdminIssued{}, err
	}
	return AdminIssuedOf(ic), nil
}

// Settings implements AdminAPI.
func (l LocalAdmin) Settings() ([]AdminSetting, error) {
	set := l.svc().Settings()
	keys := SettingKeys()
	out := make([]AdminSetting, 0, len(keys))
	for _, k := range keys {
		v, _ := set.Get(k)
		out = append(out, AdminSetting{Key: k, Value: v, Help: SettingHelp(k)})
	}
	return out, nil
}

// Setting implements AdminAPI.
func (l LocalAdmin) Setting(key string) (AdminSetting, error) {
	set := l.svc().Settings()
	v, err := set.Get(key)
	if err != nil {
		return AdminSetting{}, err
	}
	return AdminSetting{Key: key, Value: v, Help: SettingHelp(key)}, nil
}

// SetSetting implements AdminAPI; the change applies live in the process
// that holds the data directory.
func (l LocalAdmin) SetSetting(key, value string) (AdminSetting, error) {
	if err := l.svc().SetSetting(key, value); err != nil {
		return AdminSetting{}, err
	}
	return l.Setting(key)
}

// Agents implements AdminAPI.
func (l LocalAdmin) Agents() ([]AdminAgent, error) {
	agents := l.svc().Agents()
	shared := map[string][]string{}
	for _, g := range l.svc().AgentsSharingSecrets() {
		for _, n := range g {
			for _, o := range g {
				if o != n {
					shared[n] = append(shared[n], o)
				}
			}
		}
	}
	out := make([]AdminAgent, 0, len(agents))
	for _, a := range agents {
		aa := l.toAdminAgent(a)
		aa.SharesSecretWith = shared[a.Name]
		out = append(out, aa)
	}
	return out, nil
}

func (l LocalAdmin) toAdminAgent(a Agent) AdminAgent {
	addrs := []string{}
	for _, p := range l.svc().AgentAddresses(a.Name) {
		addrs = append(addrs, p.String())
	}
	modes := []string{}
	for _, m := range AgentModes {
		if a.AllowsMode(m) {
			modes = append(modes, m)
		}
	}
	return AdminAgent{Name: a.Name, Host: a.Host, Group: a.Group, Repository: a.Repository, Helpdesk: a.Helpdesk,
		Rights: a.Rights(), Modes: modes, Addresses: addrs}
}

// PutAgent implements AdminAPI.
func (l LocalAdmin) PutAgent(na AdminNewAgent) (AdminAgent, error) {
	a := Agent{Name: na.Name, Host: na.Host, Secret: na.Secret, Group: na.Group, Repository: na.Repository, Helpdesk: na.Helpdesk, Modes: na.Modes}
	if a.Group == "" {
		a.Group = GroupAny
	}
	switch {
	case na.KeepSecret:
		// The console edits an agent without ever reading its secret;
		// Service.PutAgent keeps the stored one, and asks for a secret
		// when there is none to keep (a new agent, or one deleted while
		// the form was open).
		a.Secret = ""
	case a.Secret == "":
		// Only KeepSecret keeps a secret over the API.
		return AdminAgent{}, errAgentNeedsSecret()
	}
	if err := l.svc().PutAgent(a); err != nil {
		return AdminAgent{}, err
	}
	// Agents are stored under their name exactly as given (trimmed, as
	// validateAgent does): "vpn" and "VPN" are two agents, and the answer
	// is the one saved, never another of that name in another case.
	name := strings.TrimSpace(a.Name)
	for _, s := range l.svc().Agents() {
		if s.Name == name {
			a = s
		}
	}
	return l.toAdminAgent(a), nil
}

// ChangeAgent makes the change c to the agent as stored when the save's
// transaction runs (Service.ChangeAgent) and returns the agent as saved.
func (l LocalAdmin) ChangeAgent(name string, c AgentChange) (AdminAgent, error) {
	if err := l.svc().ChangeAgent(name, c); err != nil {
		return AdminAgent{}, err
	}
	for _, a := range l.svc().Agents() {
		if a.Name == name {
			return l.toAdminAgent(a), nil
		}
	}
	// Deleted by someone else since the save.
	return AdminAgent{}, Errorf(CodeNotFound, "There is no agent %q.", name)
}

// DeleteAgent implements AdminAPI.
func (l LocalAdmin) DeleteAgent(name string) error {
	if err := l.svc().DeleteAgent(name); err != nil {
		return err
	}
	return nil
}

// Events implements AdminAPI: the service's bus, with secrets dropped.
func (l LocalAdmin) Events(ctx context.Context) (<-chan AdminEvent, error) {
	in, cancel := l.svc().Events().Subscribe()
	out := make(chan AdminEvent, 64)
	go func() {
		defer close(out)
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- toAdminEvent(e):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// Unlock implements AdminAPI.
func (l LocalAdmin) Unlock(name string) (AdminUser, error) {
	u, err := l.svc().User(name)
	if err != nil {
		return AdminUser{}, err
	}
	if !u.Locked {
		return AdminUser{}, Errorf(CodeConflict, "User %q is not locked.", u.Name)
	}
	u, err = l.svc().UpdateUser(name, func(u *User) error { u.Locked = false; return nil })
	if err != nil {
		return AdminUser{}, err
	}
	pending, _ := l.svc().PendingCodes()
	apps, _ := l.svc().OATHStatuses()
	return toAdminUser(u, pending, apps), nil
}

// ResetPIN implements AdminAPI. The PIN is in the result only, never
// logged.
func (l LocalAdmin) ResetPIN(name string, mail bool) (AdminPINReset, error) {
	r, err := l.svc().ResetPIN(name, mail)
	if err != nil {
		return AdminPINReset{}, err
	}
	return AdminPINReset{User: r.User, PIN: r.PIN, MailedTo: r.To}, nil
}

// RevokeDevice implements AdminAPI.
func (l LocalAdmin) RevokeDevice(name string) error {
	if err := l.svc().RevokeDevice(name); err != nil {
		return err
	}
	return nil
}

// ClientLogs implements AdminAPI.
func (l LocalAdmin) ClientLogs(name string) (AdminClientLog, error) {
	u, err := l.svc().User(name)
	if err != nil {
		return AdminClientLog{}, err
	}
	logs, err := l.svc().ClientLogs(u.Name)
	if logs == nil {
		logs = []ClientLogEntry{}
	}
	return AdminClientLog{User: u.Name, Logs: logs}, err
}

// ClearClientLogs implements AdminAPI; the core logs who cleared them.
func (l LocalAdmin) ClearClientLogs(name string) (int, error) {
	return l.svc().ClearClientLogs(name)
}

// Profiles implements AdminAPI.
func (l LocalAdmin) Profiles() ([]AdminProfile, error) {
	all, err := l.svc().Profiles()
	if err != nil {
		return nil, err
	}
	out := make([]AdminProfile, 0, len(all))
	for _, p := range all {
		groups := append([]string{}, p.Groups...)
		out = append(out, AdminProfile{Name: p.Name, Default: p.IsDefault(), Groups: groups})
	}
	return out, nil
}

// AssignProfile implements AdminAPI with the core's one rule
// (Service.AssignProfileToUser), whose audit line names the operator.
func (l LocalAdmin) AssignProfile(user, profile string) (AdminUserProfile, error) {
	if err := l.svc().AssignProfileToUser(strings.TrimSpace(profile), user); err != nil {
		return AdminUserProfile{}, err
	}
	u, err := l.svc().User(user)
	if err != nil {
		return AdminUserProfile{}, err
	}
	eff, err := l.svc().EffectiveProfile(u.Name)
	if err != nil {
		return AdminUserProfile{}, err
	}
	return AdminUserProfile{User: u.Name, Own: u.Profile, Profile: eff.Profile.Name, Source: string(eff.Source)}, nil
}

// Me implements AdminAPI.
func (l LocalAdmin) Me() (AdminOperator, error) {
	c := l.Caller
	if c.Role == "" {
		c.Role = RoleAdmin
	}
	if c.Name == "" {
		c.Name = l.Operator
		if c.Name == "" {
			c.Name = "this machine"
		}
	}
	return c, nil
}

// PairConsole implements AdminAPI: the code with the remote admin
// listener's address and certificate fingerprint, when it is open.
func (l LocalAdmin) PairConsole(name string, role Role) (AdminPairing, error) {
	p, err := l.svc().PairConsole(name, role)
	if err != nil {
		return AdminPairing{}, err
	}
	addr, fp := l.svc().ConsoleEndpoint()
	return AdminPairing{Name: p.Name, Role: p.Role, Code: p.Code, Expires: p.Expires, Fingerprint: fp, Listen: addr}, nil
}

// Consoles implements AdminAPI.
func (l LocalAdmin) Consoles() ([]AdminConsole, error) {
	all, err := l.svc().Consoles()
	if err != nil {
		return nil, err
	}
	out := make([]AdminConsole, 0, len(all))
	for _, c := range all {
		ac := AdminConsole{Name: c.Name, Role: c.Role, State: c.StateAt(l.svc().Now()), Serial: c.Serial, Fingerprint: c.Fingerprint}
		if !c.PairedAt.IsZero() {
			t := c.PairedAt
			ac.PairedAt = &t
		}
		if c.Revoked {
			t := c.RevokedAt
			ac.RevokedAt = &t
		}
		if c.State() == "pending" {
			t := c.CodeExpires
			ac.CodeExpires = &t
		}
		out = append(out, ac)
	}
	return out, nil
}

// RevokeConsole implements AdminAPI.
func (l LocalAdmin) RevokeConsole(name string) error {
	if err := l.svc().RevokeConsole(name); err != nil {
		return err
	}
	return nil
}

// Backup implements AdminAPI; the log line says how it was taken (its
// Actor, who).
func (l LocalAdmin) Backup(w io.Writer, enc BackupEncryption) (BackupSummary, error) {
	dest := "locally"
	if l.Operator != "" {
		dest = "through the admin API"
	}
	return l.svc().Backup(w, enc, dest)
}
