// Package sidecar serves tokengate over HTTP with fasthttp: the /verify
// endpoint that reverse proxies (nginx auth_request, Caddy forward_auth,
// Envoy ext_authz in HTTP mode, Traefik ForwardAuth) and pod neighbours
// call, and the admin listener (/healthz, /readyz, /metrics, /keys,
// /revocations).
//
// The sidecar decides nothing: it reads the request a proxy describes
// (method and URI from X-Original-*/X-Forwarded-* or the request line,
// the Authorization and Cookie headers), asks the gate, and writes its
// Decision: 200 with claims copied into headers, or 401/403 with an
// RFC 6750 §3 WWW-Authenticate challenge. Its own concerns are listeners,
// limits, load shedding and the admin endpoints. A cache hit allocates
// nothing.
package sidecar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/metrics"
	"github.com/tokengate/tokengate/revocation"
)

// Keys is the live keyring, for the admin endpoints (a *keyring.Ring).
type Keys interface {
	Snapshot() *keyring.Snapshot
	Status() keyring.Status
}

// Server is the sidecar: the /verify and admin listeners over one gate.
type Server struct {
	gate    *gate.Gate
	keys    Keys
	log     *slog.Logger
	clock   func() time.Time // Options.Now when injected, else nil
	limits  Limits
	prefix  []byte // Config.PathPrefix
	metrics *metrics.Registry
	// metricsHandler serves /metrics: the registry's net/http handler
	// adapted to fasthttp (the admin listener is not the request path).
	metricsHandler fasthttp.RequestHandler
	// inFlight counts the listener's /verify requests against
	// Limits.MaxInFlight (set by Serve).
	inFlight inFlight

	revs       *revocation.Store // nil: no revocation
	revSync    *revocation.Sync  // nil: revocations stay local
	adminToken []byte

	mu        sync.Mutex
	verifySrv *fasthttp.Server
	adminSrv  *fasthttp.Server
}

// inFlight is the one counter every /verify request writes: an atomic add
// on entry and one on exit, and no lock (DESIGN: no locks shared by all
// requests). A single atomic, not sharded: two adds per request are small
// next to the HTTP parsing around them (not measured apart on 2 cores;
// shard it if a profile on many cores shows this line contended). It sits
// on cache lines of its own so its writes do not evict the state pointer
// every request reads.
type inFlight struct {
	_     [64]byte
	n     atomic.Int64
	limit atomic.Int64 // 0: no limit; written by Serve, read per request
	_     [48]byte
}

// Options are the sidecar's collaborators.
type Options struct {
	// Gate decides every /verify request. Required.
	Gate *gate.Gate
	// Keys is the keyring the gate verifies with, for /keys and /readyz.
	// Required.
	Keys Keys
	// Metrics is the registry the gate observes with; /metrics writes it,
	// and the sidecar adds its latency, in-flight and shedding figures.
	// Nil makes a registry of the sidecar's own, which sees no decisions
	// unless it is also the gate's Observer.
	Metrics *metrics.Registry
	Logger  *slog.Logger
	// Now is the clock of requests, for tests; nil means time.Now. It
	// must be the clock the gate was built with.
	Now func() time.Time
	// Revocations, when set, is served on the admin API (/revocations)
	// and reported on /readyz and /metrics. (The gate checks tokens
	// against it; that is the gate's own option.)
	Revocations *revocation.Store
	// RevocationSync, when set, carries the admin API's changes to the
	// other replicas through Redis; without it they stay in this process.
	RevocationSync *revocation.Sync
	// AdminToken, when not empty, is the bearer secret the admin
	// listener's /revocations and /keys require. Without it those answer
	// only requests that arrive on a loopback address.
	AdminToken []byte
}

// New builds a Server with the listener limits cfg.
func New(cfg Config, o Options) (*Server, error) {
	if o.Gate == nil || o.Keys == nil {
		return nil, errors.New("sidecar: a gate and its keyring are required")
	}
	if o.RevocationSync != nil && o.Revocations == nil {
		return nil, errors.New("sidecar: a revocation sync needs its store")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{gate: o.Gate, keys: o.Keys, log: o.Logger, clock: o.Now, limits: cfg.Limits, prefix: []byte(cfg.PathPrefix),
		metrics: o.Metrics, revs: o.Revocations, revSync: o.RevocationSync, adminToken: bytes.Clone(o.AdminToken)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = metrics.New(metrics.Options{Keys: o.Keys, Revocations: o.Revocations, RevocationSync: o.RevocationSync})
		s.metrics.AttachGate(o.Gate)
	}
	s.metrics.SetInFlight(s.inFlight.n.Load)
	s.metricsHandler = fasthttpadaptor.NewFastHTTPHandler(s.metrics.Handler())
	return s, nil
}

// now reads the server's clock (Options.Now, else time.Now).
func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// Gate is the gate the server asks.
func (s *Server) Gate() *gate.Gate { return s.gate }

// Serve serves /verify on verifyLn and the admin endpoints on adminLn
// (nil skips it) until Shutdown. It returns the first serve error.
func (s *Server) Serve(verifyLn, adminLn net.Listener) error {
	lim := s.limits
	s.inFlight.limit.Store(int64(lim.MaxInFlight))
	s.mu.Lock()
	s.verifySrv = &fasthttp.Server{
		Handler:                       s.handleVerifyNoBody,
		Name:                          "tokengate",
		ReadTimeout:                   lim.ReadTimeout,
		WriteTimeout:                  lim.WriteTimeout,
		IdleTimeout:                   lim.IdleTimeout,
		ReadBufferSize:                lim.MaxHeaderBytes,
		MaxRequestBodySize:            1, // /verify takes no body
		MaxConnsPerIP:                 lim.MaxConnsPerIP,
		Concurrency:                   lim.Concurrency,
		DisableHeaderNamesNormalizing: false,
		NoDefaultDate:                 true,
		NoDefaultContentType:          true,
		CloseOnShutdown:               true,
		Logger:                        fasthttpLogger{s.log},
	}
	if adminLn != nil {
		s.adminSrv = &fasthttp.Server{
			Handler:            s.HandleAdmin,
			Name:               "tokengate-admin",
			MaxRequestBodySize: maxAdminBody,
			ReadTimeout:        lim.ReadTimeout,
			WriteTimeout:       lim.WriteTimeout,
			IdleTimeout:        lim.IdleTimeout,
			CloseOnShutdown:    true,
			Logger:             fasthttpLogger{s.log},
		}
	}
	verifySrv, adminSrv := s.verifySrv, s.adminSrv
	s.mu.Unlock()

	errc := make(chan error, 2)
	go func() { errc <- verifySrv.Serve(verifyLn) }()
	if adminSrv != nil {
		go func() { errc <- adminSrv.Serve(adminLn) }()
	}
	return <-errc
}

// handleVerifyNoBody is HandleVerify for the listener: /verify takes no
// body. fasthttp reads MaxRequestBodySize 0 as its 4 MiB default, so the
// server is set to 1 and the one byte that still fits is refused here, with
// the connection closed: a request whose framing the proxy may read
// differently (a smuggling attempt) is never answered as if it were sound.
//
// It also sheds load per request: beyond Limits.MaxInFlight requests being
// handled, one more is answered 503 at once and its connection stays open
// (fasthttp's Concurrency, which counts connections, closes it instead: a
// client that reconnects pays far more than the answer costs).
func (s *Server) handleVerifyNoBody(ctx *fasthttp.RequestCtx) {
	if len(ctx.Request.Body()) > 0 {
		ctx.Error("request body not allowed", fasthttp.StatusRequestEntityTooLarge) // resets the response: first
		ctx.SetConnectionClose()
		return
	}
	if limit := s.inFlight.limit.Load(); limit > 0 {
		if s.inFlight.n.Add(1) > limit {
			s.inFlight.n.Add(-1)
			s.shed(ctx)
			return
		}
		defer s.inFlight.n.Add(-1)
	}
	s.HandleVerify(ctx)
}

var (
	hdrRetryAfter = []byte("Retry-After")
	retryAfterOne = []byte("1")
)

// shed answers a request over Limits.MaxInFlight: 503 with Retry-After
// (RFC 9110 §15.6.4, §10.2.3), no token read, no verifier, no cache, and
// the connection kept. Behind nginx auth_request a 503 becomes a 500 to the
// client: overload fails closed.
func (s *Server) shed(ctx *fasthttp.RequestCtx) {
	s.metrics.ObserveShed()
	ctx.Response.Header.SetCanonical(hdrRetryAfter, retryAfterOne)
	ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	ctx.Response.AppendBodyString("overloaded, retry later\n")
}

// Shutdown stops accepting connections and waits for in-flight requests,
// or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := []*fasthttp.Server{s.verifySrv, s.adminSrv}
	s.mu.Unlock()
	var errs []error
	for _, srv := range servers {
		if srv != nil {
			errs = append(errs, srv.ShutdownWithContext(ctx))
		}
	}
	return errors.Join(errs...)
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("http server", "detail", fmt.Sprintf(format, args...))
}

var (
	hdrAuthorization   = []byte("Authorization")
	hdrCookie          = []byte("Cookie")
	hdrWWWAuthenticate = []byte("WWW-Authenticate")
	hdrOriginalURI     = []byte("X-Original-URI")
	hdrTraceParent     = []byte("Traceparent")
	hdrRequestID       = []byte("X-Request-Id")
	hdrOriginalMethod  = []byte("X-Original-Method")
	hdrForwardedURI    = []byte("X-Forwarded-Uri")
	hdrForwardedMethod = []byte("X-Forwarded-Method")
	// hdrEnvoyRemove is how an HTTP authorization service tells Envoy's
	// ext_authz which request headers to remove before the request goes
	// upstream (a comma-separated list).
	hdrEnvoyRemove = []byte("X-Envoy-Auth-Headers-To-Remove")
)

// HandleVerify is the /verify handler (any method, any path).
func (s *Server) HandleVerify(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	now := start // one clock read per request, unless a test injected a clock
	if s.clock != nil {
		now = s.clock()
	}
	if s.staleRequest(ctx, start) {
		s.shedStale(ctx)
		return
	}
	req, d := gate.AcquireRequest(), gate.AcquireDecision()
	readRequest(ctx, req, s.prefix)
	req.Received = start
	s.gate.Check(req, now, d)
	writeDecision(ctx, d)
	gate.ReleaseRequest(req)
	gate.ReleaseDecision(d)
	s.metrics.ObserveLatency(start)
}

// readRequest fills req from what the proxy forwarded: the original method
// and URI from X-Original-Method/X-Original-URI (nginx recipes) or
// X-Forwarded-Method/X-Forwarded-Uri (Caddy, Traefik ForwardAuth), else
// the request's own line (Envoy's HTTP ext_authz sends the original method,
// and the original path after its path_prefix, which prefix strips; a pod
// neighbour may send its own), and every Authorization and Cookie header.
// The forwarded headers are trusted because only the proxy reaches
// /verify and the recipes set them from the real request.
func readRequest(ctx *fasthttp.RequestCtx, req *gate.Request, prefix []byte) {
	h := &ctx.Request.Header
	if req.Target = h.PeekBytes(hdrOriginalURI); len(req.Target) == 0 {
		if req.Target = h.PeekBytes(hdrForwardedURI); len(req.Target) == 0 {
			req.Target = stripPrefix(h.RequestURI(), prefix)
		}
	}
	if req.Method = h.PeekBytes(hdrOriginalMethod); len(req.Method) == 0 {
		if req.Method = h.PeekBytes(hdrForwardedMethod); len(req.Method) == 0 {
			req.Method = h.Method()
		}
	}
	// For access logs only: the proxy's trace context and request id.
	req.TraceParent = h.PeekBytes(hdrTraceParent)
	req.RequestID = h.PeekBytes(hdrRequestID)
	// PeekAll reuses one buffer per header object: each value slice stays
	// valid, the list does not, so each is copied out before the next call.
	for _, v := range h.PeekAll(string(hdrAuthorization)) {
		req.AddAuthorization(v)
	}
	for _, v := range h.PeekAll(string(hdrCookie)) {
		req.AddCookieHeader(v)
	}
}

var rootPath = []byte("/")

// stripPrefix returns the original request target inside target: what
// follows prefix ("/verify/orders/7?x=1" → "/orders/7?x=1"; the prefix
// alone is "/"). A target outside the prefix ("/other", "/verifyx",
// "/verify?x") was not sent by the proxy the prefix is configured for; it
// comes back nil, which the gate refuses as a path it cannot read.
func stripPrefix(target, prefix []byte) []byte {
	if len(prefix) == 0 {
		return target
	}
	if !bytes.HasPrefix(target, prefix) {
		return nil
	}
	switch rest := target[len(prefix):]; {
	case len(rest) == 0:
		return rootPath
	case rest[0] == '/':
		return rest
	}
	return nil
}

// writeDecision writes d as /verify's response: 200 with the headers to
// set, or the status with the WWW-Authenticate challenge and the reason
// as the body.
//
// A 200 also lists, in X-Envoy-Auth-Headers-To-Remove, every header name
// tokengate may set but did not set for this request, and the "_"
// spelling of each (gate.Decision.Unset): Envoy's ext_authz HTTP mode
// copies the headers it is allowed to (allowed_upstream_headers) but
// leaves a client's copy of any other in place, and removes the names
// listed here (after it sets, so a name tokengate set is never listed).
// Other proxies ignore the header.
func writeDecision(ctx *fasthttp.RequestCtx, d *gate.Decision) {
	ctx.SetStatusCode(d.Status)
	if d.Allow {
		for _, h := range d.Set {
			// Names are canonical and values checked when the token was
			// rendered: skip fasthttp's per-call normalisation.
			ctx.Response.Header.SetCanonical(h.Name, h.Value)
		}
		if len(d.Unset) > 0 {
			ctx.Response.Header.SetCanonical(hdrEnvoyRemove, d.Unset)
		}
		return
	}
	if d.Challenge != nil {
		ctx.Response.Header.SetBytesKV(hdrWWWAuthenticate, d.Challenge)
	}
	ctx.Response.AppendBodyString(d.Reason)
	ctx.Response.AppendBodyString("\n")
}
