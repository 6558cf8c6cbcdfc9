//go:build !race

package accesslog_test

import (
	"testing"

	"github.com/tokengate/tokengate/accesslog"
	"github.com/tokengate/tokengate/gate"
)

// TestAllowedRequestsCostNothingByDefault: with the default mode, a
// cached allowed request through a gate that logs allocates nothing.
func TestAllowedRequestsCostNothingByDefault(t *testing.T) {
	e := newEnv(t, accesslog.Options{Mode: accesslog.Denied})
	tok := []byte("Bearer " + e.sign(claims("carol", "")))
	method, target := []byte("GET"), []byte("/orders")
	r, d := new(gate.Request), new(gate.Decision)
	run := func() {
		r.Reset()
		r.Method, r.Target = method, target
		r.AddAuthorization(tok)
		e.g.Check(r, testNow, d)
	}
	for i := 0; d.Cache != gate.CacheHit; i++ { // stored on its second sighting, asynchronously
		if i == 10000 {
			t.Fatal("never served from the cache")
		}
		run()
	}
	if n := testing.AllocsPerRun(200, run); n != 0 || !d.Allow {
		t.Errorf("%.1f allocations per allowed request (allowed %v)", n, d.Allow)
	}
}
