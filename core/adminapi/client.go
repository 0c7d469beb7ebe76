package adminapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"provisio/core"
)

// Client is the API of a running Provisio reached over its admin socket.
// Errors the server gives come back as *core.Error with the server's
// sentence, so a caller prints them as it would a local one.
type Client struct {
	http *http.Client
	// stream has no timeout: an event stream lasts as long as its ctx.
	stream *http.Client
	// base is the URL before Version: http://provisio on the socket,
	// https://HOST:PORT for a remote server (DialRemote).
	base string
	// clock is the server's clock as its answers tell (serverclock.go).
	clock *serverClock
	// lost are the adds whose answer never came (retry.go).
	lost lostAdds
}

var _ API = (*Client)(nil)

// requestTimeout bounds one request; mail and settings apply at once.
const requestTimeout = 30 * time.Second

// Dial connects to the admin socket at path and checks that a server
// answers there; it fails with ErrNoServer when none does.
func Dial(path string) (*Client, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns: 2,
	}
	c := newClient(tr, "http://provisio")
	var probe Setting
	if err := c.do(http.MethodGet, "/settings/server.listen", nil, &probe); err != nil {
		var ce *core.Error
		if errors.As(err, &ce) && ce.Code != core.CodeUnavailable {
			return c, nil // a server answered, with a refusal of its own
		}
		return nil, fmt.Errorf("%w: %w", ErrNoServer, err)
	}
	return c, nil
}

// ErrNoServer means nothing answers on the admin socket.
var ErrNoServer = errors.New("no Provisio server answers on the admin socket")

// do sends one request; out, when not nil, receives the JSON answer.
func (c *Client) do(method, path string, in, out any) error {
	if in == nil {
		return c.doRaw(method, path, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.doRaw(method, path, "application/json", bytes.NewReader(b), out)
}

// doRaw sends one request with body of type ctype (none when body is
// nil); out, when not nil, receives the JSON answer.
func (c *Client) doRaw(method, path, ctype string, body io.Reader, out any) error {
	req, err := http.NewRequest(method, c.base+Version+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.unavailable(method, err)
	}
	defer resp.Body.Close()
	return readAnswer(resp, out)
}

func readAnswer(resp *http.Response, out any) error {
	if resp.StatusCode >= 300 {
		var eb errorBody
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&eb); err != nil || eb.Error.Message == "" {
			return &core.Error{Code: core.CodeInternal, Message: fmt.Sprintf("The Provisio server answered %s.", resp.Status)}
		}
		ce := &core.Error{Code: eb.Error.Code, Field: eb.Error.Field, Message: eb.Error.Message}
		if eb.Error.Certificate != nil {
			ce.Err = &core.MailCertError{Cert: *eb.Error.Certificate}
		}
		return ce
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// esc writes s as one segment of a request's path. A name of only dots is
// written as %2E each: net/http's mux cleans the path as sent, so a plain
// "." or ".." segment would be redirected to another path (DELETE
// /v1/users/./client-log to /v1/users/client-log, a user called
// "client-log"), while "%2E%2E" reaches the route and its {name} is "..".
// New usernames cannot be only dots (core.ValidateUsername), but users
// stored before that rule, and agents, profiles and consoles, can be.
func esc(s string) string {
	if s != "" && strings.Trim(s, ".") == "" {
		return strings.Repeat("%2E", len(s))
	}
	return url.PathEscape(s)
}

// Users implements API.
func (c *Client) Users() ([]User, error) {
	var out []User
	return out, c.do(http.MethodGet, "/users", nil, &out)
}

// AddUser implements API. An add retried after its answer was lost is
// answered as the first one would have been (retry.go).
func (c *Client) AddUser(u NewUser) (User, error) {
	var out User
	err := c.do(http.MethodPost, "/users", u, &out)
	return c.lost.settle(c, u, out, err)
}

// DeleteUser implements API. A delete retried after its answer was lost
// is answered as done (retry.go).
func (c *Client) DeleteUser(name string) error {
	return c.lost.settleDone("delete", name, core.CodeNotFound, c.do(http.MethodDelete, "/users/"+esc(name), nil, nil))
}

// Reprovision implements API.
func (c *Client) Reprovision(name string, mail bool) (Issued, error) {
	var out Issued
	return out, c.do(http.MethodPost, "/users/"+esc(name)+"/reprovision", map[string]bool{"mail": mail}, &out)
}

// Settings implements API.
func (c *Client) Settings() ([]Setting, error) {
	var out []Setting
	return out, c.do(http.MethodGet, "/settings", nil, &out)
}

// Setting implements API.
func (c *Client) Setting(key string) (Setting, error) {
	var out Setting
	return out, c.do(http.MethodGet, "/settings/"+esc(key), nil, &out)
}

// SetSetting implements API.
func (c *Client) SetSetting(key, value string) (Setting, error) {
	var out Setting
	return out, c.do(http.MethodPut, "/settings/"+esc(key), map[string]string{"value": value}, &out)
}

// Agents implements API.
func (c *Client) Agents() ([]Agent, error) {
	var out []Agent
	return out, c.do(http.MethodGet, "/agents", nil, &out)
}

// PutAgent implements API.
func (c *Client) PutAgent(a NewAgent) (Agent, error) {
	var out Agent
	return out, c.do(http.MethodPut, "/agents/"+esc(a.Name), a, &out)
}

// DeleteAgent implements API.
func (c *Client) DeleteAgent(name string) error {
	return c.do(http.MethodDelete, "/agents/"+esc(name), nil, nil)
}

// Unlock implements API.
func (c *Client) Unlock(name string) (User, error) {
	var out User
	return out, c.do(http.MethodPost, "/users/"+esc(name)+"/unlock", nil, &out)
}

// ResetPIN implements API.
func (c *Client) ResetPIN(name string, mail bool) (core.AdminPINReset, error) {
	var out core.AdminPINReset
	return out, c.do(http.MethodPost, "/users/"+esc(name)+"/reset-pin", map[string]bool{"mail": mail}, &out)
}

// RevokeDevice implements API. A revocation retried after its answer was
// lost is answered as done (retry.go).
func (c *Client) RevokeDevice(name string) error {
	return c.lost.settleDone("revoke", name, core.CodeConflict, c.do(http.MethodPost, "/users/"+esc(name)+"/revoke-device", nil, nil))
}

// ClientLogs implements API.
func (c *Client) ClientLogs(name string) (core.AdminClientLog, error) {
	var out core.AdminClientLog
	return out, c.do(http.MethodGet, "/users/"+esc(name)+"/client-log", nil, &out)
}

// ClearClientLogs implements API.
func (c *Client) ClearClientLogs(name string) (int, error) {
	var out struct {
		Deleted int `json:"deleted"`
	}
	return out.Deleted, c.do(http.MethodDelete, "/users/"+esc(name)+"/client-log", nil, &out)
}

// LogTail is the newest limit audit-log entries, oldest first (GET
// /v1/log?tail=N), for provisio log show.
func (c *Client) LogTail(limit int) ([]core.LogEntry, error) {
	var l []core.LogEntry
	return l, c.do(http.MethodGet, "/log?tail="+strconv.Itoa(limit), nil, &l)
}

// Profiles implements API.
func (c *Client) Profiles() ([]core.AdminProfile, error) {
	var out []core.AdminProfile
	return out, c.do(http.MethodGet, "/profiles", nil, &out)
}

// AssignProfile implements API.
func (c *Client) AssignProfile(user, profile string) (core.AdminUserProfile, error) {
	var out core.AdminUserProfile
	return out, c.do(http.MethodPut, "/users/"+esc(user)+"/profile", map[string]string{"profile": profile}, &out)
}

// Me implements API.
func (c *Client) Me() (core.AdminOperator, error) {
	var out core.AdminOperator
	return out, c.do(http.MethodGet, "/me", nil, &out)
}

// PairConsole implements API.
func (c *Client) PairConsole(name string, role core.Role) (core.AdminPairing, error) {
	var out core.AdminPairing
	return out, c.do(http.MethodPost, "/consoles", map[string]string{"name": name, "role": string(role)}, &out)
}

// Consoles implements API.
func (c *Client) Consoles() ([]core.AdminConsole, error) {
	var out []core.AdminConsole
	return out, c.do(http.MethodGet, "/consoles", nil, &out)
}

// RevokeConsole implements API.
func (c *Client) RevokeConsole(name string) error {
	return c.do(http.MethodPost, "/consoles/"+esc(name)+"/revoke", nil, nil)
}

// ServerStatus is where the service's server answers, its certificate
// and store, and, over the admin socket, its data and key directories
// (GET /v1/server), for "backup --out" to refuse a file inside them.
func (c *Client) ServerStatus() (core.ServerStatus, error) {
	var st core.ServerStatus
	err := c.do(http.MethodGet, "/server", nil, &st)
	return st, err
}

// Backup implements API: the server's backup is copied to w as it
// arrives; it is complete only when the server's trailers came with it,
// so a cut stream is an error, never a short file taken for whole.
func (c *Client) Backup(w io.Writer, enc core.BackupEncryption) (core.BackupSummary, error) {
	var sum core.BackupSummary
	b, err := json.Marshal(enc)
	if err != nil {
		return sum, err
	}
	req, err := http.NewRequest(http.MethodPost, c.base+Version+"/backup", bytes.NewReader(b))
	if err != nil {
		return sum, err
	}
	req.Header.Set("Content-Type", "application/json")
	// No overall timeout: a large data file takes as long as it takes.
	resp, err := c.stream.Do(req)
	if err != nil {
		return sum, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sum, readAnswer(resp, nil)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return sum, fmt.Errorf("the backup did not arrive whole: %w", err)
	}
	users, err1 := strconv.Atoi(resp.Trailer.Get(TrailerBackupUsers))
	last, err2 := strconv.ParseUint(resp.Trailer.Get(TrailerBackupLogLast), 10, 64)
	if err1 != nil || err2 != nil {
		return sum, errors.New("the backup did not arrive whole: the server's answer ended early")
	}
	return core.BackupSummary{Users: users, LogLast: last}, nil
}

// Events implements API: it returns once the stream is open, so no
// event after the call is missed; the channel closes when ctx ends or
// the server goes away.
func (c *Client) Events(ctx context.Context) (<-chan Event, error) {
	// The stream has no overall timeout, but its answer must come: over
	// a network that carries nothing, it would be awaited for ever.
	ctx, cancel := context.WithCancel(ctx)
	noAnswer := time.AfterFunc(idleLimit(), cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+Version+"/events", nil)
	if err != nil {
		cancel()
		return nil, err
	}
	resp, err := c.stream.Do(req)
	noAnswer.Stop()
	if err != nil {
		cancel()
		return nil, c.unavailable(http.MethodGet, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		return nil, readAnswer(resp, nil)
	}
	out := make(chan Event, 64)
	// A stream silent past the server's keep-alives is a lost one.
	body := newIdleReader(resp.Body, idleLimit())
	go func() {
		defer close(out)
		defer cancel()
		defer body.Close()
		ReadEvents(body, func(e Event) bool {
			select {
			case out <- e:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	return out, nil
}

// ReadEvents parses a text/event-stream body, calling fn for each event
// until fn returns false or the body ends; comments and fields other
// than data are skipped, as the SSE format says.
func ReadEvents(r io.Reader, fn func(Event) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				var e Event
				if json.Unmarshal([]byte(data.String()), &e) == nil && !fn(e) {
					return nil
				}
				data.Reset()
			}
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	return sc.Err()
}
