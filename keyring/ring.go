package keyring

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ErrAlgNotAllowed reports a key whose alg is not in its source's Algs
// allow-list.
var ErrAlgNotAllowed = errors.New("keyring: alg not allowed for this source")

// Source is one place keys come from. Exactly one of Path, Env, Inline and
// Remote is set.
type Source struct {
	// Path is a file holding a JWK, a JWK Set, PEM public keys or
	// certificates, or (Secret) an HMAC secret.
	Path string
	// Env names an environment variable holding an HMAC secret; Secret
	// must be set. The variable is read at every reload.
	Env string
	// Inline is a JWK, JWK Set or PEM document given in the configuration.
	// (Secrets belong in a file or the environment, not in config.)
	Inline []byte
	// Secret marks Path or Env as an HMAC secret in Encoding.
	Secret   bool
	Encoding SecretEncoding
	// Alg binds keys without an "alg" (RSA, HMAC); a JWK's own "alg" must
	// equal it when both are set. See Options.Alg.
	Alg Algorithm
	// Algs, when not empty, is the allow-list for this source: a key
	// whose alg is not in it fails the load.
	Algs []Algorithm
	// ID is the kid of the source's single key (not allowed for a JWK
	// Set); Issuer restricts the source's keys to one "iss"; Client labels
	// them. See Options.
	ID, Issuer, Client string
	// Remote is a JWK Set fetched over https, directly or through OpenID
	// Connect discovery. Its alg, allow-list, issuer and client are set in
	// the RemoteConfig; the other fields of the Source stay empty. The
	// ring keeps the last good document in memory and Reload builds the
	// snapshot from it; Start refreshes it.
	Remote *RemoteConfig
}

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
	sources  []Source
	names    []string
	remotes  []*remote // parallel to sources; nil for local sources (under mu)
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
		names:    make([]string, len(cfg.Sources)),
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
	var errs []error
	for i, s := range cfg.Sources {
		s = s.clone()
		r.sources[i] = s
		r.names[i] = s.name(i)
		if err := s.validate(); err != nil {
			errs = append(errs, fmt.Errorf("keyring: source %s: %w", r.names[i], err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	remotes, err := r.newRemotes(r.sources, nil)
	if err != nil {
		r.cancel()
		return nil, err
	}
	r.remotes = remotes
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

// clone copies what the caller could change under the ring.
func (s Source) clone() Source {
	s.Inline = bytes.Clone(s.Inline)
	s.Algs = append([]Algorithm(nil), s.Algs...)
	if s.Remote != nil {
		rc := *s.Remote
		rc.Algs = slices.Clone(rc.Algs)
		s.Remote = &rc
	}
	return s
}

func (s Source) name(i int) string {
	switch {
	case s.Remote != nil:
		return s.Remote.URL()
	case s.Path != "":
		return s.Path
	case s.Env != "":
		return "env:" + s.Env
	}
	return "inline#" + strconv.Itoa(i)
}

func (s Source) validate() error {
	n := 0
	for _, set := range []bool{s.Path != "", s.Env != "", s.Inline != nil, s.Remote != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("exactly one of path, env, inline and remote must be set")
	}
	if s.Remote != nil {
		if s.Secret || s.Encoding != SecretRaw || s.Alg != "" || len(s.Algs) > 0 || s.ID != "" || s.Issuer != "" || s.Client != "" {
			return errors.New("a remote source takes its alg, algs, issuer and client from its RemoteConfig: set only Remote")
		}
		return errors.Join(s.Remote.validate()...)
	}
	if s.Env != "" && !s.Secret {
		return errors.New("an environment variable can only hold an HMAC secret (set secret)")
	}
	if s.Inline != nil && s.Secret {
		return errors.New("inline HMAC secrets are not accepted: use a file or an environment variable")
	}
	if !s.Secret && s.Encoding != SecretRaw {
		return errors.New("an encoding applies to secrets only")
	}
	if s.Encoding > SecretHex {
		return fmt.Errorf("unknown secret encoding %d", s.Encoding)
	}
	if s.Alg != "" {
		if _, ok := LookupAlgorithm([]byte(s.Alg)); !ok {
			return fmt.Errorf("unsupported alg %q", string(s.Alg))
		}
	}
	for _, a := range s.Algs {
		if _, ok := LookupAlgorithm([]byte(a)); !ok {
			return fmt.Errorf("unsupported alg %q in algs", string(a))
		}
	}
	if s.Alg != "" && len(s.Algs) > 0 && !algAllowed(s.Algs, s.Alg) {
		return fmt.Errorf("alg %s is not in the source's algs", s.Alg)
	}
	if s.Secret && s.Alg == "" {
		return errors.New("an HMAC secret needs an alg (HS256, HS384 or HS512)")
	}
	return nil
}

func algAllowed(algs []Algorithm, a Algorithm) bool {
	for _, x := range algs {
		if x == a {
			return true
		}
	}
	return false
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
// every source holds the same bytes as when the current snapshot was built,
// nothing is swapped and the generation stays; otherwise the new snapshot
// gets the next generation, and keys that are no longer in the sources are
// gone from it. Reloads are serialised.
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
	inputs := make([][]byte, len(r.sources))
	defer func() {
		for _, b := range inputs {
			clear(b) // secrets among them: leave no copies around
		}
	}()
	var errs []error
	unread := make([]bool, len(r.sources))
	// One state per remote for the digest and the keys alike, though a
	// fetch may publish a newer one meanwhile (it rebuilds after us).
	states := make([]*remoteState, len(r.sources))
	for i, s := range r.sources {
		if m := r.remotes[i]; m != nil {
			states[i] = m.state.Load()
			inputs[i] = remoteInput(states[i])
			continue
		}
		b, err := readSource(s)
		if err != nil {
			errs = append(errs, &KeyError{Source: r.names[i], Index: -1, Err: err})
			unread[i] = true
			continue
		}
		inputs[i] = b
	}
	sum := digestInputs(inputs)
	cur := r.snap.Load()
	if len(errs) == 0 && cur != nil && sum == r.digest {
		r.log.Debug("keyring: sources unchanged", "generation", cur.Generation())
		return nil
	}

	// Parse whatever could be read even if a source could not, so that one
	// report names every problem.
	var keys []*Key
	for i, s := range r.sources {
		if unread[i] {
			continue
		}
		if states[i] != nil {
			keys = append(keys, states[i].keys...) // parsed when fetched
			continue
		}
		ks, skipped, err := r.parseSource(i, s, inputs[i])
		for _, sk := range skipped {
			r.log.Info("keyring: JWK skipped", "source", sk.Source, "index", sk.Index, "kid", sk.KID, "reason", sk.Reason)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		keys = append(keys, ks...)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	var gen uint64 = 1
	if cur != nil {
		gen = cur.Generation() + 1
	}
	next, err := NewSnapshot(gen, keys...)
	if err != nil {
		return err
	}
	r.snap.Store(next)
	r.digest = sum
	r.logChanges(cur, next)
	return nil
}

func (r *Ring) parseSource(i int, s Source, data []byte) ([]*Key, []Skipped, error) {
	o := Options{ID: s.ID, Alg: s.Alg, Issuer: s.Issuer, Client: s.Client, Source: r.names[i]}
	var (
		keys    []*Key
		skipped []Skipped
		err     error
	)
	if s.Secret {
		var k *Key
		k, err = ParseSecret(data, s.Encoding, o)
		keys = []*Key{k}
	} else {
		keys, skipped, err = ParseKeysReport(data, o)
	}
	if err != nil {
		return nil, skipped, err
	}
	if len(s.Algs) > 0 {
		var errs []error
		for _, k := range keys {
			if !algAllowed(s.Algs, k.Alg()) {
				errs = append(errs, &KeyError{Source: o.Source, Index: -1, KID: k.ID(),
					Err: errf(ErrAlgNotAllowed, "alg %s is not in the allow-list %v", k.Alg(), s.Algs)})
			}
		}
		if len(errs) > 0 {
			return nil, skipped, errors.Join(errs...)
		}
	}
	return keys, skipped, nil
}

// readSource returns the bytes of a source, at most MaxDocumentSize.
func readSource(s Source) ([]byte, error) {
	switch {
	case s.Path != "":
		f, err := os.Open(s.Path)
		if err != nil {
			return nil, withoutPath(err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, MaxDocumentSize+1))
		if err != nil {
			return nil, withoutPath(err)
		}
		if len(b) > MaxDocumentSize {
			return nil, errf(ErrTooLarge, "file is larger than %d bytes", MaxDocumentSize)
		}
		return b, nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return nil, errors.New("environment variable is not set")
		}
		return []byte(v), nil
	}
	return bytes.Clone(s.Inline), nil
}

// withoutPath drops the path from an *fs.PathError: the KeyError around it
// names the source already.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// digestInputs hashes all inputs, length-prefixed, so that moving bytes
// from one source to the next changes the digest.
func digestInputs(inputs [][]byte) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, b := range inputs {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// logChanges logs the keys added and removed by a swap: source, issuer,
// kid, alg and fingerprint only.
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
	oldSources, oldNames, oldDigest := r.sources, r.names, r.digest
	r.sources, r.names, r.remotes = next, names, remotes
	r.publishRemotes()
	// Same bytes under other options (alg, issuer, client) are a change:
	// force a rebuild.
	r.digest = [sha256.Size]byte{}
	if _, err := r.reloadReportLocked(); err != nil {
		r.sources, r.names, r.remotes, r.digest = oldSources, oldNames, oldRemotes, oldDigest
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
