package webclient

import (
	"encoding/json"
	"net/http"
	"strings"

	"provisio/core"
)

// provision is the one place this package redeems a provision code, so a
// change to core.Service.Provision's parameters (such as the source
// address) is one edit here.
func (h *Handler) provision(r *http.Request, username, code, deviceOS string) (core.Provisioned, error) {
	return h.svc.Provision(sourceIP(r), username, code, deviceOS)
}

// setupData is what the setup page hands to setup.js, which stores it in
// IndexedDB and then leaves the page. It travels in the body of the answer
// to a POST, never in a URL.
type setupData struct {
	Username    string              `json:"username"`
	DeviceID    string              `json:"deviceId"`
	Strings     []string            `json:"strings"`
	Policies    core.ClientPolicies `json:"policies"`
	Server      string              `json:"server"`
	Fingerprint string              `json:"fingerprint"`
}

// setupReply is the JSON answer to a setup POST that asks for one
// (Accept: application/json): State "ok" with Setup, which
// ProvisioStore.setUp keeps as the setup page's data- attribute is kept,
// or "refused" with the sentence the page would show.
type setupReply struct {
	State   string     `json:"state"`
	Message string     `json:"message,omitempty"`
	Setup   *setupData `json:"setup,omitempty"`
}

// maxField bounds the username and code a setup accepts: longer than any
// username (64) or code (10), as on the Provision URL page.
const maxField = 128

// setupDone heads the page that keeps the answer of a successful setup,
// shown briefly before the authenticator opens: the seed's "Device
// Provisioned" message. The app's own set-up form shows the seed's
// "Provisioning. Please wait..." meanwhile (app.js).
const setupDone = "Device Provisioned"

// The answers to a username or code over maxField: saying the link is
// incomplete would send the person looking for a missing part.
const (
	usernameTooLong = "This username is too long: usernames have at most 64 characters. Check the username, or ask your administrator for a new link."
	codeTooLong     = "This code is too long: provision codes have about 10 characters. Check the code, or ask your administrator for a new one."
)

// wantsJSON reports whether the request asks for a JSON answer.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

type messageData struct {
	Title   string
	Message string
	Setup   string // JSON for setup.js; empty on failure
}

// setup redeems the code of the Provision URL for this browser. Only a
// person's tap on "Set up this phone" sends this POST: the GET of the
// Provision URL never spends the code, and no script sends it on load.
func (h *Handler) setup(w http.ResponseWriter, r *http.Request) {
	// The Provision URL page's form wants a page; the authenticator's own
	// "Set up with a code" form (app.js) asks for JSON, so it can keep
	// what the person typed and show the sentence beside it.
	asJSON := wantsJSON(r)
	fail := func(status int, msg string) {
		if asJSON {
			writeJSON(w, status, setupReply{State: "refused", Message: msg})
			return
		}
		h.render(w, status, "message.html", messageData{Title: "This phone was not set up", Message: msg})
	}
	// Every setup counts against its address, also one refused before
	// the code is looked at (an unreadable form, a missing or overlong
	// field): none needs a secret.
	ip := sourceIP(r)
	if !h.limits.allow(addrKey("setup", ip), setupsPerAddress, setupWindow) {
		h.svc.Refuse(ip, "web client setups over the rate limit")
		fail(http.StatusTooManyRequests, "Too many attempts from this phone; wait "+minutes(setupWindow)+" and try again.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "The form could not be read; open the provision link again.")
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	code := strings.TrimSpace(r.PostForm.Get("code"))
	switch {
	case username == "" || code == "":
		fail(http.StatusBadRequest, "This provision link is incomplete: it needs a username and a code. Ask your administrator for a new one.")
		return
	case len(username) > maxField:
		fail(http.StatusBadRequest, usernameTooLong)
		return
	case len(code) > maxField:
		fail(http.StatusBadRequest, codeTooLong)
		return
	}
	p, err := h.provision(r, username, code, DeviceOS(r.UserAgent()))
	switch core.ErrorCode(err) {
	case "":
	case core.CodeInternal:
		h.svc.RequestFailed("Web client setup", err)
		fail(http.StatusInternalServerError, "The server could not set this phone up; try again, or ask your administrator.")
		return
	default:
		// One sentence for every refusal, as the provision action answers
		// one PROVISION_FAILURE: the page must not say which users exist.
		fail(http.StatusOK, "This code could not be used: it may have been used already, typed wrongly or expired. Check it and try again in a minute; if it still fails, ask your administrator for a new one.")
		return
	}
	data := setupData{Username: p.User, DeviceID: p.DeviceID, Policies: p.Policies,
		Server: h.svc.Settings().ServerName, Fingerprint: h.fingerprint()}
	// The strings come now, while the phone is surely online. If this
	// fails the app downloads them on its first start.
	if d, err := h.svc.SecurityStringsFrom(sourceIP(r), p.DeviceID, ""); err == nil {
		data.Strings, data.Policies = strings.Split(d.Strings, ";"), d.Policies
	}
	if asJSON {
		writeJSON(w, http.StatusOK, setupReply{State: "ok", Setup: &data})
		return
	}
	js, err := json.Marshal(data)
	if err != nil {
		fail(http.StatusInternalServerError, "The server could not set this phone up; try again, or ask your administrator.")
		return
	}
	h.render(w, http.StatusOK, "message.html", messageData{Title: setupDone, Message: "Saving your security strings on this phone…", Setup: string(js)})
}
