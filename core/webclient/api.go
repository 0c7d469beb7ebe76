package webclient

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"provisio/core"
)

// apiRequest is the body of the authenticator's calls. The device Id goes
// in a POST body, never in a URL, so it reaches no log or history.
type apiRequest struct {
	ID string `json:"id"`
}

// apiReply is every API answer. State is "ok", "replaced" (this device is
// no longer the user's: the phone was replaced or revoked) or "refused"
// (Message says why, such as a locked account).
type apiReply struct {
	State       string               `json:"state"`
	Message     string               `json:"message,omitempty"`
	Next        *int                 `json:"next,omitempty"`
	Strings     []string             `json:"strings,omitempty"`
	Policies    *core.ClientPolicies `json:"policies,omitempty"`
	Fingerprint string               `json:"fingerprint,omitempty"`
}

const replacedMessage = "This phone is no longer set up for your account: it was replaced by another device or revoked."

// readAPI reads the request body and checks the rate limit and the device.
// It answers itself and returns ok=false when the call goes no further.
func (h *Handler) readAPI(w http.ResponseWriter, r *http.Request) (user, id string, ok bool) {
	ip := sourceIP(r)
	if !h.limits.allow(addrKey("api", ip), apiPerAddress, apiWindow) {
		h.svc.Refuse(ip, "web client requests over the rate limit")
		writeJSON(w, http.StatusTooManyRequests, apiReply{State: "refused", Message: "Too many requests; wait a minute."})
		return "", "", false
	}
	var req apiRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiReply{State: "refused", Message: "The request could not be read."})
		return "", "", false
	}
	// The Id checked is the Id the caller uses: white space around it is
	// dropped, as AgentXML's parser drops it from every field, so a status
	// check and a download of the same Id cannot get different answers.
	id = strings.TrimSpace(req.ID)
	// A read-only check first: an unknown Id costs no write.
	user, ok, err := h.svc.DeviceUser(id)
	if err != nil {
		h.svc.RequestFailed("Web client request", err)
		writeJSON(w, http.StatusInternalServerError, apiReply{State: "refused", Message: "The server could not answer; try again later."})
		return "", "", false
	}
	if !ok {
		h.svc.Refuse(ip, "web client request from an unknown or replaced device")
		writeJSON(w, http.StatusOK, apiReply{State: "replaced", Message: replacedMessage})
		return "", "", false
	}
	return user, id, true
}

// status tells the authenticator whether it is still the user's device,
// the current policy and, with Sync Index on, the next unused index.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	user, id, ok := h.readAPI(w, r)
	if !ok {
		return
	}
	// The user's effective provisioning profile (#14), so a changed
	// profile reaches the app at its next status check.
	eff, err := h.svc.EffectiveProfile(user)
	if core.ErrorCode(err) == core.CodeNotFound {
		// Deleted since readAPI looked: the phone is no longer theirs.
		writeJSON(w, http.StatusOK, apiReply{State: "replaced", Message: replacedMessage})
		return
	}
	if err != nil {
		h.svc.RequestFailed("Web client profile lookup", fmt.Errorf("user %s: %w", user, err))
		writeJSON(w, http.StatusInternalServerError, apiReply{State: "refused", Message: "The server could not answer; try again later."})
		return
	}
	pol := eff.Profile.ClientPolicies
	rep := apiReply{State: "ok", Policies: &pol, Fingerprint: h.fingerprint()}
	if pol.SyncIndex {
		n, err := h.tokenIndex(user, id)
		if err == nil {
			rep.Next = &n
		} else if core.ErrorCode(err) == core.CodeInternal {
			h.svc.RequestFailed("Web client token index", fmt.Errorf("user %s: %w", user, err))
		}
	}
	writeJSON(w, http.StatusOK, rep)
}

// tokenIndex is the one call of core.Service.TokenIndex; with the device
// Id it is the user's precise next index.
func (h *Handler) tokenIndex(user, deviceID string) (int, error) {
	return h.svc.TokenIndex(nil, user, deviceID)
}

// strings downloads a new set of 100 strings for the device, which
// replaces every earlier string of the user.
func (h *Handler) strings(w http.ResponseWriter, r *http.Request) {
	_, id, ok := h.readAPI(w, r)
	if !ok {
		return
	}
	d, err := h.svc.SecurityStringsFrom(sourceIP(r), id, "")
	switch core.ErrorCode(err) {
	case "":
		pol := d.Policies
		writeJSON(w, http.StatusOK, apiReply{State: "ok", Strings: strings.Split(d.Strings, ";"), Policies: &pol})
	case core.CodeSession:
		writeJSON(w, http.StatusOK, apiReply{State: "replaced", Message: replacedMessage})
	case core.CodeInternal:
		h.svc.RequestFailed("Web client download", err)
		writeJSON(w, http.StatusInternalServerError, apiReply{State: "refused", Message: "The server could not answer; try again later."})
	default:
		if reason := core.SecurityStringsRefused(err); reason != "" {
			// Refused for the user's state: counted, not written.
			h.svc.Refuse(sourceIP(r), reason)
		}
		writeJSON(w, http.StatusOK, apiReply{State: "refused", Message: "The server refused new strings: " + core.ErrorMessage(err) + " Ask your helpdesk."})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
