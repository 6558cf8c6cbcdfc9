// Package testenv finds the real services integration tests talk to. A
// missing service skips the test with a one-line reason, except under
// TOKENGATE_INTEGRATION=require (CI), where it fails it.
package testenv

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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

// RedisURLEnv names the Redis of the tests, the benchmarks (./bench) and
// `tokengate loadtest`: one variable for all of them.
const RedisURLEnv = "TOKENGATE_REDIS_URL"

// DefaultRedisURL is the Redis used when RedisURLEnv is not set.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// RedisAddr returns the host:port of a reachable Redis: that of
// $TOKENGATE_REDIS_URL, or 127.0.0.1:6379. (The tests that take an address
// use database 0 and no credentials.)
func RedisAddr(t testing.TB) string {
	t.Helper()
	url := os.Getenv(RedisURLEnv)
	if url == "" {
		url = DefaultRedisURL
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s=%q: %v", RedisURLEnv, url, err)
	}
	c, err := net.DialTimeout("tcp", opts.Addr, 2*time.Second)
	if err != nil {
		Missing(t, "Redis at %s unreachable: %v", opts.Addr, err)
		return ""
	}
	c.Close()
	return opts.Addr
}
