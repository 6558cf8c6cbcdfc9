package sidecar_test

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkHandler drives handlers through a reused RequestCtx, as fasthttp
// does: a no-op handler (the floor of the HTTP layer), /verify with the
// token in the cache, /verify with the cache disabled (full ES256
// verification) and a rejected token.
func BenchmarkHandler(b *testing.B) {
	f := newFixture(b, nil)
	tok := sign(b, f.es, nil)
	auth := "Bearer " + tok
	noop := func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusOK) }
	uncached := newFixture(b, func(c *serverConfig) { c.Cache.MaxBytes = 0 })
	cases := []struct {
		name    string
		handler fasthttp.RequestHandler
		auth    string
		status  int
	}{
		{"noop", noop, auth, 200},
		{"verify-cached", f.srv.HandleVerify, auth, 200},
		{"verify-uncached-ES256", uncached.srv.HandleVerify, auth, 200},
		{"verify-malformed", f.srv.HandleVerify, "Bearer x.y.z", 401},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			run := func() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.SetRequestURI("/verify")
				ctx.Request.Header.Set("Authorization", c.auth)
				ctx.Request.Header.Set("X-Original-URI", "/orders/7")
				c.handler(&ctx)
				if ctx.Response.StatusCode() != c.status {
					b.Fatalf("status %d", ctx.Response.StatusCode())
				}
			}
			if c.name == "verify-cached" {
				waitCached(b, f, run)
			}
			b.ReportAllocs()
			for b.Loop() {
				run()
			}
		})
	}
}
