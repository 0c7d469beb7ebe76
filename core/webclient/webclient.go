// Package webclient is the mobile web client and the self-service portal,
// served under /userportal/ by the embedded HTTPS server.
//
// A phone's browser becomes the authenticator: the Provision URL page
// (core/agentxml) has a "Set up this phone" button that POSTs the code here;
// this package redeems it through core.Service.Provision, downloads the
// security strings and hands them to a small script that keeps them in
// the browser's IndexedDB. From then on the authenticator page
// (/userportal/app/) works from that storage, online or off. The same
// prefix holds the self-service portal where a user asks for a code to be
// mailed to them.
//
// Everything is plain HTML, CSS and JavaScript embedded with go:embed: no
// build step, no CDN, and a strict Content-Security-Policy without inline
// script. No code, string or device Id ever travels in a URL: the code
// goes in a POST body, the Id and strings in POST bodies and replies.
//
// Like every adapter it imports core (and the assets package for the
// icon), never another adapter; core/agentxml mounts Handler through its
// Options.
package webclient

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"provisio/core"
)

//go:embed static
var staticFS embed.FS

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// Options are what the web client needs from the rest of the program.
type Options struct {
	// Fingerprint returns the SHA-256 fingerprint of the certificate the
	// server presents now, shown so a person can compare it with the
	// console's. nil shows none.
	Fingerprint func() string
	// Now is the clock of the rate limits; nil means time.Now.
	Now func() time.Time
	// Static limits the pages, static files and icons one source address
	// (an IPv6 /64 counts as one) may load, its requests for paths this
	// handler does not serve and its cross-site POSTs; nil means
	// DefaultStatic.
	Static *Limit
	// RequestFloor is the least time a self-service code request takes to
	// answer, counted from when it passed the rate limits; 0 means
	// DefaultRequestFloor.
	RequestFloor time.Duration
}

// DefaultRequestFloor is how long every self-service code request takes at
// least. A request that mails a code commits it (an fsync) before the
// answer, and one that sends nothing writes nothing, so without a floor the
// answer's delay would tell a stranger which names are real accounts able
// to receive a code. A second covers a commit on a slow disk many times
// over and is nothing to a person who asks for a code once.
const DefaultRequestFloor = time.Second

// Handler serves /userportal/ (except the paths core/agentxml serves
// itself: getQRCode and the Provision URL page).
type Handler struct {
	svc    *core.Service
	opt    Options
	mux    *http.ServeMux
	csrf   http.Handler
	limits *limiter
	static Limit
	// issuing counts self-service requests still committing after their
	// answer went out (request); Wait waits for them.
	issuing sync.WaitGroup
}

// Wait returns when no self-service request is still committing after
// its answer: the server calls it when it stops, before the store closes.
func (h *Handler) Wait() { h.issuing.Wait() }

// Prefix is where the handler is mounted; the authenticator lives under
// App so its service worker's scope covers nothing else.
const (
	Prefix = "/userportal/"
	App    = "/userportal/app/"
)

// New returns the handler for svc.
func New(svc *core.Service, opt Options) *Handler {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.RequestFloor <= 0 {
		opt.RequestFloor = DefaultRequestFloor
	}
	h := &Handler{svc: svc, opt: opt, mux: http.NewServeMux(), limits: newLimiter(opt.Now), static: DefaultStatic()}
	if opt.Static != nil {
		h.static = *opt.Static
	}
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)

	// known holds the same routes as mux without its catch-all: a request
	// no route takes counts against the pages-and-files limit and is then
	// answered by known (404, or 405 with Allow for a wrong method).
	known := http.NewServeMux()
	handle := func(pattern string, hd http.Handler) {
		h.mux.Handle(pattern, hd)
		known.Handle(pattern, hd)
	}
	// The page, the files and the icons need no secret: each is counted
	// against the source address's pages-and-files limit. The POSTs have
	// limits of their own.
	handle("GET /userportal/{$}", h.limitStatic(http.HandlerFunc(h.portal)))
	handle("POST /userportal/request", http.HandlerFunc(h.request))
	handle("POST /userportal/setup", http.HandlerFunc(h.setup))
	handle("GET /userportal/app/icon-192.png", h.limitStatic(http.HandlerFunc(h.icon)))
	handle("GET /userportal/app/icon-512.png", h.limitStatic(http.HandlerFunc(h.icon)))
	handle("GET /userportal/app/", h.limitStatic(http.StripPrefix("/userportal/app/", files)))
	handle("POST /userportal/app/api/status", http.HandlerFunc(h.status))
	handle("POST /userportal/app/api/strings", http.HandlerFunc(h.strings))
	handle("POST /userportal/app/api/log", http.HandlerFunc(h.clientLog))
	h.mux.Handle(Prefix, h.limitStatic(known))
	// Without a route of its own, /userportal/app would be redirected to
	// /userportal/app/ by the mux itself, before any limit: known
	// redirects it the same way, within the limit.
	h.mux.Handle(strings.TrimSuffix(App, "/"), h.limitStatic(known))
	// Another site's page must not make a visitor's browser ask for codes
	// or set itself up: browsers mark cross-site POSTs (Sec-Fetch-Site,
	// Origin) and they are refused.
	csrf := http.NewCrossOriginProtection()
	// A refusal needs no secret either: it counts against the pages
	// limit of its source address.
	csrf.SetDenyHandler(h.limitStatic(http.HandlerFunc(h.crossSite)))
	h.csrf = csrf.Handler(h.mux)
	return h
}

// crossSiteRefused is what a refused cross-site request is told, instead
// of net/http's own "cross-origin request detected from Sec-Fetch-Site
// header".
const crossSiteRefused = "This request came from another website, so it was refused. Open this server's page yourself and try again there."

// crossSite answers a cross-site POST: a page for the forms, JSON for the
// authenticator's calls.
func (h *Handler) crossSite(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) || strings.HasPrefix(r.URL.Path, App+"api/") {
		writeJSON(w, http.StatusForbidden, apiReply{State: "refused", Message: crossSiteRefused})
		return
	}
	h.render(w, http.StatusForbidden, "message.html", messageData{Title: "Refused", Message: crossSiteRefused})
}

// ServeHTTP sets the security headers every answer carries, then serves.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	// The setup page is reached with the code in its referrer's URL.
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	if r.TLS == nil {
		// The optional plain HTTP listener is for legacy agents; codes,
		// strings and device Ids never cross the network unencrypted.
		// core/agentxml refuses it before this handler is reached (with
		// agentxml.PlainHTTPRefused, the same sentence); this is for a
		// handler served some other way.
		http.Error(w, plainHTTPRefused, http.StatusForbidden)
		return
	}
	h.csrf.ServeHTTP(w, r)
}

// plainHTTPRefused is agentxml.PlainHTTPRefused (adapters do not import
// each other; TestHandler_PlainHTTPRefused compares them).
const plainHTTPRefused = "Open this page with https://: codes, secrets and device Ids never travel unencrypted."

// CSP is the Content-Security-Policy of every web client page: only this
// server's own files, no inline script or style, no frames, forms only to
// this server.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; " +
	"base-uri 'none'; frame-ancestors 'none'"

// sourceIP is the TCP peer's address (core.SourceIP).
func sourceIP(r *http.Request) string { return core.SourceIP(r.RemoteAddr) }

func (h *Handler) fingerprint() string {
	if h.opt.Fingerprint == nil {
		return ""
	}
	return h.opt.Fingerprint()
}

// render writes a page template; a failure is counted for the log
// (core.Service.RequestFailed), and the person gets a sentence instead of
// half a page.
func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) {
	buf, err := executeTemplate(name, data)
	if err != nil {
		h.svc.RequestFailed("Web client page "+name, err)
		http.Error(w, "The page could not be shown; the log has the details.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	w.WriteHeader(status)
	_, _ = w.Write(buf)
}
