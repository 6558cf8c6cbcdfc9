package proccpu

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		line string
		want time.Duration
		ok   bool
	}{
		{"plain", "1234 (redis-server) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 4 0 100 0 0", 3250 * time.Millisecond, true},
		{"name with spaces and parens", "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 1 0 0", 30 * time.Millisecond, true},
		{"no parens", "7 a R 1", 0, false},
		{"short", "7 (a) R 1 2 3", 0, false},
		{"not a number", "7 (a) R 1 7 7 0 -1 0 0 0 0 0 x 2 0", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.line))
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("parseStat = %v, %v; want %v, ok %v", got, err, tc.want, tc.ok)
			}
		})
	}
}

// TestSelfGrows burns CPU and checks /proc charges it to this process.
func TestSelfGrows(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		x++
	}
	after, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 50*time.Millisecond {
		t.Fatalf("100 ms of spinning charged %v (x=%d)", after-before, x)
	}
	pids, err := ByName(readComm(t))
	if err != nil || len(pids) == 0 {
		t.Fatalf("ByName(own name) = %v, %v", pids, err)
	}
	g := NewGroup(readComm(t))
	if tot, err := g.Total(); err != nil || tot < after {
		t.Fatalf("group total %v, %v; want ≥ %v", tot, err, after)
	}
}

func readComm(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:len(b)-1])
}
