package webclient

import (
	"net/http"
	"strings"

	"provisio/core"
)

// The one answer to a code request, whatever happened: it must not tell a
// stranger whether the account exists, has an email address or already
// has a code pending.
const requestAnswer = "If the account can receive codes, one is on its way."

type portalData struct {
	AllowSelf bool
	Answer    string
	Problem   string
	Minutes   int
	Server    string
}

func (h *Handler) portalData() portalData {
	set := h.svc.Settings()
	return portalData{AllowSelf: set.SelfReset.AllowSelfProvision, Minutes: (set.SelfReset.CodeValidity + 59) / 60,
		Server: set.ServerName}
}

// portal is /userportal/: "Get a provision code" when the Self-Reset
// policy allows self-provision, otherwise a pointer to the helpdesk.
func (h *Handler) portal(w http.ResponseWriter, r *http.Request) {
	h.render(w, http.StatusOK, "portal.html", h.portalData())
}

// request mails a provision code to the user named in the form, through
// RequestSelfServiceCode, which never replaces a pending code and never
// touches the current device. The answer is the same for every outcome.
func (h *Handler) request(w http.ResponseWriter, r *http.Request) {
	data := h.portalData()
	if !data.AllowSelf {
		h.render(w, http.StatusForbidden, "portal.html", data)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		data.Problem = "The form could not be read; try again."
		h.render(w, http.StatusBadRequest, "portal.html", data)
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("username"))
	if name == "" {
		data.Problem = "Enter your username."
		h.render(w, http.StatusBadRequest, "portal.html", data)
		return
	}
	ip := sourceIP(r)
	// Both limits count before the user is looked up, so they say nothing
	// about whether the account exists.
	if !h.limits.allow("req\x00"+addressKey(r), requestsPerAddress, requestWindow) ||
		!h.limits.allow(userKey(name), requestsPerUser, requestWindow) {
		h.svc.Refuse(ip, "self-service code requests over the rate limit")
		data.Problem = "Too many requests; wait a few minutes and try again."
		h.render(w, http.StatusTooManyRequests, "portal.html", data)
		return
	}
	out, err := h.svc.RequestSelfServiceCode(name)
	if err != nil {
		_ = h.svc.Log(core.LevelError, "", "Self-service code request failed, error: %v", err)
		data.Problem = "The request could not be handled; try again later or ask your helpdesk."
		h.render(w, http.StatusInternalServerError, "portal.html", data)
		return
	}
	switch out {
	case core.SelfServiceNoUser:
		// No durable write for a name anyone can make up.
		h.svc.Refuse(ip, "self-service code request for an unknown user")
	case core.SelfServiceCannotReceive:
		_ = h.svc.Log(core.LevelWarn, clip(name), "Self-service code request for user %q not sent: the user is disabled, may not use the mobile client or has no email address.", clip(name))
	case core.SelfServicePending:
		_ = h.svc.Log(core.LevelWarn, clip(name), "Self-service code request for user %q not sent: a provision code is already pending, and it is kept.", clip(name))
	}
	data.Answer = requestAnswer
	h.render(w, http.StatusOK, "portal.html", data)
}

// clip shortens outside text for a log line (the core also cleans it).
func clip(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// maxForm bounds a form body: a username and a code are a few dozen bytes.
const maxForm = 4 << 10
