package agentxml

import (
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// Refusal reasons, counted per source by core.Service.Refuse and logged
// once a minute ("312 refused requests from 10.0.0.7 in the last minute:
// wrong agent secret or address"). They are fixed sentences: outside text
// never goes into a reason, so the counts stay bounded.
const (
	refusedMalformed   = "malformed XML"
	refusedAgentAccess = "wrong agent secret or address"
	refusedMobile      = "an action /proxy does not offer"
	refusedCSR         = "provision with an unusable CSR"
	refusedDeviceCert  = "security-string download without the device certificate"
	refusedDevice      = "Mobile request from unknown user; the user needs to reprovision" // the seed's wording
	refusedGet         = "GET ?xml= request while agentxml.allow_get is off"
	refusedPostURL     = "XML in the URL of a POST while agentxml.allow_get is off"
	refusedVersion     = "AdminXML version not supported"
	refusedPlainHTTP   = "a route that carries codes, secrets or device Ids asked for over plain HTTP"
)

// getRefused is the Message of the FAIL a GET ?xml= request gets while
// the agentxml.allow_get setting is off.
const getRefused = "GET requests are refused: they put agent secrets and codes in URLs that proxies log. Send the XML with POST, or turn on the setting agentxml.allow_get."

// postURLRefused is the Message of the FAIL a POST with its XML in the
// URL (?xml=) and no body gets while agentxml.allow_get is off.
const postURLRefused = "XML in the URL is refused: it puts agent secrets and codes in URLs that proxies log. Send the XML as the body of the POST, or turn on the setting agentxml.allow_get."

// refuse counts a refused request in memory (nothing durable per request)
// and charges the source's refused-request bucket.
func (s *Server) refuse(r *http.Request, reason string) {
	s.svc.Refuse(clientIP(r), reason)
	s.lims.refused.charge(r.RemoteAddr)
}

// refusedTooOften answers 429 when the source has used up its refused
// requests, before the request is read at all.
func (s *Server) refusedTooOften(w http.ResponseWriter, r *http.Request) bool {
	if spent, wait := s.lims.refused.spent(r.RemoteAddr); spent {
		s.tooMany(w, r, wait, "")
		return true
	}
	return false
}

// admitXML answers a request to an AgentXML or AdminXML endpoint (api
// names which) that is not to be read: a method no agent, phone or
// reporting tool sends (charged like a path nobody serves, answered 405
// with Allow), or a source that has used up its refused requests (429).
// It reports whether the request may go on.
func (s *Server) admitXML(w http.ResponseWriter, r *http.Request, api string) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		if s.limited(w, r, s.lims.notFound) {
			return false
		}
		w.Header().Set("Allow", "GET, POST")
		writeText(w, http.StatusMethodNotAllowed, api+" requests are sent with POST.")
		return false
	}
	return !s.refusedTooOften(w, r)
}

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
	// known holds the same routes as mux without its catch-all: a request
	// no route takes is charged to the not-found limit and then answered
	// by known, which says 404, or 405 with Allow for a wrong method.
	mux, known := http.NewServeMux(), http.NewServeMux()
	handle := func(pattern string, h http.Handler) {
		mux.Handle(pattern, h)
		known.Handle(pattern, h)
	}
	handle("/pinsafe/AgentXML", s.agentXML(false))
	handle("/sentry/AgentXML", s.agentXML(false))
	// /proxy is the phones' path: provision codes, device Ids and strings.
	handle("/proxy/AgentXML", s.httpsOnly(s.agentXML(true)))

	// The admin API is never reachable through the mobile path; saying so
	// explicitly keeps a future "/proxy/" route from catching it.
	handle("/proxy/AdminXML", s.notFound(http.NotFoundHandler()))
	handle("/pinsafe/AdminXML", http.HandlerFunc(s.adminXML))
	handle("/sentry/AdminXML", http.HandlerFunc(s.adminXML))

	for _, p := range []string{"proxy", "pinsafe", "sentry"} {
		handle("GET /"+p+"/TokenIndex", s.httpsOnly(http.HandlerFunc(s.tokenIndex)))
	}
	handle("GET /ssdserver/getServerDetails", http.HandlerFunc(s.serverDetails))
	handle("GET /userportal/getQRCode", s.httpsOnly(http.HandlerFunc(s.qrCode)))
	handle("GET /userportal/provision", s.httpsOnly(http.HandlerFunc(s.provisionPage)))
	handle("POST /userportal/oath", s.httpsOnly(s.sameSiteOnly(http.HandlerFunc(s.redeemOATH))))
	handle("GET /userportal/oath", s.httpsOnly(http.HandlerFunc(s.oathShownOnce)))
	if s.opt.Portal != nil {
		handle("/userportal/", s.httpsOnly(s.opt.Portal))
		// Without a route of its own, /userportal is redirected to
		// /userportal/ by the mux itself, before any limit: known
		// redirects it the same way, within the not-found limit.
		mux.Handle("/userportal", s.notFound(known))
	}
	mux.Handle("/", s.notFound(known))

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Replies carry codes, strings and device ids: no cache keeps them.
		h["Cache-Control"] = hdrNoStore
		h["X-Content-Type-Options"] = hdrNoSniff
		defer s.recoverPanic(w)
		// The mux answers some requests itself, before any route or
		// limit sees them: it redirects a path that is not clean (//,
		// /./, /../, or "*") to its clean form, and answers CONNECT,
		// which no route serves, with 404. Both are charged like a
		// request for a path nobody serves.
		if (r.Method == http.MethodConnect || !cleanPath(r.URL.EscapedPath())) && s.limited(w, r, s.lims.notFound) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// cleanPath reports whether net/http's ServeMux takes p as it is rather
// than redirecting it: p starts with a slash and has no empty, "." or ".."
// segment (a trailing slash is kept, as the mux keeps it). Most paths
// have neither "//" nor "/.", so nearly every request returns at once.
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return true
	}
	c := path.Clean(p)
	if p[len(p)-1] == '/' && c != "/" {
		c += "/"
	}
	return c == p
}

// PlainHTTPRefused is the answer, with 403, to a route that carries a
// provision code, an OATH secret or a device Id when it comes over the
// optional plain HTTP listener (server.http_listen, OpenHTTP). The web
// client (core/webclient) says the same.
const PlainHTTPRefused = "Open this page with https://: codes, secrets and device Ids never travel unencrypted."

// httpsOnly refuses next over plain HTTP. That listener exists for legacy
// authentication agents (/pinsafe and /sentry AgentXML and AdminXML, and
// the Site ID lookup, which carries nothing secret); every route phones
// and people use carries a provision code (the Provision URL page, the
// QR code of one, the OATH set-up and /proxy's provision), an OATH secret
// (the set-up's answer) or a device Id (/proxy's downloads, TokenIndex's
// id, the web client), and is served over HTTPS only. Refusing does not
// unsend what the request carried, but a phone or link pointed at http://
// fails at once, before a code is spent or a secret sent back in clear.
//
// Such a request needs no secret, so it is charged to the source's
// not-found limit (over plain HTTP nothing is served there) and counted
// in memory, which also tells the administrator that a phone or link
// keeps using http://.
func (s *Server) httpsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if s.limited(w, r, s.lims.notFound) {
				return
			}
			s.svc.Refuse(clientIP(r), refusedPlainHTTP)
			writeText(w, http.StatusForbidden, PlainHTTPRefused)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// notFound serves the requests no route takes, and /proxy/AdminXML: they
// need no secret, so each source address gets a few, then 429 (counted in
// memory, like every refusal).
func (s *Server) notFound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.limited(w, r, s.lims.notFound) {
			return
		}
		next.ServeHTTP(w, r)
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
	// A bug, with a line of its own kind; counted like any failure, since
	// whoever found the request that triggers it can send it again.
	s.svc.RequestFailed("AgentXML request", fmt.Errorf("internal error: %v", v))
	http.Error(w, "Internal server error.", http.StatusInternalServerError)
}

// agentXML serves an AgentXML endpoint; mobile selects the /proxy subset.
func (s *Server) agentXML(mobile bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.admitXML(w, r, "AgentXML") {
			return
		}
		buf := getBuffer()
		defer putBuffer(buf)
		var req request
		if status, msg, refused := s.refuseXMLInURL(w, r); refused {
			appendSAS(buf, &req, &reply{errCode: errGeneral, message: msg})
			writeXML(w, status, buf.b)
			return
		}

		body, status := readXML(w, r, buf)
		var rep reply
		if status == http.StatusOK {
			var err error
			req, err = parseRequest(body)
			if err != nil {
				status = http.StatusBadRequest
			}
		}
		// The action as dispatch reads it, so each limit below applies
		// to exactly the requests that action serves. strings.EqualFold
		// did not: "provİsİon" (a dotted capital I) is not equal to
		// "provision" under case folding, yet lowers to it, so it was
		// served as provision past the provision limit.
		action := strings.ToLower(req.Action)
		if status != http.StatusOK {
			// Not well formed: the FAIL goes with 400 (or 413) so that
			// HTTP tooling sees a bad request too (decided); every
			// well-formed request gets 200 whatever its result.
			s.refuse(r, refusedMalformed)
			rep = failReply(errMalformed)
		} else if mobile && action == "provision" {
			// Anyone may try a provision code: each attempt is limited
			// per source, and none are taken while the disk is full.
			if s.limited(w, r, s.lims.provision) || s.lowDisk(w) {
				return
			}
			rep = s.dispatch(r, &req, mobile)
		} else if action == "ping" {
			// Ping needs no agent secret on any path: limited per source,
			// generously, so health checks are always answered.
			if s.limited(w, r, s.lims.ping) {
				return
			}
			rep = s.dispatch(r, &req, mobile)
		} else if action == "clientlog" {
			// A diagnostic log is a write a device Id buys: limited per
			// source, and refused while the disk is full (#14).
			if s.limited(w, r, s.lims.clientLog) || s.lowDisk(w) {
				return
			}
			rep = s.dispatch(r, &req, mobile)
		} else {
			rep = s.dispatch(r, &req, mobile)
		}
		// The strings are copies, so the body's buffer can take the reply.
		buf.b = buf.b[:0]
		appendSAS(buf, &req, &rep)
		writeXML(w, status, buf.b)
	}
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
