package keyring

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// refetch is Ring.Refetch for one source.
func (m *remote) refetch(ctx context.Context) bool {
	if m.ctx.Err() != nil {
		return false // removed or closed
	}
	if !m.refetchDue(m.ring.now()) {
		m.suppressed.Add(1)
		return false
	}
	res, ours := m.shared(ctx, func() fetchResult {
		now := m.ring.now()
		// Checked again: a fetch may have ended since the check above.
		if !m.refetchDue(now) {
			return fetchResult{suppressed: true}
		}
		m.lastRefetch.Store(&now)
		m.refetches.Add(1)
		return m.fetch(m.ctx, false, true)
	})
	if !ours || res.suppressed {
		m.suppressed.Add(1)
	}
	return res.genChanged
}

func (m *remote) refetchDue(now time.Time) bool {
	last := m.lastRefetch.Load()
	if last == nil {
		return true
	}
	since := now.Sub(*last)
	return since >= m.cfg.RefetchInterval || since < 0 // a clock set back does not block refetches
}

// Refetch asks the remote sources of issuer for their current keys, for a
// token whose kid the snapshot does not hold (a provider that rotated in a
// new key before the refresh loop saw it). The sources are those whose
// Issuer equals issuer, or, if there are none, those without an issuer.
//
// Each source is fetched at most once per RefetchInterval: callers that
// arrive while a fetch is in flight wait for it (or for ctx) and share its
// result, and callers within the interval after it return false at once
// without any I/O, so a flood of tokens with made-up kids costs one fetch
// per interval. The fetch itself runs on the ring's context, not ctx: a
// caller that gives up does not cancel it for the others.
//
// Refetch returns true if the ring got a new generation from the fetch;
// look the key up again in Snapshot() then. It does not allocate when it
// is rate-limited.
func (r *Ring) Refetch(ctx context.Context, issuer []byte) (changed bool) {
	list := r.remoteList.Load()
	if list == nil {
		return false
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
		return first.refetch(ctx)
	}
	var hit atomic.Bool
	var wg sync.WaitGroup
	for _, m := range *list {
		if m.cfg.Issuer == target {
			wg.Go(func() {
				if m.refetch(ctx) {
					hit.Store(true)
				}
			})
		}
	}
	wg.Wait()
	return hit.Load()
}
