package keyring

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of the unknown-kid bookkeeping of a remote source.
const (
	// maxAbsentKIDs bounds the kids remembered as absent; a spray of
	// random kids cannot grow it further (those kids then simply share
	// the rate-limited refetches).
	maxAbsentKIDs = 4096
	// refetchLogEvery rate-limits the log line about delayed refetches.
	refetchLogEvery = 10 * time.Second
)

// refetcher is the unknown-kid state of a remote source (under mu).
//
// A token whose kid the keyring lacks may be the first token of a key the
// provider just rotated in, a stale token of a key it removed, or a
// made-up kid. Only the first deserves a fetch, and they cannot be told
// apart, so: kids the source's last fetches proved absent (kids of keys
// just removed, and kids a refetch looked for and did not find) cause no
// refetch for a while; any other kid causes at most one fetch per
// RefetchInterval, and a kid that arrives within the interval is not
// forgotten: one delayed refetch runs when the interval ends. A stream of
// random kids therefore costs the provider one fetch per interval, and a
// new key is in the keyring at most one interval after its first token.
type refetcher struct {
	mu      sync.Mutex
	last    time.Time            // start of the last unknown-kid fetch (Config.Now); zero: none yet
	absent  map[string]time.Time // kid -> until when a refetch for it is pointless
	flight  chan struct{}        // closed when the refetch in flight ends; nil if none
	delayed *time.Timer          // the refetch waiting for the interval to end; nil if none
	logNext time.Time            // rate limit of the "refetch delayed" line
	unlog   int                  // delayed refetches not logged since the last line

	refetches, suppressed atomic.Uint64
}

// absentFor is how long a kid proven absent causes no refetch: the least
// time between two scheduled refreshes of the source, which fetch again
// anyway.
func (m *remote) absentFor() time.Duration { return m.cfg.MinRefresh }

// refetch is Ring.Refetch for one source; kid "" stands for a token
// without one. It reports whether the source now holds kid.
func (m *remote) refetch(ctx context.Context, kid []byte) bool {
	if m.ctx.Err() != nil {
		return false // removed or closed
	}
	if m.state.Load().has(kid) {
		return true // another caller's fetch brought it
	}
	rf := &m.rf
	now := m.ring.now()
	rf.mu.Lock()
	if until, ok := rf.absent[string(kid)]; ok && now.Before(until) {
		rf.mu.Unlock()
		rf.suppressed.Add(1)
		return false
	}
	if since := now.Sub(rf.last); !rf.last.IsZero() && since < m.cfg.RefetchInterval && since >= 0 {
		rf.suppressed.Add(1)
		return m.await(ctx, now, kid)
	}
	rf.last = now
	flight := make(chan struct{})
	rf.flight = flight
	rf.mu.Unlock()

	res, ours := m.shared(ctx, func() fetchResult {
		rf.refetches.Add(1)
		return m.fetch(m.ctx, false, true)
	})
	found := m.state.Load().has(kid)
	rf.mu.Lock()
	close(flight)
	if rf.flight == flight {
		rf.flight = nil
	}
	switch {
	case found:
	case ours && res.err == nil:
		// The fetch started after the token arrived and the provider did
		// not list the kid: do not ask again for a while.
		m.absentLocked(now, string(kid))
	case !ours:
		// Joined a fetch that may have started before the key existed:
		// inconclusive, so the kid gets the delayed refetch.
		rf.suppressed.Add(1)
		m.delayLocked(now, kid)
	}
	rf.mu.Unlock()
	return found
}

// await is refetch within the interval (called with rf.mu held, which it
// releases): a fetch in flight may bring the key, so the caller waits for
// that one only; if it does not, the kid gets the delayed refetch (the
// fetch may have started before the key existed).
func (m *remote) await(ctx context.Context, now time.Time, kid []byte) bool {
	rf := &m.rf
	flight := rf.flight
	if flight == nil {
		m.delayLocked(now, kid)
		rf.mu.Unlock()
		return false
	}
	rf.mu.Unlock()
	select {
	case <-flight:
		if m.state.Load().has(kid) {
			return true
		}
	case <-ctx.Done():
	}
	rf.mu.Lock()
	m.delayLocked(m.ring.now(), kid)
	rf.mu.Unlock()
	return false
}

// delayLocked arms the refetch that runs when the interval ends (once, for
// every kid that asked meanwhile) and logs, rate-limited, that a kid never
// seen before has to wait for it.
func (m *remote) delayLocked(now time.Time, kid []byte) {
	rf := &m.rf
	wait := max(rf.last.Add(m.cfg.RefetchInterval).Sub(now), 0)
	if rf.delayed == nil && m.ctx.Err() == nil {
		m.ring.loops.Add(1) // Close waits for it
		rf.delayed = time.AfterFunc(wait, m.delayedRefetch)
	}
	rf.unlog++
	if now.Before(rf.logNext) {
		return
	}
	rf.logNext = now.Add(refetchLogEvery)
	// The kid comes from a token: clipped and quoted by the handler,
	// never the token itself.
	m.ring.log.Info("keyring: unknown kid; refetch delayed until the refetch interval ends",
		"url", m.name, "kid", clip(kid), "refetch_in", wait, "delayed_since_last_line", rf.unlog)
	rf.unlog = 0
}

// delayedRefetch is the refetch that waited for the interval to end.
func (m *remote) delayedRefetch() {
	defer m.ring.loops.Done()
	rf := &m.rf
	rf.mu.Lock()
	rf.delayed = nil
	if m.ctx.Err() != nil {
		rf.mu.Unlock()
		return
	}
	rf.last = m.ring.now()
	flight := make(chan struct{})
	rf.flight = flight
	rf.mu.Unlock()
	m.shared(context.Background(), func() fetchResult {
		rf.refetches.Add(1)
		return m.fetch(m.ctx, false, true)
	})
	rf.mu.Lock()
	close(flight)
	if rf.flight == flight {
		rf.flight = nil
	}
	rf.mu.Unlock()
}

// absentLocked remembers kid as absent until absentFor from now.
func (m *remote) absentLocked(now time.Time, kid string) {
	rf := &m.rf
	if rf.absent == nil {
		rf.absent = map[string]time.Time{}
	}
	if len(rf.absent) >= maxAbsentKIDs {
		for k, until := range rf.absent {
			if !now.Before(until) {
				delete(rf.absent, k)
			}
		}
		if len(rf.absent) >= maxAbsentKIDs {
			return
		}
	}
	rf.absent[kid] = now.Add(m.absentFor())
}

// removedKIDs remembers the kids of keys a new document dropped: stale
// tokens signed by them keep coming and must not cause refetches.
func (m *remote) removedKIDs(prev, next *remoteState) {
	if !prev.fetched {
		return
	}
	now := m.ring.now()
	m.rf.mu.Lock()
	defer m.rf.mu.Unlock()
	for kid := range prev.kids {
		if _, kept := next.kids[kid]; !kept {
			m.absentLocked(now, kid)
		}
	}
	for kid := range next.kids {
		delete(m.rf.absent, kid) // listed again (a key restored)
	}
}

// stopRefetches cancels a delayed refetch that has not started.
func (m *remote) stopRefetches() {
	m.rf.mu.Lock()
	defer m.rf.mu.Unlock()
	if m.rf.delayed != nil && m.rf.delayed.Stop() {
		m.rf.delayed = nil
		m.ring.loops.Done()
	}
}

// Refetch asks the remote sources of issuer for their current keys, for a
// token whose kid (nil: a token without one) the snapshot does not hold: a
// provider that rotated in a new key before the refresh loop saw it. The
// sources are those whose Issuer equals issuer, or, if there are none,
// those without an issuer.
//
// Kids the source's recent fetches proved absent (kids of keys it just
// removed, kids a refetch did not find) return false at once, without any
// I/O and without using up the allowance. Any other kid makes the source
// fetch, at most once per RefetchInterval: a caller that arrives while a
// fetch is in flight waits for it (or for ctx) and shares its result; one
// that arrives later in the interval returns false at once, and one fetch
// runs when the interval ends, so a key the provider published is in the
// keyring at most an interval after its first token, however many random
// kids arrive meanwhile. Delayed refetches are logged at info, at most
// once per 10 s per source. Fetches run on the ring's context, not ctx: a
// caller that gives up does not cancel one for the others.
//
// Refetch returns true if the keyring now has kid for issuer (or, for a
// token without kid, a new generation): look the key up again then. It
// does not allocate when it returns at once.
func (r *Ring) Refetch(ctx context.Context, issuer, kid []byte) bool {
	list := r.remoteList.Load()
	if list == nil {
		return false
	}
	snap := r.Snapshot()
	gen := snap.Generation()
	if !snap.HasKeysFor(issuer) {
		r.logNoKeys(snap, issuer)
	}
	target := ""
	for _, m := range *list {
		if m.cfg.Issuer != "" && m.cfg.Issuer == string(issuer) {
			target = m.cfg.Issuer
			break
		}
	}
	var first *remote
	n := 0
	for _, m := range *list {
		if m.cfg.Issuer == target {
			if first == nil {
				first = m
			}
			n++
		}
	}
	switch n {
	case 0:
		return false
	case 1:
		first.refetch(ctx, kid)
	default:
		var wg sync.WaitGroup
		for _, m := range *list {
			if m.cfg.Issuer == target {
				wg.Go(func() { m.refetch(ctx, kid) })
			}
		}
		wg.Wait()
	}
	s := r.Snapshot()
	if kid == nil {
		return s.Generation() != gen
	}
	_, ok := s.Find(issuer, kid, "")
	return ok
}

// logNoKeys says, at most once per refetchLogEvery, that a token's issuer
// has no keys while others do: usually the issuer is written differently
// in the configuration (a trailing slash). The issuer comes from the
// token: clipped and quoted, so it cannot forge log lines.
func (r *Ring) logNoKeys(snap *Snapshot, issuer []byte) {
	now := r.now().UnixNano()
	next := r.noKeysLog.Load()
	if now < next || !r.noKeysLog.CompareAndSwap(next, now+int64(refetchLogEvery)) {
		return
	}
	configured := snap.issuers()
	for i, iss := range configured {
		configured[i] = strconv.Quote(iss)
	}
	r.log.Info("keyring: no keys for the token's issuer; is it written differently in the configuration?",
		"issuer", strconv.QuoteToASCII(clip(issuer)), "configured_issuers", strings.Join(configured, ", "))
}
