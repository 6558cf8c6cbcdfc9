package main

import (
	"bufio"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Stat is the median of repeated measurements with a distribution-free
// confidence interval for it (order statistics of the sample, as benchstat
// computes them): Lo..Hi covers the true median with probability Conf.
type Stat struct {
	Median, Lo, Hi float64
	N              int
	Conf           float64 // the interval's coverage; < 0.95 when N is small
}

// Valid reports whether the Stat holds any measurement.
func (s Stat) Valid() bool { return s.N > 0 }

// RelErr is the half-width of the interval relative to the median.
func (s Stat) RelErr() float64 {
	if s.Median == 0 {
		return 0
	}
	return max(s.Median-s.Lo, s.Hi-s.Median) / s.Median
}

// newStat computes the median and the narrowest symmetric order-statistic
// interval whose coverage is at least 95 % (or, for fewer than 6 values,
// the whole range, with its lower coverage).
func newStat(values []float64) Stat {
	n := len(values)
	if n == 0 {
		return Stat{}
	}
	x := slices.Clone(values)
	slices.Sort(x)
	med := x[n/2]
	if n%2 == 0 {
		med = (x[n/2-1] + x[n/2]) / 2
	}
	// Coverage of [x(k), x(n-k+1)] (1-based) is P(k <= B <= n-k) for B ~
	// Binomial(n, 1/2). Take the largest k with coverage >= 0.95.
	best, conf := 1, coverage(n, 1)
	for k := 2; k <= n/2; k++ {
		c := coverage(n, k)
		if c < 0.95 {
			break
		}
		best, conf = k, c
	}
	return Stat{Median: med, Lo: x[best-1], Hi: x[n-best], N: n, Conf: conf}
}

// coverage is P(k <= B <= n-k) for B ~ Binomial(n, 1/2).
func coverage(n, k int) float64 {
	var p float64
	for i := k; i <= n-k; i++ {
		p += binom(n, i)
	}
	return p / math.Pow(2, float64(n))
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// benchResults are `go test -bench` values: name (without "Benchmark" and
// the -GOMAXPROCS suffix) → unit → every value, in file order.
type benchResults struct {
	values map[string]map[string][]float64
	order  []string
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// parseBench reads `go test -bench` output; other lines are ignored.
func parseBench(r io.Reader, into *benchResults) error {
	if into.values == nil {
		into.values = map[string]map[string][]float64{}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procsSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		if into.values[name] == nil {
			into.values[name] = map[string][]float64{}
			into.order = append(into.order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				into.values[name][f[i+1]] = append(into.values[name][f[i+1]], v)
			}
		}
	}
	return sc.Err()
}

// stat returns the Stat of name's unit ("ns/op", "cpu-ns/op", ...).
func (b *benchResults) stat(name, unit string) Stat {
	return newStat(b.values[name][unit])
}

// has reports whether name was measured.
func (b *benchResults) has(name string) bool { return len(b.values[name]) > 0 }

// sumStat is the Stat of the per-run sum of two units of one benchmark
// (caller CPU + store CPU), pairing the i-th values of each.
func (b *benchResults) sumStat(name, u1, u2 string) Stat {
	a, c := b.values[name][u1], b.values[name][u2]
	if len(c) == 0 {
		return newStat(a)
	}
	n := min(len(a), len(c))
	s := make([]float64, n)
	for i := range n {
		s[i] = a[i] + c[i]
	}
	return newStat(s)
}
