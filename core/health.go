package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Health is what a person must see about the server's own state: a disk
// running full, or commits failing. The console shows it in red, "serve"
// on stderr.
type Health struct {
	// LowDisk is set while the data directory has less free space than
	// the server.min_free_mb setting; the server then refuses
	// unauthenticated work and keeps answering logins.
	LowDisk bool `json:"low_disk"`
	// FreeBytes is the free space last measured, 0 when unknown.
	FreeBytes uint64 `json:"free_bytes"`
	// CommitError is the last failed commit's error, "" once a commit
	// has succeeded since: the store's sentence when it gave one (an
	// *Error), its cause going only to the report (SetReport).
	CommitError string `json:"commit_error,omitempty"`
	// BackupError is why the last backup into the backup folder failed,
	// "" once one has succeeded since (backups.go).
	BackupError string `json:"backup_error,omitempty"`
	// BackupStoreDown: that backup failed because the store did not
	// answer, so nothing on Server → Backups needs fixing.
	BackupStoreDown bool `json:"backup_store_down,omitempty"`
}

// OK reports whether nothing needs a person's attention.
func (h Health) OK() bool { return !h.LowDisk && h.CommitError == "" && h.BackupError == "" }

// Message is a sentence for the console's status line and stderr; "" when
// OK.
func (h Health) Message() string {
	switch {
	case h.CommitError != "":
		// The store's sentence stands as a sentence of its own: after a
		// colon its capital read as a mistake ("saved: The etcd …").
		return "Changes cannot be saved. " + strings.TrimSuffix(h.CommitError, ".") + ". Logins and provisioning fail until this is fixed."
	case h.LowDisk:
		return fmt.Sprintf("The disk holding the data is almost full (%d MB free): the server refuses new provisioning and lookups; logins still work. Free some space.", h.FreeBytes>>20)
	case h.BackupError != "" && h.BackupStoreDown:
		// The outage may be over by the time this is read: the next
		// backup is what clears it, not a change of settings.
		return "The last backup failed. " + h.BackupError + " Nothing needs changing on Server → Backups: the next scheduled backup takes one, or use Back up now there once etcd answers again."
	case h.BackupError != "":
		return "The last backup failed. " + h.BackupError + " Fix it on Server → Backups, then back up now."
	}
	return ""
}

// FreeSpace measures the free bytes available to Provisio's data file.
type FreeSpace func() (uint64, error)

// WithFreeSpace sets the free-space probe; without one the check is off.
func WithFreeSpace(f FreeSpace) Option { return func(s *Service) { s.freeSpace = f } }

// health is the Service's mutable health state.
type health struct {
	mu       sync.Mutex
	h        Health
	report   func(string)
	reported time.Time // when a commit failure was last reported
	lastMsg  string
	// cause is what the store said under CommitError's sentence, for
	// the report only: a person reads the sentence.
	cause string
}

// Health returns the current health.
func (s *Service) Health() Health {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.h
}

// LowDisk reports whether unauthenticated work is refused for lack of
// disk space. It is read on every such request, so it takes no I/O.
func (s *Service) LowDisk() bool { return s.lowDisk.Load() }

// SetReport sets where health problems are reported for a person to see
// (stderr for "serve" and the console). It is called with one sentence
// when health gets worse and when it recovers.
func (s *Service) SetReport(fn func(string)) {
	s.health.mu.Lock()
	s.health.report = fn
	s.health.mu.Unlock()
}

// reportNow sends msg to where health problems are reported (SetReport),
// if anywhere. It writes nothing to the store.
func (s *Service) reportNow(msg string) {
	s.health.mu.Lock()
	report := s.health.report
	s.health.mu.Unlock()
	if report != nil {
		report(msg)
	}
}

// commitReportEvery bounds how often a repeating commit failure is
// reported, so a full disk under load cannot flood stderr.
const commitReportEvery = 10 * time.Second

// setHealth changes the health with fn and, when its message changed,
// reports it and tells the console.
func (s *Service) setHealth(fn func(*Health)) {
	s.health.mu.Lock()
	old := s.health.h
	fn(&s.health.h)
	h := s.health.h
	s.lowDisk.Store(h.LowDisk)
	msg := h.Message()
	report := s.health.report
	now := s.clock.Now()
	changed := msg != s.health.lastMsg
	send := changed || (h.CommitError != "" && now.Sub(s.health.reported) >= commitReportEvery && old.CommitError != "")
	if send {
		s.health.lastMsg, s.health.reported = msg, now
	}
	cause := s.health.cause
	s.health.mu.Unlock()
	if !send {
		return
	}
	if report != nil {
		switch {
		case msg == "":
			report("Provisio is healthy again: changes are saved and the server takes all requests.")
		case h.CommitError != "" && cause != "":
			report(msg + " (The store said: " + cause + ".)")
		default:
			report(msg)
		}
	}
	if changed {
		s.bus.Publish(Event{Kind: EventHealth, At: now, Reason: msg})
	}
}

// commitFailed records a failed commit (a store error, not a rule's
// refusal) so that a person sees it even when the log cannot be written.
func (s *Service) commitFailed(err error) {
	s.commitBad.Store(true)
	msg, cause := err.Error(), ""
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		msg = e.Message
		if e.Err != nil {
			cause = e.Err.Error()
		}
	}
	s.setHealth(func(h *Health) { h.CommitError, s.health.cause = msg, cause })
}

// commitOK clears a recorded commit failure. It is on the hot path, so it
// locks only when there is something to clear.
func (s *Service) commitOK() {
	if s.commitBad.Load() {
		s.commitBad.Store(false)
		s.setHealth(func(h *Health) { h.CommitError = "" })
	}
}

// CheckFreeSpace measures the free space once and updates the health.
func (s *Service) CheckFreeSpace() {
	if s.freeSpace == nil {
		return
	}
	free, err := s.freeSpace()
	if err != nil {
		return
	}
	limit := uint64(s.Settings().MinFreeMB) << 20
	s.setHealth(func(h *Health) {
		h.FreeBytes = free
		h.LowDisk = limit > 0 && free < limit
	})
}

// Intervals of the background maintenance.
const (
	freeSpaceEvery = 10 * time.Second
	logTrimEvery   = 10 * time.Minute
	resolveEvery   = 10 * time.Minute
	// logTrimBatch is how many entries one trim transaction deletes, so
	// the single writer is never held for long.
	logTrimBatch = 5000
)

// RunMaintenance runs the background work of a serving Provisio until
// ctx ends: the aggregated log of refused requests (RunRefusedLog), the
// audit log trim, the free-space check and the re-resolution of agent
// host names. report receives failures a person must see; it may be nil.
func (s *Service) RunMaintenance(ctx context.Context, report func(error)) {
	s = s.As(ServerActor)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.RunRefusedLog(ctx, report) }()
	s.CheckFreeSpace()
	if _, err := s.trimHere(); err != nil && report != nil {
		report(err)
	}
	space := time.NewTicker(freeSpaceEvery)
	trim := time.NewTicker(logTrimEvery)
	resolve := time.NewTicker(resolveEvery)
	defer func() { space.Stop(); trim.Stop(); resolve.Stop(); wg.Wait() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-space.C:
			s.CheckFreeSpace()
		case <-trim.C:
			if _, err := s.trimHere(); err != nil && report != nil {
				report(err)
			}
		case <-resolve.C:
			s.ResolveAgents()
		}
	}
}

// SetTrimGate makes RunMaintenance trim the audit log only while gate
// returns true: on a store shared by several servers (issue #16), only
// the elected one trims.
func (s *Service) SetTrimGate(gate func() bool) { s.trimGate.Store(&gate) }

// trimHere is TrimLog unless the trim gate says another server trims.
func (s *Service) trimHere() (int, error) {
	if g := s.trimGate.Load(); g != nil && !(*g)() {
		return 0, nil
	}
	return s.TrimLog()
}

// TrimLog deletes the oldest audit log entries past the log.max_age_days
// and log.max_mb settings, in batches, and logs what it removed. It
// returns the number of entries removed.
func (s *Service) TrimLog() (int, error) {
	set := s.Settings()
	if set.LogMaxAgeDays == 0 && set.LogMaxMB == 0 {
		return 0, nil
	}
	var excess int64
	if set.LogMaxMB > 0 {
		var size int64
		err := s.store.View(func(tx Tx) (err error) {
			_, size, err = tx.LogSize()
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("measure the audit log: %w", err)
		}
		excess = size - int64(set.LogMaxMB)<<20
	}
	var cutoff time.Time
	if set.LogMaxAgeDays > 0 {
		cutoff = s.clock.Now().AddDate(0, 0, -set.LogMaxAgeDays)
	}
	total, freed := 0, int64(0)
	for {
		var n int
		var b int64
		left := excess
		err := s.store.Update(func(tx Tx) (err error) {
			left = excess
			n, b, err = tx.TrimLog(logTrimBatch, func(e LogEntry, size int) bool {
				if left > 0 || (!cutoff.IsZero() && e.Time.Before(cutoff)) {
					left -= int64(size)
					return true
				}
				return false
			})
			return err
		})
		if err != nil {
			s.commitFailed(err)
			return total, fmt.Errorf("trim the audit log: %w", err)
		}
		excess = left
		total, freed = total+n, freed+b
		if n < logTrimBatch {
			break
		}
	}
	if total == 0 {
		return 0, nil
	}
	err := s.Log(LevelInfo, "", "Audit log trimmed: %d oldest entries (%d KB) removed, past the bounds of %d days and %d MB (settings log.max_age_days and log.max_mb).",
		total, freed>>10, set.LogMaxAgeDays, set.LogMaxMB)
	return total, err
}
