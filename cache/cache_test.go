package cache_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/cache"
)

// errBadSignature stands in for a verifier sentinel.
var errBadSignature = errors.New("verifier: bad signature")

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newCache(t testing.TB, cfg cache.Config) *cache.Cache[*result] {
	t.Helper()
	c, err := cache.New[*result](cfg, resultSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  cache.Config
		size func(*result) int
	}{
		{"nil size", cache.Config{}, nil},
		{"negative MaxBytes", cache.Config{MaxBytes: -1}, resultSize},
		{"negative NegativeTTL", cache.Config{NegativeTTL: -time.Second}, resultSize},
		{"negative NumCounters", cache.Config{NumCounters: -1}, resultSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := cache.New[*result](tt.cfg, tt.size)
			if err == nil {
				c.Close()
				t.Fatal("New accepted a bad config")
			}
		})
	}
}

func TestLookup(t *testing.T) {
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now})
	tok := benchToken(1)
	want := &result{Subject: "alice"}
	if !c.Set(tok, 7, clk.Now().Add(time.Hour), want) {
		t.Fatal("Set dropped")
	}
	c.Wait()

	lastByte := bytes.Clone(tok)
	lastByte[len(lastByte)-1] ^= 1
	firstByte := bytes.Clone(tok)
	firstByte[0] ^= 1

	tests := []struct {
		name  string
		token []byte
		gen   uint64
		hit   bool
	}{
		{"same token and generation hits", bytes.Clone(tok), 7, true},
		{"token differing in the last byte misses", lastByte, 7, false},
		{"token differing in the first byte misses", firstByte, 7, false},
		{"prefix of the token misses", tok[:len(tok)-1], 7, false},
		{"token with a byte appended misses", append(bytes.Clone(tok), 'A'), 7, false},
		{"empty token misses", nil, 7, false},
		{"older generation misses", tok, 6, false},
		{"newer generation misses", tok, 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := c.Lookup(tt.token, tt.gen)
			if ok != tt.hit {
				t.Fatalf("Lookup hit = %v, want %v", ok, tt.hit)
			}
			if !tt.hit {
				if e != (cache.Entry[*result]{}) {
					t.Fatalf("miss returned non-zero entry %+v", e)
				}
				return
			}
			if e.Value != want || e.Err != nil || !e.Expiry.Equal(clk.Now().Add(time.Hour)) {
				t.Fatalf("Lookup = %+v, want value %p, no error", e, want)
			}
		})
	}
}

// The caller's token slice is borrowed (fasthttp reuses it for the next
// request): the cache must keep its own copy.
func TestSetCopiesToken(t *testing.T) {
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now})
	buf := benchToken(1)
	orig := bytes.Clone(buf)
	c.Set(buf, 1, clk.Now().Add(time.Hour), &result{Subject: "alice"})
	c.Wait()
	copy(buf, benchToken(2)) // the next request reuses the buffer

	if _, ok := c.Lookup(orig, 1); !ok {
		t.Error("original token no longer hits after the caller's buffer was reused")
	}
	if _, ok := c.Lookup(buf, 1); ok {
		t.Error("the reused buffer's new token was served the old token's result")
	}
}

func TestGenerationChangeInvalidates(t *testing.T) {
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now})
	tok := benchToken(1)
	exp := clk.Now().Add(time.Hour)
	v1, v2 := &result{Subject: "under gen 1"}, &result{Subject: "under gen 2"}

	c.Set(tok, 1, exp, v1)
	c.Wait()
	if _, ok := c.Lookup(tok, 2); ok {
		t.Fatal("entry verified under generation 1 served under generation 2")
	}
	c.Set(tok, 2, exp, v2) // re-verified after the reload
	c.Wait()
	if e, ok := c.Lookup(tok, 2); !ok || e.Value != v2 {
		t.Fatalf("Lookup(gen 2) = %+v, %v; want the generation 2 result", e, ok)
	}
	if _, ok := c.Lookup(tok, 1); ok {
		t.Fatal("generation 1 lookup served the generation 2 entry")
	}
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name    string
		expiry  time.Duration // relative to the clock at Set
		advance time.Duration // clock moves before Lookup
		stored  bool          // Set reports true
		hit     bool
	}{
		{"before expiry hits", time.Minute, time.Minute - time.Nanosecond, true, true},
		// ristretto's own TTL runs on the real clock and still holds
		// these entries: only the recheck on hit makes them misses.
		{"at expiry misses", time.Minute, time.Minute, true, false},
		{"past expiry misses", time.Minute, time.Hour, true, false},
		{"expiry already past is not stored", -time.Second, 0, false, false},
		{"expiry equal to now is not stored", 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			c := newCache(t, cache.Config{Now: clk.Now})
			tok := benchToken(1)
			if got := c.Set(tok, 1, clk.Now().Add(tt.expiry), &result{}); got != tt.stored {
				t.Fatalf("Set = %v, want %v", got, tt.stored)
			}
			c.Wait()
			clk.Advance(tt.advance)
			if _, ok := c.Lookup(tok, 1); ok != tt.hit {
				t.Fatalf("Lookup hit = %v, want %v", ok, tt.hit)
			}
			if !tt.stored && c.Stats().Skipped != 1 {
				t.Fatalf("Stats().Skipped = %d, want 1", c.Stats().Skipped)
			}
		})
	}
}

// TestLookupAtUsesCallerTime checks that the time passed to LookupAt, not the
// configured clock, decides expiry.
func TestLookupAtUsesCallerTime(t *testing.T) {
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now})
	tok := benchToken(1)
	exp := clk.Now().Add(time.Minute)
	c.Set(tok, 1, exp, &result{})
	c.Wait()
	if _, ok := c.LookupAt(tok, 1, exp.Add(-time.Nanosecond)); !ok {
		t.Error("LookupAt before expiry missed")
	}
	if _, ok := c.LookupAt(tok, 1, exp); ok {
		t.Error("LookupAt at expiry hit")
	}
}

// TestCacheKeyCollisionNeverServesOtherToken guards against the fast-jwt bug
// (GHSA-rp9m-7r4c-75qg): a cache that trusts a hash of the token serves one
// token's result for another token with the same hash. Here different
// tokens are forced onto one ristretto slot, with the conflict hash equal
// (as with the production hash, whose conflict hash is 0), equal and
// non-zero, or different: after any sequence of Sets, a Lookup returns
// the presented token's own entry or misses, never another token's.
func TestCacheKeyCollisionNeverServesOtherToken(t *testing.T) {
	hashes := []struct {
		name string
		hash func([]byte) (uint64, uint64)
	}{
		{"same key hash, conflict hash 0 (as in production)", func([]byte) (uint64, uint64) { return 42, 0 }},
		{"same key and conflict hash", func([]byte) (uint64, uint64) { return 42, 42 }},
		{"same key hash, conflict hash differs", func(b []byte) (uint64, uint64) { return 42, uint64(len(b))<<8 | uint64(b[len(b)-1]) }},
	}
	base := benchToken(1)
	flipped := bytes.Clone(base)
	flipped[200] ^= 1
	tokens := map[string][]byte{
		"A":          base,
		"one byte":   flipped,
		"prefix":     base[:len(base)-1],
		"extended":   append(bytes.Clone(base), 'x'),
		"other":      benchToken(2),
		"long other": bytes.Repeat([]byte("eyJ0"), 4<<10),
	}
	names := []string{"A", "one byte", "prefix", "extended", "other", "long other"}
	for _, h := range hashes {
		t.Run(h.name, func(t *testing.T) {
			clk := newFakeClock()
			c := newCache(t, cache.WithKeyToHash(cache.Config{Now: clk.Now, NegativeTTL: time.Minute}, h.hash))
			exp := clk.Now().Add(time.Hour)
			values := map[string]*result{}
			for _, n := range names {
				values[n] = &result{Subject: n}
			}
			// own reports a problem if any token is served anything but
			// its own entry.
			own := func(when string, negative map[string]bool) {
				t.Helper()
				for _, n := range names {
					e, ok := c.Lookup(tokens[n], 1)
					if !ok {
						continue
					}
					switch {
					case negative[n] && (e.Err == nil || e.Value != nil):
						t.Errorf("%s: Lookup(%s) = %+v, want its own cached failure", when, n, e)
					case !negative[n] && (e.Err != nil || e.Value != values[n]):
						t.Errorf("%s: Lookup(%s) served %+v, not its own entry", when, n, e)
					}
				}
			}

			c.Set(tokens["A"], 1, exp, values["A"])
			c.Wait()
			if e, ok := c.Lookup(tokens["A"], 1); !ok || e.Value != values["A"] {
				t.Fatalf("Lookup(A) = %+v, %v; want A's value", e, ok)
			}
			for _, n := range names[1:] {
				if e, ok := c.Lookup(tokens[n], 1); ok {
					t.Fatalf("Lookup(%s) after Set(A) hit with %+v", n, e)
				}
			}
			for _, n := range names[1:] {
				c.Set(tokens[n], 1, exp, values[n])
				c.Wait()
				own("after Set("+n+")", nil)
			}
			for _, n := range names {
				c.Set(tokens[n], 1, exp, values[n])
			}
			c.Wait()
			own("after setting all", nil)
			c.SetNegative(tokens["A"], 1, errBadSignature)
			c.Wait()
			own("after SetNegative(A)", map[string]bool{"A": true})
			if e, ok := c.Lookup(tokens["A"], 2); ok {
				t.Errorf("Lookup(A) under another generation = %+v", e)
			}
		})
	}
}

func TestNegativeCache(t *testing.T) {
	const negTTL = 10 * time.Second
	tests := []struct {
		name    string
		negTTL  time.Duration
		err     error
		advance time.Duration
		stored  bool
		hit     bool
	}{
		{"failure is served with its error", negTTL, errBadSignature, 0, true, true},
		{"failure is served until NegativeTTL", negTTL, errBadSignature, negTTL - time.Nanosecond, true, true},
		{"failure expires after NegativeTTL", negTTL, errBadSignature, negTTL, true, false},
		{"disabled when NegativeTTL is zero", 0, errBadSignature, 0, false, false},
		// A nil error would read back as a cached success.
		{"nil error is refused", negTTL, nil, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			c := newCache(t, cache.Config{Now: clk.Now, NegativeTTL: tt.negTTL})
			tok := benchToken(1)
			if got := c.SetNegative(tok, 1, tt.err); got != tt.stored {
				t.Fatalf("SetNegative = %v, want %v", got, tt.stored)
			}
			c.Wait()
			clk.Advance(tt.advance)
			e, ok := c.Lookup(tok, 1)
			if ok != tt.hit {
				t.Fatalf("Lookup hit = %v, want %v", ok, tt.hit)
			}
			if !ok {
				return
			}
			if !errors.Is(e.Err, errBadSignature) || e.Value != nil {
				t.Fatalf("Lookup = %+v, want Err %v and no value", e, errBadSignature)
			}
			if s := c.Stats(); s.NegativeHits != 1 || s.Hits != 0 {
				t.Fatalf("Stats = %+v, want one negative hit and no hits", s)
			}
			if _, ok := c.Lookup(tok, 2); ok {
				t.Fatal("negative entry served under another generation")
			}
		})
	}
}

func TestSetReplacesNegativeEntry(t *testing.T) {
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now, NegativeTTL: time.Second})
	tok := benchToken(1)
	want := &result{Subject: "alice"}
	c.SetNegative(tok, 1, errBadSignature)
	c.Wait()
	c.Set(tok, 2, clk.Now().Add(time.Hour), want)
	c.Wait()
	if e, ok := c.Lookup(tok, 2); !ok || e.Err != nil || e.Value != want {
		t.Fatalf("Lookup = %+v, %v; want the positive result", e, ok)
	}
}

func TestCostBoundsBytes(t *testing.T) {
	const budget = 256 << 10
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now, MaxBytes: budget})
	exp := clk.Now().Add(time.Hour)
	v := &result{Subject: "alice", Scopes: []string{"read", "write"}}

	// Offer four times the budget in token bytes alone.
	n := 4 * budget / benchTokenLen
	toks := make([][]byte, n)
	for i := range toks {
		toks[i] = benchToken(i)
		c.Set(toks[i], 1, exp, v)
		if i%256 == 0 {
			c.Wait() // keep ristretto's write buffer from dropping Sets
		}
	}
	c.Wait()

	s := c.Stats()
	if s.BytesInUse > budget || s.BytesInUse <= 0 {
		t.Fatalf("BytesInUse = %d, want in (0, %d]", s.BytesInUse, budget)
	}
	if s.Evictions == 0 {
		t.Fatalf("no evictions after offering %d bytes to a %d-byte cache: %+v", n*benchTokenLen, budget, s)
	}
	// Independently of ristretto's accounting: what is still served must
	// fit in the budget counting the token bytes and the value alone.
	held := 0
	for _, tok := range toks {
		if _, ok := c.Lookup(tok, 1); ok {
			held++
		}
	}
	if bytesHeld := held * (benchTokenLen + resultSize(v)); bytesHeld > budget {
		t.Fatalf("%d entries (%d bytes of tokens and values) held in a %d-byte cache", held, bytesHeld, budget)
	}
	t.Logf("held %d of %d entries, %d bytes charged; %+v", held, n, s.BytesInUse, s)
}

// TestLargeTokensAreCached guards against a size ceiling on cached tokens
// (Envoy's jwt_authn, for one, skipped its cache for large tokens): a
// claim-heavy or post-quantum token of 16 or 64 KiB is cached like a small
// one, and the only limit is the byte budget, which many large entries
// exhaust by bytes, not by count.
func TestLargeTokensAreCached(t *testing.T) {
	tests := []struct {
		name     string
		tokenLen int
		maxBytes int64
		stored   bool
	}{
		// ML-DSA-65 signatures alone are 3309 bytes, 4412 in base64url.
		{"6 KiB post-quantum token", 6 << 10, 0, true},
		{"16 KiB token", 16 << 10, 0, true},
		{"64 KiB token", 64 << 10, 0, true},
		{"64 KiB token in a 128 KiB budget", 64 << 10, 128 << 10, true},
		// The only ceiling is the budget itself.
		{"token larger than the budget", 8 << 10, 4 << 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			c := newCache(t, cache.Config{Now: clk.Now, MaxBytes: tt.maxBytes})
			tok := bytes.Repeat([]byte("eyJ0"), tt.tokenLen/4)
			v := &result{Subject: tt.name}
			c.Set(tok, 1, clk.Now().Add(time.Hour), v)
			c.Wait()
			e, ok := c.Lookup(tok, 1)
			if ok != tt.stored {
				t.Fatalf("Lookup hit = %v, want %v (stats %+v)", ok, tt.stored, c.Stats())
			}
			if ok && e.Value != v {
				t.Fatalf("Lookup served %+v", e.Value)
			}
			if !tt.stored && c.Stats().Rejected != 1 {
				t.Fatalf("Stats().Rejected = %d, want 1", c.Stats().Rejected)
			}
		})
	}

	t.Run("budget is by bytes", func(t *testing.T) {
		const maxBytes = 1 << 20
		for _, size := range []int{16 << 10, 64 << 10} {
			clk := newFakeClock()
			c := newCache(t, cache.Config{Now: clk.Now, MaxBytes: maxBytes})
			exp := clk.Now().Add(time.Hour)
			v := &result{Subject: "alice"}
			// Four budgets' worth of distinct large tokens.
			n := 4 * maxBytes / size
			toks := make([][]byte, n)
			for i := range toks {
				toks[i] = bytes.Repeat([]byte("eyJ0"), size/4)
				copy(toks[i], fmt.Sprintf("%08d.", i))
				c.Set(toks[i], 1, exp, v)
				c.Wait()
				if s := c.Stats(); s.BytesInUse > maxBytes {
					t.Fatalf("%d-byte tokens: after %d Sets BytesInUse = %d > MaxBytes %d", size, i+1, s.BytesInUse, maxBytes)
				}
			}
			// The newest is admitted (no entry has been read, so none is
			// worth more to TinyLFU than a new one).
			if _, ok := c.Lookup(toks[n-1], 1); !ok {
				t.Fatalf("%d-byte tokens: the last one Set is not cached (stats %+v)", size, c.Stats())
			}
			held := 0
			for _, tok := range toks {
				if _, ok := c.Lookup(tok, 1); ok {
					held++
				}
			}
			s := c.Stats()
			if s.Evictions == 0 || held == n {
				t.Fatalf("%d-byte tokens: %d of %d held, %d evictions: the budget did not bound them", size, held, n, s.Evictions)
			}
			if held*size > maxBytes {
				t.Fatalf("%d-byte tokens: %d held, %d token bytes in a %d-byte budget", size, held, held*size, maxBytes)
			}
			// By bytes: roughly budget/size entries fit, not a fixed count.
			if want := maxBytes / (size + 1024); held < want/2 {
				t.Fatalf("%d-byte tokens: only %d held, want about %d", size, held, want)
			}
			t.Logf("%d-byte tokens: %d of %d held, %d bytes charged of %d", size, held, n, s.BytesInUse, maxBytes)
		}
	})
}

func TestStatsCounts(t *testing.T) {
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now, NegativeTTL: time.Second})
	good, bad, unknown := benchToken(1), benchToken(2), benchToken(3)
	c.Set(good, 1, clk.Now().Add(time.Hour), &result{})
	c.SetNegative(bad, 1, errBadSignature)
	c.Set(unknown, 1, clk.Now(), &result{}) // already expired: skipped
	c.Wait()
	for range 3 {
		c.Lookup(good, 1)
	}
	c.Lookup(bad, 1)
	c.Lookup(unknown, 1)
	c.Lookup(good, 2)

	s := c.Stats()
	want := cache.Stats{Hits: 3, NegativeHits: 1, Misses: 2, Sets: 2, Skipped: 1}
	got := s
	got.BytesInUse, got.MaxBytes = 0, 0
	if got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	if s.MaxBytes != cache.DefaultMaxBytes || s.BytesInUse <= int64(2*benchTokenLen) {
		t.Fatalf("Stats bytes = %d of %d", s.BytesInUse, s.MaxBytes)
	}
}

func TestClearAndClose(t *testing.T) {
	clk := newFakeClock()
	c, err := cache.New[*result](cache.Config{Now: clk.Now}, resultSize)
	if err != nil {
		t.Fatal(err)
	}
	tok := benchToken(1)
	c.Set(tok, 1, clk.Now().Add(time.Hour), &result{})
	c.Wait()
	c.Clear()
	if _, ok := c.Lookup(tok, 1); ok {
		t.Fatal("hit after Clear")
	}
	if s := c.Stats(); s.BytesInUse != 0 || s.Hits != 0 || s.Misses != 1 {
		t.Fatalf("Stats after Clear = %+v", s)
	}
	c.Set(tok, 1, clk.Now().Add(time.Hour), &result{})
	c.Wait()
	if _, ok := c.Lookup(tok, 1); !ok {
		t.Fatal("miss after Set following Clear")
	}

	c.Close()
	c.Close() // idempotent
	if _, ok := c.Lookup(tok, 1); ok {
		t.Fatal("hit after Close")
	}
	if c.Set(tok, 1, clk.Now().Add(time.Hour), &result{}) {
		t.Fatal("Set after Close reported success")
	}
	c.Wait() // returns at once on a closed cache
}

// TestConcurrentSetLookup runs Sets, negative Sets and Lookups over a
// shared set of tokens and generations from many goroutines (run with
// -race). Every hit must carry the result stored for that very token and
// generation.
func TestConcurrentSetLookup(t *testing.T) {
	const (
		tokens     = 64
		workers    = 8
		iterations = 2000
	)
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now, NegativeTTL: time.Minute, MaxBytes: 32 << 10})
	toks := make([][]byte, tokens)
	for i := range toks {
		toks[i] = benchToken(i)
	}
	exp := clk.Now().Add(time.Hour)

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			buf := make([]byte, benchTokenLen) // a reused request buffer
			for i := range iterations {
				id := (i*7 + w) % tokens
				gen := uint64(i % 3)
				copy(buf, toks[id])
				switch i % 5 {
				case 0:
					c.Set(buf, gen, exp, &result{Subject: fmt.Sprint(id, "/", gen)})
				case 1:
					c.SetNegative(buf, gen, errBadSignature)
				default:
					e, ok := c.Lookup(buf, gen)
					if ok && e.Err == nil && e.Value.Subject != fmt.Sprint(id, "/", gen) {
						errs <- fmt.Errorf("token %d gen %d served %q", id, gen, e.Value.Subject)
						return
					}
				}
				if i%500 == 0 {
					clk.Advance(time.Second)
					_ = c.Stats()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestHotEntriesPassTheSameChecks: an entry served from the small array
// of recently hit entries (which skips ristretto) is held to the same
// rules: the whole token, its generation, its expiry, and Clear.
func TestHotEntriesPassTheSameChecks(t *testing.T) {
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now, MaxBytes: 64 << 20})
	tok, v := benchToken(7), &result{Subject: "hot"}
	c.Set(tok, 1, clk.Now().Add(time.Minute), v)
	c.Wait()
	for range 3 { // the first hit puts it in the array, the next come from it
		if e, ok := c.Lookup(tok, 1); !ok || e.Value != v {
			t.Fatalf("Lookup = %+v %v", e, ok)
		}
	}
	other := bytes.Clone(tok)
	other[len(other)-1] ^= 1
	if _, ok := c.Lookup(other, 1); ok {
		t.Error("a different token was served")
	}
	if _, ok := c.Lookup(tok, 2); ok {
		t.Error("served under another generation")
	}
	clk.Advance(time.Minute)
	if _, ok := c.Lookup(tok, 1); ok {
		t.Error("served after its expiry")
	}
	clk.Advance(-time.Minute)
	c.Clear()
	if _, ok := c.Lookup(tok, 1); ok {
		t.Error("served after Clear")
	}
}

// TestSecondUseStoresTokensUsedInTurn: tokens offered in turn, over and
// over, are all stored on a later offer, even those whose doorkeeper
// slots collide (1,024 tokens through a budget of 2,048 slots).
func TestSecondUseStoresTokensUsedInTurn(t *testing.T) {
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now, MaxBytes: 1 << 20, SecondUse: true})
	var toks [][]byte
	for i := range 1024 {
		toks = append(toks, []byte(fmt.Sprintf("token-%d-%s", i, bytes.Repeat([]byte("x"), 40))))
	}
	v := &result{Subject: "s"}
	for round := range 4 {
		for _, tok := range toks {
			if _, ok := c.Lookup(tok, 1); !ok {
				c.Set(tok, 1, clk.Now().Add(time.Hour), v)
			}
		}
		c.Wait()
		_ = round
	}
	missing := 0
	for _, tok := range toks {
		if _, ok := c.Lookup(tok, 1); !ok {
			missing++
		}
	}
	if missing > 5 { // ristretto may drop a few writes under contention
		t.Errorf("%d of %d tokens used in turn were never stored", missing, len(toks))
	}
}
