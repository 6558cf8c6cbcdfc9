package keyring

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
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
	// scopes maps an issuer that has keys of its own to them; the ""
	// entry holds the global keys, for tokens of every other issuer.
	scopes map[string]*scope
}

// scope indexes the keys one issuer may use.
type scope struct {
	byKID map[string]*Key
	// byAlg answers kid-less lookups: the single key with that alg in the
	// scope. Algs with two or more candidates are absent: a token without
	// kid must not pick one.
	byAlg map[Algorithm]*Key
}

// NewSnapshot indexes keys by issuer (Key.Issuer; "" makes a key global)
// and kid. Two keys with the same issuer and kid are an error matching
// ErrDuplicateKID. Keys() keeps the order given here.
func NewSnapshot(generation uint64, keys ...*Key) (*Snapshot, error) {
	return newSnapshot(generation, nil, keys)
}

// newSnapshot is NewSnapshot for a ring: owners are the issuers that have
// key sources of their own, whether or not those hold keys yet (a provider
// that has not answered still owns its issuer's tokens).
func newSnapshot(generation uint64, owners []string, keys []*Key) (*Snapshot, error) {
	s := &Snapshot{gen: generation, keys: slices.Clone(keys), scopes: map[string]*scope{}}
	scopeOf := func(iss string) *scope {
		sc := s.scopes[iss]
		if sc == nil {
			sc = &scope{byKID: map[string]*Key{}, byAlg: map[Algorithm]*Key{}}
			s.scopes[iss] = sc
		}
		return sc
	}
	scopeOf("")
	for _, iss := range owners {
		scopeOf(iss)
	}
	var errs []error
	for _, k := range s.keys {
		if k == nil {
			errs = append(errs, errors.New("keyring: nil key"))
			continue
		}
		sc := scopeOf(k.Issuer())
		if k.ID() == "" {
			continue // found by alg only (a kid-less HMAC secret)
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
	// Precompute the kid-less answers once, so Find never scans.
	count := map[*scope]map[Algorithm]int{}
	for _, k := range s.keys {
		sc := s.scopes[k.Issuer()]
		if count[sc] == nil {
			count[sc] = map[Algorithm]int{}
		}
		count[sc][k.Alg()]++
		sc.byAlg[k.Alg()] = k
	}
	for sc, n := range count {
		for a, c := range n {
			if c > 1 {
				delete(sc.byAlg, a)
			}
		}
	}
	return s, nil
}

func sourceName(k *Key) string {
	if k.Source() == "" {
		return "(no source)"
	}
	return k.Source()
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
// The issuer chooses the keys: an issuer that has keys of its own (keys
// restricted to it, or a key source configured for it) is verified with
// those only, never with global keys, so a static key cannot sign for an
// identity provider's issuer. Any other issuer, and a token without "iss",
// gets the global keys.
//
// A nil kid means the token header has no "kid". Any other kid, the empty
// one included, must equal a key's kid exactly: "kid": "" names no key and
// is not read as a missing kid (that would hand the token the only key of
// its alg). Find does not compare alg then: the caller checks key.Alg()
// against the header and reports a mismatch as such (the key decides the
// algorithm).
//
// Without a kid, Find returns the one key with exactly alg among the
// issuer's keys, and nothing if there are none or several: guessing among
// candidates is how confusion attacks start.
func (s *Snapshot) Find(issuer, kid []byte, alg Algorithm) (*Key, bool) {
	if s == nil || s.scopes == nil {
		return nil, false
	}
	// m[string(b)] lookups do not allocate (the compiler borrows b).
	sc := s.scopes[""]
	if len(issuer) > 0 {
		if own, ok := s.scopes[string(issuer)]; ok {
			sc = own
		}
	}
	if kid != nil {
		k, ok := sc.byKID[string(kid)]
		return k, ok
	}
	k, ok := sc.byAlg[alg]
	return k, ok
}

// HasKeysFor reports whether any key could verify a token from issuer:
// keys of its own if it has a key scope, else global keys. It tells "no
// keys for the token's issuer" (an issuer written differently in the
// configuration, or a provider that has not answered) from a kid that is
// merely unknown, for a miss of Find. It allocates nothing.
func (s *Snapshot) HasKeysFor(issuer []byte) bool {
	if s == nil || s.scopes == nil {
		return false
	}
	sc := s.scopes[""]
	if len(issuer) > 0 {
		if own, ok := s.scopes[string(issuer)]; ok {
			sc = own
		}
	}
	return len(sc.byKID) > 0 || len(sc.byAlg) > 0
}

// issuers returns the issuers that have key scopes, sorted.
func (s *Snapshot) issuers() []string {
	var out []string
	for iss := range s.scopes {
		if iss != "" {
			out = append(out, iss)
		}
	}
	slices.Sort(out)
	return out
}

// digestKeys is the identity of a set of keys as a snapshot uses them: for
// each key its issuer, kid, alg, client, source and thumbprint, and the
// issuers that own key scopes. The keys are sorted first, so the order a
// provider happens to list them in (or the layout of a file) is not a
// change; anything that changes what a token verifies with is.
func digestKeys(owners []string, keys []*Key) [sha256.Size]byte {
	recs := make([][]byte, 0, len(keys)+len(owners))
	for _, iss := range owners {
		recs = append(recs, appendField(appendField(nil, "owner"), iss))
	}
	for _, k := range keys {
		var b []byte
		for _, f := range []string{"key", k.issuer, k.id, string(k.alg), k.client, k.source, k.thumbprint} {
			b = appendField(b, f)
		}
		recs = append(recs, b)
	}
	slices.SortFunc(recs, bytes.Compare)
	recs = slices.CompactFunc(recs, bytes.Equal) // an owner listed twice is one owner
	h := sha256.New()
	for _, b := range recs {
		h.Write(b)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// appendField appends s with its length, so that fields cannot run into
// each other.
func appendField(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
}
