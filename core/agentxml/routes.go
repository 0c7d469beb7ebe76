package agentxml

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"provisio/core"
)

// Log lines with the wording of protocol.md §2 and §3.
const (
	logMalformed   = "AgentXML request failed, error: The XML request sent from the agent was malformed."
	logAgentAccess = "AgentXML request failed, error: The agent is not authorised to access the server."
)

// Header values shared by every reply; assigning the slices directly
// avoids the allocations of Header().Set on the hot path. They are never
// modified.
var (
	hdrXML     = []string{"application/xml; charset=utf-8"}
	hdrText    = []string{"text/plain; charset=utf-8"}
	hdrNoStore = []string{"no-store"}
	hdrNoSniff = []string{"nosniff"}
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/pinsafe/AgentXML", s.agentXML(false))
	mux.HandleFunc("/sentry/AgentXML", s.agentXML(false))
	mux.HandleFunc("/proxy/AgentXML", s.agentXML(true))

	// The admin API is never reachable through the mobile path; saying so
	// explicitly keeps a future "/proxy/" route from catching it.
	mux.HandleFunc("/proxy/AdminXML", http.NotFound)
	mux.HandleFunc("/pinsafe/AdminXML", s.adminXML)
	mux.HandleFunc("/sentry/AdminXML", s.adminXML)

	for _, p := range []string{"proxy", "pinsafe", "sentry"} {
		mux.HandleFunc("GET /"+p+"/TokenIndex", s.tokenIndex)
	}
	mux.HandleFunc("GET /ssdserver/getServerDetails", s.serverDetails)
	mux.HandleFunc("GET /userportal/getQRCode", s.qrCode)
	mux.HandleFunc("GET /userportal/provision", s.provisionPage)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Replies carry codes, strings and device ids: no cache keeps them.
		h["Cache-Control"] = hdrNoStore
		h["X-Content-Type-Options"] = hdrNoSniff
		defer s.recoverPanic(w)
		mux.ServeHTTP(w, r)
	})
}

// recoverPanic turns a bug into a logged 500 instead of a silently dropped
// connection (net/http's own recovery logs to ErrorLog, which is usually
// discarded).
func (s *Server) recoverPanic(w http.ResponseWriter) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	_ = s.svc.Log(core.LevelError, "", "AgentXML request failed, error: internal error: %v", v)
	http.Error(w, "Internal server error.", http.StatusInternalServerError)
}

// agentXML serves an AgentXML endpoint; mobile selects the /proxy subset.
func (s *Server) agentXML(mobile bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET, POST")
			writeText(w, http.StatusMethodNotAllowed, "AgentXML requests are sent with POST.")
			return
		}
		buf := getBuffer()
		defer putBuffer(buf)

		body, status := readXML(w, r, buf)
		var req request
		var rep reply
		if status == http.StatusOK {
			var err error
			req, err = parseRequest(body)
			if err != nil {
				status = http.StatusBadRequest
			}
		}
		if status != http.StatusOK {
			// Not well formed: the FAIL goes with 400 (or 413) so that
			// HTTP tooling sees a bad request too (decided); every
			// well-formed request gets 200 whatever its result.
			_ = s.svc.Log(core.LevelWarn, "", logMalformed)
			rep = failReply(errMalformed)
		} else {
			rep = s.dispatch(r, &req, mobile)
		}
		// The strings are copies, so the body's buffer can take the reply.
		buf.b = buf.b[:0]
		appendSAS(buf, &req, &rep)
		writeXML(w, status, buf.b)
	}
}

// readXML returns the request XML: the POST body, a form-encoded xml=
// field of the body, or the xml= query parameter of a GET. The status is
// 200, or 413 / 400 when there is no usable XML.
func readXML(w http.ResponseWriter, r *http.Request, buf *buffer) ([]byte, int) {
	if r.Method == http.MethodGet {
		x := r.URL.Query().Get("xml")
		if len(x) > maxBody {
			return nil, http.StatusRequestEntityTooLarge
		}
		return []byte(x), http.StatusOK
	}
	if r.ContentLength > maxBody {
		return nil, http.StatusRequestEntityTooLarge
	}
	// With a Content-Length net/http already ends the body there, so only a
	// chunked body needs MaxBytesReader (one allocation per request).
	rd := r.Body
	if r.ContentLength < 0 {
		rd = http.MaxBytesReader(w, r.Body, maxBody)
	}
	err := buf.readFrom(rd)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, http.StatusRequestEntityTooLarge
	} else if err != nil {
		return nil, http.StatusBadRequest
	}
	body := bytes.TrimSpace(buf.b)
	// Some agents post an HTML form (xml=%3CSASRequest...). XML itself can
	// never start with "xml=".
	if bytes.HasPrefix(body, []byte("xml=")) {
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, http.StatusBadRequest
		}
		return []byte(q.Get("xml")), http.StatusOK
	}
	return body, http.StatusOK
}

// writeXML sends an XML reply. Headers go first: once the body starts they
// can no longer change.
func writeXML(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = hdrXML
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeText sends a short plain-text reply meant for a person.
func writeText(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h["Content-Type"] = hdrText
	h["Content-Length"] = []string{strconv.Itoa(len(msg) + 1)}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}
