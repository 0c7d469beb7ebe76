package agentxml

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"provisio/core"
)

// The authenticator set-up behind an OATH code's Provision URL (issue
// #11). GET shows a button and spends nothing, like the provision page;
// the POST redeems the code and shows the otpauth:// QR code, the "Add to
// authenticator app" link and the key once. The secret is only ever in
// that one response, which no cache keeps (no-store, set for every reply).

var (
	oathSetupTmpl = template.Must(template.New("oath_setup.html").
			Funcs(template.FuncMap{"oathSetupScript": func() template.JS { return template.JS(oathSetupJS) }}).
			ParseFS(templateFS, "templates/oath_setup.html", paletteFile))
	oathTmpl    = template.Must(template.ParseFS(templateFS, "templates/oath.html", paletteFile))
	refusedTmpl = template.Must(template.ParseFS(templateFS, "templates/refused.html", paletteFile))
)

// oathSetupJS is the set-up page's only script, inline so that the page
// needs no route of its own; the pages' Content-Security-Policy allows
// exactly this script by its hash (oathPagesCSP), and no other.
//
//go:embed templates/oath_setup.js
var oathSetupJS string

// oathPagesCSP is the Content-Security-Policy of the pages writePage
// serves: nothing from elsewhere, images from here or the page itself (the
// QR code), and the one script above.
var oathPagesCSP = func() string {
	sum := sha256.Sum256([]byte(oathSetupJS))
	return "default-src 'none'; img-src 'self' data:; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}()

// The headings of refusedPage.
const (
	linkRefusedTitle = "This link cannot be used"
	oathRefusedTitle = "Your authenticator app was not set up"
	// pageRefusedTitle heads the Provision URL page's refusals that have
	// nothing to do with the link (too many requests, a full disk).
	pageRefusedTitle = "This page cannot be shown now"
)

// refusedPage answers a person's browser with the sentence msg on a page
// made for a phone's screen. Sent as text/plain, a phone laid the
// sentence out 980 px wide and showed it in type too small to read. The
// page holds the sentence and nothing of the request (no username), so it
// says no more than the sentence does.
func (s *Server) refusedPage(w http.ResponseWriter, status int, title, msg string) {
	s.writePage(w, refusedTmpl, struct{ Title, Message string }{title, msg}, status)
}

// oathQRSize is the side in pixels of the QR code on the set-up page.
const oathQRSize = 320

// oathSetupPage is the provision page for a code that sets up an OATH
// token (the Provision URL carries core.OATHURLParam).
func (s *Server) oathSetupPage(w http.ResponseWriter, username, code string) {
	s.writePage(w, oathSetupTmpl, pageData{ServerName: s.svc.Settings().ServerName, Username: username, Code: code}, http.StatusOK)
}

// oathPageData is what templates/oath.html shows.
type oathPageData struct {
	URI    template.URL // otpauth://, which html/template would otherwise refuse as a link
	QR     template.URL // data:image/png;base64,...: the secret must not go into a URL the browser fetches
	QRSize int
	Secret string
	Kind   string
	// Algorithm and Period are what an app needs besides the key when it
	// is typed by hand (apps start at SHA1 and 30 s).
	Algorithm string
	Digits    int
	Period    int
	Deadline  string
}

// crossSiteRefused is the answer, with 403, to a set-up POST a browser
// marks as sent by another site's page; the web client says the same.
const crossSiteRefused = "This request came from another website, so it was refused. Open this server's page yourself and try again there."

// sameSiteOnly refuses a POST that a browser marks as coming from another
// site (Sec-Fetch-Site, or an Origin naming another host): only the
// set-up page posts its form, and another site's page must not make a
// visitor's browser on the LAN spend, or guess at, anyone's code, which
// would also spread the guesses over every visitor's address. A client
// that says nothing about where it comes from is not a browser and is
// served. A refusal needs no secret: it is charged to the set-up's
// per-address limit and counted in memory.
func (s *Server) sameSiteOnly(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.limitedPage(w, r, s.lims.provision, oathRefusedTitle) {
			return
		}
		s.svc.Refuse(clientIP(r), "an authenticator set-up posted from another website")
		s.refusedPage(w, http.StatusForbidden, oathRefusedTitle, crossSiteRefused)
	}))
	return cop.Handler(next)
}

// oathShownOnce answers GET (and HEAD) /userportal/oath: the page with
// the authenticator app's QR code and key answered a POST and is shown
// once, but a phone's back and forward, or a tab restored, asks for it
// again by GET. That got the web client's plain-text 404, tiny on a
// phone and saying nothing; this page says what to do. It spends and
// reads nothing, so it is limited as a page is.
func (s *Server) oathShownOnce(w http.ResponseWriter, r *http.Request) {
	if s.limitedPage(w, r, s.lims.page, oathShownOnceTitle) {
		return
	}
	w.Header().Set("Allow", http.MethodPost)
	s.refusedPage(w, http.StatusMethodNotAllowed, oathShownOnceTitle, oathShownOnceMessage)
}

const (
	oathShownOnceTitle   = "This page is shown only once"
	oathShownOnceMessage = "The QR code and key for your authenticator app were shown once, when you set it up, and are not shown again. " +
		"If your app has the account, log in once with a code it shows to finish. If not, ask your helpdesk for a new set-up link."
)

// redeemOATH answers POST /userportal/oath.
func (s *Server) redeemOATH(w http.ResponseWriter, r *http.Request) {
	// Anyone may try a code, as with provision on /proxy: the same
	// per-source limit, and none are taken while the disk is full.
	if s.limitedPage(w, r, s.lims.provision, oathRefusedTitle) || s.lowDiskPage(w, oathRefusedTitle) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		s.refusedPage(w, http.StatusBadRequest, oathRefusedTitle, "This request is not a set-up form.")
		return
	}
	username, code := strings.TrimSpace(r.PostForm.Get("username")), strings.TrimSpace(r.PostForm.Get("code"))
	if msg := pageFieldsProblem("set-up", username, code); msg != "" {
		s.refusedPage(w, http.StatusBadRequest, oathRefusedTitle, msg)
		return
	}
	source := ""
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		source = ap.Addr().Unmap().String()
	}
	is, err := s.svc.RedeemOATHProvision(source, username, code)
	if err != nil {
		if core.ErrorCode(err) == core.CodeInternal {
			s.svc.RequestFailed("Authenticator set-up", err)
			s.refusedPage(w, http.StatusInternalServerError, oathRefusedTitle, "The set-up could not be completed; the log has the details.")
			return
		}
		s.refusedPage(w, http.StatusForbidden, oathRefusedTitle, core.ErrorMessage(err)+" Ask your administrator for a new one.")
		return
	}
	data := oathPageData{URI: template.URL(is.URI), QRSize: oathQRSize, Secret: is.SecretText,
		Kind: strings.ToUpper(is.Options.Kind), Algorithm: is.Options.Algorithm, Digits: is.Options.Digits, Period: is.Options.Period,
		Deadline: is.Expires.Local().Format("15:04 on 2 Jan 2006")}
	if s.opt.QRPNG != nil {
		if png, err := s.opt.QRPNG(is.URI, oathQRSize); err == nil {
			data.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
		}
	}
	s.writePage(w, oathTmpl, data, http.StatusOK)
}

// writePage renders a page with the headers of the provision page: no
// referrer, no frame, nothing loaded from elsewhere.
func (s *Server) writePage(w http.ResponseWriter, t *template.Template, data any, status int) {
	buf := getBuffer()
	defer putBuffer(buf)
	if err := t.Execute(buf, data); err != nil {
		s.svc.RequestFailed("Page", err)
		writeText(w, http.StatusInternalServerError, "The page could not be shown; the log has the details.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(buf.b)))
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", oathPagesCSP)
	w.WriteHeader(status)
	_, _ = w.Write(buf.b)
}
