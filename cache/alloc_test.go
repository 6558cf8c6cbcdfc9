//go:build !race

package cache_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/tokengate/tokengate/cache"
)

// TestLookupDoesNotAllocate pins the zero-allocation promise of the hit and
// miss paths.
//
// ristretto itself allocates on the read path, amortised: every Get appends
// the key hash to a pooled 64-slot stripe, and when a full stripe is handed
// to the admission policy a fresh one is made (512 bytes per 64 Gets). The
// second check bounds that, since AllocsPerRun rounds it down to zero.
func TestLookupDoesNotAllocate(t *testing.T) {
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now, NegativeTTL: time.Minute})
	hit, neg, miss := benchToken(1), benchToken(2), benchToken(3)
	c.Set(hit, 1, clk.Now().Add(time.Hour), &result{Subject: "alice"})
	c.SetNegative(neg, 1, errBadSignature)
	c.Wait()

	tests := []struct {
		name  string
		token []byte
		gen   uint64
		hit   bool
	}{
		{"hit", hit, 1, true},
		{"negative hit", neg, 1, true},
		{"miss", miss, 1, false},
		{"generation miss", hit, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func() {
				if _, ok := c.Lookup(tt.token, tt.gen); ok != tt.hit {
					panic(fmt.Sprintf("Lookup hit = %v, want %v", ok, tt.hit))
				}
			}
			if n := testing.AllocsPerRun(1000, lookup); n != 0 {
				t.Errorf("Lookup allocates %v times per call, want 0", n)
			}
			const runs = 64 * 100
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range runs {
				lookup()
			}
			runtime.ReadMemStats(&after)
			if n := after.Mallocs - before.Mallocs; n > runs/64+10 {
				t.Errorf("%d Lookups made %d allocations, want at most one per 64 (ristretto's read buffer)", runs, n)
			}
		})
	}
}

// TestEntryOverheadMatchesHeap keeps EntryOverhead honest: the heap growth per
// cached entry, beyond its token bytes and the value's reported size, must
// be close to what the cache charges for it.
func TestEntryOverheadMatchesHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~50 MB")
	}
	const n = 50_000
	clk := newFakeClock()
	c := newCache(t, cache.Config{Now: clk.Now, MaxBytes: 1 << 30})
	v := &result{} // shared: its reported size is not heap per entry
	toks := make([][]byte, n)
	for i := range toks {
		toks[i] = benchToken(i)
	}
	exp := clk.Now().Add(time.Hour)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i, tok := range toks {
		for !c.Set(tok, 1, exp, v) {
			c.Wait()
		}
		if i%1024 == 0 {
			c.Wait()
		}
	}
	c.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(toks)

	s := c.Stats()
	if s.Sets != n || s.Rejected != 0 {
		t.Fatalf("not every entry stored: %+v", s)
	}
	heapPerEntry := float64(after.HeapAlloc-before.HeapAlloc)/n - benchTokenLen
	chargedPerEntry := float64(s.BytesInUse)/n - benchTokenLen - float64(resultSize(v))
	t.Logf("per entry beyond the token: heap %.0f bytes, charged %.0f bytes", heapPerEntry, chargedPerEntry)
	if r := heapPerEntry / chargedPerEntry; r < 0.6 || r > 1.4 {
		t.Errorf("heap per entry %.0f bytes vs %.0f charged: EntryOverhead (%d) needs re-measuring",
			heapPerEntry, chargedPerEntry, cache.EntryOverhead)
	}
}
