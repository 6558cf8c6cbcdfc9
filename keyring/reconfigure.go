package keyring

import (
	"errors"
	"fmt"
	"slices"
)

// newRemotes makes a fetcher for each remote source, reusing one of old
// whose configuration is equal (and taking it out of old).
func (r *Ring) newRemotes(sources []Source, old []*remote) ([]*remote, error) {
	out := make([]*remote, len(sources))
	var (
		created []*remote
		errs    []error
	)
	for i, s := range sources {
		if s.Remote == nil {
			continue
		}
		want := s.Remote.withDefaults()
		for j, m := range old {
			if m != nil && m.cfg.equal(want) {
				out[i], old[j] = m, nil
				break
			}
		}
		if out[i] != nil {
			continue
		}
		m, err := r.newRemote(*s.Remote)
		if err != nil {
			errs = append(errs, fmt.Errorf("keyring: source %s: %w", s.name(i), err))
			continue
		}
		out[i] = m
		created = append(created, m)
	}
	if len(errs) > 0 {
		stopRemotes(created, nil) // not the reused ones: they still serve
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// stopRemotes stops the remotes of ms that are not in keep.
func stopRemotes(ms, keep []*remote) {
	for _, m := range ms {
		if m != nil && !slices.Contains(keep, m) {
			m.stop()
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
	if len(sources) == 0 {
		return errors.New("keyring: no key sources configured")
	}
	next := make([]Source, len(sources))
	names := make([]string, len(sources))
	var errs []error
	for i, s := range sources {
		s = s.clone()
		next[i] = s
		names[i] = s.name(i)
		if err := s.validate(); err != nil {
			errs = append(errs, fmt.Errorf("keyring: source %s: %w", names[i], err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	r.reconfMu.Lock()
	defer r.reconfMu.Unlock()
	r.mu.Lock()
	oldRemotes := r.remotes
	r.mu.Unlock()
	remotes, err := r.newRemotes(next, slices.Clone(oldRemotes))
	if err != nil {
		return err
	}
	var fresh []*remote
	for _, m := range remotes {
		if m != nil && !slices.Contains(oldRemotes, m) {
			fresh = append(fresh, m)
		}
	}
	if len(fresh) > 0 {
		// Fetched outside the lock: the snapshot keeps serving meanwhile.
		if err := fetchRemotes(r.ctx, fresh, false); err != nil {
			stopRemotes(fresh, nil)
			return err
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	oldSources, oldNames := r.sources, r.names
	r.sources, r.names, r.remotes = next, names, remotes
	r.publishRemotes()
	// Same bytes under other options (alg, issuer, client) are a change,
	// and the digest of the keys' bindings sees it.
	if _, err := r.reloadReportLocked(); err != nil {
		r.sources, r.names, r.remotes = oldSources, oldNames, oldRemotes
		r.publishRemotes()
		stopRemotes(fresh, nil)
		return err
	}
	stopRemotes(oldRemotes, remotes)
	if r.runCtx != nil && r.runCtx.Err() == nil {
		for _, m := range fresh {
			m.startLoop(r.runCtx)
		}
	}
	return nil
}
