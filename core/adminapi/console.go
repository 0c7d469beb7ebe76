package adminapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"provisio/core"
)

// Console is core.ConsoleAPI over the admin API: the full desktop
// console attached to a running service (on its admin socket, or as a
// paired remote console with the admin role). It reads settings once and
// again after each change, its own or one the event stream announces, so
// the screens do not ask the server on every redraw.
type Console struct {
	c *Client

	mu sync.Mutex
	// set is the last settings read; ok once one read succeeded.
	set   core.Settings
	setOK bool
	fresh bool
	// gen counts stale calls, so a read that was under way when a change
	// was announced is not taken for fresh.
	gen uint64
	// agents is the last agent list (with addresses).
	agents      []Agent
	agentsFresh bool
	// endpoint is where the last pairing code said remote consoles
	// connect (ConsoleEndpoint).
	endpointAddr, endpointFP string
}

var _ core.ConsoleAPI = (*Console)(nil)

// NewConsole is the full console's API over c.
func NewConsole(c *Client) *Console { return &Console{c: c} }

// Client is the connection the console works through.
func (k *Console) Client() *Client { return k.c }

// stale forgets what was read, after a change.
func (k *Console) stale() {
	k.mu.Lock()
	k.fresh, k.agentsFresh = false, false
	k.gen++
	k.mu.Unlock()
}

// Now implements core.ConsoleAPI: the server's clock, as this machine's
// plus the offset the server's answers tell (Client.ClockOffset), since
// the server's clock sets every expiry the screens read (codes pending,
// mails expired, pairing codes, certificates). Until an answer carried
// the server's clock (a server older than HeaderTime), it is this
// machine's. The Reprovision countdowns do not depend on it: a code's
// answer carries Created beside Expires, and they count the difference
// down from when the answer came (docs/decisions.md, "Countdowns on
// another machine's clock" and "The console's Now is the server's
// clock").
func (k *Console) Now() time.Time { return time.Now().Add(k.c.ClockOffset()) }

// Subscribe implements core.ConsoleAPI with the event stream; what was
// read is forgotten before an event that changes it is passed on. The
// stream outlives the service's restarts (Client.Follow): a lost
// connection and its return come as core.EventConnection, and the
// channel closes only when cancelled.
func (k *Console) Subscribe() (<-chan core.Event, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan core.Event, 256)
	in := k.c.Follow(ctx)
	go func() {
		defer close(out)
		for e := range in {
			ev := e.Event()
			// Whatever changed during an outage was not announced.
			if ev.Kind == core.EventConfigChanged || ev.Kind == core.EventHealth || ev.Kind == core.EventConnection {
				k.stale()
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, cancel
}

// Log implements core.ConsoleAPI: a note in the server's audit log,
// which names this console.
func (k *Console) Log(level core.Level, user, format string, args ...any) error {
	return k.c.do(http.MethodPost, "/log", map[string]string{"level": string(level), "user": user, "message": fmt.Sprintf(format, args...)}, nil)
}

// Health implements core.ConsoleAPI. A server that does not answer is
// unhealthy, in a sentence.
func (k *Console) Health() core.Health {
	var h core.Health
	if err := k.c.do(http.MethodGet, "/health", nil, &h); err != nil {
		return core.Health{CommitError: "the service does not answer: " + core.ErrorMessage(err)}
	}
	return h
}

// ServerStatus is where the service's server answers, its certificate
// and store (GET /v1/server); the zero value (not running) when the
// service does not answer.
func (k *Console) ServerStatus() core.ServerStatus {
	st, err := k.c.ServerStatus()
	if err != nil {
		return core.ServerStatus{}
	}
	return st
}

// Users implements core.ConsoleAPI.
func (k *Console) Users() ([]core.User, error) {
	var recs []core.AdminUserRecord
	if err := k.c.do(http.MethodGet, "/users?view=full", nil, &recs); err != nil {
		return nil, err
	}
	out := make([]core.User, len(recs))
	for i, r := range recs {
		out[i] = r.UserOf()
	}
	return out, nil
}

// User implements core.ConsoleAPI.
func (k *Console) User(name string) (core.User, error) {
	var r core.AdminUserRecord
	if err := k.c.do(http.MethodGet, "/users/"+esc(name), nil, &r); err != nil {
		return core.User{}, err
	}
	return r.UserOf(), nil
}

// AddUser implements core.ConsoleAPI.
func (k *Console) AddUser(u core.User) (core.User, error) {
	mobile := u.MobileAllowed
	nu := NewUser{Name: u.Name, FullName: u.FullName, Email: u.Email, Mobile: u.Mobile, Group: u.Group, PIN: u.PIN,
		StringsEmail: u.StringsEmail, MobileAllowed: &mobile, Disabled: u.Disabled, Locked: u.Locked, Profile: u.Profile}
	added, err := k.c.AddUser(nu)
	if err != nil {
		return core.User{}, err
	}
	return k.User(added.Name)
}

// UpdateUser implements core.ConsoleAPI: edit runs here on the user as
// read, and only the fields it changed are sent (core.UserChange), so a
// change someone made meanwhile to another field is kept.
func (k *Console) UpdateUser(name string, edit func(*core.User) error) (core.User, error) {
	before, err := k.User(name)
	if err != nil {
		return core.User{}, err
	}
	after := before
	after.Attributes = make(map[string]string, len(before.Attributes))
	for a, v := range before.Attributes {
		after.Attributes[a] = v
	}
	if len(before.Attributes) == 0 {
		after.Attributes = before.Attributes
	}
	if err := edit(&after); err != nil {
		return core.User{}, err
	}
	if core.Key(after.Name) != core.Key(before.Name) {
		return core.User{}, core.FieldError("name", "A username cannot be changed; add a new user instead.")
	}
	var r core.AdminUserRecord
	if err := k.c.do(http.MethodPatch, "/users/"+esc(name), core.UserChange(before, after), &r); err != nil {
		return core.User{}, err
	}
	return r.UserOf(), nil
}

// DeleteUser implements core.ConsoleAPI.
func (k *Console) DeleteUser(name string) error { return k.c.DeleteUser(name) }

// PendingCodes implements core.ConsoleAPI from the user list.
func (k *Console) PendingCodes() (map[string]time.Time, error) {
	users, err := k.c.Users()
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	for _, u := range users {
		if u.PendingUntil != nil {
			out[core.Key(u.Name)] = *u.PendingUntil
		}
	}
	return out, nil
}

// RevokeDevice implements core.ConsoleAPI.
func (k *Console) RevokeDevice(name string) error { return k.c.RevokeDevice(name) }

// ResetPIN implements core.ConsoleAPI.
func (k *Console) ResetPIN(name string, send bool) (core.PINReset, error) {
	r, err := k.c.ResetPIN(name, send)
	return core.PINReset{User: r.User, PIN: r.PIN, To: r.MailedTo}, err
}

// PreviewImport implements core.ConsoleAPI: the file is read and checked
// on the server.
func (k *Console) PreviewImport(r io.Reader) (core.ImportPreview, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImportBody+1))
	if err != nil {
		return core.ImportPreview{}, err
	}
	var p core.ImportPreview
	err = k.c.doRaw(http.MethodPost, "/import/preview", "text/csv", bytes.NewReader(data), &p)
	return p, err
}

// ImportUsers implements core.ConsoleAPI; progress hears of the whole
// import once it is done.
func (k *Console) ImportUsers(rows []core.ImportRow, progress func(done, total int)) (int, error) {
	var out struct {
		Imported int `json:"imported"`
	}
	err := k.c.do(http.MethodPost, "/import", map[string]any{"rows": rows}, &out)
	if progress != nil {
		progress(out.Imported, len(rows))
	}
	return out.Imported, err
}

// ClientLogs implements core.ConsoleAPI.
func (k *Console) ClientLogs(username string) ([]core.ClientLogEntry, error) {
	l, err := k.c.ClientLogs(username)
	return l.Logs, err
}

// ClearClientLogs implements core.ConsoleAPI; the server names the
// operator.
func (k *Console) ClearClientLogs(username string) (int, error) {
	return k.c.ClearClientLogs(username)
}

// CreateProvisionCode implements core.ConsoleAPI.
func (k *Console) CreateProvisionCode(name string) (core.IssuedCode, error) {
	ic, err := k.c.Reprovision(name, false)
	return ic.IssuedCode(), err
}

// MailIssuedCode implements core.ConsoleAPI.
func (k *Console) MailIssuedCode(ic core.IssuedCode) (core.IssuedCode, error) {
	var out Issued
	if err := k.c.do(http.MethodPost, "/users/"+esc(ic.User)+"/mail-code", core.AdminIssuedOf(ic), &out); err != nil {
		return core.IssuedCode{}, err
	}
	return out.IssuedCode(), nil
}

// WithdrawProvisionCode implements core.ConsoleAPI.
func (k *Console) WithdrawProvisionCode(name, code string) (bool, error) {
	var out struct {
		Withdrawn bool `json:"withdrawn"`
	}
	err := k.c.do(http.MethodPost, "/users/"+esc(name)+"/withdraw-code", map[string]string{"code": code}, &out)
	return out.Withdrawn, err
}

// OATHStatus implements core.ConsoleAPI.
func (k *Console) OATHStatus(name string) (core.OATHStatus, error) {
	var s core.OATHStatus
	return s, k.c.do(http.MethodGet, "/users/"+esc(name)+"/oath", nil, &s)
}

// OATHStatuses implements core.ConsoleAPI.
func (k *Console) OATHStatuses() (map[string]core.OATHStatus, error) {
	var s map[string]core.OATHStatus
	return s, k.c.do(http.MethodGet, "/oath", nil, &s)
}

// IssueOATH implements core.ConsoleAPI.
func (k *Console) IssueOATH(name string, opt core.OATHOptions) (core.OATHIssued, error) {
	var is core.OATHIssued
	return is, k.c.do(http.MethodPost, "/users/"+esc(name)+"/oath", opt, &is)
}

// ConfirmOATH implements core.ConsoleAPI.
func (k *Console) ConfirmOATH(name, code string) error {
	return k.c.do(http.MethodPost, "/users/"+esc(name)+"/oath/confirm", map[string]string{"code": code}, nil)
}

// MailOATHProvisionCode implements core.ConsoleAPI.
func (k *Console) MailOATHProvisionCode(name string, opt core.OATHOptions) (core.IssuedCode, error) {
	var out Issued
	err := k.c.do(http.MethodPost, "/users/"+esc(name)+"/oath/mail", opt, &out)
	return out.IssuedCode(), err
}

// Profiles implements core.ConsoleAPI.
func (k *Console) Profiles() ([]core.Profile, error) {
	var p []core.Profile
	return p, k.c.do(http.MethodGet, "/profiles?view=full", nil, &p)
}

// Profile implements core.ConsoleAPI.
func (k *Console) Profile(name string) (core.Profile, error) {
	var p core.Profile
	return p, k.c.do(http.MethodGet, "/profiles/"+esc(name), nil, &p)
}

// ProfileImpact implements core.ConsoleAPI.
func (k *Console) ProfileImpact(name string) (int, error) {
	var out struct {
		Users int `json:"users"`
	}
	return out.Users, k.c.do(http.MethodGet, "/profiles/"+esc(name)+"/impact", nil, &out)
}

// AddProfile implements core.ConsoleAPI.
func (k *Console) AddProfile(p core.Profile) error {
	return k.c.do(http.MethodPost, "/profiles", p, nil)
}

// DeleteProfile implements core.ConsoleAPI. The server's refusal of a
// profile still assigned names its query parameter; the console is told
// in its own words, as in-process.
func (k *Console) DeleteProfile(name, reassignTo string) error {
	path := "/profiles/" + esc(name)
	if reassignTo != "" {
		path += "?reassign_to=" + url.QueryEscape(reassignTo)
	}
	return core.RewordEnding(k.c.do(http.MethodDelete, path, nil, nil), apiReassignAdvice, core.ProfileReassignAdvice)
}

// AssignProfileToGroup implements core.ConsoleAPI. As for the Service,
// "" returns the group to the Default profile; the route needs a name.
func (k *Console) AssignProfileToGroup(profile, group string) error {
	if profile == "" {
		profile = core.DefaultProfileName
	}
	return k.c.do(http.MethodPost, "/profiles/"+esc(profile)+"/groups", map[string]string{"group": group}, nil)
}

// EffectiveProfileFor implements core.ConsoleAPI for u's group and own
// profile, which is all it depends on.
func (k *Console) EffectiveProfileFor(u core.User) (core.EffectiveProfile, error) {
	var e core.EffectiveProfile
	return e, k.c.do(http.MethodPost, "/effective-profile", map[string]string{"group": u.Group, "profile": u.Profile}, &e)
}

// agentList reads the agents once per change.
func (k *Console) agentList() []Agent {
	k.mu.Lock()
	if k.agentsFresh {
		defer k.mu.Unlock()
		return k.agents
	}
	gen := k.gen
	k.mu.Unlock()
	a, err := k.c.Agents()
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		return k.agents
	}
	k.agents, k.agentsFresh = a, gen == k.gen
	return a
}

// Agents implements core.ConsoleAPI; each secret is core.SecretMask,
// which PutAgent sends back as "keep the stored one".
func (k *Console) Agents() []core.Agent {
	list := k.agentList()
	out := make([]core.Agent, len(list))
	for i, a := range list {
		out[i] = core.Agent{Name: a.Name, Host: a.Host, Secret: core.SecretMask, Group: a.Group,
			Repository: a.Repository, Helpdesk: a.Helpdesk, Modes: a.Modes}
	}
	return out
}

// AgentsSharingSecrets implements core.ConsoleAPI from the agent list,
// where the service names each agent's partners (SharesSecretWith).
func (k *Console) AgentsSharingSecrets() [][]string {
	var out [][]string
	seen := map[string]bool{}
	for _, a := range k.agentList() {
		if len(a.SharesSecretWith) == 0 || seen[a.Name] {
			continue
		}
		g := append([]string{a.Name}, a.SharesSecretWith...)
		for _, n := range g {
			seen[n] = true
		}
		sort.Strings(g)
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// AgentAddresses implements core.ConsoleAPI.
func (k *Console) AgentAddresses(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range k.agentList() {
		if core.Key(a.Name) != core.Key(name) {
			continue
		}
		for _, s := range a.Addresses {
			if p, err := netip.ParsePrefix(s); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// PutAgent implements core.ConsoleAPI.
func (k *Console) PutAgent(a core.Agent) error {
	defer k.stale()
	na := NewAgent{Name: a.Name, Host: a.Host, Secret: a.Secret, Group: a.Group, Repository: a.Repository, Helpdesk: a.Helpdesk, Modes: a.Modes}
	if a.Secret == core.SecretMask || a.Secret == "" {
		na.Secret, na.KeepSecret = "", true
	}
	_, err := k.c.PutAgent(na)
	return err
}

// DeleteAgent implements core.ConsoleAPI.
func (k *Console) DeleteAgent(name string) error {
	defer k.stale()
	return k.c.DeleteAgent(name)
}

// Outbox implements core.ConsoleAPI: the messages without their codes
// or texts.
func (k *Console) Outbox() ([]core.OutMessage, error) {
	var m []core.OutMessage
	return m, k.c.do(http.MethodGet, "/outbox", nil, &m)
}

// RetryMail implements core.ConsoleAPI.
func (k *Console) RetryMail(id uint64) error {
	return k.c.do(http.MethodPost, "/outbox/"+strconv.FormatUint(id, 10)+"/retry", nil, nil)
}

// RetryFailedMail implements core.ConsoleAPI.
func (k *Console) RetryFailedMail() (int, error) {
	var out struct {
		Queued int `json:"queued"`
	}
	err := k.c.do(http.MethodPost, "/outbox/retry-failed", nil, &out)
	return out.Queued, err
}

// DiscardMail implements core.ConsoleAPI.
func (k *Console) DiscardMail(id uint64) error {
	return k.c.do(http.MethodDelete, "/outbox/"+strconv.FormatUint(id, 10), nil, nil)
}

// LogTail implements core.ConsoleAPI.
func (k *Console) LogTail(limit int) ([]core.LogEntry, error) { return k.c.LogTail(limit) }

// Logs implements core.ConsoleAPI.
func (k *Console) Logs(after uint64, limit int) ([]core.LogEntry, error) {
	var l []core.LogEntry
	return l, k.c.do(http.MethodGet, "/log?after="+strconv.FormatUint(after, 10)+"&limit="+strconv.Itoa(limit), nil, &l)
}

// VerifyLog implements core.ConsoleAPI.
func (k *Console) VerifyLog() (core.LogChain, error) {
	var v core.LogChain
	return v, k.c.do(http.MethodGet, "/log/verify", nil, &v)
}

// BackupState implements core.ConsoleAPI from the settings.
func (k *Console) BackupState() core.BackupState { return k.Settings().BackupState }

// BackupNow implements core.ConsoleAPI; the backup is taken by the
// server into its folder.
func (k *Console) BackupNow(bool) core.BackupResult {
	var r core.BackupResult
	if err := k.c.do(http.MethodPost, "/backups/run", nil, &r); err != nil {
		return core.BackupResult{At: time.Now(), Error: core.ErrorMessage(err)}
	}
	return r
}

// CheckBackupSettings implements core.ConsoleAPI, on the server, where
// the folder and key files are.
func (k *Console) CheckBackupSettings(b core.BackupSettings) error {
	return k.c.do(http.MethodPost, "/backups/check", b, nil)
}

// PairConsole implements core.ConsoleAPI.
func (k *Console) PairConsole(name string, role core.Role) (core.ConsolePairing, error) {
	p, err := k.c.PairConsole(name, role)
	if err != nil {
		return core.ConsolePairing{}, err
	}
	k.mu.Lock()
	k.endpointAddr, k.endpointFP = p.Listen, p.Fingerprint
	k.mu.Unlock()
	return core.ConsolePairing{Name: p.Name, Role: p.Role, Code: p.Code, Expires: p.Expires}, nil
}

// ConsoleEndpoint implements core.ConsoleAPI: as the last pairing code
// made here said.
func (k *Console) ConsoleEndpoint() (addr, fingerprint string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.endpointAddr, k.endpointFP
}

// Consoles implements core.ConsoleAPI.
func (k *Console) Consoles() ([]core.Console, error) {
	list, err := k.c.Consoles()
	if err != nil {
		return nil, err
	}
	out := make([]core.Console, len(list))
	for i, c := range list {
		kc := core.Console{Name: c.Name, Role: c.Role, Serial: c.Serial, Fingerprint: c.Fingerprint}
		if c.PairedAt != nil {
			kc.PairedAt = *c.PairedAt
		}
		if c.RevokedAt != nil {
			kc.Revoked, kc.RevokedAt = true, *c.RevokedAt
		}
		if c.CodeExpires != nil {
			kc.CodeExpires = *c.CodeExpires
		}
		out[i] = kc
	}
	return out, nil
}

// RevokeConsole implements core.ConsoleAPI.
func (k *Console) RevokeConsole(name string) error { return k.c.RevokeConsole(name) }

// MailTools is the mail transport's part the console needs, run on the
// server: mail leaves from there, with the stored password.
func (k *Console) MailTools() core.MailTools { return consoleMail{k} }

type consoleMail struct{ k *Console }

// DefaultProvisionTemplate implements core.MailTools.
func (m consoleMail) DefaultProvisionTemplate() core.MailTemplate {
	var t core.MailTemplate
	_ = m.k.c.do(http.MethodGet, "/mail/template", nil, &t)
	return t
}

// SendTest implements core.MailTools on the server; tlsConf is the
// console's and has no use there.
func (m consoleMail) SendTest(_ context.Context, ms core.MailSettings, _ *tls.Config, to string) error {
	return m.k.c.do(http.MethodPost, "/mail/test", map[string]any{"mail": ms, "to": to}, nil)
}

// Describe implements core.MailTools: the server's sentence.
func (m consoleMail) Describe(err error) string { return core.ErrorMessage(err) }
