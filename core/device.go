package core

import (
	"fmt"
	"strings"
	"time"
)

// A user's phone: revoking it (the console, the admin API and a helpdesk
// console share this one rule).

// RevokeDevice removes what a user's phone logs in with: the provisioned
// device and its security strings, and the authenticator-app (OATH)
// token, confirmed or waiting for confirmation. The phone stops working
// at once and the user must reprovision. A pending provision code is
// left alone.
func (s *Service) RevokeDevice(name string) error {
	app := false
	err := s.update(false, func(tx Tx, log *logger) error {
		u, rec, err := userOATH(tx, name)
		if err != nil {
			return err
		}
		// A lost phone with an authenticator app is revoked here too: it
		// is the one "Revoke device" the helpdesk knows (README).
		app = rec.Active != nil || rec.Pending != nil
		if !u.Provisioned() && !app {
			return Errorf(CodeConflict, "User %q has no provisioned device.", u.Name)
		}
		if err := revokeDevice(tx, u); err != nil {
			return err
		}
		msg := revokedLine(u, rec)
		u.DeviceID, u.DeviceOS, u.ProvisionedAt = "", "", time.Time{}
		u.DeviceCert = nil // the certificate goes with the device (#14)
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "%s", msg)
	}, s.usersChanged(name))
	if err == nil && app {
		s.scrub(true) // the token's secret goes from the file too
	}
	return err
}

// revokedLine is the log line of RevokeDevice: what was revoked of the
// user's device and authenticator-app tokens.
func revokedLine(u User, rec OATHRecord) string {
	kind := func(t *OATHToken) string { return strings.ToUpper(t.Kind) }
	switch {
	case u.Provisioned():
		dev := ""
		if u.DeviceOS != "" {
			dev = " (" + u.DeviceOS + ")"
		}
		if rec.Pending != nil {
			return fmt.Sprintf("Device of user %q revoked%s, and the authenticator app (%s) waiting for confirmation; the user must reprovision.",
				u.Name, dev, kind(rec.Pending))
		}
		return fmt.Sprintf("Device of user %q revoked%s; the user must reprovision.", u.Name, dev)
	case rec.Active != nil && rec.Pending != nil:
		return fmt.Sprintf("Authenticator app (%s) of user %q revoked, and the one (%s) waiting for confirmation; the user must reprovision.",
			kind(rec.Active), u.Name, kind(rec.Pending))
	case rec.Active != nil:
		return fmt.Sprintf("Authenticator app (%s) of user %q revoked; the user must reprovision.", kind(rec.Active), u.Name)
	}
	return fmt.Sprintf("Authenticator app (%s) of user %q, waiting for confirmation, revoked; the user must reprovision.", kind(rec.Pending), u.Name)
}
