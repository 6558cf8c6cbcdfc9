package sidecar_test

import (
	"strings"
	"testing"

	"github.com/tokengate/tokengate/verifier"
)

// TestLargeTokensStillCached: Envoy's JWT filter leaves tokens over 4 KiB
// uncached, so post-quantum and claim-heavy tokens pay a signature check on
// every request. Here the cache is bounded by bytes only: a 48 KiB token is
// served from the cache like a small one.
func TestLargeTokensStillCached(t *testing.T) {
	f := newFixtureOpts(t, func(c *serverConfig) { c.Cache.MaxBytes = 8 << 20 }, func(vo *verifier.Options, _ *serverOptions) {
		vo.MaxTokenSize = 96 << 10
	})
	groups := make([]string, 200)
	for i := range groups {
		groups[i] = "group-with-a-long-name-" + strings.Repeat("x", 180)
	}
	tok := sign(t, f.es, map[string]any{"groups": groups})
	if len(tok) < 48<<10 {
		t.Fatalf("token is only %d bytes", len(tok))
	}
	waitCached(t, f, func() {
		if r := do(f, bearer(tok)); r.StatusCode() != 200 {
			t.Fatalf("large token: %d %s", r.StatusCode(), r.Header.Peek("WWW-Authenticate"))
		}
	})
}
