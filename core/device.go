package core

import (
	"time"
)

// A user's phone: revoking it (the console, the admin API and a helpdesk
// console share this one rule).

// RevokeDevice removes a user's provisioned device and security strings:
// the phone stops working at once and the user must reprovision. A
// pending provision code is left alone.
func (s *Service) RevokeDevice(name string) error {
	return s.update(false, func(tx Tx, log *logger) error {
		u, err := findUser(tx, name)
		if err != nil {
			return err
		}
		if !u.Provisioned() {
			return Errorf(CodeConflict, "User %q has no provisioned device.", u.Name)
		}
		if err := revokeDevice(tx, u); err != nil {
			return err
		}
		dev := ""
		if u.DeviceOS != "" {
			dev = " (" + u.DeviceOS + ")"
		}
		u.DeviceID, u.DeviceOS, u.ProvisionedAt = "", "", time.Time{}
		u.DeviceCert = nil // the certificate goes with the device (#14)
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "Device of user %q revoked%s; the user must reprovision.", u.Name, dev)
	}, s.usersChanged(name))
}
