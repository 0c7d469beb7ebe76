package ui

import (
	"fmt"

	"provisio/core"
)

// ignoredChoices names the token's choices that some authenticator apps
// ignore or lack, "" for the defaults every app honours.
func ignoredChoices(o core.OATHOptions) string {
	var parts []string
	if o.Kind == core.OATHHOTP {
		parts = append(parts, "HOTP")
	}
	parts = append(parts, ignoredParams(o)...)
	return joinAnd(parts)
}

// ignoredParams are the Key URI parameters off the defaults.
func ignoredParams(o core.OATHOptions) []string {
	var parts []string
	if o.Algorithm != "" && o.Algorithm != core.OATHSHA1 {
		parts = append(parts, o.Algorithm)
	}
	if o.Digits != 0 && o.Digits != core.DefaultOATHDigits {
		parts = append(parts, fmt.Sprintf("%d digits", o.Digits))
	}
	if o.Period != 0 && o.Period != core.DefaultOATHPeriod {
		parts = append(parts, fmt.Sprintf("a %d s period", o.Period))
	}
	return parts
}

// compatNote warns of choices some apps ignore: Microsoft Authenticator
// and some versions of Google Authenticator make SHA-1, 6-digit, 30 s
// codes whatever the QR code says (docs/decisions.md, "OATH tokens"), and
// Microsoft Authenticator has no counter-based tokens. The token works
// only once a code confirms it, so nothing is lost; the note saves the
// helpdesk looking at the phone's clock.
func compatNote(o core.OATHOptions) string {
	p, hotp := ignoredParams(o), o.Kind == core.OATHHOTP
	var said string
	switch {
	case len(p) > 0 && hotp:
		said = "Microsoft and some Google Authenticator versions ignore " + joinAnd(p) + ", and Microsoft's has no HOTP"
	case len(p) > 0:
		said = "Microsoft and some Google Authenticator versions ignore " + joinAnd(p)
	case hotp:
		said = "Microsoft Authenticator has no counter-based (HOTP) tokens"
	default:
		return ""
	}
	return said + ": keep TOTP, SHA1, 6 digits unless the app takes them (Aegis, FreeOTP…)."
}
