package adminapi

import (
	"context"
	"fmt"
	"time"

	"provisio/core"
)

// Local is the API in the process that holds the data directory. With
// Operator set (the Server sets it per caller), every change is followed
// by an audit line naming who made it; the CLI on its own directory
// leaves it empty and logs exactly as before.
type Local struct {
	Svc *core.Service
	// Operator describes the caller, e.g. "the command line on this
	// machine (uid 1000)".
	Operator string
}

var _ API = Local{}

// logOperator writes who did what; what never holds a secret.
func (l Local) logOperator(user, what string) {
	if l.Operator == "" {
		return
	}
	_ = l.Svc.Log(core.LevelInfo, user, "Admin API: %s, by %s.", what, l.Operator)
}

// Users implements API.
func (l Local) Users() ([]User, error) {
	users, err := l.Svc.Users()
	if err != nil {
		return nil, err
	}
	pending, err := l.Svc.PendingCodes()
	if err != nil {
		return nil, err
	}
	out := make([]User, 0, len(users))
	for _, u := range users {
		out = append(out, toUser(u, pending))
	}
	return out, nil
}

func toUser(u core.User, pending map[string]time.Time) User {
	out := User{Name: u.Name, FullName: u.FullName, Email: u.Email, Mobile: u.Mobile, Group: u.Group,
		MobileAllowed: u.MobileAllowed, Disabled: u.Disabled, Locked: u.Locked, DeviceOS: u.DeviceOS}
	if u.Locked {
		out.LockText = u.LockText()
	}
	if u.Provisioned() {
		t := u.ProvisionedAt
		out.ProvisionedAt = &t
	}
	if exp, ok := pending[core.Key(u.Name)]; ok {
		out.PendingUntil = &exp
	}
	return out
}

// AddUser implements API.
func (l Local) AddUser(nu NewUser) (User, error) {
	u, err := l.Svc.AddUser(core.User{Name: nu.Name, FullName: nu.FullName, Email: nu.Email, Mobile: nu.Mobile,
		Group: nu.Group, PIN: nu.PIN, MobileAllowed: true})
	if err != nil {
		return User{}, err
	}
	l.logOperator(u.Name, fmt.Sprintf("user %q added", u.Name))
	return toUser(u, nil), nil
}

// DeleteUser implements API.
func (l Local) DeleteUser(name string) error {
	if err := l.Svc.DeleteUser(name); err != nil {
		return err
	}
	l.logOperator(name, fmt.Sprintf("user %q deleted", name))
	return nil
}

// Reprovision implements API. The code is in the result only.
func (l Local) Reprovision(name string, mail bool) (Issued, error) {
	create := l.Svc.CreateProvisionCode
	if mail {
		create = l.Svc.MailProvisionCode
	}
	ic, err := create(name)
	if err != nil {
		return Issued{}, err
	}
	what := "provision code issued for %q"
	if mail {
		what = "provision code issued and mailed for %q"
	}
	l.logOperator(ic.User, fmt.Sprintf(what, ic.User))
	return Issued{User: ic.User, Code: ic.Code, URL: ic.URL, Expires: ic.Expires, MailID: ic.MailID}, nil
}

// Settings implements API.
func (l Local) Settings() ([]Setting, error) {
	set := l.Svc.Settings()
	keys := core.SettingKeys()
	out := make([]Setting, 0, len(keys))
	for _, k := range keys {
		v, _ := set.Get(k)
		out = append(out, Setting{Key: k, Value: v, Help: core.SettingHelp(k)})
	}
	return out, nil
}

// Setting implements API.
func (l Local) Setting(key string) (Setting, error) {
	set := l.Svc.Settings()
	v, err := set.Get(key)
	if err != nil {
		return Setting{}, err
	}
	return Setting{Key: key, Value: v, Help: core.SettingHelp(key)}, nil
}

// SetSetting implements API; the change applies live in the process
// that holds the data directory.
func (l Local) SetSetting(key, value string) (Setting, error) {
	if err := l.Svc.SetSetting(key, value); err != nil {
		return Setting{}, err
	}
	s, err := l.Setting(key)
	if err == nil {
		// The masked value, so a password never reaches the log.
		l.logOperator("", fmt.Sprintf("setting %s = %s", key, s.Value))
	}
	return s, err
}

// Agents implements API.
func (l Local) Agents() ([]Agent, error) {
	agents := l.Svc.Agents()
	out := make([]Agent, 0, len(agents))
	for _, a := range agents {
		out = append(out, l.toAgent(a))
	}
	return out, nil
}

func (l Local) toAgent(a core.Agent) Agent {
	addrs := []string{}
	for _, p := range l.Svc.AgentAddresses(a.Name) {
		addrs = append(addrs, p.String())
	}
	return Agent{Name: a.Name, Host: a.Host, Group: a.Group, Repository: a.Repository, Helpdesk: a.Helpdesk,
		Rights: a.Rights(), Addresses: addrs}
}

// PutAgent implements API.
func (l Local) PutAgent(na NewAgent) (Agent, error) {
	a := core.Agent{Name: na.Name, Host: na.Host, Secret: na.Secret, Group: na.Group, Repository: na.Repository, Helpdesk: na.Helpdesk}
	if a.Group == "" {
		a.Group = core.GroupAny
	}
	if err := l.Svc.PutAgent(a); err != nil {
		return Agent{}, err
	}
	for _, s := range l.Svc.Agents() {
		if core.Key(s.Name) == core.Key(a.Name) {
			a = s
		}
	}
	l.logOperator("", fmt.Sprintf("agent %q saved (rights: %s)", a.Name, a.Rights()))
	return l.toAgent(a), nil
}

// DeleteAgent implements API.
func (l Local) DeleteAgent(name string) error {
	if err := l.Svc.DeleteAgent(name); err != nil {
		return err
	}
	l.logOperator("", fmt.Sprintf("agent %q deleted", name))
	return nil
}

// Events implements API: the service's bus, with secrets dropped.
func (l Local) Events(ctx context.Context) (<-chan Event, error) {
	in, cancel := l.Svc.Events().Subscribe()
	out := make(chan Event, 64)
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
				case out <- fromCoreEvent(e):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
