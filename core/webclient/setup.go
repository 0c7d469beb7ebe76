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

type messageData struct {
	Title   string
	Message string
	Setup   string // JSON for setup.js; empty on failure
}

// setup redeems the code of the Provision URL for this browser. Only a
// person's tap on "Set up this phone" sends this POST: the GET of the
// Provision URL never spends the code, and no script sends it on load.
func (h *Handler) setup(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		h.render(w, status, "message.html", messageData{Title: "This phone was not set up", Message: msg})
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "The form could not be read; open the provision link again.")
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	code := strings.TrimSpace(r.PostForm.Get("code"))
	if username == "" || code == "" || len(username) > 128 || len(code) > 128 {
		fail(http.StatusBadRequest, "This provision link is incomplete: it needs a username and a code. Ask your administrator for a new one.")
		return
	}
	ip := sourceIP(r)
	if !h.limits.allow(addrKey("setup", ip), setupsPerAddress, setupWindow) {
		h.svc.Refuse(ip, "web client setups over the rate limit")
		fail(http.StatusTooManyRequests, "Too many attempts from this phone; wait a few minutes and try again.")
		return
	}
	p, err := h.provision(r, username, code, DeviceOS(r.UserAgent()))
	switch core.ErrorCode(err) {
	case "":
	case core.CodeInternal:
		_ = h.svc.Log(core.LevelError, "", "Web client setup failed, error: %v", err)
		fail(http.StatusInternalServerError, "The server could not set this phone up; try again, or ask your administrator.")
		return
	default:
		// One sentence for every refusal, as the provision action answers
		// one PROVISION_FAILURE: the page must not say which users exist.
		fail(http.StatusOK, "This code could not be used: it may have been used already, typed wrongly or expired. Ask your administrator for a new one.")
		return
	}
	data := setupData{Username: p.User, DeviceID: p.DeviceID, Policies: p.Policies,
		Server: h.svc.Settings().ServerName, Fingerprint: h.fingerprint()}
	// The strings come now, while the phone is surely online. If this
	// fails the app downloads them on its first start.
	if d, err := h.svc.SecurityStrings(p.DeviceID); err == nil {
		data.Strings, data.Policies = strings.Split(d.Strings, ";"), d.Policies
	}
	js, err := json.Marshal(data)
	if err != nil {
		fail(http.StatusInternalServerError, "The server could not set this phone up; try again, or ask your administrator.")
		return
	}
	h.render(w, http.StatusOK, "message.html", messageData{Title: "Setting up this phone", Message: "Saving your security strings on this phone…", Setup: string(js)})
}
