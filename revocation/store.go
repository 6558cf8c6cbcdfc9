package revocation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxTokenLifetime = 24 * time.Hour
	DefaultMaxEntries       = 1_000_000
)

// ErrFull reports an addition beyond Options.MaxEntries.
var ErrFull = errors.New("revocation: too many rules")

// Options configure a Store.
type Options struct {
	// MaxTokenLifetime is the longest lifetime (exp − iat) of any token
	// the verifier accepts; the verifier must refuse longer-lived tokens,
	// or a token outlives the rules that name it. A subject rule matches
	// tokens whose exp is at most Before + MaxTokenLifetime, a jti rule
	// without its token's exp tokens whose exp is at most its addition +
	// Leeway + MaxTokenLifetime (see Entry.Expires). Default
	// DefaultMaxTokenLifetime.
	MaxTokenLifetime time.Duration
	// Leeway is the largest clock skew the verifier tolerates on "exp" and
	// "iat", over every issuer's policy. The verifier accepts a token
	// while now < exp + Leeway, so a rule is forgotten only at the exp of
	// the last token it matches plus Leeway (rounded up to the second): in
	// memory, in the Redis TTL, in List. Zero means the verifier allows no
	// skew.
	Leeway time.Duration
	// MaxEntries bounds the number of rules; Add beyond it fails with
	// ErrFull (file loads fail likewise). Default DefaultMaxEntries.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives changes: kind, issuer, value and source of a rule,
	// never a token. Nil discards.
	Logger *slog.Logger
}

// layer names
const (
	layerFile = iota
	layerLocal
	layerShared
	numLayers
)

// Store is the in-memory revocation set. Revoked never blocks and may be
// called by any number of goroutines while rules change.
type Store struct {
	maxLifetime time.Duration
	leeway      atomic.Int64 // time.Duration; SetLeeway changes it
	maxEntries  int
	now         func() time.Time
	log         *slog.Logger

	cur atomic.Pointer[set]

	mu     sync.Mutex // writers only
	layers [numLayers]map[Key]stored
	// fileErr is the error of the last file load, nil if it succeeded.
	fileErr  error
	fileLoad time.Time
	changes  atomic.Uint64
}

// stored is a rule with the time it was added, which Sync uses to keep
// local additions made while a full reload was running.
type stored struct {
	Entry
	added time.Time
}

// set is one immutable version of the rules, indexed for Revoked.
type set struct {
	n int
	// jti → issuer ("" for any) → expiry, Unix nanoseconds.
	jti map[string]map[string]int64
	// sub → issuer ("" for any) → rule.
	sub map[string]map[string]subRule
}

type subRule struct {
	before  float64 // NumericDate seconds
	expires int64   // Unix nanoseconds
}

// NewStore returns an empty Store.
func NewStore(o Options) *Store {
	s := &Store{maxLifetime: o.MaxTokenLifetime, maxEntries: o.MaxEntries, now: o.Now, log: o.Logger}
	if s.maxLifetime <= 0 {
		s.maxLifetime = DefaultMaxTokenLifetime
	}
	if s.maxEntries <= 0 {
		s.maxEntries = DefaultMaxEntries
	}
	s.leeway.Store(int64(max(o.Leeway, 0)))
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for i := range s.layers {
		s.layers[i] = map[Key]stored{}
	}
	s.cur.Store(&set{})
	return s
}

// MaxTokenLifetime returns the configured bound on token lifetimes.
func (s *Store) MaxTokenLifetime() time.Duration { return s.maxLifetime }

// Leeway returns the leeway rules are kept for after their exp.
func (s *Store) Leeway() time.Duration { return time.Duration(s.leeway.Load()) }

// SetLeeway changes Options.Leeway, for a configuration reload. Raise it
// before the verifier accepts the longer leeway and lower it after: a
// rule already forgotten under the smaller leeway does not come back.
// Rules written to Redis keep the TTL they were written with.
func (s *Store) SetLeeway(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leeway.Store(int64(max(d, 0)))
	s.rebuildLocked(s.now())
}

// Revoked reports whether a token with these claims is revoked at now: its
// jti is denied, or its subject has a cutoff after its iat (or it has no
// iat). It allocates nothing and takes no lock.
func (s *Store) Revoked(iss, sub, jti []byte, iat float64, hasIat bool, now time.Time) bool {
	st := s.cur.Load()
	if st.n == 0 {
		return false
	}
	t := now.UnixNano()
	if len(jti) > 0 {
		if m := st.jti[string(jti)]; m != nil {
			if exp, ok := m[""]; ok && t < exp {
				return true
			}
			if exp, ok := m[string(iss)]; ok && len(iss) > 0 && t < exp {
				return true
			}
		}
	}
	if len(sub) > 0 {
		if m := st.sub[string(sub)]; m != nil {
			if r, ok := m[""]; ok && r.denies(iat, hasIat, t) {
				return true
			}
			if r, ok := m[string(iss)]; ok && len(iss) > 0 && r.denies(iat, hasIat, t) {
				return true
			}
		}
	}
	return false
}

func (r subRule) denies(iat float64, hasIat bool, t int64) bool {
	return t < r.expires && (!hasIat || iat < r.before)
}

// forgetAt is when e stops mattering: the verifier accepts the last token
// e matches (whose exp is e.Expires) while now < exp + leeway. Rounding up
// to the second keeps the rule past any sub-second difference between
// the token's NumericDate, read as a float64 by the verifier, and the
// rule's time, and matches the wire form (whole seconds, rounded up).
func (s *Store) forgetAt(e Entry) time.Time {
	t := e.Expires.Add(s.Leeway())
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// live reports whether e may still deny a token that verifies at now.
func (s *Store) live(e Entry, now time.Time) bool { return s.forgetAt(e).After(now) }

// ttl is how long Redis must keep e from now on: until forgetAt, rounded
// up to the millisecond (Redis's unit). Zero or less means e is over. A
// relative TTL, counted by Redis from when it receives the command, does
// not depend on Redis's clock agreeing with this one.
func (s *Store) ttl(e Entry, now time.Time) time.Duration {
	d := s.forgetAt(e).Sub(now)
	if r := d.Truncate(time.Millisecond); r != d {
		return r + time.Millisecond
	}
	return d
}

// Len returns the number of rules in force (the same rule in two layers
// counts once).
func (s *Store) Len() int { return s.cur.Load().n }

// Changes counts the swaps of the rule set, for tests and metrics.
func (s *Store) Changes() uint64 { return s.changes.Load() }

// normalize checks e and fills in its expiry.
func (s *Store) normalize(e Entry, now time.Time) (Entry, error) {
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	if e.Expires.IsZero() {
		if e.Kind == KindSubject {
			// A matched token has iat < Before and exp ≤ iat + max
			// lifetime.
			e.Expires = e.Before.Add(s.maxLifetime)
		} else {
			// The latest exp of a token that verifies now: its iat is at
			// most the leeway ahead (the verifier refuses a later one).
			e.Expires = now.Add(s.Leeway() + s.maxLifetime)
		}
	}
	return e, nil
}

// Add puts a local rule in force at once (the admin API without Redis).
// A rule with the key of an existing one replaces it.
func (s *Store) Add(e Entry) (Entry, error) {
	return s.addTo(layerLocal, e, "api")
}

func (s *Store) addTo(layer int, e Entry, source string) (Entry, error) {
	now := s.now()
	e, err := s.normalize(e, now)
	if err != nil {
		return Entry{}, err
	}
	if e.Source == "" {
		e.Source = source
	}
	if !s.live(e, now) {
		return e, nil // no token it matches can still verify
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.layers[layer][e.Key()]; !exists && s.countLocked() >= s.maxEntries {
		return Entry{}, fmt.Errorf("%w (max %d)", ErrFull, s.maxEntries)
	}
	s.layers[layer][e.Key()] = stored{Entry: e, added: now}
	s.rebuildLocked(now)
	s.log.Info("revocation: rule added", "rule", e.Key().String(), "source", e.Source, "exp", e.Expires, "kept_until", s.forgetAt(e))
	return e, nil
}

// Remove deletes the local and shared rules with key k (a file rule stays
// until the file changes) and reports whether there was one.
func (s *Store) Remove(k Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, a := s.layers[layerLocal][k]
	_, b := s.layers[layerShared][k]
	delete(s.layers[layerLocal], k)
	delete(s.layers[layerShared], k)
	if a || b {
		s.rebuildLocked(s.now())
		s.log.Info("revocation: rule removed", "rule", k.String())
	}
	return a || b
}

// InFile reports whether a rule with key k comes from the revocation file.
func (s *Store) InFile(k Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.layers[layerFile][k]
	return ok
}

// List returns the rules in force, every layer, expired ones left out.
func (s *Store) List() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []Entry
	for _, l := range s.layers {
		for _, e := range l {
			if s.live(e.Entry, now) {
				out = append(out, e.Entry)
			}
		}
	}
	return out
}

// SetFile replaces the file layer with entries.
func (s *Store) SetFile(entries []Entry) error {
	now := s.now()
	next := make(map[Key]stored, len(entries))
	for i, e := range entries {
		e, err := s.normalize(e, now)
		if err != nil {
			return fmt.Errorf("revocations[%d]: %w", i, err)
		}
		e.Source = "file"
		if s.live(e, now) {
			next[e.Key()] = stored{Entry: e, added: now}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(next) > s.maxEntries {
		return fmt.Errorf("%w: the file has %d (max %d)", ErrFull, len(next), s.maxEntries)
	}
	s.layers[layerFile] = next
	s.rebuildLocked(now)
	return nil
}

// LoadFile reads and parses a revocation file and replaces the file layer
// with it. On any error the previous file rules stay in force.
func (s *Store) LoadFile(path string) error {
	err := s.loadFile(path)
	s.mu.Lock()
	s.fileErr, s.fileLoad = err, s.now()
	s.mu.Unlock()
	if err != nil {
		s.log.Error("revocation: file not loaded; keeping the previous file rules", "path", path, "error", err)
		return err
	}
	s.log.Info("revocation: file loaded", "path", path, "rules", s.fileLen())
	return nil
}

func (s *Store) loadFile(path string) error {
	data, err := readLimited(path, maxFileSize)
	if err != nil {
		return err
	}
	entries, err := ParseFile(data)
	if err != nil {
		return err
	}
	return s.SetFile(entries)
}

func (s *Store) fileLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.layers[layerFile])
}

// FileStatus returns the time and error of the last file load.
func (s *Store) FileStatus() (at time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fileLoad, s.fileErr
}

// maxFileSize bounds a revocation file.
const maxFileSize = 256 << 20

func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, nil
}

// replaceShared swaps the shared layer for entries (a full reload from
// Redis), keeping two kinds of shared rule the answer lacks: those added
// after keepAfter, written while the reload ran (its answer cannot know
// them yet), and those past their exp but not their exp + leeway: Redis
// may have let them go under the TTL of a replica configured with a
// smaller leeway (or whose clock runs ahead), while tokens they name still
// verify here.
func (s *Store) replaceShared(entries []Entry, keepAfter time.Time) {
	now := s.now()
	next := make(map[Key]stored, len(entries))
	for _, e := range entries {
		e, err := s.normalize(e, now)
		if err != nil || !s.live(e, now) {
			continue
		}
		e.Source = "redis"
		next[e.Key()] = stored{Entry: e, added: now}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.layers[layerShared] {
		if _, ok := next[k]; ok {
			continue
		}
		if e.added.After(keepAfter) || !now.Before(e.Expires) && s.live(e.Entry, now) {
			next[k] = e
		}
	}
	s.layers[layerShared] = next
	s.rebuildLocked(now)
}

// shared returns the rules of the shared layer.
func (s *Store) shared() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, 0, len(s.layers[layerShared]))
	for _, e := range s.layers[layerShared] {
		out = append(out, e.Entry)
	}
	return out
}

// applyShared adds (del false) or removes shared rules in one swap.
func (s *Store) applyShared(adds []Entry, dels []Key) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range dels {
		delete(s.layers[layerShared], k)
		delete(s.layers[layerLocal], k)
	}
	for _, e := range adds {
		e, err := s.normalize(e, now)
		if err != nil || !s.live(e, now) {
			continue
		}
		if e.Source == "" {
			e.Source = "redis"
		}
		s.layers[layerShared][e.Key()] = stored{Entry: e, added: now}
	}
	s.rebuildLocked(now)
}

// Sweep forgets rules that have expired and reports how many it dropped.
// Expired rules never deny anything, so sweeping only frees memory.
func (s *Store) Sweep() int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.layers {
		maps.DeleteFunc(l, func(_ Key, e stored) bool {
			if !s.live(e.Entry, now) {
				n++
				return true
			}
			return false
		})
	}
	if n > 0 {
		s.rebuildLocked(now)
	}
	return n
}

// Run sweeps expired rules every interval until ctx is done.
func (s *Store) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

func (s *Store) countLocked() int {
	n := 0
	for _, l := range s.layers {
		n += len(l)
	}
	return n
}

// rebuildLocked builds a new set from every layer and swaps it in. When
// two layers hold the same rule, the stronger wins: the later expiry, the
// later cutoff.
func (s *Store) rebuildLocked(now time.Time) {
	st := &set{jti: map[string]map[string]int64{}, sub: map[string]map[string]subRule{}}
	for _, l := range s.layers {
		for _, e := range l {
			if !s.live(e.Entry, now) {
				continue
			}
			exp := unixNano(s.forgetAt(e.Entry))
			switch e.Kind {
			case KindJTI:
				m := st.jti[e.JTI]
				if m == nil {
					m = map[string]int64{}
					st.jti[e.JTI] = m
				}
				if old, ok := m[e.Issuer]; !ok {
					st.n++
					m[e.Issuer] = exp
				} else if exp > old {
					m[e.Issuer] = exp
				}
			case KindSubject:
				m := st.sub[e.Subject]
				if m == nil {
					m = map[string]subRule{}
					st.sub[e.Subject] = m
				}
				r := subRule{before: float64(e.Before.Unix()) + float64(e.Before.Nanosecond())/1e9, expires: exp}
				if old, ok := m[e.Issuer]; !ok {
					st.n++
					m[e.Issuer] = r
				} else {
					m[e.Issuer] = subRule{before: max(old.before, r.before), expires: max(old.expires, r.expires)}
				}
			}
		}
	}
	s.cur.Store(st)
	s.changes.Add(1)
}

// unixNano is t in Unix nanoseconds, saturated: times after 2262 do not
// fit in an int64, and a rule for a token with a far exp must not wrap
// into the past and deny nothing.
func unixNano(t time.Time) int64 {
	if t.Unix() >= math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	return t.UnixNano()
}
