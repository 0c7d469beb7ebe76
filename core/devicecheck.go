package core

import "errors"

// DeviceUser returns the user whose current device is deviceID, and false
// when no user has it (never provisioned, revoked, or replaced by a newer
// device). It only reads, so a browser may ask on every start without
// costing a write; the Id is compared in constant time.
func (s *Service) DeviceUser(deviceID string) (string, bool, error) {
	if deviceID == "" {
		return "", false, nil
	}
	var name string
	var ok bool
	err := s.store.View(func(tx Tx) error {
		u, found, err := deviceOwner(tx, deviceID)
		if err != nil || !found {
			return err
		}
		name, ok = u.Name, !u.Deleted && s.secretMatches(SecretDevice, u.DeviceID, deviceID)
		return nil
	})
	if !ok {
		name = ""
	}
	return name, ok, err
}

// deviceOwner reads the user the device index gives for deviceID; found is
// false when it gives none. The caller still compares the user's device
// Id, since the index is keyed by a hash where the store keeps one.
func deviceOwner(tx Tx, deviceID string) (u User, found bool, err error) {
	name, err := tx.DeviceUser(deviceID)
	if errors.Is(err, ErrNotFound) {
		return User{}, false, nil
	} else if err != nil {
		return User{}, false, err
	}
	u, err = tx.User(name)
	if errors.Is(err, ErrNotFound) {
		return User{}, false, nil
	} else if err != nil {
		return User{}, false, err
	}
	return u, true, nil
}
