package core

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// RefusedInterval is how often counted refusals are written to the audit
// log: at most one line per source and reason in each interval.
const RefusedInterval = time.Minute

// refusedKey groups refusals for one aggregated log line.
type refusedKey struct {
	source string // the remote address, without port
	reason string // a fixed sentence, never outside text or a secret
}

// refusals counts refused unauthenticated requests in memory. A request
// that anyone can send without a secret must not cost a durable write of
// its own, or whoever reaches the port can fill the disk; the count is
// written as one line per source and reason by FlushRefused.
type refusals struct {
	mu     sync.Mutex
	counts map[refusedKey]int
}

// Refuse counts one refused request from source (an IP address) for
// reason, a fixed sentence such as "wrong agent secret". It writes
// nothing; FlushRefused does, at most once a RefusedInterval.
func (s *Service) Refuse(source, reason string) {
	s.refused.mu.Lock()
	if s.refused.counts == nil {
		s.refused.counts = map[refusedKey]int{}
	}
	s.refused.counts[refusedKey{source: clean(source), reason: reason}]++
	s.refused.mu.Unlock()
}

// FlushRefused writes one audit line per source and reason counted since
// the last flush, all in one transaction, and clears the counts. With
// nothing counted it writes nothing.
func (s *Service) FlushRefused() error {
	s.refused.mu.Lock()
	counts := s.refused.counts
	s.refused.counts = nil
	s.refused.mu.Unlock()
	if len(counts) == 0 {
		return nil
	}
	keys := make([]refusedKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].source != keys[j].source {
			return keys[i].source < keys[j].source
		}
		return keys[i].reason < keys[j].reason
	})
	err := s.update(false, func(tx Tx, log *logger) error {
		for _, k := range keys {
			n := counts[k]
			what := "refused requests"
			if n == 1 {
				what = "refused request"
			}
			if err := log.add(LevelWarn, "", "%d %s from %s in the last minute: %s", n, what, k.source, k.reason); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Put the counts back so the next flush reports them.
		s.refused.mu.Lock()
		for k, n := range counts {
			if s.refused.counts == nil {
				s.refused.counts = map[refusedKey]int{}
			}
			s.refused.counts[k] += n
		}
		s.refused.mu.Unlock()
		return fmt.Errorf("write refused-request summary: %w", err)
	}
	return nil
}

// RunRefusedLog flushes the refusal counts every RefusedInterval until ctx
// ends, then once more. report receives a flush that failed (a full disk),
// so a person sees it even when the log cannot be written; it may be nil.
func (s *Service) RunRefusedLog(ctx context.Context, report func(error)) {
	t := time.NewTicker(RefusedInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.FlushRefused(); err != nil && report != nil {
				report(err)
			}
			return
		case <-t.C:
			if err := s.FlushRefused(); err != nil && report != nil {
				report(err)
			}
		}
	}
}
