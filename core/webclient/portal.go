package webclient

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"provisio/core"
)

// The one answer to a code request, whatever happened: it must not tell a
// stranger whether the account exists, has an email address or already
// has a code pending.
const requestAnswer = "If the account can receive codes, one is on its way."

// Reasons of code requests that sent nothing, counted with Service.Refuse
// and logged once a minute per source.
const (
	refusedRequestNoUser        = "self-service code request for an unknown user"
	refusedRequestCannotReceive = "self-service code request for a user who cannot receive codes (disabled, no mobile right or no email address)"
	refusedRequestPending       = "self-service code request while a code is pending, which is kept"
)

type portalData struct {
	AllowSelf bool
	Answer    string
	Problem   string
	Minutes   int
	Server    string
	// The helpdesk of Policy → Mobile Client: a phone whose codes are
	// gone has no Help section of its own (the authenticator's comes
	// from the stored record), and with self-service off the helpdesk is
	// the only way to a new code. The site-wide policy: the page is
	// anonymous, so no user's profile applies.
	SupportPhone string
	SupportTel   template.URL
	SupportEmail string
}

func (h *Handler) portalData() portalData {
	set := h.svc.Settings()
	d := portalData{AllowSelf: set.SelfReset.AllowSelfProvision, Minutes: (set.SelfReset.CodeValidity + 59) / 60,
		Server: set.ServerName, SupportPhone: set.MobileClient.SupportPhone, SupportEmail: set.MobileClient.SupportEmail}
	if tel := telDigits(d.SupportPhone); tel != "" {
		// Only digits and a plus follow tel:, so the URL is safe as it
		// is (html/template would otherwise refuse the tel: scheme).
		d.SupportTel = template.URL("tel:" + tel)
	} else {
		d.SupportPhone = ""
	}
	return d
}

// telDigits is what a tel: link dials for the phone number s: its digits
// and plus signs, as the authenticator's Help section makes it (app.js).
func telDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '+' || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, s)
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
	ip := sourceIP(r)
	tooMany := func() {
		h.svc.Refuse(ip, "self-service code requests over the rate limit")
		// The window is fixed (requestWindow): "a few minutes" sent a
		// person back too early, to be refused again.
		data.Problem = "Too many requests; wait " + minutes(requestWindow) + " and try again."
		h.render(w, http.StatusTooManyRequests, "portal.html", data)
	}
	// Every request counts against its address, the ones refused before
	// a name is read too (self-service off, an unreadable form, no
	// name): they need no secret either.
	if !h.limits.allow(addrKey("req", ip), requestsPerAddress, requestWindow) {
		tooMany()
		return
	}
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
	// Both limits count before the user is looked up, so they say nothing
	// about whether the account exists.
	if !h.limits.allow(userKey(name), requestsPerUser, requestWindow) {
		tooMany()
		return
	}
	// From here on the answer waits for the floor, whatever happens, and
	// before any byte of it is written: only the issuing path commits.
	// It never waits longer: when the commit is slow (a busy disk, etcd
	// without quorum) the request finishes after the answer, which is
	// the one every request gets, or its lateness would tell a stranger
	// that the name is an account that can receive a code. The request
	// counts its own outcome (settle), whenever it ends.
	failed := make(chan error, 1)
	h.issuing.Add(1)
	go func() {
		defer h.issuing.Done()
		out, err := h.svc.RequestSelfServiceCode(ip, name)
		h.settle(ip, out, err)
		failed <- err
	}()
	floor := time.NewTimer(h.opt.RequestFloor)
	defer floor.Stop()
	<-floor.C
	select {
	case err := <-failed:
		if err != nil {
			data.Problem = "The request could not be handled; try again later or ask your helpdesk."
			h.render(w, http.StatusInternalServerError, "portal.html", data)
			return
		}
	default:
	}
	data.Answer = requestAnswer
	h.render(w, http.StatusOK, "portal.html", data)
}

// settle counts what stopped a self-service request. Whatever it was, it
// costs the same: a count in memory, never a durable write, which only
// real accounts would pay for (an fsync's delay would tell a stranger
// which names exist). The reasons are fixed sentences: the name is the
// stranger's text.
func (h *Handler) settle(ip string, out core.SelfServiceOutcome, err error) {
	if err != nil {
		h.svc.RequestFailed("Self-service code request", err)
		return
	}
	switch out {
	case core.SelfServiceNoUser:
		h.svc.Refuse(ip, refusedRequestNoUser)
	case core.SelfServiceCannotReceive:
		h.svc.Refuse(ip, refusedRequestCannotReceive)
	case core.SelfServicePending:
		h.svc.Refuse(ip, refusedRequestPending)
	}
}

// maxForm bounds a form body: a username and a code are a few dozen bytes.
const maxForm = 4 << 10

// minutes is d as a sentence says it: "15 minutes".
func minutes(d time.Duration) string {
	return strconv.Itoa(int(d/time.Minute)) + " minutes"
}
