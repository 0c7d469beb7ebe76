package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"provisio/core"
	"provisio/core/certs"
)

// One certificate for every server of a site (issue #16). The first server
// to start stores its certificate in the shared store (shareIdentity); a
// certificate regenerated on one server replaces it there (regenerateCert),
// and every other server hears of it through the events that cross the
// servers (a configuration change from another node) and takes it without
// a restart (followIdentity).

// identityRecheck is how often a server compares its certificate with the
// site's even without an event: an event is lost while a server's watch
// is down (etcd unreachable), and the next check catches up.
const identityRecheck = time.Minute

// identityRetry is how soon a failed check is tried again.
const identityRetry = 2 * time.Second

// regenerateCert is the Server screen's "Regenerate certificate": a new
// certificate here and, on a shared store, for the whole site. When the
// site's copy cannot be written the old certificate is put back, so the
// servers never differ and the screen's "the old one stays" is true.
func (e *env) regenerateCert() (string, error) {
	if e.kv == nil {
		return e.sup.RegenerateCert()
	}
	e.identityMu.Lock()
	defer e.identityMu.Unlock()
	paths := e.identityFiles()
	names := []string{certs.CertFile, certs.KeyFile}
	old := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(paths[n])
		if err != nil {
			return "", err
		}
		old[n] = b
	}
	fp, err := e.sup.RegenerateCert()
	if err != nil {
		return "", err
	}
	files := map[string][]byte{}
	for _, n := range names {
		b, rerr := os.ReadFile(paths[n])
		if rerr != nil {
			err = rerr
			break
		}
		files[n] = b
	}
	if err == nil {
		err = e.st.ReplaceSharedFiles(files)
	}
	if err != nil {
		for _, n := range names {
			if werr := writeFileSynced(paths[n], old[n]); werr != nil {
				err = errors.Join(err, werr)
			}
		}
		e.sup.ReloadCert()
		return "", fmt.Errorf("the new certificate could not be shared with the other servers: %w", err)
	}
	// The other servers take it when they hear this (followIdentity).
	e.svc.Events().Publish(core.Event{Kind: core.EventConfigChanged, Reason: "server certificate", At: time.Now()})
	return fp, nil
}

// followIdentity keeps this server's certificate the site's until ctx
// ends: once at start, after each configuration change (another server's,
// or the store's as FollowConfig sees it), and every identityRecheck, it
// takes the stored identity (shareIdentity) and, when the certificate
// changed, serves the new one from the next handshake on. The check at
// start covers a change whose event came before this subscription (the
// first reload of FollowConfig runs beside it); a failed check is tried
// again after identityRetry instead of waiting for the next minute.
func (e *env) followIdentity(ctx context.Context, report func(error)) {
	events, cancel := e.svc.Events().Subscribe()
	defer cancel()
	tick := time.NewTicker(identityRecheck)
	defer tick.Stop()
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Kind != core.EventConfigChanged || ev.Node == "" {
				continue
			}
		case <-tick.C:
		case <-retry.C:
		}
		if err := e.syncIdentity(); err != nil && ctx.Err() == nil {
			report(fmt.Errorf("take the site's server certificate: %w", err))
			retry.Reset(identityRetry)
		}
	}
}

// syncIdentity writes the site's certificate files over this server's
// when they differ, and reloads the certificate it serves.
func (e *env) syncIdentity() error {
	e.identityMu.Lock()
	defer e.identityMu.Unlock()
	before := e.sup.Fingerprint()
	if err := e.shareIdentity(); err != nil {
		return err
	}
	if after := e.sup.ReloadCert(); after != before && before != "" {
		_ = e.svc.Log(core.LevelWarn, "", "The server certificate was replaced by the one regenerated on another server of the site; new SHA-256 fingerprint %s.", after)
		// Consoles on this server show the new fingerprint. The other
		// servers hear it too and find nothing to take.
		e.svc.Events().Publish(core.Event{Kind: core.EventConfigChanged, Reason: "server certificate", At: time.Now()})
	}
	return nil
}
