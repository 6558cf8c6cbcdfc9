// Package testenv finds the real services integration tests talk to. A
// missing service skips the test with a one-line reason, except under
// TOKENGATE_INTEGRATION=require (CI), where it fails it.
package testenv

import (
	"net"
	"os"
	"testing"
	"time"
)

// Env is the variable that turns a missing service into a failure.
const Env = "TOKENGATE_INTEGRATION"

// Required reports whether missing services fail tests.
func Required() bool { return os.Getenv(Env) == "require" }

// Missing skips t, or fails it under TOKENGATE_INTEGRATION=require.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf(format+" (and "+Env+"=require)", args...)
	}
	t.Skipf(format+" (set "+Env+"=require to fail instead)", args...)
}

// RedisAddr returns the address of a reachable Redis: $TOKENGATE_REDIS_ADDR
// or 127.0.0.1:6379.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("TOKENGATE_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		Missing(t, "Redis at %s unreachable: %v", addr, err)
		return ""
	}
	c.Close()
	return addr
}
