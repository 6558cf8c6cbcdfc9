package cache_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2"

	"github.com/tokengate/tokengate/cache"
)

// benchTokenLen is the size of a typical RS256/ES256 access token with a
// handful of claims.
const benchTokenLen = 400

// benchToken returns the i-th of a set of distinct, JWT-shaped tokens of
// benchTokenLen bytes.
func benchToken(i int) []byte {
	t := make([]byte, benchTokenLen)
	for j := range t {
		t[j] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[(j*7+i)%64]
	}
	t[100], t[300] = '.', '.'
	// A fixed-width serial keeps tokens distinct.
	s := strconv.AppendInt(nil, int64(i)+1e9, 10)
	copy(t[len(t)-len(s):], s)
	return t
}

func newBenchCache(b *testing.B) *cache.Cache[*result] {
	b.Helper()
	c, err := cache.New[*result](cache.Config{NegativeTTL: time.Second}, resultSize)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

func BenchmarkLookupHit(b *testing.B) {
	c := newBenchCache(b)
	tok := benchToken(1)
	c.Set(tok, 1, time.Now().Add(time.Hour), &result{Subject: "alice"})
	c.Wait()
	if _, ok := c.Lookup(tok, 1); !ok {
		b.Fatal("not cached")
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := c.Lookup(tok, 1); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, ok := c.Lookup(tok, 1); !ok {
					b.Error("miss") // FailNow is for the benchmark goroutine only
					return
				}
			}
		})
	})
	// Many distinct hot tokens, as under real traffic: spreads the
	// lookups over ristretto's shards.
	b.Run("parallel-1k-tokens", func(b *testing.B) {
		toks := make([][]byte, 1024)
		for i := range toks {
			toks[i] = benchToken(i + 10)
			c.Set(toks[i], 1, time.Now().Add(time.Hour), &result{Subject: "alice"})
			c.Wait()
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				c.Lookup(toks[i&1023], 1)
				i++
			}
		})
	})
}

func BenchmarkLookupMiss(b *testing.B) {
	c := newBenchCache(b)
	tok := benchToken(2)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Lookup(tok, 1); ok {
			b.Fatal("hit")
		}
	}
}

func BenchmarkSet(b *testing.B) {
	v := &result{Subject: "alice"}
	exp := time.Now().Add(time.Hour)
	// Distinct tokens, as after a miss (the pool wraps after 32Ki Sets,
	// which then replace earlier entries).
	b.Run("new", func(b *testing.B) {
		c := newBenchCache(b)
		toks := make([][]byte, 1<<15)
		for i := range toks {
			toks[i] = benchToken(i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			c.Set(toks[i&(len(toks)-1)], 1, exp, v)
			i++
		}
	})
	// The same token again: ristretto updates it in place.
	b.Run("replace", func(b *testing.B) {
		c := newBenchCache(b)
		tok := benchToken(1)
		b.ReportAllocs()
		for b.Loop() {
			c.Set(tok, 1, exp, v)
		}
	})
}

func BenchmarkLookupAtHit(b *testing.B) {
	c := newBenchCache(b)
	tok := benchToken(1)
	now := time.Now()
	c.Set(tok, 1, now.Add(time.Hour), &result{Subject: "alice"})
	c.Wait()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.LookupAt(tok, 1, now); !ok {
			b.Fatal("miss")
		}
	}
}

// BenchmarkBaseline measures what a hit is made of on this machine: the
// raw ristretto Get (hash, read buffer, shard lock, its real-clock TTL
// check) and the clock read Lookup adds.
func BenchmarkBaseline(b *testing.B) {
	b.Run("ristretto-get", func(b *testing.B) {
		rc, err := ristretto.NewCache(&ristretto.Config[[]byte, *result]{
			NumCounters: 1 << 20, MaxCost: 1 << 26, BufferItems: 64,
		})
		if err != nil {
			b.Fatal(err)
		}
		defer rc.Close()
		tok := benchToken(1)
		rc.SetWithTTL(tok, &result{}, 1, time.Hour)
		rc.Wait()
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := rc.Get(tok); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("time-now", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = time.Now()
		}
	})
}
