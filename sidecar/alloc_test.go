//go:build !race

package sidecar_test

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// TestCacheHitDoesNotAllocate pins the hot-path promise: a /verify request
// whose token is in the cache allocates nothing (a reused RequestCtx, as
// fasthttp reuses it between requests), however the proxy describes the
// original request: nginx's X-Original-URI, Traefik's X-Forwarded-*, or
// Envoy's HTTP mode (the request line after the path prefix; the answer
// then also lists the headers to remove).
func TestCacheHitDoesNotAllocate(t *testing.T) {
	f := newFixture(t, func(c *serverConfig) { c.PathPrefix = "/ext-authz" })
	tok := sign(t, f.es, nil)
	auth := "Bearer " + tok
	for _, c := range []struct {
		name  string
		setup func(r *fasthttp.Request)
	}{
		{"nginx", func(r *fasthttp.Request) {
			r.SetRequestURI("/verify")
			r.Header.Set("X-Original-URI", "/orders/7?x=1")
		}},
		{"Traefik", func(r *fasthttp.Request) {
			r.SetRequestURI("/verify")
			r.Header.Set("X-Forwarded-Method", "delete")
			r.Header.Set("X-Forwarded-Uri", "/orders/7?x=1")
			r.Header.Set("X-Forwarded-Host", "app.example")
			r.Header.Set("X-Forwarded-Proto", "https")
		}},
		{"Envoy HTTP mode", func(r *fasthttp.Request) {
			r.Header.SetMethod("POST")
			r.SetRequestURI("/ext-authz/orders/7?x=1")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			run := func() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				c.setup(&ctx.Request)
				ctx.Request.Header.Set("Authorization", auth)
				f.srv.HandleVerify(&ctx)
				if ctx.Response.StatusCode() != 200 {
					t.Fatalf("status %d %q", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
			run()
			waitCached(t, f, run)
			if n := testing.AllocsPerRun(200, run); n != 0 {
				t.Fatalf("a cache hit allocates %.1f times", n)
			}
		})
	}
}
