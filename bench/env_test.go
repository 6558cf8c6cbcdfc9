package bench_test

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment variables that point the suite at its stores.
const (
	envRedisURL    = "TOKENGATE_REDIS_URL"
	envPGDSN       = "TOKENGATE_PG_DSN"
	envIntegration = "TOKENGATE_INTEGRATION" // "require": a missing store fails instead of skipping

	defaultRedisURL = "redis://127.0.0.1:6379/0"
	defaultPGDSN    = "postgres://postgres@127.0.0.1:5432/test"
)

// benchNow is the fixed clock of the suite: tokens and sessions are valid at
// this instant, whatever the wall clock says, so numbers do not drift with
// the date.
var benchNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func benchClock() time.Time { return benchNow }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// storeUnavailable is the one place that decides what a missing store means:
// a skip with a line saying how to provide it, or, with
// TOKENGATE_INTEGRATION=require (CI with service containers), a failure.
// Tests and benchmarks both call it.
func storeUnavailable(tb testing.TB, store, addr, howto string, err error) {
	tb.Helper()
	detail := strings.Join(strings.Fields(err.Error()), " ") // one line
	msg := store + " not reachable at " + addr + ": " + howto + " (" + detail + ")"
	if os.Getenv(envIntegration) == "require" {
		tb.Fatal(msg + "; " + envIntegration + "=require")
	}
	tb.Skip(msg)
}

// setupContext bounds one-time setup (connecting, filling a store).
func setupContext(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// cpuTime is the CPU time (user + system) this process has used so far, all
// threads included: the work done on the caller's side of a lookup, which
// wall time per operation hides when most of it is spent waiting on a
// socket.
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

// measure runs the benchmark body serially (with b.Loop) or from every
// core (with b.RunParallel), and reports, besides ns/op and allocs/op,
// cpu-ns/op (process CPU time per operation) and req-bytes (the credential
// header a client sends for one request). next(i) does operation number i of
// a goroutine; it must be safe for concurrent use in the parallel case,
// using only its own state from newOp.
func measure(b *testing.B, reqBytes int, parallel bool, newOp func() func(i int) error) {
	b.ReportAllocs()
	var start time.Duration
	if parallel {
		b.ResetTimer()
		start = cpuTime(b)
		b.RunParallel(func(pb *testing.PB) {
			op := newOp()
			for i := 0; pb.Next(); i++ {
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
	} else {
		op := newOp()
		i := 0
		start = cpuTime(b)
		for b.Loop() {
			if err := op(i); err != nil {
				b.Fatal(err)
			}
			i++
		}
	}
	cpu := cpuTime(b) - start
	if b.N > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	b.ReportMetric(float64(reqBytes), "req-bytes")
}

// modes are the two ways every benchmark runs.
var modes = []struct {
	name     string
	parallel bool
}{{"serial", false}, {"parallel", true}}
