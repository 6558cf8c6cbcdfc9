package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/loadtest"
)

func TestCrossover(t *testing.T) {
	tests := []struct {
		name                 string
		hit, miss, store, at float64
		ok                   bool
	}{
		{"crosses half way", 1, 101, 51, 0.5, true},
		{"a new token already cheaper", 1, 10, 50, 0, false},
		{"even a hit costs more", 60, 100, 50, 0, false},
		{"crosses late", 1, 1001, 11, 0.99, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, ok := crossover(tc.hit, tc.miss, tc.store)
			if ok != tc.ok || (ok && (at < tc.at-0.001 || at > tc.at+0.001)) {
				t.Errorf("crossover = %v, %v; want %v, %v", at, ok, tc.at, tc.ok)
			}
		})
	}
}

// fakeRun writes a small but complete data directory: what every table,
// chart and claim of the page reads. slowHits makes the cache hit cost
// more than a Redis lookup, so that claims fail.
func fakeRun(t *testing.T, dir string, slowHits bool) {
	t.Helper()
	var in strings.Builder
	hit := 500.0
	if slowHits {
		hit = 500_000
	}
	miss := map[string]float64{"HS256": 4000, "RS256": 50_000, "ES256": 60_000, "ES384": 300_000, "ES512": 2_000_000, "Ed25519": 50_000, "Ed448": 250_000, "ML-DSA-65": 30_000}
	for _, alg := range []string{"HS256", "RS256", "ES256", "ES384", "ES512", "Ed25519", "Ed448", "ML-DSA-65"} {
		for _, k := range []int{1, 2, 32} {
			for run := range 5 {
				f := 1 + float64(run)/100
				fmt.Fprintf(&in, "BenchmarkJWT/alg=%s/token=new/inflight=%d-2 1000 %.0f ns/op %.0f cpu-ns/op 1.0 hit-%% 679 req-bytes 2000 B/op 27 allocs/op\n", alg, k, miss[alg]*f/float64(min(k, 2)), miss[alg]*f)
				fmt.Fprintf(&in, "BenchmarkJWT/alg=%s/token=repeat/inflight=%d-2 1000 %.0f ns/op %.0f cpu-ns/op 100 hit-%% 679 req-bytes 0 B/op 0 allocs/op\n", alg, k, hit*f, hit*f)
			}
		}
	}
	for store, cost := range map[string]float64{"map": 300, "redis": 40_000, "postgres": 80_000} {
		for _, k := range []int{1, 2, 32} {
			for run := range 5 {
				fmt.Fprintf(&in, "BenchmarkSession/store=%s/inflight=%d-2 1000 %.0f ns/op %.0f cpu-ns/op %.0f store-cpu-ns/op 59 req-bytes 1500 B/op 34 allocs/op\n", store, k, 2*cost, cost/2, cost/2+float64(run))
			}
		}
	}
	growth := `BenchmarkGrowthTokens/distinct=1000-2 1000 800 ns/op 2 cache-MiB 10 heap-MiB 100 hit-% 0 B/op 0 allocs/op
BenchmarkGrowthTokens/distinct=1000000-2 1000 4000 ns/op 64 cache-MiB 120 heap-MiB 5 hit-% 2000 B/op 20 allocs/op
BenchmarkGrowthRows/rows=1000-2 1000 50000 ns/op 20000 cpu-ns/op 1 pool 59 req-bytes 20000 store-cpu-ns/op
BenchmarkGrowthRows/rows=1000000-2 1000 60000 ns/op 21000 cpu-ns/op 1 pool 59 req-bytes 25000 store-cpu-ns/op
BenchmarkGrowthClaims/alg=HS256/claims=200/token=new-2 1000 2000 ns/op 2000 cpu-ns/op 1 hit-% 397 req-bytes
BenchmarkGrowthClaims/alg=HS256/claims=200/token=repeat-2 1000 300 ns/op 300 cpu-ns/op 100 hit-% 397 req-bytes
BenchmarkGrowthClaims/alg=HS256/claims=8192/token=new-2 1000 20000 ns/op 20000 cpu-ns/op 1 hit-% 11053 req-bytes
BenchmarkGrowthClaims/alg=HS256/claims=8192/token=repeat-2 1000 900 ns/op 900 cpu-ns/op 100 hit-% 11053 req-bytes
BenchmarkGrowthKeys/keys=1/token=new-2 1000 3000 ns/op 3000 cpu-ns/op
BenchmarkGrowthKeys/keys=1/token=repeat-2 1000 400 ns/op 400 cpu-ns/op
BenchmarkGrowthKeys/keys=1000/token=new-2 1000 3100 ns/op 3100 cpu-ns/op
BenchmarkGrowthKeys/keys=1000/token=repeat-2 1000 410 ns/op 410 cpu-ns/op
`
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("gotest-inprocess.txt", in.String())
	write("gotest-growth.txt", growth)
	write("gotest-components.txt", "BenchmarkDecrypt/dir/A256GCM-2 1000 587 ns/op 0 B/op 0 allocs/op\n")
	var closed, open strings.Builder
	for target, rps := range map[string]float64{"noop": 80_000, "tokengate-repeat": 75_000, "tokengate-new-HS256": 70_000, "session-redis": 15_000, "session-postgres": 10_000} {
		for round := 1; round <= 3; round++ {
			r := httpRecord{Target: target, Label: target, Round: round, Server: 1, Tokens: 1 << 20, Report: &loadtest.Report{
				Throughput: rps, Completed: int64(rps), Sent: int64(rps), ElapsedSeconds: 1, GeneratorCPU: 0.5,
				Latency: loadtest.Percentiles{Count: 10, P50: 300, P90: 800, P99: 2000, P999: 5000, Max: 9000},
			}}
			b, _ := json.Marshal(r)
			closed.Write(append(b, '\n'))
		}
		for _, f := range []float64{0.5, 1.2} {
			r := httpRecord{Target: target, Label: target, Offered: f * rps, Report: &loadtest.Report{
				Throughput: min(f, 1) * rps, Completed: 1, Latency: loadtest.Percentiles{Count: 10, P50: 300 * f * f, P99: 3000 * f * f * f},
			}}
			b, _ := json.Marshal(r)
			open.Write(append(b, '\n'))
		}
	}
	write("http-closed.jsonl", closed.String())
	write("http-open.jsonl", open.String())
	m := &runMeta{Plan: "full", Preliminary: "a test", Started: time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC), Machine: machine{CPU: "test CPU", Cores: 2}}
	m.end(m.begin("inprocess"))
	if err := m.save(dir); err != nil {
		t.Fatal(err)
	}
}

// TestRenderAndCheck renders a fake run's page and charts into a scratch
// root, checks them against themselves (--check compares byte for byte),
// and shows that a claim the data contradicts stops the page.
func TestRenderAndCheck(t *testing.T) {
	t.Chdir("../..") // the template is read from the repository root
	data, root := t.TempDir(), t.TempDir()
	fakeRun(t, data, false)
	if err := render(data, root, true); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(root, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"PRELIMINARY — a test", "| HS256 | 4.08 µs (4.00–4.16 µs)", "| Redis GET + JSON |", "docs/crossover.png",
		"| tokengate-repeat | 75,000", "test CPU, 2 cores",
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, c := range chartNames {
		for _, ext := range []string{".svg", ".png"} {
			if st, err := os.Stat(filepath.Join(root, "docs", c+ext)); err != nil || st.Size() < 1000 {
				t.Errorf("chart %s%s: %v", c, ext, err)
			}
		}
	}
	again := t.TempDir()
	if err := render(data, again, true); err != nil {
		t.Fatal(err)
	}
	for _, f := range append([]string{"BENCHMARKS.md"}, "docs/crossover.svg", "docs/crossover.png") {
		a, _ := os.ReadFile(filepath.Join(root, f))
		b, _ := os.ReadFile(filepath.Join(again, f))
		if string(a) != string(b) {
			t.Errorf("%s differs between two renderings of the same data: --check could never pass", f)
		}
	}
	bad := t.TempDir()
	fakeRun(t, bad, true)
	err = render(bad, t.TempDir(), true)
	if err == nil || !strings.Contains(err.Error(), "a cache hit costs under 2 µs") {
		t.Errorf("render with contradicting data: %v, want the failed claim named", err)
	}
}
