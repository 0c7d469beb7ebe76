package agentxml

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"provisio/core"
)

// Limits on query parameters people and phones send.
const (
	maxQRText     = 2048 // fits a QR code at error correction M with room to spare
	defaultQRSize = 256
	minQRSize     = 64
	maxQRSize     = 512 // ample for a screen or a mail; rendering grows with the square
	maxPageField  = 128 // longer than any username (64) or code (10)
)

//go:embed templates/*.html
var templateFS embed.FS

// paletteFile defines "palette", the colours every phone page starts its
// style with, so that each follows the phone's dark mode as the web
// client does.
const paletteFile = "templates/palette.html"

var provisionTmpl = template.Must(template.ParseFS(templateFS, "templates/provision.html", paletteFile))

// tokenIndex answers GET /{proxy,pinsafe,sentry}/TokenIndex?username=U
// (and &id=DEVICE for clients that have it) with the next unused string
// index as a bare integer, which is what mobile clients parse. The answer
// never says whether the user exists (core.Service.TokenIndex), and
// nothing is written per request.
func (s *Server) tokenIndex(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, s.lims.tokenIndex) || s.lowDisk(w) {
		return
	}
	q := r.URL.Query()
	n, err := s.svc.TokenIndex(nil, q.Get("username"), q.Get("id"))
	switch {
	case err == nil:
		writePlain(w, http.StatusOK, strconv.Itoa(n))
	case err == core.ErrSyncIndexOff:
		writeText(w, http.StatusNotFound, "This server does not synchronise the string index (Sync Index is off).")
	default:
		// A store failure: the service has reported it where a person
		// sees it; a log line per request would only add to the load.
		s.svc.Refuse(clientIP(r), "token index lookup failed")
		writeText(w, http.StatusInternalServerError, "The server could not read the token index.")
	}
}

// writePlain sends text exactly as given: clients parse the integer and
// some would choke on a trailing newline.
func writePlain(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h["Content-Type"] = hdrText
	h["Content-Length"] = []string{strconv.Itoa(len(text))}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}

// serverDetails answers the Site ID lookup of protocol.md §6 from the
// current settings. An unknown Site ID gets responseCode 1, which phones
// show as "Unknown Server ID".
func (s *Server) serverDetails(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, s.lims.details) || s.lowDisk(w) {
		return
	}
	set := s.svc.Settings()
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	buf := getBuffer()
	defer putBuffer(buf)
	buf.raw(xmlProlog)
	buf.raw("<getServerDetailsResponse>")
	if id == "" || set.SiteID == "" || !strings.EqualFold(id, set.SiteID) {
		buf.raw("<responseCode>1</responseCode>")
	} else {
		buf.raw("<responseCode>0</responseCode><SSDetails>")
		buf.elem("hostname", s.svc.AdvertisedHost())
		buf.elem("port", set.ListenPort())
		buf.raw("<usingSSL>YES</usingSSL><connectionType>proxy</connectionType><pushSupport>NO</pushSupport>" +
			"<local>YES</local><pin>YES</pin><oath>" + yesNo(set.OATH.Enabled) + "</oath></SSDetails>")
	}
	buf.raw("</getServerDetailsResponse>\n")
	writeXML(w, http.StatusOK, buf.b)
}

// qrCode renders the text parameter as a PNG QR code with the injected
// encoder. size (pixels, optional) is clamped to a sane range. Rendering
// costs CPU and anyone may ask, so requests are limited per source, the
// text must be a Provision URL of this server (unless agentxml.qr_any_text
// is on) and recent images are served from a small cache.
func (s *Server) qrCode(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, s.lims.qrCode) || s.lowDisk(w) {
		return
	}
	if s.opt.QRPNG == nil {
		writeText(w, http.StatusServiceUnavailable, "QR codes are not available on this server.")
		return
	}
	q := r.URL.Query()
	text := q.Get("text")
	if text == "" || len(text) > maxQRText {
		writeText(w, http.StatusBadRequest, "Give the text for the QR code in the text parameter, at most "+strconv.Itoa(maxQRText)+" bytes.")
		return
	}
	if !s.svc.Settings().QRAnyText && !s.isProvisionURL(text) {
		s.svc.Refuse(clientIP(r), "QR code for a text that is not a Provision URL")
		writeText(w, http.StatusBadRequest, "This server makes QR codes of its own Provision URLs only (setting agentxml.qr_any_text).")
		return
	}
	size := defaultQRSize
	if v, err := strconv.Atoi(q.Get("size")); err == nil {
		size = min(max(v, minQRSize), maxQRSize)
	}
	png, ok := s.qrCache.get(text, size)
	if !ok {
		var err error
		png, err = s.opt.QRPNG(text, size)
		if err != nil {
			// The text is checked above, so this is the encoder failing;
			// counted, not logged per request.
			s.svc.Refuse(clientIP(r), "QR code could not be made")
			writeText(w, http.StatusInternalServerError, "The QR code could not be made.")
			return
		}
		s.qrCache.put(text, size, png)
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Content-Length", strconv.Itoa(len(png)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(png)
}

// isProvisionURL reports whether text is exactly the Provision URL this
// server would make for the username and code it carries.
func (s *Server) isProvisionURL(text string) bool {
	u, err := url.Parse(text)
	if err != nil {
		return false
	}
	q := u.Query()
	username, code := q.Get("username"), q.Get("code")
	return username != "" && code != "" && text == s.svc.ProvisionURL(username, code)
}

// qrCacheSize bounds the cached QR images (a few KB each).
const qrCacheSize = 64

// qrCache keeps recently made QR images by text and size, so a page
// reloaded or a mail opened many times renders once.
type qrCache struct {
	mu    sync.Mutex
	items map[qrKey][]byte
	order []qrKey // oldest first
}

type qrKey struct {
	text string
	size int
}

func (c *qrCache) get(text string, size int) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	png, ok := c.items[qrKey{text, size}]
	return png, ok
}

func (c *qrCache) put(text string, size int, png []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[qrKey][]byte{}
	}
	k := qrKey{text, size}
	if _, ok := c.items[k]; ok {
		return
	}
	if len(c.order) >= qrCacheSize {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
	c.items[k] = png
	c.order = append(c.order, k)
}

// pageFieldsProblem is the sentence for a link's (or form's) username and
// code that cannot be a user's: one missing, or one longer than
// maxPageField. link names the link ("provision", "set-up"). "" when
// both are usable.
func pageFieldsProblem(link, username, code string) string {
	switch {
	case username == "" || code == "":
		return "This " + link + " link is incomplete: it needs a username and a code. Ask your administrator for a new one."
	case len(username) > maxPageField:
		return "This username is too long: usernames have at most 64 characters. Check the username, or ask your administrator for a new link."
	case len(code) > maxPageField:
		return "This code is too long: codes have about 10 characters. Check the code, or ask your administrator for a new one."
	}
	return ""
}

// provisionPage is what a browser shows for the Provision URL: the server
// settings, username and code, for a person to type into a mobile client.
//
// It must never consume the code: mail scanners and link previews open
// every link, and a code spent by them would never reach the phone. It
// does not even look the code up. A GET that said whether a code is valid
// without spending it would let anyone guess codes without limit, where a
// provision attempt allows one guess per code.
func (s *Server) provisionPage(w http.ResponseWriter, r *http.Request) {
	if s.limitedPage(w, r, s.lims.page, pageRefusedTitle) || s.lowDiskPage(w, pageRefusedTitle) {
		return
	}
	q := r.URL.Query()
	username, code := strings.TrimSpace(q.Get("username")), strings.TrimSpace(q.Get("code"))
	if msg := pageFieldsProblem("provision", username, code); msg != "" {
		s.refusedPage(w, http.StatusBadRequest, linkRefusedTitle, msg) // pages_oath.go
		return
	}
	if q.Get("kind") == "oath" {
		s.oathSetupPage(w, username, code) // pages_oath.go
		return
	}
	set := s.svc.Settings()
	host, port := s.svc.AdvertisedHost(), set.ListenPort()
	data := pageData{
		ServerName:      set.ServerName,
		Hostname:        host,
		Port:            port,
		SiteID:          set.SiteID,
		ConnectionType:  "proxy",
		Username:        username,
		Code:            code,
		Fingerprint:     s.fingerprint(), // the certificate served now, not at start
		SettingsURL:     set.SelfReset.URLGetSettings,
		ProvisioningURL: set.SelfReset.URLProvisioning,
		WebClient:       s.opt.Portal != nil,
	}
	if data.SettingsURL != "" {
		data.SettingsURL += url.QueryEscape(set.SiteID)
	}
	if s.opt.QRPNG != nil {
		data.QRSrc = "/userportal/getQRCode?size=320&text=" +
			url.QueryEscape(s.svc.ProvisionURL(username, code))
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if err := provisionTmpl.Execute(buf, data); err != nil {
		s.svc.Refuse(clientIP(r), "provision page could not be shown")
		writeText(w, http.StatusInternalServerError, "The page could not be shown.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(buf.b)))
	// The URL holds the code: no referrer leaks it, no frame hosts it.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	// script-src 'self': the web client's own files, no inline script:
	// ios.js says how to set up an iPhone's Home Screen copy, provision.js
	// sends one POST per tap and says when this browser is already set
	// up (reading store.js's IndexedDB record).
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; script-src 'self'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.b)
}

// pageData is what templates/provision.html shows.
type pageData struct {
	ServerName     string
	Hostname       string
	Port           string
	SiteID         string
	ConnectionType string
	Username       string
	Code           string
	Fingerprint    string
	QRSrc          string
	// From Policy → Self-Reset, when set: where a client looks up the
	// Site ID and the provisioning page of a hosted service.
	SettingsURL     string
	ProvisioningURL string
	// WebClient offers "Set up this phone" (core/webclient), which POSTs
	// the code: the GET of this page still never spends it.
	WebClient bool
}

// FingerprintPairs is the fingerprint cut after each colon: the page puts
// a line-break opportunity there (<wbr>), so a phone's narrow screen
// wraps it between bytes ("…F2:67:5E…"), never inside one ("…F2:6" /
// "7:5E…"), which reads as another fingerprint to the person comparing.
func (p pageData) FingerprintPairs() []string { return strings.SplitAfter(p.Fingerprint, ":") }
