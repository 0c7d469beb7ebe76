package core

import "time"

// DeviceCert is the client certificate a device received at provisioning
// when its user's profile has mutual authentication (#14). The
// certificate itself is signed by the device CA (core/certs) and kept by
// the phone; the server keeps only what it needs to accept or refuse it.
type DeviceCert struct {
	// DeviceID is the device the certificate was issued to, in the form
	// the user record keeps it (a keyed hash when the store seals
	// secrets, #13): once the user's device changes (reprovision, revoke),
	// the certificate no longer matches and is refused, whichever path
	// replaced the device.
	DeviceID string `json:"device_id"`
	// Serial is the certificate's serial number in upper-case hex.
	Serial   string    `json:"serial"`
	NotAfter time.Time `json:"not_after"`
}

// valid reports whether c was issued to the device u has now and has
// serial; a nil certificate is never valid.
func (c *DeviceCert) valid(u User, serial string) bool {
	return c != nil && serial != "" && u.DeviceID != "" && equalConstantTime(c.DeviceID, u.DeviceID) && equalConstantTime(c.Serial, serial)
}

// ErrDeviceCert refuses a security-string download for a user whose
// profile has mutual authentication, made without the current device's
// certificate: over the normal listener, with an old certificate, or
// after a provision that sent no CSR.
var ErrDeviceCert = &Error{Code: CodeSession, Message: "This device must download its security strings over the mutual-TLS listener with its device certificate; if it has none, reprovision it."}

// checkDeviceCert refuses a download for deviceID with certSerial when the
// device's user needs a device certificate and certSerial is not the
// current one. Unknown devices pass here: the caller refuses them.
func checkDeviceCert(tx Tx, deviceID, certSerial string) error {
	u, found, err := deviceOwner(tx, deviceID)
	if err != nil || !found {
		return err
	}
	prof, _, err := resolveProfile(tx, u)
	if err != nil {
		return err
	}
	// u owns deviceID (found by it above), so the certificate must be
	// bound to u's current device.
	if prof.MutualAuth && !u.DeviceCert.valid(u, certSerial) {
		return ErrDeviceCert
	}
	return nil
}

// SetDeviceCert records the certificate issued to username's device
// deviceID at provisioning. It fails with CodeSession when the user's
// device changed meanwhile, so a certificate for a replaced device is
// never recorded.
func (s *Service) SetDeviceCert(username, deviceID, serial string, notAfter time.Time) error {
	return s.update(false, func(tx Tx, log *logger) error {
		u, err := findUser(tx, username)
		if err != nil {
			return err
		}
		if !s.secretMatches(SecretDevice, u.DeviceID, deviceID) {
			return Errorf(CodeSession, "The device of user %q changed while its certificate was issued; reprovision it.", u.Name)
		}
		// The device Id as the user record keeps it, never the plain one.
		u.DeviceCert = &DeviceCert{DeviceID: u.DeviceID, Serial: serial, NotAfter: notAfter.UTC()}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "Device certificate issued for user %q (serial %s, valid until %s)", u.Name, serial, notAfter.UTC().Format("2 Jan 2006"))
	})
}
