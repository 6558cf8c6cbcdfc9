// Package cache remembers token verification results so that a token seen
// again costs a hash lookup instead of a signature check.
//
// It is a thin layer over github.com/dgraph-io/ristretto/v2 (TinyLFU
// admission, sampled-LFU eviction, sharded storage) keyed by the raw token
// bytes and generic over the stored result, so it does not depend on the
// verifier. A result cached here is served only if all of the following
// hold, each checked on every Lookup:
//
//   - Identity: the entry keeps its own copy of the whole token and a hit
//     compares every byte with the presented token. The 64-bit hash
//     ristretto indexes by only finds a candidate; it never proves one
//     (fast-jwt GHSA-rp9m-7r4c-75qg served one token's claims for another
//     because it trusted a hash alone).
//   - Key generation: the entry records the keyring generation it was
//     verified under and is a miss under any other, so a key reload or a
//     removed key invalidates every earlier result at once.
//   - Time: an entry is never served at or after its expiry according to
//     the injected clock, whatever ristretto's own, coarser, real-clock TTL
//     says. Entries already expired when offered are not stored.
//
// Failures (a bad signature, a malformed token) may be cached too, for a
// short Config.NegativeTTL, so that a client hammering a bad token costs as
// little as a good one. Revocation is not this package's business: callers
// check it on every hit.
//
// The cache is bounded in bytes: the cost of an entry is the length of its
// token copy plus the size the caller reports for the value plus a fixed
// per-entry overhead (see EntryOverhead), so large tokens (post-quantum
// signatures run to several KiB) are cached like any other, only costing
// more of the budget.
package cache

import (
	"errors"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/dgraph-io/ristretto/v2/z"
)

// DefaultMaxBytes is the byte budget used when Config.MaxBytes is zero.
const DefaultMaxBytes = 64 << 20

// EntryOverhead is the fixed number of bytes charged to every entry on top of
// its token copy, the value's reported size and the entry struct itself
// (token header, generation, expiry, error and the inline part of V, added
// per instantiation from unsafe.Sizeof because it depends on V). It covers:
//
//   - the item's slot in ristretto's shard map (key hash, conflict hash,
//     entry pointer, expiration) at the map's load factor;
//   - the key → conflict pair in ristretto's TTL bucket map;
//   - the key → cost pair in the eviction policy's map;
//   - size-class rounding of the token copy and of the entry.
//
// Measured with runtime.MemStats on go1.26/amd64, V a pointer: 227 to 305
// heap bytes per entry beyond the token (10k to 250k entries; map growth
// steps make it vary), against 200 + 72 charged. TestEntryOverheadMatchesHeap
// fails if the two drift apart. Memory that does not grow with the entries
// is not charged: the admission sketch (about 2 bytes per counter,
// NumCounters of them) and ristretto's 32Ki-slot write buffer.
const EntryOverhead = 200

// avgEntryBytes is the entry size assumed when deriving ristretto's
// NumCounters from the budget: a small JWT (~350 bytes) plus overhead.
// Ristretto wants about ten counters per entry it can hold.
const avgEntryBytes = 512

// Config configures a Cache. Zero values get the defaults noted on each field.
type Config struct {
	// MaxBytes is the budget for all entries, in bytes; the cost of an
	// entry is len(token) + size(value) + EntryOverhead + the entry struct.
	// Default DefaultMaxBytes (64 MiB).
	MaxBytes int64

	// NegativeTTL > 0 enables caching failures for that long; 0 disables
	// SetNegative. Keep it short (seconds): a failure may depend on state
	// that changes, like a key not loaded yet.
	NegativeTTL time.Duration

	// Now is the clock every hit is checked against. Default time.Now.
	Now func() time.Time

	// NumCounters is the number of TinyLFU admission counters. Default
	// 10 × MaxBytes / 512, at least 1024.
	NumCounters int64

	// SecondUse makes Set store a token only when it is offered a second
	// time: the first offer is remembered in a doorkeeper (one hash slot
	// per entry the budget holds) and nothing else is done. A token used
	// once then costs no entry, no copy and no work for ristretto's
	// writer; a token used twice is verified twice. The doorkeeper
	// remembers roughly as many recent tokens as the cache can hold, so a
	// token offered again after that many others counts as new.
	SecondUse bool

	// keyToHash replaces keyToHash, the pair of hashes (key, conflict)
	// ristretto indexes entries by. Only tests set it (export_test.go),
	// to force collisions; it is unexported so that no configuration can
	// swap in a weak hash. Production passes keyToHash itself to
	// ristretto, which calls it through a function value either way.
	keyToHash func(key []byte) (uint64, uint64)
}

// Entry is a cached verification result, returned by value from Lookup.
// Err != nil marks a cached failure (a negative entry); its Value is the
// zero V.
type Entry[V any] struct {
	Value  V
	Err    error
	Expiry time.Time
}

// entry is what ristretto stores, by pointer, and is never modified once
// handed to ristretto. (By value was ~70 ns slower per hit in
// BenchmarkLookupAtHit: ristretto copies the stored item out of its map.)
type entry[V any] struct {
	// token is this entry's own copy of the token bytes: the caller's
	// slice is borrowed (from fasthttp) and dies after the request.
	token  string
	gen    uint64
	expiry time.Time
	err    error
	value  V
	size   int64 // the value's reported size
}

// Cache is a byte-bounded cache of verification results keyed by token.
//
// All methods except Close are safe for concurrent use; Lookup takes no
// lock shared by all callers beyond ristretto's sharded read locks. Set is
// asynchronous and may be dropped or rejected by the admission policy, so
// correct callers never depend on a Set being visible (only tests call
// Wait). Close must be called only after all other calls have returned; a
// closed Cache misses every Lookup and stores nothing.
type Cache[V any] struct {
	rc       *ristretto.Cache[[]byte, *entry[V]]
	now      func() time.Time
	size     func(V) int
	negTTL   time.Duration
	overhead int64
	maxBytes int64

	// Plain atomics: as cheap per Lookup as ristretto's Metrics (which
	// also count a ristretto hit that we then refuse as a hit), and
	// cache-line padding showed no measurable gain on 2 cores.
	hits, negHits, misses                       atomic.Uint64
	sets, dropped, skipped, rejected, evictions atomic.Uint64
	deferred                                    atomic.Uint64

	// doorkeeper holds, per slot, the hash of the last token offered
	// once (Config.SecondUse); nil when off.
	doorkeeper []atomic.Uint64
	doorMask   uint64

	// hot is a small direct-mapped array of recently hit entries, read
	// before ristretto: a hit there skips ristretto's sharded lock and
	// the write of the access into its admission buffers (about 100 ns
	// of a 200 ns hit). An entry in it passes the same checks as one
	// from ristretto (whole token, generation, expiry); only entries
	// of at most hotMaxEntry bytes go in, and their memory is reserved
	// out of the budget.
	hot     []atomic.Pointer[entry[V]]
	hotMask uint64
	reserve int64 // of MaxBytes, for the hot array
	keyHash func([]byte) (uint64, uint64)
}

// hotMaxEntry is the largest entry (token and value) the hot array holds.
const hotMaxEntry = 4 << 10

// New returns a Cache storing values of type V. size reports the bytes a
// value holds beyond its own inline size (strings, slices, maps, pointed-to
// structs it owns); it must not be nil.
func New[V any](cfg Config, size func(V) int) (*Cache[V], error) {
	switch {
	case size == nil:
		return nil, errors.New("cache: nil size function")
	case cfg.MaxBytes < 0:
		return nil, errors.New("cache: negative MaxBytes")
	case cfg.NegativeTTL < 0:
		return nil, errors.New("cache: negative NegativeTTL")
	case cfg.NumCounters < 0:
		return nil, errors.New("cache: negative NumCounters")
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.keyToHash == nil {
		cfg.keyToHash = keyToHash
	}
	if cfg.NumCounters == 0 {
		cfg.NumCounters = max(10*(cfg.MaxBytes/avgEntryBytes), 1024)
	}
	c := &Cache[V]{
		reserve:  hotReserve(cfg.MaxBytes),
		now:      cfg.Now,
		size:     size,
		negTTL:   cfg.NegativeTTL,
		overhead: EntryOverhead + int64(unsafe.Sizeof(entry[V]{})),
		maxBytes: cfg.MaxBytes,
	}
	rc, err := ristretto.NewCache(&ristretto.Config[[]byte, *entry[V]]{
		NumCounters: cfg.NumCounters,
		MaxCost:     cfg.MaxBytes - c.reserve,
		BufferItems: 64,
		KeyToHash:   cfg.keyToHash,
		// Our cost already counts ristretto's per-item memory, and
		// ristretto's own figure (sizeof storeItem[any]) ignores V.
		IgnoreInternalCost: true,
		// Runs on ristretto's single writer goroutine, for victims of
		// the eviction policy, TTL sweeps and Clear.
		OnEvict:  func(*ristretto.Item[*entry[V]]) { c.evictions.Add(1) },
		OnReject: func(*ristretto.Item[*entry[V]]) { c.rejected.Add(1) },
	})
	if err != nil {
		return nil, errors.Join(errors.New("cache: ristretto"), err)
	}
	c.rc = rc
	c.keyHash = cfg.keyToHash
	if hot := cfg.MaxBytes / 16 / hotMaxEntry; hot >= 16 {
		n := uint64(16)
		for n*2 <= uint64(min(hot, 4096)) {
			n <<= 1
		}
		c.hot, c.hotMask = make([]atomic.Pointer[entry[V]], n), n-1
	}
	if cfg.SecondUse {
		n := uint64(1024)
		for n < uint64(cfg.MaxBytes/avgEntryBytes) {
			n <<= 1
		}
		c.doorkeeper, c.doorMask = make([]atomic.Uint64, n), n-1
	}
	return c, nil
}

// firstOffer reports whether token is offered for the first time (as far
// as the doorkeeper remembers), and remembers it if so. A token may sit in
// either of two slots (two hashes of the token): with one, two tokens
// sharing a slot and used in turn would push each other out for ever and
// neither would be stored; with two, that takes sharing both. A hit still
// compares the whole token, so a shared slot never serves another token.
func (c *Cache[V]) firstOffer(token []byte) bool {
	h := z.MemHash(token) | 1 // never 0, the empty slot
	s1 := &c.doorkeeper[h&c.doorMask]
	s2 := &c.doorkeeper[(h>>32|h<<32)&c.doorMask]
	v1, v2 := s1.Load(), s2.Load()
	// A second offer is stored in the cache: its slot is free again
	// (it would otherwise keep a place for a token that is now hit).
	if v1 == h {
		s1.CompareAndSwap(h, 0)
		return false
	}
	if v2 == h {
		s2.CompareAndSwap(h, 0)
		return false
	}
	switch {
	case v1 == 0:
		s1.Store(h)
	case v2 == 0:
		s2.Store(h)
	case h&(1<<40) == 0: // full: each token always evicts the same one of its two
		s1.Store(h)
	default:
		s2.Store(h)
	}
	return true
}

// hotReserve is the part of a budget kept for the hot array's entries
// (which ristretto may have let go): a sixteenth, when the array exists.
func hotReserve(maxBytes int64) int64 {
	if maxBytes/16/hotMaxEntry >= 16 {
		return maxBytes / 16
	}
	return 0
}

// keyToHash indexes entries by the runtime's memhash (AES-based where the
// CPU has it, keyed with a random per-process seed, so clients cannot aim
// tokens at one slot). The second, "conflict" hash is 0, which turns off
// ristretto's own conflict check: it would cost a second pass over the token
// (xxhash, ristretto's default) and prove nothing the byte comparison in
// Lookup does not. Two tokens sharing a 64-bit hash share a slot, and the
// later Set replaces the earlier entry: a miss, never a wrong hit.
func keyToHash(b []byte) (uint64, uint64) { return z.MemHash(b), 0 }

// Lookup returns the cached result for token under keyring generation
// generation. It reports false unless the entry is for exactly these token
// bytes, was stored under this generation and has not expired by the
// Cache's clock. A true result with Entry.Err != nil is a cached failure.
// Lookup does not retain token and allocates nothing.
func (c *Cache[V]) Lookup(token []byte, generation uint64) (Entry[V], bool) {
	e, ok := c.find(token, generation)
	if !ok {
		return Entry[V]{}, false
	}
	// The clock is read only for a candidate: a miss costs no clock read.
	return c.serve(e, c.now())
}

// LookupAt is Lookup with the current time supplied by the caller, for a
// request path that has already read the clock (reading it costs tens of
// nanoseconds on some virtual machines). now must come from the same clock
// as Config.Now.
func (c *Cache[V]) LookupAt(token []byte, generation uint64, now time.Time) (Entry[V], bool) {
	e, ok := c.find(token, generation)
	if !ok {
		return Entry[V]{}, false
	}
	return c.serve(e, now)
}

// find returns the entry for exactly token under generation, if ristretto
// holds one.
func (c *Cache[V]) find(token []byte, generation uint64) (*entry[V], bool) {
	var slot *atomic.Pointer[entry[V]]
	if c.hot != nil {
		h, _ := c.keyHash(token)
		slot = &c.hot[h&c.hotMask]
		if e := slot.Load(); e != nil && e.token == string(token) && e.gen == generation {
			return e, true
		}
	}
	e, ok := c.rc.Get(token)
	// Identity: the hash only located a candidate; compare every byte
	// (what bytes.Equal does) so that a colliding token can never be
	// served another token's result (GHSA-rp9m-7r4c-75qg). Not constant
	// time: comparing against another token needs a collision of the
	// seeded 64-bit hash with a token the client does not know.
	if !ok || e.token != string(token) {
		c.misses.Add(1)
		return e, false
	}
	// Generation: a result verified under another key set may rest on a
	// key that has since been removed or replaced.
	if e.gen != generation {
		c.misses.Add(1)
		return e, false
	}
	if slot != nil && e.err == nil && len(e.token)+int(e.size) <= hotMaxEntry {
		slot.Store(e)
	}
	return e, true
}

// serve returns e unless it has expired at now.
func (c *Cache[V]) serve(e *entry[V], now time.Time) (Entry[V], bool) {
	// Expiry, against the injected clock: ristretto's TTL runs on the
	// real clock, not Config.Now, and its sweep works in 5 s buckets, so
	// it cannot be trusted to have removed an expired entry.
	if !now.Before(e.expiry) {
		c.misses.Add(1)
		return Entry[V]{}, false
	}
	if e.err != nil {
		c.negHits.Add(1)
	} else {
		c.hits.Add(1)
	}
	return Entry[V]{Value: e.value, Err: e.err, Expiry: e.expiry}, true
}

// Set offers a successful result for token, verified under generation,
// valid until expiry (the token's exp, or earlier). The token bytes are
// copied; v is stored as is and must not be mutated afterwards. Set reports
// false if the entry was not stored: a first offer under
// Config.SecondUse (only remembered), already expired, dropped under write
// contention, or the cache is closed. True means the entry was handed to
// ristretto, whose admission policy may still reject it.
func (c *Cache[V]) Set(token []byte, generation uint64, expiry time.Time, v V) bool {
	if c.doorkeeper != nil && c.firstOffer(token) {
		c.deferred.Add(1)
		return false
	}
	return c.set(token, entry[V]{gen: generation, expiry: expiry, value: v}, int64(c.size(v)))
}

// SetNegative caches a failure for token under generation for
// Config.NegativeTTL. It does nothing and reports false when negative
// caching is disabled or err is nil. err must be a package-level sentinel
// (such as verifier.ErrSignature), not an error built per call: it is kept
// for the entry's lifetime, and the failure path must not allocate. Cache
// only failures that are a property of the token bytes and key set, not of
// the time or of revocation.
func (c *Cache[V]) SetNegative(token []byte, generation uint64, err error) bool {
	// A nil err would turn a failure into a cached success.
	if c.negTTL <= 0 || err == nil {
		c.skipped.Add(1)
		return false
	}
	return c.set(token, entry[V]{gen: generation, expiry: c.now().Add(c.negTTL), err: err}, 0)
}

func (c *Cache[V]) set(token []byte, e entry[V], valueSize int64) bool {
	// Never store what is already expired, and never let ristretto keep
	// an entry past its expiry: its TTL must be ≤ expiry − now. (A zero
	// TTL would mean "forever" to ristretto.)
	ttl := e.expiry.Sub(c.now())
	if ttl <= 0 {
		c.skipped.Add(1)
		return false
	}
	// Own copy: the caller's slice is borrowed and will be overwritten.
	e.token, e.size = string(token), valueSize
	cost := int64(len(token)) + valueSize + c.overhead
	if !c.rc.SetWithTTL(token, &e, cost, ttl) {
		c.dropped.Add(1)
		return false
	}
	c.sets.Add(1)
	return true
}

// Stats is a snapshot of a Cache's counters, for metrics. Counters are
// monotonic for the Cache's lifetime (Clear does not reset them); the
// snapshot is not atomic across fields.
type Stats struct {
	Hits         uint64 // Lookups served a successful result
	NegativeHits uint64 // Lookups served a cached failure
	Misses       uint64 // Lookups served nothing (absent, other token, other generation, expired)

	Sets     uint64 // Set/SetNegative calls handed to ristretto
	Dropped  uint64 // Sets ristretto dropped under write contention (buffer full)
	Skipped  uint64 // Sets not attempted: already expired, negative caching off, nil err
	Deferred uint64 // first offers only remembered (Config.SecondUse)
	Rejected uint64 // entries refused by the admission policy (or larger than MaxBytes)

	Evictions uint64 // entries removed for room, by ristretto's TTL sweep, or by Clear

	BytesInUse int64 // cost of the entries held now; ≤ MaxBytes
	MaxBytes   int64
}

// Stats returns the current counters. It takes ristretto's policy lock
// briefly; call it from a metrics scrape, not per request.
func (c *Cache[V]) Stats() Stats {
	return Stats{
		Hits:         c.hits.Load(),
		NegativeHits: c.negHits.Load(),
		Misses:       c.misses.Load(),
		Sets:         c.sets.Load(),
		Dropped:      c.dropped.Load(),
		Skipped:      c.skipped.Load(),
		Deferred:     c.deferred.Load(),
		Rejected:     c.rejected.Load(),
		Evictions:    c.evictions.Load(),
		BytesInUse:   c.maxBytes - c.reserve - c.rc.RemainingCost(),
		MaxBytes:     c.maxBytes,
	}
}

// Wait blocks until every Set issued before it has been applied or
// rejected. It is for tests; production code never needs a Set to be
// visible.
func (c *Cache[V]) Wait() { c.rc.Wait() }

// Clear removes every entry. Sets running concurrently with Clear may
// survive it, so Clear is not an invalidation mechanism: a new keyring
// generation is.
func (c *Cache[V]) Clear() {
	c.rc.Clear()
	c.clearHot()
}

func (c *Cache[V]) clearHot() {
	for i := range c.hot {
		c.hot[i].Store(nil)
	}
}

// Close stops ristretto's goroutines and drops every entry. It must not
// run concurrently with any other method (ristretto would send on a closed
// channel); calling it again is a no-op.
func (c *Cache[V]) Close() {
	c.rc.Close()
	c.clearHot()
}
