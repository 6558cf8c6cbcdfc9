package main

import (
	"math"
	"strings"
	"testing"
)

func TestStat(t *testing.T) {
	tests := []struct {
		name           string
		values         []float64
		med, lo, hi    float64
		minConf        float64
		wantValidStats bool
	}{
		{"ten values: x(2)..x(9), 97.9 %", []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, 5.5, 2, 9, 0.978, true},
		{"five values: the range, 94 %", []float64{3, 1, 2, 5, 4}, 3, 1, 5, 0.93, true},
		{"one value", []float64{7}, 7, 7, 7, 0, true},
		{"none", nil, 0, 0, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStat(tc.values)
			if s.Valid() != tc.wantValidStats || s.Median != tc.med || s.Lo != tc.lo || s.Hi != tc.hi || s.Conf < tc.minConf {
				t.Errorf("newStat = %+v, want median %v in [%v, %v] at ≥ %v", s, tc.med, tc.lo, tc.hi, tc.minConf)
			}
		})
	}
	if c := coverage(10, 2); math.Abs(c-0.9785) > 0.001 {
		t.Errorf("coverage(10, 2) = %v", c)
	}
}

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkJWT/alg=HS256/token=new/inflight=1-2   	  1000	  4094 ns/op	  4935 cpu-ns/op	 2.000 hit-%	 20 allocs/op
BenchmarkJWT/alg=HS256/token=new/inflight=1-2   	  1000	  4000 ns/op	  4900 cpu-ns/op	 1.000 hit-%	 20 allocs/op
BenchmarkSession/store=redis/inflight=8-2   	  200	  16355 ns/op	  15950 cpu-ns/op	 8.000 pool	 100 store-cpu-ns/op
--- FAIL: something
PASS
`
	var r benchResults
	if err := parseBench(strings.NewReader(out), &r); err != nil {
		t.Fatal(err)
	}
	if s := r.stat("JWT/alg=HS256/token=new/inflight=1", "ns/op"); s.N != 2 || s.Median != 4047 {
		t.Errorf("ns/op %+v", s)
	}
	if s := r.sumStat("Session/store=redis/inflight=8", "cpu-ns/op", "store-cpu-ns/op"); s.Median != 16050 {
		t.Errorf("caller + store CPU %+v", s)
	}
	if len(r.order) != 2 || r.has("nothing") {
		t.Errorf("order %v", r.order)
	}
}
