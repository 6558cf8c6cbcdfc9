package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkJWT/ES256/verify/serial-2   	   10000	    112000 ns/op	   98000 cpu-ns/op	     512.0 req-bytes	     577 B/op	      10 allocs/op
BenchmarkJWT/ES256/verify/serial-2   	   10000	    110000 ns/op	   97000 cpu-ns/op	     512.0 req-bytes	     577 B/op	      10 allocs/op
BenchmarkJWT/ES256/verify/serial-2   	   10000	    150000 ns/op	   99000 cpu-ns/op	     512.0 req-bytes	     577 B/op	      10 allocs/op
BenchmarkSession/redis-hash/serial-2 	   20000	     60000 ns/op	    9000 cpu-ns/op	      72.0 req-bytes	     400 B/op	      12 allocs/op
PASS
`

func TestParseTakesMedians(t *testing.T) {
	res, order, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 2 || order[0] != "JWT/ES256/verify/serial" {
		t.Fatalf("order %v", order)
	}
	if m := median(res["JWT/ES256/verify/serial"]["ns/op"]); m != 112000 {
		t.Errorf("median ns/op %v", m)
	}
	if m := median(res["Session/redis-hash/serial"]["cpu-ns/op"]); m != 9000 {
		t.Errorf("cpu %v", m)
	}
}

func TestRunWritesAChart(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bench.txt")
	if err := os.WriteFile(in, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "chart.svg")
	if err := run(in, out, "serial", "t"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "redis-hash") {
		t.Fatalf("chart not written: %v", err)
	}
	if err := run(in, out, "nothing-matches", "t"); err == nil {
		t.Fatal("empty selection accepted")
	}
}
