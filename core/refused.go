package core

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// RefusedInterval is how often counted refusals and request failures are
// written to the audit log: at most one line per source and reason, and
// per request and reason, in each interval.
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

// refusals counts refused unauthenticated requests, and requests that
// failed inside Provisio, in memory. A request that anyone can send
// without a secret must not cost a durable write of its own, or whoever
// reaches the port can fill the disk; nor may a failing request, or a
// store that cannot answer makes every request wait for a second write
// that cannot answer either. The counts are written as one line per source
// and reason, and per request and reason, by FlushRefused.
type refusals struct {
	mu     sync.Mutex
	counts map[refusedKey]int
	failed map[failedKey]*failedCount
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

// FlushRefused writes one audit line per source and reason of the
// refusals counted since the last flush, and one per request and reason
// of the failures (RequestFailed), all in one transaction, and clears the
// counts. With nothing counted it writes nothing. When the write fails
// the counts are kept for the next flush.
func (s *Service) FlushRefused() error {
	s = s.As(ServerActor)
	s.refused.mu.Lock()
	counts, failed := s.refused.counts, s.refused.failed
	s.refused.counts, s.refused.failed = nil, nil
	s.refused.mu.Unlock()
	if len(counts) == 0 && len(failed) == 0 {
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
	fkeys := make([]failedKey, 0, len(failed))
	for k := range failed {
		fkeys = append(fkeys, k)
	}
	sort.Slice(fkeys, func(i, j int) bool {
		if oi, oj := fkeys[i] == otherFailures, fkeys[j] == otherFailures; oi != oj {
			return oj
		}
		if fkeys[i].what != fkeys[j].what {
			return fkeys[i].what < fkeys[j].what
		}
		return fkeys[i].reason < fkeys[j].reason
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
		for _, k := range fkeys {
			c := failed[k]
			times := "once"
			if c.n != 1 {
				times = fmt.Sprintf("%d times", c.n)
			}
			if err := log.add(LevelError, "", "%s failed %s in the last minute, error: %s", k.what, times, c.first); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Put the counts back so the next flush reports them; the
		// detail kept is the older one, the first of its kind.
		s.refused.mu.Lock()
		for _, k := range keys {
			s.refused.add(k, counts[k])
		}
		for _, k := range fkeys {
			c, _ := s.refused.addFailure(k, failed[k].n, failed[k].first)
			c.first = failed[k].first
		}
		s.refused.mu.Unlock()
		return fmt.Errorf("write the summary of refused and failed requests: %w", err)
	}
	return nil
}

// failedKey groups requests that failed inside Provisio for one
// aggregated log line.
type failedKey struct {
	what   string // the request, a fixed name such as "AgentXML login request"
	reason string // ErrorMessage of the error: a fixed sentence
}

// failedCount is how often a failure happened since the last flush, and
// the text of the first one, which its line shows.
type failedCount struct {
	n     int
	first string
}

// maxFailedKeys bounds the requests and reasons of failures counted
// between two flushes; past it new ones are counted as otherFailures.
// Requests are named by the code and reasons are fixed sentences, so in
// practice there are a handful.
const maxFailedKeys = 64

// maxFailureDetail bounds the stored text of a failure, so a flush that
// keeps failing holds at most maxFailedKeys of these.
const maxFailureDetail = 500

// otherFailures counts the failures folded past maxFailedKeys.
var otherFailures = failedKey{what: "Other requests", reason: "other errors"}

// RequestFailed counts one request that failed inside Provisio: a store or
// system error (CodeInternal), not a rule's refusal. what names the
// request, a fixed text such as "AgentXML login request", never outside
// text. It writes nothing and never waits on the store: the request has
// already waited for it once, and a store that cannot answer (an etcd
// cluster without quorum) would make the request wait as long again, and
// a failure repeated under load would cost a write each. FlushRefused
// writes one line per request and reason (ErrorMessage) with the count
// and the first failure's error; the first failure of each kind since the
// last flush also goes at once, with its error, to where health problems
// are reported (SetReport: stderr for serve and the console), so an
// operator sees the cause without waiting for the flush or for the store.
func (s *Service) RequestFailed(what string, err error) {
	if err == nil {
		return
	}
	detail := failureDetail(err)
	s.refused.mu.Lock()
	_, first := s.refused.addFailure(failedKey{what: what, reason: ErrorMessage(err)}, 1, detail)
	s.refused.mu.Unlock()
	if first {
		s.reportNow(fmt.Sprintf("%s failed, error: %s (repeats are counted in the audit log once a minute)", what, detail))
	}
}

// addFailure counts n failures for k, folding a new k into otherFailures
// once maxFailedKeys are counted, and reports whether the kind is new
// since the last flush; r.mu is held. detail is kept only for a new kind.
func (r *refusals) addFailure(k failedKey, n int, detail string) (*failedCount, bool) {
	if r.failed == nil {
		r.failed = map[failedKey]*failedCount{}
	}
	c, ok := r.failed[k]
	if !ok && len(r.failed) >= maxFailedKeys {
		k = otherFailures
		c, ok = r.failed[k]
	}
	if !ok {
		c = &failedCount{first: detail}
		r.failed[k] = c
	}
	c.n += n
	return c, !ok
}

// failureDetail is err's text on one line and of bounded length.
func failureDetail(err error) string {
	d := err.Error()
	if len(d) > maxFailureDetail {
		d = strings.ToValidUTF8(d[:maxFailureDetail], "") + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, d)
}

// RunRefusedLog flushes the refusal and failure counts every
// RefusedInterval until ctx ends, then once more. It runs in the
// background, so no request waits for the flush. report receives a flush
// that failed (a full disk, a store without quorum), so a person sees it
// even when the log cannot be written; the counts wait for the next
// flush. report may be nil.
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
