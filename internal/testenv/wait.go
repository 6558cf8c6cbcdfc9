package testenv

import (
	"testing"
	"time"
)

// Eventually polls cond every 5ms until it holds and returns how long that
// took, or fails t after d naming what it waited for. For conditions an
// event cannot signal (another process's state, a remote server's).
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}
