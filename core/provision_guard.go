package core

import (
	"sync"
	"time"
)

// Wrong provision attempts are counted in memory, never written one by
// one: /proxy needs no secret, so each durable write would let anyone
// fill the disk. The counts are per pending code (its hash), so a new
// code starts afresh, and they are forgotten when the code expires.
//
// Two limits apply (docs/decisions.md, "Provision attempts"):
//   - per code and source address (an IPv6 /64 is one source, as for
//     the rate limits: a host holds a whole /64 and could otherwise give
//     itself a first attempt per address), a doubling delay: after the
//     n-th wrong attempt from an address, the next attempt from it is
//     refused unchecked for provisionDelay·2^(n-1). From one address an attacker
//     therefore gets about log2(validity/provisionDelay) attempts in a
//     code's lifetime, too few to reach the total below, and cannot make
//     the code unusable for the phone on another address;
//   - per code, a total (the Self-Reset policy's MaxProvisionAttempts,
//     20 by default) of wrong attempts from all addresses, after which
//     the code dies: the bound on brute force.
const (
	// provisionDelay is the delay after the first wrong attempt from an
	// address. With 2 s, an address needs 2·(2^19-1) s ≈ 12 days for 20
	// attempts, longer than the longest code validity (1,000,000 s).
	provisionDelay = 2 * time.Second
	// maxProvisionSources bounds the memory of the per-address delays;
	// beyond it, an attempt from a new address is refused unchecked until
	// expired entries make room.
	maxProvisionSources = 100_000
	// maxProvisionDelay caps one delay so that doubling never overflows.
	maxProvisionDelay = 30 * 24 * time.Hour
)

type provisionSource struct {
	hash   string // the pending code's hash
	source string // SourceName of the remote address: an IPv6 /64 is one source
}

type sourceDelay struct {
	wrong   int       // wrong attempts from this address
	until   time.Time // no attempt is checked before this
	expires time.Time // the code's expiry: the entry is useless after it
}

type codeAttempts struct {
	wrong   int
	expires time.Time
}

// provisionGuard holds the in-memory counts.
type provisionGuard struct {
	mu      sync.Mutex
	sources map[provisionSource]sourceDelay
	codes   map[string]codeAttempts // by code hash
}

// admit reports whether an attempt on the code pc from source may be
// checked at now. An admitted attempt already counts as a wrong one for
// the source's delay, so that concurrent attempts from one address do
// not all slip through; a right attempt redeems the code, after which
// the count does not matter.
func (g *provisionGuard) admit(pc ProvisionCode, source string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sources == nil {
		g.sources = map[provisionSource]sourceDelay{}
		g.codes = map[string]codeAttempts{}
	}
	k := provisionSource{hash: pc.Hash, source: SourceName(source)}
	d, ok := g.sources[k]
	if !ok && len(g.sources) >= maxProvisionSources {
		g.prune(now)
		if len(g.sources) >= maxProvisionSources {
			return false
		}
	}
	if now.Before(d.until) {
		return false
	}
	d.wrong++
	delay := provisionDelay
	for i := 1; i < d.wrong && delay < maxProvisionDelay; i++ {
		delay *= 2
	}
	d.until, d.expires = now.Add(min(delay, maxProvisionDelay)), pc.Expires
	g.sources[k] = d
	return true
}

// wrong counts a wrong attempt on pc from every address together and
// returns the total so far.
func (g *provisionGuard) wrong(pc ProvisionCode, now time.Time) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.codes) >= maxProvisionSources {
		g.prune(now)
	}
	c := g.codes[pc.Hash]
	c.wrong++
	c.expires = pc.Expires
	g.codes[pc.Hash] = c
	return c.wrong
}

// forget drops the counts of a code that was redeemed or died.
func (g *provisionGuard) forget(hash string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.codes, hash)
	for k := range g.sources {
		if k.hash == hash {
			delete(g.sources, k)
		}
	}
}

// prune drops the counts of expired codes; g.mu is held.
func (g *provisionGuard) prune(now time.Time) {
	for k, d := range g.sources {
		if !now.Before(d.expires) {
			delete(g.sources, k)
		}
	}
	for h, c := range g.codes {
		if !now.Before(c.expires) {
			delete(g.codes, h)
		}
	}
}
