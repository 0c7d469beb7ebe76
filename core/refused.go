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

// maxRefusedKeys bounds the sources and reasons counted between two
// flushes, and so the lines one flush writes. Past it, a refusal from a
// source not yet counted is folded into one "other sources" count per
// reason (reasons are fixed sentences, so those are few).
const maxRefusedKeys = 256

// otherSources is the source of the refusals folded past maxRefusedKeys.
const otherSources = "other sources"

// refusedKey groups refusals for one aggregated log line.
type refusedKey struct {
	source string // SourceName of the remote address: an IPv6 /64 counts as one
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
// nothing; FlushRefused does, at most once a RefusedInterval. An IPv6
// source is counted by its /64 (SourceName), like the rate limits, so a
// host rotating through its addresses makes one line, not one each; past
// maxRefusedKeys new sources are counted together as "other sources".
func (s *Service) Refuse(source, reason string) {
	s.refused.mu.Lock()
	s.refused.add(refusedKey{source: clean(SourceName(source)), reason: reason}, 1)
	s.refused.mu.Unlock()
}

// add counts n refusals for k, folding a new source into otherSources once
// maxRefusedKeys are counted; r.mu is held.
func (r *refusals) add(k refusedKey, n int) {
	if r.counts == nil {
		r.counts = map[refusedKey]int{}
	}
	if _, ok := r.counts[k]; !ok && len(r.counts) >= maxRefusedKeys {
		k.source = otherSources
	}
	r.counts[k] += n
}

// FlushRefused writes one audit line per source and reason counted since
// the last flush, all in one transaction, and clears the counts. With
// nothing counted it writes nothing.
func (s *Service) FlushRefused() error {
	s = s.As(ServerActor)
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
		if oi, oj := keys[i].source == otherSources, keys[j].source == otherSources; oi != oj {
			return oj // the folded counts last
		}
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
		for _, k := range keys {
			s.refused.add(k, counts[k])
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
