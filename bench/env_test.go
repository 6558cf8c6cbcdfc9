package bench_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokengate/tokengate/bench/sessions"
	"github.com/tokengate/tokengate/internal/proccpu"
	"github.com/tokengate/tokengate/internal/testenv"
)

// benchNow is the fixed clock of the suite: tokens and sessions are valid
// at this instant, whatever the wall clock says.
var benchNow = sessions.Now

func benchClock() time.Time { return benchNow }

// Knobs, from the environment so that cmd/benchrun (and a person) can
// shrink a run without editing code.
var (
	// rows is the session data set the stores hold and ids are drawn
	// from: TOKENGATE_BENCH_ROWS, default one million.
	rows = envInt("TOKENGATE_BENCH_ROWS", sessions.DefaultRows)
	// inFlights are the numbers of requests in flight every method is
	// measured at: TOKENGATE_BENCH_INFLIGHT, default 1,2,8,32,128.
	inFlights = envInts("TOKENGATE_BENCH_INFLIGHT", []int{1, 2, 8, 32, 128})
	// tokensPerAlg distinct tokens per algorithm: TOKENGATE_BENCH_TOKENS.
	tokensPerAlg = envInt("TOKENGATE_BENCH_TOKENS", 1024)
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envInts(name string, def []int) []int {
	var out []int
	for f := range strings.SplitSeq(os.Getenv(name), ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && v > 0 {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return def
	}
	return out
}

// storeError skips (or, under TOKENGATE_INTEGRATION=require, fails) when
// a store is unreachable, and fails on any other error.
func storeError(tb testing.TB, err error) {
	tb.Helper()
	var u *sessions.Unreachable
	if errors.As(err, &u) {
		testenv.Missing(tb, "%s: start it or set TOKENGATE_REDIS_URL / TOKENGATE_PG_DSN", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// cpuTime is the CPU time (user + system) this process has used so far,
// all threads included: the caller's side of a lookup, which wall time
// per operation hides when most of it is spent waiting on a socket.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Request bytes: what the client sends to prove who it is.
const (
	bearerPrefix = "Authorization: Bearer "
	cookiePrefix = "Cookie: session="
)

// measurement describes what run reports besides ns/op.
type measurement struct {
	// reqBytes is the credential header a client sends per request.
	reqBytes int
	// pool is the connection pool size of a network store (0: none).
	pool int
	// store, when set, is the store's server processes: their CPU time
	// per operation is reported as store-cpu-ns/op.
	store *proccpu.Group
}

// run keeps inFlight operations in flight from inFlight goroutines until
// b.N are done (the work of b.RunParallel with an exact goroutine count,
// whatever GOMAXPROCS is), and reports, besides ns/op (wall time per
// operation: 1/throughput) and allocs/op, cpu-ns/op (this process's CPU
// per operation), store-cpu-ns/op (the store's), req-bytes and pool.
// newOp is called once per goroutine; op(k) does operation number k of the
// run (counted over all goroutines, so an operation that cycles a list with
// k uses every entry once per cycle, whatever the goroutines).
func run(b *testing.B, inFlight int, m measurement, newOp func(g int) func(k int) error) {
	b.ReportAllocs()
	ops := make([]func(int) error, inFlight)
	for g := range ops {
		ops[g] = newOp(g)
	}
	var storeStart time.Duration
	if m.store != nil {
		storeStart = total(b, m.store)
	}
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	b.ResetTimer()
	start := cpuTime(b)
	for g := range inFlight {
		wg.Go(func() {
			op := ops[g]
			for !failed.Load() {
				k := next.Add(1) - 1
				if k >= int64(b.N) {
					return
				}
				if err := op(int(k)); err != nil {
					failed.Store(true)
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime(b) - start
	n := float64(b.N)
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/op")
	if m.store != nil {
		b.ReportMetric(float64((total(b, m.store)-storeStart).Nanoseconds())/n, "store-cpu-ns/op")
	}
	b.ReportMetric(float64(m.reqBytes), "req-bytes")
	if m.pool > 0 {
		b.ReportMetric(float64(m.pool), "pool")
	}
}

func total(tb testing.TB, g *proccpu.Group) time.Duration {
	d, err := g.Total()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// uniform returns n indices drawn uniformly from [0, population), the
// same for every call with the same arguments.
func uniform(n, population int) []int {
	rng := rand.New(rand.NewPCG(42, uint64(population)))
	out := make([]int, n)
	for i := range out {
		out[i] = rng.IntN(population)
	}
	return out
}
