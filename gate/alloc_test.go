//go:build !race

package gate_test

import (
	"testing"

	"github.com/tokengate/tokengate/gate"
)

// TestCacheHitDoesNotAllocate pins the hot-path promise: a Check whose
// token is in the cache — path normalised, route matched, revocation and
// rule checked, headers handed out — allocates nothing, and neither do
// the refusals that need no verification.
func TestCacheHitDoesNotAllocate(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) {
		c.Routes = []gate.Route{
			{Prefix: "/public", Public: true},
			{Prefix: "/admin", Scopes: []string{"admin"}},
			{Prefix: "/orders", Methods: []string{"GET"}, Claims: map[string][]string{"realm_access.roles": {"viewer"}}},
		}
	})
	tok := sign(t, e.es, nil)
	for name, r := range map[string]req{
		"hit":                  {method: "get", target: "/orders/7?x=1", auth: []string{"Bearer " + tok}},
		"hit, forbidden":       {target: "/admin/x", auth: []string{"Bearer " + tok}},
		"public":               {target: "/public/x"},
		"no token":             {target: "/orders/7"},
		"bad path":             {target: "/a/%2e%2e/%2e%2e/b", auth: []string{"Bearer " + tok}},
		"two credentials":      {auth: []string{"Bearer " + tok, "Bearer " + tok}},
		"malformed (negative)": {auth: []string{"Bearer x.y.z"}},
	} {
		gr := gate.AcquireRequest()
		d := gate.AcquireDecision()
		if r.method == "" {
			r.method = "GET"
		}
		method, target := []byte(r.method), []byte(r.target)
		var auth [][]byte
		for _, a := range r.auth {
			auth = append(auth, []byte(a))
		}
		run := func() {
			gr.Reset()
			gr.Method, gr.Target = method, target
			for _, a := range auth {
				gr.AddAuthorization(a)
			}
			e.g.Check(gr, testNow, d)
		}
		run()
		run() // the second sighting stores the token (cache.admit_first_use is off)
		e.g.WaitCache()
		run()
		if n := testing.AllocsPerRun(200, run); n != 0 {
			t.Errorf("%s: %.1f allocations per Check (status %d %q)", name, n, d.Status, d.Reason)
		}
	}
}
