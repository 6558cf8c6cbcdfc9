package bench_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/tokengate/tokengate/bench/sessions"
	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/keyring"
)

// How costs grow: with the number of distinct tokens in flight (the
// cache's reach), the size of the session table, the size of the token,
// and the number of keys and issuers. Each runs one request in flight.
// The sizes come from the environment so that cmd/benchrun's quick form
// can stop early.
var (
	growthTokens = envInts("TOKENGATE_BENCH_GROWTH_TOKENS", []int{1_000, 10_000, 100_000, 1_000_000, 10_000_000})
	growthRows   = envInts("TOKENGATE_BENCH_GROWTH_ROWS", []int{1_000, 10_000, 100_000, 1_000_000, 10_000_000})
	growthClaims = envInts("TOKENGATE_BENCH_GROWTH_CLAIMS", []int{200, 512, 1024, 2048, 4096, 8192})
	growthKeys   = envInts("TOKENGATE_BENCH_GROWTH_KEYS", []int{1, 10, 100, 1000})
)

// mintBatch tokens are signed at a time, with the timer stopped, when a
// benchmark needs more distinct tokens than fit in memory.
const mintBatch = 4096

// warmTokens bounds the tokens checked before timing a large population:
// enough to fill the default 64 MiB cache (about 50,000 entries) twice.
const warmTokens = 200_000

// BenchmarkGrowthTokens draws each request's token uniformly from a
// population of distinct HS256 tokens and checks it with the sidecar's
// default 64 MiB cache, after the cache has been filled. Once the
// population outgrows the cache, hit-% falls and the cost approaches a
// miss. cache-MiB is what the cache charges itself, heap-MiB the heap
// the process holds at the end (tokens in flight included).
func BenchmarkGrowthTokens(b *testing.B) {
	parent := b
	cases, snap := algCases(b)
	hs := cases[0] // HS256
	for _, population := range growthTokens {
		var g *gate.Gate
		var rng *rand.Rand
		b.Run("distinct="+strconv.Itoa(population), func(b *testing.B) {
			if g == nil { // once per population, not per b.N round: the parent outlives the rounds
				g = newGate(parent, snap, benchPolicy(), gate.DefaultConfig().Cache.MaxBytes, 0)
				rng = rand.New(rand.NewPCG(7, uint64(population)))
				c := newChecker(g)
				for first := 0; first < min(population, warmTokens); first += mintBatch {
					for _, a := range mintTokens(b, hs.signer, first, min(mintBatch, population-first), 0) {
						if err := c.check(a); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			c := newChecker(g)
			b.ReportAllocs()
			batch := make([][]byte, 0, mintBatch)
			b.ResetTimer()
			for done := 0; done < b.N; done += len(batch) {
				b.StopTimer()
				batch = batch[:0]
				for range min(mintBatch, b.N-done) {
					batch = append(batch, mint(b, hs.signer, claimsFor(rng.IntN(population), 0)))
				}
				b.StartTimer()
				for _, a := range batch {
					if err := c.check(a); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(100*float64(c.hits)/float64(max(c.checks, 1)), "hit-%")
			st := g.Status()
			b.ReportMetric(float64(st.Cache.BytesInUse)/(1<<20), "cache-MiB")
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		})
	}
}

// BenchmarkGrowthRows is the PostgreSQL session check on tables of each
// size (ids uniform over the table). The tables are built once and kept;
// the 10-million-row one takes a few minutes the first time.
func BenchmarkGrowthRows(b *testing.B) {
	for _, n := range growthRows {
		b.Run("rows="+strconv.Itoa(n), func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			pool, err := sessions.OpenPostgres(ctx, sessions.PGDSN(), n, 1)
			storeError(b, err)
			defer pool.Close()
			ids := make([]string, 0, min(n, 1<<18))
			for _, k := range uniform(cap(ids), n) {
				ids = append(ids, sessions.ID(k))
			}
			benchSessions(b, sessions.NewPostgreSQL(pool), ids, 1, 1, []string{"postgres"})
		})
	}
}

// BenchmarkGrowthClaims measures a new token (verified and rendered) and,
// for HS256, a repeated one, as the claims grow from a minimal token to
// 8 KiB, for HMAC, ECDSA and the three ML-DSA levels (whose signatures
// alone are 2.4-4.6 KiB). req-bytes is the Authorization header.
func BenchmarkGrowthClaims(b *testing.B) {
	cases, snap := algCases(b)
	const maxToken = 64 << 10 // above the sidecar's 8 KiB default, to reach 8 KiB of claims
	for _, c := range cases {
		switch c.alg {
		case keyring.HS256, keyring.ES256, keyring.MLDSA44, keyring.MLDSA65, keyring.MLDSA87:
		default:
			continue
		}
		for _, size := range growthClaims {
			auth := tokensFor(b, c.signer, min(tokensPerAlg, 256), size)
			b.Run(fmt.Sprintf("alg=%s/claims=%d/token=new", c.alg, size), func(b *testing.B) {
				runChecks(b, newGate(b, snap, benchPolicy(), missCache, maxToken), auth, 1)
			})
			if c.alg == keyring.HS256 {
				b.Run(fmt.Sprintf("alg=%s/claims=%d/token=repeat", c.alg, size), func(b *testing.B) {
					g := newGate(b, snap, benchPolicy(), gate.DefaultConfig().Cache.MaxBytes, maxToken)
					warm(b, g, auth)
					runChecks(b, g, auth, 1)
				})
			}
		}
	}
}

// BenchmarkGrowthKeys measures HS256 tokens from K issuers with a key
// each (all of them accepted by the policy; requests spread over every
// key), new and repeated.
func BenchmarkGrowthKeys(b *testing.B) {
	for _, k := range growthKeys {
		var keys []*keyring.Key
		var issuers []string
		var auth [][]byte
		for i := range k {
			iss := fmt.Sprintf("https://issuer-%d.example.com", i)
			c, err := newKey(keyring.HS256, "k"+strconv.Itoa(i), iss)
			if err != nil {
				b.Fatal(err)
			}
			keys, issuers = append(keys, c.key), append(issuers, iss)
			for n := i; n < max(tokensPerAlg, k); n += k {
				auth = append(auth, mint(b, c.signer, claimsWith(n, 0, iss)))
			}
		}
		snap, err := keyring.NewSnapshot(1, keys...)
		if err != nil {
			b.Fatal(err)
		}
		p := benchPolicy()
		p.Issuers = issuers
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(auth), func(i, j int) { auth[i], auth[j] = auth[j], auth[i] })
		b.Run(fmt.Sprintf("keys=%d/token=new", k), func(b *testing.B) {
			runChecks(b, newGate(b, snap, p, missCache, 0), auth, 1)
		})
		b.Run(fmt.Sprintf("keys=%d/token=repeat", k), func(b *testing.B) {
			g := newGate(b, snap, p, gate.DefaultConfig().Cache.MaxBytes, 0)
			warm(b, g, auth)
			runChecks(b, g, auth, 1)
		})
	}
}
