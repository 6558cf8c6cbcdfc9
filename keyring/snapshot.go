package keyring

import (
	"errors"
	"fmt"
	"slices"
)

// Snapshot is an immutable, indexed set of keys: one version of a keyring.
// It is safe for concurrent use by any number of goroutines and never
// changes after NewSnapshot returns; a reload builds a new Snapshot with a
// higher generation instead. Callers that cache verification results record
// the generation they verified under and treat a result as stale once the
// current generation differs.
type Snapshot struct {
	gen  uint64
	keys []*Key
	// scopes maps an issuer to its keys; the "" entry holds the global keys,
	// usable for any issuer.
	scopes map[string]*scope
}

// scope indexes the keys one issuer may use.
type scope struct {
	// byKID holds the scope's own keys (for an issuer: not the global ones;
	// Find falls back to the global scope itself).
	byKID map[string]*Key
	// byAlg answers kid-less lookups: the single key with that alg among
	// the scope's own keys and the global keys. Algs with two or more
	// candidates are absent: a token without kid must not pick one.
	byAlg map[Algorithm]*Key
}

// NewSnapshot indexes keys by issuer (Key.Issuer; "" makes a key global)
// and kid. Two keys with the same issuer and kid are an error matching
// ErrDuplicateKID. Keys() keeps the order given here.
func NewSnapshot(generation uint64, keys ...*Key) (*Snapshot, error) {
	s := &Snapshot{gen: generation, keys: slices.Clone(keys), scopes: map[string]*scope{}}
	var errs []error
	for _, k := range s.keys {
		if k == nil {
			errs = append(errs, errors.New("keyring: nil key"))
			continue
		}
		sc := s.scopes[k.Issuer()]
		if sc == nil {
			sc = &scope{byKID: map[string]*Key{}}
			s.scopes[k.Issuer()] = sc
		}
		if prev, dup := sc.byKID[k.ID()]; dup {
			where := "global keys"
			if k.Issuer() != "" {
				where = fmt.Sprintf("issuer %q", k.Issuer())
			}
			errs = append(errs, &KeyError{Source: k.Source(), Index: -1, KID: k.ID(),
				Err: errf(ErrDuplicateKID, "kid also used by a key from %s among the %s", sourceName(prev), where)})
			continue
		}
		sc.byKID[k.ID()] = k
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	global := s.scopes[""]
	if global == nil {
		global = &scope{byKID: map[string]*Key{}}
		s.scopes[""] = global
	}
	// Precompute the kid-less answers once, so Find never scans.
	globalCount := algCounts(nil, global)
	global.byAlg = uniqueByAlg(globalCount)
	for iss, sc := range s.scopes {
		if iss == "" {
			continue
		}
		sc.byAlg = uniqueByAlg(algCounts(globalCount, sc))
	}
	return s, nil
}

func sourceName(k *Key) string {
	if k.Source() == "" {
		return "(no source)"
	}
	return k.Source()
}

type algCandidates struct {
	key *Key
	n   int
}

// algCounts adds the keys of sc to a copy of base.
func algCounts(base map[Algorithm]algCandidates, sc *scope) map[Algorithm]algCandidates {
	m := make(map[Algorithm]algCandidates, len(base)+len(sc.byKID))
	for a, c := range base {
		m[a] = c
	}
	for _, k := range sc.byKID {
		c := m[k.Alg()]
		m[k.Alg()] = algCandidates{key: k, n: c.n + 1}
	}
	return m
}

func uniqueByAlg(counts map[Algorithm]algCandidates) map[Algorithm]*Key {
	m := map[Algorithm]*Key{}
	for a, c := range counts {
		if c.n == 1 {
			m[a] = c.key
		}
	}
	return m
}

// Snapshot returns s itself, so a fixed set of keys can stand in wherever
// a live keyring (anything with a Snapshot() *Snapshot method, such as
// *Ring) is expected.
func (s *Snapshot) Snapshot() *Snapshot { return s }

// Generation returns the version number of s. A Ring starts at 1 and adds
// one for every reload that changed the keys.
func (s *Snapshot) Generation() uint64 { return s.gen }

// Len returns the number of keys.
func (s *Snapshot) Len() int { return len(s.keys) }

// Keys returns the keys in a stable order (the order they were loaded in).
// The slice is a copy; the keys are shared and immutable.
func (s *Snapshot) Keys() []*Key { return slices.Clone(s.keys) }

// Find returns the key for a token from issuer with header kid and alg. It
// allocates nothing and is meant for the request path.
//
// A nil kid means the token header has no "kid". Any other kid, the empty
// one included, must equal a key's kid exactly: "kid": "" names no key and
// is not read as a missing kid (that would hand the token the only key of
// its alg).
//
// With a kid, the key with that kid among the issuer's own keys wins, then
// a global key with that kid; a key of another issuer is never returned.
// Find does not compare alg then: the caller checks key.Alg() against the
// header and reports a mismatch as such (the key decides the algorithm).
//
// Without a kid, Find returns the one key with exactly alg among the
// issuer's keys and the global keys, and nothing if there are none or
// several: guessing among candidates is how confusion attacks start.
func (s *Snapshot) Find(issuer, kid []byte, alg Algorithm) (*Key, bool) {
	if s == nil || s.scopes == nil {
		return nil, false
	}
	// m[string(b)] lookups do not allocate (the compiler borrows b).
	var sc *scope
	if len(issuer) > 0 {
		sc = s.scopes[string(issuer)]
	}
	if kid != nil {
		if sc != nil {
			if k, ok := sc.byKID[string(kid)]; ok {
				return k, true
			}
		}
		k, ok := s.scopes[""].byKID[string(kid)]
		return k, ok
	}
	if sc == nil {
		sc = s.scopes[""]
	}
	k, ok := sc.byAlg[alg]
	return k, ok
}
