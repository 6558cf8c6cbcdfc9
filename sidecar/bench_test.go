package sidecar_test

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkHandler drives handlers through a reused RequestCtx, as fasthttp
// does: a no-op handler (the floor of the HTTP layer), /verify with the
// token in the cache as nginx, Traefik and Envoy's HTTP mode describe the
// original request, /verify with the cache disabled (full ES256
// verification) and a rejected token.
func BenchmarkHandler(b *testing.B) {
	f := newFixture(b, func(c *serverConfig) { c.PathPrefix = "/ext-authz" })
	tok := sign(b, f.es, nil)
	auth := "Bearer " + tok
	noop := func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusOK) }
	uncached := newFixture(b, func(c *serverConfig) { c.Cache.MaxBytes = 0 })
	nginx := func(r *fasthttp.Request) {
		r.SetRequestURI("/verify")
		r.Header.Set("X-Original-URI", "/orders/7")
	}
	traefik := func(r *fasthttp.Request) {
		r.SetRequestURI("/verify")
		r.Header.Set("X-Forwarded-Method", "GET")
		r.Header.Set("X-Forwarded-Uri", "/orders/7")
		r.Header.Set("X-Forwarded-Host", "app.example")
		r.Header.Set("X-Forwarded-Proto", "https")
	}
	envoy := func(r *fasthttp.Request) { r.SetRequestURI("/ext-authz/orders/7") }
	cases := []struct {
		name    string
		handler fasthttp.RequestHandler
		setup   func(*fasthttp.Request)
		auth    string
		status  int
	}{
		{"noop", noop, nginx, auth, 200},
		{"verify-cached", f.srv.HandleVerify, nginx, auth, 200},
		{"verify-cached-traefik", f.srv.HandleVerify, traefik, auth, 200},
		{"verify-cached-envoy-http", f.srv.HandleVerify, envoy, auth, 200},
		{"verify-uncached-ES256", uncached.srv.HandleVerify, nginx, auth, 200},
		{"verify-malformed", f.srv.HandleVerify, nginx, "Bearer x.y.z", 401},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			run := func() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				c.setup(&ctx.Request)
				ctx.Request.Header.Set("Authorization", c.auth)
				c.handler(&ctx)
				if ctx.Response.StatusCode() != c.status {
					b.Fatalf("status %d", ctx.Response.StatusCode())
				}
			}
			if c.status == 200 && c.name != "noop" && c.name != "verify-uncached-ES256" {
				waitCached(b, f, run)
			}
			b.ReportAllocs()
			for b.Loop() {
				run()
			}
		})
	}
}
