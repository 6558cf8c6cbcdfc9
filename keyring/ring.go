package keyring

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Ring.
type Config struct {
	Sources []Source
	// Logger receives reload results. Nothing about a key is logged but
	// its source, kid, alg and fingerprint. Nil discards.
	Logger *slog.Logger
	// Now is the clock for Status times; nil means time.Now.
	Now func() time.Time
	// OnReload, if set, is called after every reload attempt (the initial
	// load included), with the status it produced. Calls are serialised
	// and in order; the hook must not call Reload (it runs under the
	// writer lock).
	OnReload func(Status)
	// Debounce is how long Watch waits after the last file event of a
	// burst before it reloads; zero means 100ms.
	Debounce time.Duration
	// RemoteStartup chooses whether New waits for the remote sources
	// (WaitForRemotes, the default) or returns a ring that is not Ready
	// yet (StartNotReady).
	RemoteStartup RemoteStartup
	// RemoteStartupTimeout bounds how long New waits for the remote
	// sources with WaitForRemotes; zero means 30s.
	RemoteStartupTimeout time.Duration
}

// Status describes the reload history of a Ring, for readiness checks and
// metrics.
type Status struct {
	Generation  uint64    // generation of the current snapshot
	Keys        int       // keys in the current snapshot
	LastReload  time.Time // time of the last reload attempt
	LastSuccess time.Time // time of the last successful attempt (changed or not)
	// LastError is the error of the last attempt, nil if it succeeded.
	// The snapshot in use is still the last good one.
	LastError     error
	ReloadsOK     uint64 // successful attempts, the initial load included
	ReloadsFailed uint64 // failed attempts; each kept the previous snapshot
	// Remotes describes each remote source, in source order.
	Remotes []RemoteStatus
}

// Ring is a live keyring: the current Snapshot behind an atomic pointer,
// replaced as a whole by Reload. Snapshot, Status, Ready and a
// rate-limited Refetch never block and are safe for any number of
// goroutines; Reload, Reconfigure, Watch, Start, Refetch and
// RefreshRemotes may run concurrently with them and with each other
// (reloads are serialised). A ring with remote sources holds goroutines
// and connections once Start is called: Close releases them.
type Ring struct {
	sources  []Source    // as configured (under mu)
	srcs     []keySource // parallel to sources (under mu)
	log      *slog.Logger
	now      func() time.Time
	onReload func(Status)
	debounce time.Duration

	snap       atomic.Pointer[Snapshot]
	status     atomic.Pointer[Status]    // Remotes is nil: Status adds them
	remoteList atomic.Pointer[[]*remote] // the non-nil remotes, for lock-free readers

	mu     sync.Mutex // taken by writers only
	digest [sha256.Size]byte
	runCtx context.Context // of Start, nil before (under mu)

	reconfMu sync.Mutex // serialises Reconfigure
	ctx      context.Context
	cancel   context.CancelFunc // ends every remote source: Close
	loops    sync.WaitGroup
}

// New validates cfg and loads every source. The initial load must succeed:
// its error names every bad source and key. Remote sources are fetched
// concurrently first; cfg.RemoteStartup says whether New waits for all of
// them. New starts no goroutine that outlives it: call Start to keep
// remote sources fresh.
func New(cfg Config) (*Ring, error) {
	if len(cfg.Sources) == 0 {
		return nil, errors.New("keyring: no key sources configured")
	}
	r := &Ring{
		sources:  make([]Source, len(cfg.Sources)),
		log:      cfg.Logger,
		now:      cfg.Now,
		onReload: cfg.OnReload,
		debounce: cfg.Debounce,
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.debounce <= 0 {
		r.debounce = 100 * time.Millisecond
	}
	if cfg.RemoteStartup > StartNotReady {
		return nil, fmt.Errorf("keyring: unknown RemoteStartup %d", cfg.RemoteStartup)
	}
	if cfg.RemoteStartupTimeout < 0 {
		return nil, errors.New("keyring: RemoteStartupTimeout is negative")
	}
	sources, err := validSources(cfg.Sources)
	if err != nil {
		return nil, err
	}
	r.sources = sources
	r.ctx, r.cancel = context.WithCancel(context.Background())
	srcs, _, err := r.newSources(r.sources, nil)
	if err != nil {
		r.cancel()
		return nil, err
	}
	r.srcs = srcs
	r.publishRemotes()
	if fresh := *r.remoteList.Load(); len(fresh) > 0 {
		timeout := cfg.RemoteStartupTimeout
		if timeout == 0 {
			timeout = DefaultRemoteStartupTimeout
		}
		ctx, cancel := context.WithTimeout(r.ctx, timeout)
		err := fetchRemotes(ctx, fresh, cfg.RemoteStartup == WaitForRemotes)
		cancel()
		if err != nil {
			if cfg.RemoteStartup == WaitForRemotes {
				r.stopAll()
				return nil, fmt.Errorf("keyring: remote key sources not ready after %s: %w", timeout, err)
			}
			r.log.Warn("keyring: starting without the keys of some remote sources; not ready until they are fetched", "error", err)
		}
	}
	r.status.Store(&Status{})
	if err := r.Reload(); err != nil {
		r.stopAll()
		return nil, err
	}
	return r, nil
}

// Snapshot returns the current snapshot: one atomic load, never blocking.
func (r *Ring) Snapshot() *Snapshot { return r.snap.Load() }

// Status returns the reload status and that of each remote source. It
// never blocks.
func (r *Ring) Status() Status { return r.fullStatus(*r.status.Load()) }

func (r *Ring) fullStatus(st Status) Status {
	st.Remotes = r.remoteStatuses()
	return st
}

// Reload reads every source, parses it and builds a whole new Snapshot. If
// anything fails, the current snapshot stays in use and the error (an
// errors.Join naming each bad source and key) is returned and logged. If
// the sources hold the same keys with the same bindings as the current
// snapshot (in any order or layout), nothing is swapped and the generation
// stays; otherwise the new snapshot gets the next generation, and keys that
// are no longer in the sources are gone from it. Reloads are serialised.
//
// A remote source contributes the last good document its fetches kept in
// memory (Reload does not fetch; see Start, Refetch and RefreshRemotes),
// and nothing, without an error, before its first successful fetch.
func (r *Ring) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.reloadReportLocked()
	return err
}

// rebuild is Reload for a remote source whose document changed. It
// reports whether the generation changed.
func (r *Ring) rebuild() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed, _ := r.reloadReportLocked()
	return changed
}

// reloadReportLocked reloads, records the status, logs and calls the hook.
func (r *Ring) reloadReportLocked() (changed bool, err error) {
	before := r.snap.Load()
	st := *r.status.Load()
	st.LastReload = r.now()

	err = r.reloadLocked()
	if err != nil {
		st.LastError = err
		st.ReloadsFailed++
		if r.snap.Load() == nil {
			r.log.Error("keyring: initial key load failed", "error", err)
		} else {
			r.log.Error("keyring: reload failed; keeping the previous keys",
				"generation", st.Generation, "error", err)
		}
	} else {
		cur := r.snap.Load()
		st.Generation, st.Keys = cur.Generation(), cur.Len()
		st.LastSuccess = st.LastReload
		st.LastError = nil
		st.ReloadsOK++
	}
	r.status.Store(&st)
	if r.onReload != nil {
		r.onReload(r.fullStatus(st))
	}
	return r.snap.Load() != before, err
}

func (r *Ring) reloadLocked() error {
	var (
		keys    []*Key
		skipped []Skipped
		errs    []error
	)
	// Read and parse every source even if one fails, so that one report
	// names every problem.
	for _, src := range r.srcs {
		ks, sk, err := src.current()
		skipped = append(skipped, sk...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		keys = append(keys, ks...)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	owners := r.owners()
	sum := digestKeys(owners, keys)
	cur := r.snap.Load()
	if cur != nil && sum == r.digest {
		r.log.Debug("keyring: keys unchanged", "generation", cur.Generation())
		return nil
	}
	var gen uint64 = 1
	if cur != nil {
		gen = cur.Generation() + 1
	}
	next, err := newSnapshot(gen, owners, keys)
	if err != nil {
		return err
	}
	for _, sk := range skipped {
		r.log.Info("keyring: JWK skipped", "source", sk.Source, "index", sk.Index, "kid", sk.KID, "reason", sk.Reason)
	}
	r.snap.Store(next)
	r.digest = sum
	r.logChanges(cur, next)
	return nil
}

func (r *Ring) logChanges(prev, next *Snapshot) {
	type id struct{ issuer, kid, thumb string }
	old := map[id]bool{}
	if prev != nil {
		for _, k := range prev.keys {
			old[id{k.Issuer(), k.ID(), k.Thumbprint()}] = true
		}
	}
	for _, k := range next.keys {
		key := id{k.Issuer(), k.ID(), k.Thumbprint()}
		if old[key] {
			delete(old, key)
			continue
		}
		r.log.Info("keyring: key loaded", "source", k.Source(), "issuer", k.Issuer(), "kid", k.ID(), "alg", string(k.Alg()), "fingerprint", k.Fingerprint())
	}
	if prev != nil {
		for _, k := range prev.keys {
			if old[id{k.Issuer(), k.ID(), k.Thumbprint()}] {
				r.log.Info("keyring: key removed", "source", k.Source(), "issuer", k.Issuer(), "kid", k.ID(), "alg", string(k.Alg()), "fingerprint", k.Fingerprint())
			}
		}
	}
	r.log.Info("keyring: keys swapped", "generation", next.Generation(), "keys", next.Len())
}

// owners returns the issuers that have key sources of their own: their
// tokens are verified with those keys only (see Snapshot.Find).
func (r *Ring) owners() []string {
	var out []string
	for _, s := range r.sources {
		iss := s.Issuer
		if s.Remote != nil {
			iss = s.Remote.Issuer
		}
		if iss != "" {
			out = append(out, iss)
		}
	}
	return out
}
