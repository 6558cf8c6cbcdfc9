// Package middleware verifies requests in process, for Go services that
// want tokengate's decision without a proxy or a sidecar in front: an
// http.Handler that asks a gate about each request before passing it on.
//
// It decides nothing itself. It reads the request the way /verify reads
// the request a proxy describes — the method as sent, the raw request
// target (Request.RequestURI, before any decoding), every Authorization
// and Cookie header line — asks the gate, and then:
//
//   - refused: answers exactly as /verify does — the status (401 or 403),
//     the RFC 6750 §3 WWW-Authenticate challenge and the reason as the
//     body — and the wrapped handler never runs;
//   - allowed: passes on a copy of the request without any client-sent
//     copy of the headers tokengate may set (Decision.Remove: compared
//     case-insensitively, "_" read as "-", as CGI-style servers merge
//     them), with the headers the gate set (the claim headers), and with
//     the verified token in its context (TokenFrom).
//
// The Middleware holds the *gate.Gate, not its configuration: the gate's
// Apply (build.Parts.Reload on SIGHUP) changes the decision of every
// request that follows, with no request ever seeing half of a change.
package middleware

import (
	"context"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/internal/gatereq"
)

// Options configure a Middleware.
type Options struct {
	// Now is the clock of requests; nil means time.Now. It must be the
	// clock the gate was built with.
	Now func() time.Time
}

// Middleware is an http.Handler that lets through only the requests the
// gate allows. It is safe for concurrent use.
type Middleware struct {
	gate *gate.Gate
	next http.Handler
	now  func() time.Time
}

// New wraps next: every request is decided by g first. It panics if g or
// next is nil (a wiring mistake, not a request).
func New(g *gate.Gate, next http.Handler, o Options) *Middleware {
	if g == nil || next == nil {
		panic("middleware: New needs a gate and a handler")
	}
	m := &Middleware{gate: g, next: next, now: o.Now}
	if m.now == nil {
		m.now = time.Now
	}
	return m
}

type tokenKey struct{}

// TokenFrom returns the verified token of the request whose context ctx
// is, as the Middleware put it there; ok is false on a public route (no
// token was read) or outside the Middleware. The token is immutable and
// may be kept; its Claims are the claims JSON when the gate was built
// with gate.Options.KeepClaims (build.Options.KeepClaims).
func TokenFrom(ctx context.Context) (t *gate.Token, ok bool) {
	t, ok = ctx.Value(tokenKey{}).(*gate.Token)
	return t, ok && t != nil
}

// ServeHTTP decides r and answers it or passes it on.
func (m *Middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b := gatereq.Acquire()
	d := gate.AcquireDecision()
	m.gate.Check(read(b, r), m.now(), d)
	if !d.Allow {
		refuse(w, d)
		gate.ReleaseDecision(d)
		gatereq.Release(b)
		return
	}
	ctx := r.Context()
	if d.Token != nil {
		ctx = context.WithValue(ctx, tokenKey{}, d.Token)
	}
	next := r.WithContext(ctx) // a copy: the caller's request is not changed
	next.Header = forwardHeader(r.Header, d)
	gate.ReleaseDecision(d)
	gatereq.Release(b)
	m.next.ServeHTTP(w, next)
}

// read fills b with what the gate reads of r.
func read(b *gatereq.Builder, r *http.Request) *gate.Request {
	b.Add(gatereq.Method, r.Method)
	target := r.RequestURI // the server's raw request target
	if target == "" {
		target = r.URL.RequestURI() // a request made in process
	}
	b.Add(gatereq.Target, target)
	for name, values := range r.Header {
		f, ok := gatereq.HeaderField(name)
		if !ok {
			continue
		}
		for _, v := range values {
			b.Add(f, v)
		}
	}
	return b.Request()
}

// refuse answers as /verify does: status, challenge, reason.
func refuse(w http.ResponseWriter, d *gate.Decision) {
	h := w.Header()
	if d.Challenge != nil {
		h.Set("WWW-Authenticate", string(d.Challenge))
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(d.Status)
	io.WriteString(w, d.Reason+"\n")
}

// forwardHeader is the header of the request passed on: in's lines
// without any name of d.Remove, then d.Set. in is not modified (it
// belongs to the caller's request); value slices are shared, clipped so
// that an append downstream cannot write into in's.
func forwardHeader(in http.Header, d *gate.Decision) http.Header {
	out := make(http.Header, len(in)+len(d.Set))
	for name, values := range in {
		if !removed(name, d.Remove) {
			out[name] = slices.Clip(values)
		}
	}
	for _, h := range d.Set {
		out[string(h.Name)] = []string{string(h.Value)}
	}
	return out
}

// removed reports whether name is one of names, ignoring ASCII case and
// reading "_" as "-" (X_Auth_Subject is X-Auth-Subject to a CGI-style
// application server).
func removed(name string, names [][]byte) bool {
	for _, n := range names {
		if len(n) == len(name) && sameHeaderName(name, n) {
			return true
		}
	}
	return false
}

func sameHeaderName(a string, b []byte) bool {
	for i := 0; i < len(a); i++ {
		x, y := fold(a[i]), fold(b[i])
		if x != y {
			return false
		}
	}
	return true
}

// fold lower-cases an ASCII letter and maps '_' to '-'.
func fold(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	case c == '_':
		return '-'
	}
	return c
}
