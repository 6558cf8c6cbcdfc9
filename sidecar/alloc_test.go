//go:build !race

package sidecar_test

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// TestCacheHitDoesNotAllocate pins the hot-path promise: a /verify request
// whose token is in the cache allocates nothing (a reused RequestCtx, as
// fasthttp reuses it between requests).
func TestCacheHitDoesNotAllocate(t *testing.T) {
	f := newFixture(t, nil)
	tok := sign(t, f.es, nil)
	auth := "Bearer " + tok
	var ctx fasthttp.RequestCtx
	run := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/verify")
		ctx.Request.Header.Set("Authorization", auth)
		ctx.Request.Header.Set("X-Original-URI", "/orders/7?x=1")
		f.srv.HandleVerify(&ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("status %d", ctx.Response.StatusCode())
		}
	}
	run()
	waitCached(t, f, run)
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Fatalf("a cache hit allocates %.1f times", n)
	}
}
