package proccpu

import (
	"os"
	"syscall"
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

// rusage is this process's CPU time from getrusage, the reference /proc
// is checked against (wall time would not do: a loaded machine may not
// give the spinning goroutine its core).
func rusage(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSelfGrows burns 200 ms of CPU and checks /proc charges it to this
// process, within its 10 ms ticks.
func TestSelfGrows(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	ru0 := rusage(t)
	x := 0
	for rusage(t)-ru0 < 200*time.Millisecond {
		x++
	}
	spent := rusage(t) - ru0
	after, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if got := after - before; got < spent-50*time.Millisecond || got > spent+50*time.Millisecond {
		t.Fatalf("%v of CPU (getrusage) charged %v by /proc (x=%d)", spent, got, x)
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
