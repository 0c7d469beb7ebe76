package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"provisio/core"
)

// maxBody bounds a request body: every request of this API is small.
const maxBody = 64 << 10

// Server serves the API over HTTP. Who the caller is comes from the
// connection (peerListener's peer credentials on the Unix socket),
// never from the request.
type Server struct {
	svc  *core.Service
	http *http.Server
	ln   net.Listener
	wg   sync.WaitGroup
	// done ends event streams on Close, which http.Server.Close does not.
	done chan struct{}
}

type operatorKey struct{}

// Caller is who sends a request, as the listener established it from
// the connection (peer credentials, a client certificate), never from
// the request itself.
type Caller struct {
	core.AdminOperator
	// Operator describes the caller in the audit log, e.g. `console
	// "desk-2" (helpdesk) at 192.0.2.7`.
	Operator string
	// Source is the address refusals are counted under (svc.Refuse).
	Source string
	// Check, when set, is asked again before each event of a stream, so
	// a console revoked while its stream is open loses it at once.
	Check func() error
}

type callerKey struct{}

// HeaderTime is the header of every answer of the API's routes
// (Handler) that carries the service's clock when the request arrived,
// RFC 3339 with nanoseconds, in UTC: an attached or remote console sets
// its Now by it (Client.ClockOffset), as expiries are the server's.
const HeaderTime = "Provisio-Time"

// Handler returns the API's routes for svc; caller tells, per request,
// who is calling, or refuses the request with an error the answer
// carries (its reason counted with svc.Refuse by caller itself). Each
// route is checked against the caller's role (core.Role.Allows). Every
// answer, a refusal too, carries the service's clock (HeaderTime).
func Handler(svc *core.Service, caller func(*http.Request) (Caller, error), done <-chan struct{}) http.Handler {
	h := &handler{svc: svc, done: done}
	mux := http.NewServeMux()
	route := func(pattern string, act core.AdminAction, fn http.HandlerFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			c, err := caller(r)
			if err != nil {
				writeError(w, err)
				return
			}
			if !c.Role.Allows(act) {
				svc.Refuse(c.Source, fmt.Sprintf("console role %s may not do %s", c.Role, act))
				writeError(w, core.Errorf(core.CodeForbidden, "Console %q has the %s role, which may not do this (%s); ask an administrator.", c.Name, c.Role, act))
				return
			}
			fn(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
		})
	}
	route("GET /v1/users", core.ActListUsers, h.users)
	route("POST /v1/users", core.ActAddUser, h.addUser)
	route("DELETE /v1/users/{name}", core.ActDeleteUser, h.deleteUser)
	route("POST /v1/users/{name}/reprovision", core.ActReprovision, h.reprovision)
	route("POST /v1/users/{name}/unlock", core.ActUnlock, h.unlock)
	route("POST /v1/users/{name}/reset-pin", core.ActResetPIN, h.resetPIN)
	route("POST /v1/users/{name}/revoke-device", core.ActRevokeDevice, h.revokeDevice)
	route("GET /v1/settings", core.ActReadSettings, h.settings)
	route("GET /v1/settings/{key}", core.ActReadSettings, h.setting)
	route("PUT /v1/settings/{key}", core.ActWriteSettings, h.setSetting)
	route("GET /v1/agents", core.ActReadAgents, h.agents)
	route("PUT /v1/agents/{name}", core.ActWriteAgents, h.putAgent)
	route("PATCH /v1/agents/{name}", core.ActWriteAgents, h.changeAgent)
	route("DELETE /v1/agents/{name}", core.ActWriteAgents, h.deleteAgent)
	route("GET /v1/events", core.ActEvents, h.events)
	route("GET /v1/me", core.ActMe, h.me)
	route("GET /v1/consoles", core.ActConsoles, h.consoles)
	route("POST /v1/consoles", core.ActConsoles, h.pairConsole)
	route("POST /v1/consoles/{name}/revoke", core.ActConsoles, h.revokeConsole)
	route("POST /v1/backup", core.ActBackup, h.backup)
	route("GET /v1/users/{name}/client-log", core.ActReadClientLog, h.clientLogs)
	route("DELETE /v1/users/{name}/client-log", core.ActClearClientLog, h.clearClientLogs)
	route("GET /v1/profiles", core.ActReadProfiles, h.profiles)
	route("PUT /v1/users/{name}/profile", core.ActAssignProfile, h.assignProfile)
	h.consoleRoutes(route)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Who asks is checked first, so an unpaired client learns
		// nothing about the routes.
		if _, err := caller(r); err != nil {
			writeError(w, err)
			return
		}
		if allow := allowedMethods(mux, r); len(allow) > 0 {
			// The path is a route's, the method is not: say which
			// methods it takes, as a script that sent PUT for PATCH
			// was told the path did not exist.
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, core.Errorf(codeMethodNotAllowed, "There is no %s %s in the admin API %s; %s takes %s.", r.Method, r.URL.Path, Version, r.URL.Path, orList(allow)))
			return
		}
		writeError(w, core.Errorf(core.CodeNotFound, "There is no %s %s in the admin API %s.", r.Method, r.URL.Path, Version))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Stamped as the request arrives, before the route runs: the
		// client takes the stamp for the middle of the round trip, which
		// is off by at most half of it either way (serverclock.go).
		w.Header().Set(HeaderTime, svc.Now().UTC().Format(time.RFC3339Nano))
		mux.ServeHTTP(w, r)
	})
}

// Listen serves the API on a Unix socket at path (the data directory's
// admin.sock), mode 0600. Only the same user or root may connect; other
// peers are refused, counted with svc.Refuse and never served. The
// caller must hold the data directory, so a socket file already there
// is a leftover of a process that died and is replaced.
func Listen(path string, svc *core.Service) (*Server, error) {
	return listen(path, svc, uint32(os.Getuid()))
}

// listen is Listen admitting the user own (and root).
func listen(path string, svc *core.Service, own uint32) (*Server, error) {
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("open the admin socket %s: %w", path, err)
	}
	// Until this chmod the socket has the umask's mode. The application
	// makes a data directory it owns 0700 when it opens it (a directory
	// made by hand may have been 0755), which keeps others from reaching
	// the socket in that moment; a directory owned by another user keeps
	// its mode. Either way peerListener serves only own and root.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict the admin socket %s: %w", path, err)
	}
	s := &Server{svc: svc, ln: &peerListener{Listener: ln, svc: svc, own: own}, done: make(chan struct{})}
	s.http = &http.Server{
		Handler: Handler(svc, func(r *http.Request) (Caller, error) {
			op, ok := r.Context().Value(operatorKey{}).(string)
			if !ok {
				op = "an unknown local process"
			}
			// Only the server's own user and root get here (peerListener):
			// they could open the data directory themselves.
			return Caller{AdminOperator: core.AdminOperator{Name: op, Role: core.RoleAdmin}, Operator: op, Source: "admin socket"}, nil
		}, s.done),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if pc, ok := c.(*peerConn); ok {
				return context.WithValue(ctx, operatorKey{}, pc.operator)
			}
			return ctx
		},
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.http.Serve(s.ln)
	}()
	return s, nil
}

// Addr is the socket's path.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops serving, ends event streams and removes the socket file.
func (s *Server) Close() error {
	close(s.done)
	path := s.ln.Addr().String()
	err := s.http.Close()
	s.wg.Wait()
	_ = os.Remove(path)
	return err
}

type handler struct {
	svc  *core.Service
	done <-chan struct{}
}

// caller is who sends r; route put it in r's context.
func (h *handler) caller(r *http.Request) Caller {
	c, _ := r.Context().Value(callerKey{}).(Caller)
	return c
}

func (h *handler) api(r *http.Request) Local {
	c := h.caller(r)
	return Local{Svc: h.svc, Operator: c.Operator, Caller: c.AdminOperator}
}

func (h *handler) users(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("view") == "full" {
		h.userRecords(w, r)
		return
	}
	users, err := h.api(r).Users()
	reply(w, http.StatusOK, users, err)
}

func (h *handler) addUser(w http.ResponseWriter, r *http.Request) {
	var nu NewUser
	if !decode(w, r, &nu) {
		return
	}
	u, err := h.api(r).AddUser(nu)
	reply(w, http.StatusCreated, u, err)
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	err := h.api(r).DeleteUser(r.PathValue("name"))
	reply(w, http.StatusNoContent, nil, err)
}

func (h *handler) reprovision(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mail bool `json:"mail"`
	}
	if !decode(w, r, &req) {
		return
	}
	ic, err := h.api(r).Reprovision(r.PathValue("name"), req.Mail)
	// The plain code travels in this answer only: never cached.
	w.Header().Set("Cache-Control", "no-store")
	reply(w, http.StatusCreated, ic, err)
}

func (h *handler) unlock(w http.ResponseWriter, r *http.Request) {
	u, err := h.api(r).Unlock(r.PathValue("name"))
	reply(w, http.StatusOK, u, err)
}

func (h *handler) resetPIN(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mail bool `json:"mail"`
	}
	if !decode(w, r, &req) {
		return
	}
	res, err := h.api(r).ResetPIN(r.PathValue("name"), req.Mail)
	// The plain PIN travels in this answer only: never cached.
	w.Header().Set("Cache-Control", "no-store")
	reply(w, http.StatusOK, res, err)
}

func (h *handler) revokeDevice(w http.ResponseWriter, r *http.Request) {
	err := h.api(r).RevokeDevice(r.PathValue("name"))
	reply(w, http.StatusNoContent, nil, err)
}

func (h *handler) clientLogs(w http.ResponseWriter, r *http.Request) {
	logs, err := h.api(r).ClientLogs(r.PathValue("name"))
	reply(w, http.StatusOK, logs, err)
}

func (h *handler) clearClientLogs(w http.ResponseWriter, r *http.Request) {
	n, err := h.api(r).ClearClientLogs(r.PathValue("name"))
	reply(w, http.StatusOK, map[string]int{"deleted": n}, err)
}

func (h *handler) profiles(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("view") == "full" {
		h.profileRecords(w, r)
		return
	}
	p, err := h.api(r).Profiles()
	reply(w, http.StatusOK, p, err)
}

func (h *handler) assignProfile(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Profile *string `json:"profile"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Profile == nil {
		writeError(w, core.FieldError("profile", "The request needs a \"profile\": a profile's name, or \"\" to return the user to their group's profile."))
		return
	}
	up, err := h.api(r).AssignProfile(r.PathValue("name"), *req.Profile)
	reply(w, http.StatusOK, up, err)
}

func (h *handler) me(w http.ResponseWriter, r *http.Request) {
	me, err := h.api(r).Me()
	reply(w, http.StatusOK, me, err)
}

func (h *handler) consoles(w http.ResponseWriter, r *http.Request) {
	c, err := h.api(r).Consoles()
	reply(w, http.StatusOK, c, err)
}

func (h *handler) pairConsole(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if !decode(w, r, &req) {
		return
	}
	role, err := core.ParseRole(req.Role)
	if err != nil {
		writeError(w, err)
		return
	}
	p, err := h.api(r).PairConsole(req.Name, role)
	// The plain code travels in this answer only: never cached.
	w.Header().Set("Cache-Control", "no-store")
	reply(w, http.StatusCreated, p, err)
}

func (h *handler) revokeConsole(w http.ResponseWriter, r *http.Request) {
	err := h.api(r).RevokeConsole(r.PathValue("name"))
	reply(w, http.StatusNoContent, nil, err)
}

func (h *handler) settings(w http.ResponseWriter, r *http.Request) {
	s, err := h.api(r).Settings()
	reply(w, http.StatusOK, s, err)
}

func (h *handler) setting(w http.ResponseWriter, r *http.Request) {
	s, err := h.api(r).Setting(r.PathValue("key"))
	reply(w, http.StatusOK, s, err)
}

func (h *handler) setSetting(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Value *string `json:"value"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Value == nil {
		writeError(w, core.FieldError("value", "The request needs a \"value\"."))
		return
	}
	s, err := h.api(r).SetSetting(r.PathValue("key"), *req.Value)
	reply(w, http.StatusOK, s, err)
}

func (h *handler) agents(w http.ResponseWriter, r *http.Request) {
	a, err := h.api(r).Agents()
	reply(w, http.StatusOK, a, err)
}

func (h *handler) putAgent(w http.ResponseWriter, r *http.Request) {
	var na NewAgent
	if !decode(w, r, &na) {
		return
	}
	na.Name = r.PathValue("name")
	a, err := h.api(r).PutAgent(na)
	reply(w, http.StatusOK, a, err)
}

// changeAgent changes the fields given, and only them, on the agent as
// stored when the save's transaction runs (Service.ChangeAgent).
func (h *handler) changeAgent(w http.ResponseWriter, r *http.Request) {
	var c core.AgentChange
	if !decode(w, r, &c) {
		return
	}
	a, err := h.api(r).ChangeAgent(r.PathValue("name"), c)
	reply(w, http.StatusOK, a, err)
}

func (h *handler) deleteAgent(w http.ResponseWriter, r *http.Request) {
	err := h.api(r).DeleteAgent(r.PathValue("name"))
	reply(w, http.StatusNoContent, nil, err)
}

// events is the server-sent event stream: one "event: KIND" and one
// "data: JSON" line per core event, and a comment every 15 seconds so
// a dead peer is noticed. It carries no secret (core's toAdminEvent).
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, core.Errorf(core.CodeInternal, "This connection cannot stream events."))
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-h.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	events, _ := h.api(r).Events(ctx)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": provisio admin API v1 events\n\n")
	fl.Flush()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	check := h.caller(r).Check
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			if check != nil && check() != nil {
				return // revoked meanwhile
			}
			b, _ := json.Marshal(e)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Kind, b); err != nil {
				return
			}
			fl.Flush()
		case <-tick.C:
			if check != nil && check() != nil {
				return
			}
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

// Trailers of a backup answer: what the backup holds, sent after its
// last byte, so a client knows the stream is complete.
const (
	TrailerBackupUsers   = "Provisio-Backup-Users"
	TrailerBackupLogLast = "Provisio-Backup-Log-Last"
)

// backup streams an age-encrypted backup (#13) as it is written. An
// error before the first byte is the usual JSON error; after it, the
// connection is cut, so the client sees an incomplete answer (no
// trailers) rather than a backup that looks whole.
func (h *handler) backup(w http.ResponseWriter, r *http.Request) {
	var enc core.BackupEncryption
	if !decode(w, r, &enc) {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Trailer", TrailerBackupUsers+", "+TrailerBackupLogLast)
	cw := &countingWriter{w: w}
	sum, err := h.api(r).Backup(cw, enc)
	if err != nil {
		if cw.n > 0 {
			panic(http.ErrAbortHandler)
		}
		w.Header().Del("Trailer")
		writeError(w, err)
		return
	}
	w.Header().Set(TrailerBackupUsers, fmt.Sprint(sum.Users))
	w.Header().Set(TrailerBackupLogLast, fmt.Sprint(sum.LogLast))
}

// countingWriter counts what went to the client.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error struct {
		Code    core.Code `json:"code"`
		Field   string    `json:"field,omitempty"`
		Message string    `json:"message"`
		// Certificate is the mail server's certificate a test message
		// refused, so a console can show it and offer to trust it.
		Certificate *core.MailCertificate `json:"certificate,omitempty"`
	} `json:"error"`
}

var statusOf = map[core.Code]int{
	core.CodeInvalid:     http.StatusBadRequest,
	core.CodeNotFound:    http.StatusNotFound,
	core.CodeConflict:    http.StatusConflict,
	core.CodeInternal:    http.StatusInternalServerError,
	core.CodeForbidden:   http.StatusForbidden,
	core.CodeNotPaired:   http.StatusForbidden,
	codeRateLimited:      http.StatusTooManyRequests,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
}

// codeMethodNotAllowed answers a method the path's routes do not take.
const codeMethodNotAllowed core.Code = "method_not_allowed"

// allowedMethods lists the methods mux has a route for on r's path,
// other than the catch-all.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}

// orList joins methods as a sentence does: "GET", "GET or POST",
// "GET, PATCH or DELETE".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// codeRateLimited answers a pairing request over the rate limit, and a
// refusal for want of a console certificate past its source's budget.
const codeRateLimited core.Code = "rate_limited"

func writeError(w http.ResponseWriter, err error) {
	var b errorBody
	b.Error.Code = core.ErrorCode(err)
	b.Error.Message = core.ErrorMessage(err)
	var ce *core.Error
	if errors.As(err, &ce) {
		b.Error.Field = ce.Field
	}
	if mc, ok := core.RefusedMailCertificate(err); ok {
		b.Error.Certificate = &mc
	}
	status, ok := statusOf[b.Error.Code]
	if !ok {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, b)
}

func reply(w http.ResponseWriter, status int, v any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	if v == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
