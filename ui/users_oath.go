package ui

import (
	"strings"
	"time"

	"provisio/core"
)

// hasToken reports whether the user can log in with a device or a
// confirmed OATH token: the users list and the status line count both.
func (r *userRow) hasToken() bool {
	return r.Provisioned() || r.oath != nil && r.oath.State == core.OATHStateConfirmed && r.oath.Kind != "strings"
}

// appKind is "TOTP" or "HOTP" when the user logs in with a confirmed
// authenticator-app token, else "".
func (r *userRow) appKind() string {
	if r.oath != nil && r.oath.State == core.OATHStateConfirmed && r.oath.Kind != "strings" {
		return strings.ToUpper(r.oath.Kind)
	}
	return ""
}

// revocable reports whether Revoke device… has something to revoke: a
// phone with strings, or an authenticator-app token, confirmed or waiting
// (core.Service.RevokeDevice).
func (r *userRow) revocable() bool {
	return r.Provisioned() || r.oath != nil && (r.appKind() != "" || r.oath.Pending != "")
}

// oathOf is the user's entry of OATHStatuses, nil for most users, so the
// rows the list copies on every keystroke stay small.
func oathOf(all map[string]core.OATHStatus, name string) *core.OATHStatus {
	if st, ok := all[core.Key(name)]; ok {
		return &st
	}
	return nil
}

// oathState describes a user's OATH token for the users list: the kind
// and "confirmed" or "pending until 10:42".
func oathState(st *core.OATHStatus, now time.Time) string {
	if st == nil {
		return ""
	}
	var parts []string
	if st.Kind == core.OATHTOTP || st.Kind == core.OATHHOTP {
		if st.State == core.OATHStateConfirmed {
			parts = append(parts, "authenticator app ("+strings.ToUpper(st.Kind)+") confirmed")
		}
	}
	if st.Pending != "" && now.Before(st.Expires) {
		parts = append(parts, "authenticator app ("+strings.ToUpper(st.Pending)+") pending until "+st.Expires.Local().Format("15:04"))
	}
	return strings.Join(parts, "; ")
}
