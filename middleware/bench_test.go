package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/internal/frontendtest"
	"github.com/tokengate/tokengate/middleware"
)

// discard is a ResponseWriter that keeps the status only, reused across
// iterations so that only the handler's own cost is measured.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(s int)           { d.status = s }

// BenchmarkMiddleware calls ServeHTTP directly (no network): a no-op
// http.Handler (the floor), the middleware around it with the token in
// the cache, refused without a token, and refused as forged (negative
// cache). The request carries the headers a browser would.
func BenchmarkMiddleware(b *testing.B) {
	env := frontendtest.New(b, testConfig)
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	mw := middleware.New(env.Parts.Gate, noop, middleware.Options{})
	tok := env.Token(b, map[string]any{"scope": "read"})
	for _, c := range []struct {
		name    string
		handler http.Handler
		auth    string
		status  int
	}{
		{"noop", noop, "Bearer " + tok, 200},
		{"cached", mw, "Bearer " + tok, 200},
		{"no-token", mw, "", 401},
		{"forged", mw, "Bearer " + env.Forged(b, nil), 401},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/orders/7?x=1", nil)
			r.Header.Set("User-Agent", "Mozilla/5.0")
			r.Header.Set("Accept", "text/html")
			r.Header.Set("Accept-Language", "en")
			if c.auth != "" {
				r.Header.Set("Authorization", c.auth)
			}
			w := &discard{}
			run := func() {
				w.h, w.status = http.Header{}, 0
				c.handler.ServeHTTP(w, r)
				if w.status != c.status {
					b.Fatalf("status %d", w.status)
				}
			}
			run()
			run() // cached by now
			b.ReportAllocs()
			for b.Loop() {
				run()
			}
		})
	}
}
