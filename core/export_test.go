package core

// InstallOATHForTest gives a user a confirmed OATH token with a known
// secret, so the RFC test vectors can run through Service.Login.
func (s *Service) InstallOATHForTest(name string, tok OATHToken) error {
	return s.store.Update(func(tx Tx) error {
		u, err := tx.User(name)
		if err != nil {
			return err
		}
		return tx.PutOATH(u.Name, OATHRecord{Active: &tok})
	})
}

// UseSession exposes useSession, the session rule of SessionLogin, so its
// table can check sessions without a login each.
func (s *Service) UseSession(agent Agent, id, username string) error {
	return s.useSession(agent, id, username)
}
