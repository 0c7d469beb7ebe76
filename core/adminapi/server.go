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
// connection (PeerCheck on the Unix socket), never from the request.
type Server struct {
	svc  *core.Service
	http *http.Server
	ln   net.Listener
	wg   sync.WaitGroup
	// done ends event streams on Close, which http.Server.Close does not.
	done chan struct{}
}

type operatorKey struct{}

// Handler returns the API's routes for svc; operator tells, per request,
// who is calling (logged with every change).
func Handler(svc *core.Service, operator func(*http.Request) string, done <-chan struct{}) http.Handler {
	h := &handler{svc: svc, operator: operator, done: done}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/users", h.users)
	mux.HandleFunc("POST /v1/users", h.addUser)
	mux.HandleFunc("DELETE /v1/users/{name}", h.deleteUser)
	mux.HandleFunc("POST /v1/users/{name}/reprovision", h.reprovision)
	mux.HandleFunc("GET /v1/settings", h.settings)
	mux.HandleFunc("GET /v1/settings/{key}", h.setting)
	mux.HandleFunc("PUT /v1/settings/{key}", h.setSetting)
	mux.HandleFunc("GET /v1/agents", h.agents)
	mux.HandleFunc("PUT /v1/agents/{name}", h.putAgent)
	mux.HandleFunc("DELETE /v1/agents/{name}", h.deleteAgent)
	mux.HandleFunc("GET /v1/events", h.events)
	mux.HandleFunc("POST /v1/backup", h.backup)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, core.Errorf(core.CodeNotFound, "There is no %s %s in the admin API %s.", r.Method, r.URL.Path, Version))
	})
	return mux
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
	// The data directory is 0700, so nobody else can reach the socket in
	// the moment before this chmod.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict the admin socket %s: %w", path, err)
	}
	s := &Server{svc: svc, ln: &peerListener{Listener: ln, svc: svc, own: own}, done: make(chan struct{})}
	s.http = &http.Server{
		Handler: Handler(svc, func(r *http.Request) string {
			if op, ok := r.Context().Value(operatorKey{}).(string); ok {
				return op
			}
			return "an unknown local process"
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
	svc      *core.Service
	operator func(*http.Request) string
	done     <-chan struct{}
}

func (h *handler) api(r *http.Request) Local {
	return Local{Svc: h.svc, Operator: h.operator(r)}
}

func (h *handler) users(w http.ResponseWriter, r *http.Request) {
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

func (h *handler) deleteAgent(w http.ResponseWriter, r *http.Request) {
	err := h.api(r).DeleteAgent(r.PathValue("name"))
	reply(w, http.StatusNoContent, nil, err)
}

// events is the server-sent event stream: one "event: KIND" and one
// "data: JSON" line per core event, and a comment every 15 seconds so
// a dead peer is noticed. It carries no secret (fromCoreEvent).
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
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			b, _ := json.Marshal(e)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Kind, b); err != nil {
				return
			}
			fl.Flush()
		case <-tick.C:
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

// decode reads a JSON body into v; an empty body leaves v as it is.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, core.Errorf(core.CodeInvalid, "The request body is not valid JSON for this request: %s.", strings.TrimPrefix(err.Error(), "json: ")))
		return false
	}
	return true
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error struct {
		Code    core.Code `json:"code"`
		Field   string    `json:"field,omitempty"`
		Message string    `json:"message"`
	} `json:"error"`
}

var statusOf = map[core.Code]int{
	core.CodeInvalid:  http.StatusBadRequest,
	core.CodeNotFound: http.StatusNotFound,
	core.CodeConflict: http.StatusConflict,
	core.CodeInternal: http.StatusInternalServerError,
}

func writeError(w http.ResponseWriter, err error) {
	var b errorBody
	b.Error.Code = core.ErrorCode(err)
	b.Error.Message = core.ErrorMessage(err)
	var ce *core.Error
	if errors.As(err, &ce) {
		b.Error.Field = ce.Field
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
