package main

import (
	"context"
	"time"
)

// plan is what one run measures and how long each measurement lasts.
type plan struct {
	name   string // "full" or "quick"
	phases []phase

	// Session data set and growth sizes (bench/ knobs).
	rows     int
	env      []string // TOKENGATE_BENCH_* for the go test phases
	growRows []int    // PostgreSQL tables the growth phase needs

	// HTTP settings.
	http httpPlan
}

// phase is one step; its data lands in files named after it.
type phase struct {
	name     string
	estimate time.Duration
	run      func(ctx context.Context, env *environment, out string) error
}

func (p plan) estimate() time.Duration {
	var d time.Duration
	for _, ph := range p.phases {
		d += ph.estimate
	}
	return d
}

func phaseNames() []string {
	var names []string
	for _, ph := range fullPlan().phases {
		names = append(names, ph.name)
	}
	return names
}

// fullPlan is the run BENCHMARKS.md publishes. Estimates are from this
// project's reference machine (2 cores); the first run on a machine also
// builds the 10-million-row table (a few minutes).
func fullPlan() plan {
	p := plan{
		name:     "full",
		rows:     1_000_000,
		growRows: []int{1_000, 10_000, 100_000, 1_000_000, 10_000_000},
		http: httpPlan{
			rounds: 6, closedFor: 10 * time.Second, connections: 32,
			openFor: 5 * time.Second, openFractions: []float64{0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.2},
			freshTokens: map[string]int{"HS256": 800_000, "ES256": 200_000, "EdDSA": 250_000},
			warmup:      time.Second,
		},
	}
	p.phases = []phase{
		goTestPhase("inprocess", 40*time.Minute, inprocessBench, 10, "0.5s", "./bench/"),
		goTestPhase("growth", 12*time.Minute, "^BenchmarkGrowth", 10, "0.3s", "./bench/"),
		goTestPhase("components", 3*time.Minute, "^Benchmark(Decrypt|ES384Verify|VerifyMLDSA)$", 10, "0.3s", "./jwe/", "./keyring/"),
		{name: "http-closed", estimate: 13 * time.Minute, run: func(ctx context.Context, env *environment, out string) error {
			return httpClosed(ctx, env, p.http, out)
		}},
		{name: "http-open", estimate: 10 * time.Minute, run: func(ctx context.Context, env *environment, out string) error {
			return httpOpen(ctx, env, p.http, out)
		}},
	}
	return p
}

// shortPlan is the full run cut to about a quarter: -count 3, one HTTP
// round, no 10-million-row table. It exercises the whole page on real data
// sizes; publish only what the full plan measured.
func shortPlan() plan {
	p := fullPlan()
	p.name = "short"
	p.growRows = p.growRows[:4]
	p.env = []string{"TOKENGATE_BENCH_GROWTH_ROWS=1000,10000,100000,1000000", "TOKENGATE_BENCH_GROWTH_TOKENS=1000,10000,100000,1000000"}
	p.http.rounds, p.http.closedFor, p.http.openFor = 1, 3*time.Second, 2*time.Second
	p.http.openFractions = []float64{0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.2}
	p.http.freshTokens = map[string]int{"HS256": 300_000, "ES256": 60_000, "EdDSA": 80_000}
	p.phases = []phase{
		goTestPhase("inprocess", 6*time.Minute, inprocessBench, 3, "0.2s", "./bench/"),
		goTestPhase("growth", 3*time.Minute, "^BenchmarkGrowth", 3, "0.2s", "./bench/"),
		goTestPhase("components", time.Minute, "^Benchmark(Decrypt|ES384Verify|VerifyMLDSA)$", 3, "0.2s", "./jwe/", "./keyring/"),
		{name: "http-closed", estimate: 2 * time.Minute, run: func(ctx context.Context, env *environment, out string) error {
			return httpClosed(ctx, env, p.http, out)
		}},
		{name: "http-open", estimate: 4 * time.Minute, run: func(ctx context.Context, env *environment, out string) error {
			return httpOpen(ctx, env, p.http, out)
		}},
	}
	return p
}

// inprocessBench selects the in-process comparison: every algorithm at
// every number of requests in flight, and the session stores.
const inprocessBench = "^Benchmark(JWT|Session)$"

// quickPlan runs every measurement briefly: a smoke test that the tools,
// the servers and the page still work, in about a minute and a half.
func quickPlan() plan {
	p := plan{
		name:     "quick",
		rows:     100_000,
		growRows: []int{1_000, 10_000},
		env: []string{
			"TOKENGATE_BENCH_TOKENS=64", "TOKENGATE_BENCH_INFLIGHT=1,32",
			"TOKENGATE_BENCH_GROWTH_TOKENS=1000,10000", "TOKENGATE_BENCH_GROWTH_ROWS=1000,10000",
			"TOKENGATE_BENCH_GROWTH_CLAIMS=200,8192", "TOKENGATE_BENCH_GROWTH_KEYS=1,100",
		},
		http: httpPlan{
			rounds: 1, closedFor: time.Second, connections: 32,
			openFor: 700 * time.Millisecond, openFractions: []float64{0.5, 1.2},
			freshTokens: map[string]int{"HS256": 120_000, "ES256": 20_000, "EdDSA": 25_000},
			warmup:      300 * time.Millisecond,
		},
	}
	p.phases = []phase{
		goTestPhase("inprocess", 25*time.Second, inprocessBench, 1, "200x", "./bench/"),
		goTestPhase("growth", 10*time.Second, "^BenchmarkGrowth", 1, "200x", "./bench/"),
		{name: "http-closed", estimate: 25 * time.Second, run: func(ctx context.Context, env *environment, out string) error {
			return httpClosed(ctx, env, p.http, out)
		}},
		{name: "http-open", estimate: 25 * time.Second, run: func(ctx context.Context, env *environment, out string) error {
			return httpOpen(ctx, env, p.http, out)
		}},
	}
	return p
}
