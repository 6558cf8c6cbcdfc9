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
	// MissingFileGrace is how long a reload waits for a key file that
	// has disappeared to come back before it removes the file's keys;
	// zero means DefaultMissingFileGrace.
	MissingFileGrace time.Duration
}

// Status describes the reload history of a Ring, for readiness checks and
// metrics.
type Status struct {
	Generation  uint64    // generation of the current snapshot
	Keys        int       // keys in the current snapshot
	LastReload  time.Time // time of the last reload attempt
	LastSuccess time.Time // time of the last successful attempt (changed or not)
	// LastError is the error of the last attempt, nil if it succeeded:
	// the sources that could not be used as a whole. Each kept its last
	// good keys, except a key file still missing after MissingFileGrace,
	// whose keys were removed.
	LastError     error
	ReloadsOK     uint64 // attempts without an error, the initial load included
	ReloadsFailed uint64 // attempts with one
	// Refused lists the keys of file, environment and inline sources
	// that the last attempt did not load (too weak, malformed, a
	// duplicate kid, not in the allow-list...), each naming its source,
	// kid and reason; the other keys of their documents are in use.
	// Refused keys of remote sources are in Remotes.
	Refused []*KeyError
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

	noKeysLog atomic.Int64 // unix nanoseconds (Config.Now) before which logNoKeys is quiet

	mu           sync.Mutex // taken by writers only
	digest       [sha256.Size]byte
	missingGrace time.Duration
	onMissing    func(path string) // test hook: a missing file is being waited for
	runCtx       context.Context   // of Start, nil before (under mu)

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
	if r.missingGrace = cfg.MissingFileGrace; r.missingGrace < 0 {
		return nil, errors.New("keyring: MissingFileGrace is negative")
	} else if r.missingGrace == 0 {
		r.missingGrace = DefaultMissingFileGrace
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
	if err := r.fetchAtStart(cfg); err != nil {
		r.stopAll()
		return nil, err
	}
	r.status.Store(&Status{})
	if err := r.Reload(); err != nil {
		r.stopAll()
		return nil, err
	}
	return r, nil
}

// fetchAtStart fetches the remote sources for New, waiting for them (with
// retries, until the timeout or an error retrying cannot cure) with
// WaitForRemotes.
func (r *Ring) fetchAtStart(cfg Config) error {
	fresh := *r.remoteList.Load()
	if len(fresh) == 0 {
		return nil
	}
	timeout := cfg.RemoteStartupTimeout
	if timeout == 0 {
		timeout = DefaultRemoteStartupTimeout
	}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	err := fetchRemotes(ctx, fresh, cfg.RemoteStartup == WaitForRemotes)
	switch {
	case err == nil:
		return nil
	case cfg.RemoteStartup != WaitForRemotes:
		r.log.Warn("keyring: starting without the keys of some remote sources; not ready until they are fetched", "error", err)
		return nil
	case ctx.Err() == nil:
		return fmt.Errorf("keyring: remote key sources failed: %w", err)
	}
	return fmt.Errorf("keyring: remote key sources not ready after %s: %w", timeout, err)
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

	var refused []*KeyError
	refused, err = r.reloadLocked()
	if cur := r.snap.Load(); cur != nil {
		st.Generation, st.Keys = cur.Generation(), cur.Len()
	}
	if refused != nil { // nil: a failed reload that applied nothing keeps the last report
		st.Refused = refused
	}
	switch {
	case err == nil:
		st.LastSuccess = st.LastReload
		st.LastError = nil
		st.ReloadsOK++
	case r.snap.Load() == nil:
		// The initial load runs inside New, which returns the error: its
		// caller reports it, so logging it here would print it twice.
		st.LastError = err
		st.ReloadsFailed++
	default:
		st.LastError = err
		st.ReloadsFailed++
		r.log.Error("keyring: reload failed for some key sources; each keeps its last good keys (a deleted file's keys are removed)",
			"generation", st.Generation, "error", err)
	}
	r.status.Store(&st)
	if r.onReload != nil {
		r.onReload(r.fullStatus(st))
	}
	return r.snap.Load() != before, err
}

// reloadLocked asks every source for its keys and swaps in a new snapshot
// if they changed. Sources that failed as a whole keep their last good
// keys and are reported in the error, which is returned even when the
// snapshot changed; only a source that never loaded (New, Reconfigure)
// makes the reload fail without changing anything. It returns the refused
// keys of the local sources, or nil if it applied nothing.
func (r *Ring) reloadLocked() ([]*KeyError, error) {
	var (
		keys    []*Key
		skipped []Skipped
		refused []*KeyError
		errs    []error
		fatal   bool
	)
	// Ask every source even if one fails, so that one report names
	// every problem.
	for _, src := range r.srcs {
		res := src.current()
		keys = append(keys, res.keys...)
		skipped = append(skipped, res.skipped...)
		refused = append(refused, res.refused...)
		if res.err != nil {
			errs = append(errs, res.err)
			fatal = fatal || res.fatal
		}
	}
	cur := r.snap.Load()
	keys, dups := r.resolveDuplicates(cur, keys)
	if cur == nil {
		// At start-up a kid shared across sources is a configuration
		// error, not something to resolve silently.
		for _, d := range dups {
			errs, fatal = append(errs, d), true
		}
	}
	if fatal {
		return nil, errors.Join(errs...)
	}
	refused = append(refused, dups...)
	if refused == nil {
		refused = []*KeyError{}
	}
	if !sameErrors(refused, r.status.Load().Refused) {
		for _, e := range refused {
			r.log.Warn("keyring: key refused; the other keys of its source are in use", "error", e)
		}
	}
	owners := r.owners()
	sum := digestKeys(owners, keys)
	if cur != nil && sum == r.digest {
		r.log.Debug("keyring: keys unchanged", "generation", cur.Generation())
		return refused, errors.Join(errs...)
	}
	var gen uint64 = 1
	if cur != nil {
		gen = cur.Generation() + 1
	}
	next, err := newSnapshot(gen, owners, keys)
	if err != nil {
		return nil, errors.Join(append(errs, err)...) // duplicates are resolved above: not reached
	}
	for _, sk := range skipped {
		r.log.Info("keyring: JWK skipped", "source", sk.Source, "index", sk.Index, "kid", sk.KID, "reason", sk.Reason)
	}
	r.snap.Store(next)
	r.digest = sum
	r.logChanges(cur, next)
	return refused, errors.Join(errs...)
}

// resolveDuplicates keeps one key per issuer and kid when sources share a
// kid: the key the current snapshot holds from the same source (a working
// key is never displaced by a newcomer), else the first in source order.
// The others are returned as refused.
func (r *Ring) resolveDuplicates(cur *Snapshot, keys []*Key) ([]*Key, []*KeyError) {
	type slot struct{ issuer, kid string }
	winner := map[slot]*Key{}
	for _, k := range keys {
		if k.ID() == "" {
			continue
		}
		at := slot{k.Issuer(), k.ID()}
		w, taken := winner[at]
		if !taken || incumbent(cur, k) && !incumbent(cur, w) {
			winner[at] = k
		}
	}
	var dups []*KeyError
	out := keys[:0:0]
	for _, k := range keys {
		if w := winner[slot{k.Issuer(), k.ID()}]; k.ID() != "" && w != k {
			where := "global keys"
			if k.Issuer() != "" {
				where = fmt.Sprintf("keys of issuer %q", k.Issuer())
			}
			dups = append(dups, &KeyError{Source: k.Source(), Index: -1, KID: k.ID(),
				Err: errf(ErrDuplicateKID, "kid also used by a key from %s among the %s; this one is not used", sourceName(w), where)})
			continue
		}
		out = append(out, k)
	}
	return out, dups
}

// incumbent reports whether cur holds a key with k's issuer, kid and
// source.
func incumbent(cur *Snapshot, k *Key) bool {
	if cur == nil {
		return false
	}
	sc := cur.scopes[k.Issuer()]
	if sc == nil {
		return false
	}
	c, ok := sc.byKID[k.ID()]
	return ok && c.Issuer() == k.Issuer() && c.Source() == k.Source()
}

// logChanges logs the keys added and removed by a swap: source, issuer,
// kid, alg and fingerprint only.
func (r *Ring) logChanges(prev, next *Snapshot) {
	type id struct{ issuer, kid, thumb string }
	old := map[id]bool{}
	if prev != nil {
		for _, k := range prev.keys {
			old[id{k.Issuer(), k.ID(), k.thumbprint}] = true
		}
	}
	for _, k := range next.keys {
		key := id{k.Issuer(), k.ID(), k.thumbprint}
		if old[key] {
			delete(old, key)
			continue
		}
		r.log.Info("keyring: key loaded", k.logAttrs()...)
	}
	if prev != nil {
		for _, k := range prev.keys {
			if old[id{k.Issuer(), k.ID(), k.thumbprint}] {
				r.log.Info("keyring: key removed", k.logAttrs()...)
			}
		}
	}
	r.log.Info("keyring: keys swapped", "generation", next.Generation(), "keys", next.Len())
}

// logAttrs names a key in a log line: source, issuer, kid, alg, and the
// fingerprint of a public key or the size of an HMAC secret (nothing
// derived from a secret).
func (k *Key) logAttrs() []any {
	attrs := []any{"source", k.Source(), "issuer", k.Issuer(), "kid", k.ID(), "alg", string(k.Alg())}
	if fp := k.Fingerprint(); fp != "" {
		return append(attrs, "fingerprint", fp)
	}
	return append(attrs, "bits", k.Bits())
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
