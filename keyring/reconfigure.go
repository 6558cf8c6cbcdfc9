package keyring

import (
	"errors"
	"fmt"
	"slices"
)

// validSources clones and validates a source list.
func validSources(sources []Source) ([]Source, error) {
	if len(sources) == 0 {
		return nil, errors.New("keyring: no key sources configured")
	}
	out := make([]Source, len(sources))
	var errs []error
	for i, s := range sources {
		out[i] = s.clone()
		if err := out[i].validate(); err != nil {
			errs = append(errs, fmt.Errorf("keyring: source %s: %w", out[i].name(i), err))
		}
	}
	return out, errors.Join(errs...)
}

// newSources makes a keySource for each source. A remote source whose
// configuration equals one in old is reused (and taken out of old);
// created lists the remote sources made new, which have not fetched yet.
func (r *Ring) newSources(sources []Source, old []keySource) (srcs []keySource, created []*remote, err error) {
	srcs = make([]keySource, len(sources))
	var errs []error
	for i, s := range sources {
		if s.Remote == nil {
			srcs[i] = &localSource{cfg: s, name: s.name(i), ring: r}
			continue
		}
		want := s.Remote.withDefaults()
		for j, o := range old {
			if m, ok := o.(*remote); ok && m.cfg.equal(want) {
				srcs[i], old[j] = m, nil
				break
			}
		}
		if srcs[i] != nil {
			continue
		}
		m, err := r.newRemote(*s.Remote)
		if err != nil {
			errs = append(errs, fmt.Errorf("keyring: source %s: %w", s.name(i), err))
			continue
		}
		srcs[i] = m
		created = append(created, m)
	}
	if len(errs) > 0 {
		for _, m := range created {
			m.stop() // not the reused ones: they still serve
		}
		return nil, nil, errors.Join(errs...)
	}
	return srcs, created, nil
}

// stopSources stops the sources of ss that are not in keep.
func stopSources(ss, keep []keySource) {
	for _, s := range ss {
		if s != nil && !slices.Contains(keep, s) {
			s.stop()
		}
	}
}

// Reconfigure replaces the ring's sources (a configuration reload that
// changed the key list) and reloads from them. Like Reload it is
// all-or-nothing: if a new source is invalid or fails to load, the old
// sources and snapshot stay. Generations keep counting up across
// reconfigurations, so a cache keyed by generation never confuses keys of
// the old and new source lists. A running Watch keeps watching the old
// files: restart it after a successful Reconfigure.
//
// A remote source whose RemoteConfig equals one of the old list keeps its
// fetcher, document and loop. A new one is fetched once before anything
// changes, and a failure fails the Reconfigure; while Start's context
// lasts, it gets a loop. Remote sources no longer listed are stopped.
func (r *Ring) Reconfigure(sources []Source) error {
	next, err := validSources(sources)
	if err != nil {
		return err
	}

	r.reconfMu.Lock()
	defer r.reconfMu.Unlock()
	r.mu.Lock()
	oldSrcs := r.srcs
	r.mu.Unlock()
	srcs, fresh, err := r.newSources(next, slices.Clone(oldSrcs))
	if err != nil {
		return err
	}
	stopFresh := func() {
		for _, m := range fresh {
			m.stop()
		}
	}
	if len(fresh) > 0 {
		// Fetched outside the lock: the snapshot keeps serving meanwhile.
		if err := fetchRemotes(r.ctx, fresh, false); err != nil {
			stopFresh()
			return err
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	oldSources := r.sources
	r.sources, r.srcs = next, srcs
	r.publishRemotes()
	// Same bytes under other options (alg, issuer, client) are a change,
	// and the digest of the keys' bindings sees it.
	if _, err := r.reloadReportLocked(); err != nil {
		r.sources, r.srcs = oldSources, oldSrcs
		r.publishRemotes()
		stopFresh()
		return err
	}
	stopSources(oldSrcs, srcs)
	if r.runCtx != nil && r.runCtx.Err() == nil {
		for _, m := range fresh {
			m.startLoop(r.runCtx)
		}
	}
	return nil
}
