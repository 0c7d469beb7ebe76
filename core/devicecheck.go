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
		n, err := tx.DeviceUser(deviceID)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		u, err := tx.User(n)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
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
