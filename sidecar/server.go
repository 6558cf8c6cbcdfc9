// Package sidecar serves tokengate over HTTP with fasthttp: the /verify
// endpoint that reverse proxies (nginx auth_request, Caddy forward_auth,
// Envoy ext_authz, Traefik ForwardAuth) and pod neighbours call, and the
// admin listener (/healthz, /readyz, /metrics, /keys).
//
// /verify answers 200 with claims copied into headers, 401 with an RFC 6750
// §3 WWW-Authenticate challenge for a missing or bad token, or 403 with
// error="insufficient_scope" when a route rule is not met. A cache hit
// allocates nothing.
package sidecar

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/cache"
	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/revocation"
	"github.com/tokengate/tokengate/verifier"
)

// Keys is the live keyring the sidecar verifies with (a *keyring.Ring).
type Keys interface {
	Snapshot() *keyring.Snapshot
	Status() keyring.Status
}

// Server is the sidecar. Its configuration and policy are an immutable
// state behind an atomic pointer: Apply swaps in a new one while requests
// are in flight, and every request loads it once.
type Server struct {
	keys    Keys
	log     *slog.Logger
	now     func() time.Time
	clock   func() time.Time // Options.Now when injected, else nil
	state   atomic.Pointer[state]
	metrics *serverMetrics
	// inFlight counts the listener's /verify requests against
	// Limits.MaxInFlight (set by Serve).
	inFlight inFlight
	applied  atomic.Uint64 // number of successful Apply calls, for /readyz

	revs       *revocation.Store // nil: no revocation
	revSync    *revocation.Sync  // nil: revocations stay local
	adminToken []byte
	refetch    func(ctx context.Context, issuer []byte) bool
	decrypter  *jwe.Decrypter
	requireJWE bool

	mu              sync.Mutex
	verifySrv       *fasthttp.Server
	adminSrv        *fasthttp.Server
	lastApplyErr    error
	lastApplyErrAt  time.Time
	lastApplyOKTime time.Time
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

// state is everything derived from one Config: immutable once built.
type state struct {
	cfg      Config
	verifier *verifier.Verifier
	cache    *cache.Cache[*entry] // nil when disabled
	headers  []headerMapping
	routes   []route
	// claimPaths are the distinct claim paths route rules read; an entry
	// keeps their values so a cache hit can check routes without parsing.
	claimPaths []verifier.Path
	challenge  []byte // `Bearer realm="…"`
	clientHdr  []byte
	keyIDHdr   []byte
	payloadHdr []byte
}

type headerMapping struct {
	name  []byte
	path  verifier.Path
	scope bool // the derived scope list rather than a claim
}

type route struct {
	prefix  string
	methods []string
	public  bool
	scopes  []string
	claims  []routeClaim
}

type routeClaim struct {
	index  int // into state.claimPaths and entry.claimValues
	values []string
}

// entry is the cached outcome of verifying one token under one state: the
// response headers, ready to write, and what route rules need.
type entry struct {
	headers     [][2][]byte
	scopes      []string
	claimValues [][]string
	size        int
	// What revocation rules match on, checked on every hit.
	iss, sub, jti []byte
	iat           float64
	hasIat        bool
}

// revoked reports whether a revocation rule matches e now.
func (s *Server) revoked(e *entry, now time.Time) bool {
	return s.revs != nil && s.revs.Revoked(e.iss, e.sub, e.jti, e.iat, e.hasIat, now)
}

// Options are the parts of a Server that do not come from Config.
type Options struct {
	Keys   Keys
	Logger *slog.Logger
	// Now is the clock of the verifier and the cache; nil means time.Now.
	Now func() time.Time
	// Revocations, when set, is consulted for every accepted token, cache
	// hits included; a match is a 401 "token revoked".
	Revocations *revocation.Store
	// RevocationSync, when set, carries the admin API's changes to the
	// other replicas through Redis; without it they stay in this process.
	RevocationSync *revocation.Sync
	// AdminToken, when not empty, is the bearer secret the admin
	// listener's /revocations endpoint requires. Without it /revocations
	// answers only requests that arrive on a loopback address.
	AdminToken []byte
	// Refetch, when set, is called when a token names a key the keyring
	// does not have (a kid the identity provider may just have added). It
	// refreshes the issuer's key set, rate-limited and shared by concurrent
	// callers, and reports whether the keys changed; if they did the token
	// is verified once more.
	Refetch func(ctx context.Context, issuer []byte) bool
	// Decrypter, when set, accepts encrypted tokens: a compact JWE (five
	// segments) wrapping a signed JWT is decrypted, then the inner token
	// is verified exactly like a plain one. The cache keys on the
	// encrypted token, so a token seen before skips both steps; call
	// ClearCache after changing the Decrypter's keys.
	Decrypter *jwe.Decrypter
	// RequireEncryption refuses tokens that are not JWE (with a
	// Decrypter): for deployments where claims must never travel in clear.
	RequireEncryption bool
}

// New builds a Server from cfg and the verifier options (policy, limits).
func New(cfg Config, vopts verifier.Options, o Options) (*Server, error) {
	if o.Keys == nil {
		return nil, errors.New("sidecar: no keyring")
	}
	s := &Server{keys: o.Keys, log: o.Logger, now: o.Now, clock: o.Now,
		revs: o.Revocations, revSync: o.RevocationSync, adminToken: bytes.Clone(o.AdminToken), refetch: o.Refetch,
		decrypter: o.Decrypter, requireJWE: o.RequireEncryption}
	if s.requireJWE && s.decrypter == nil {
		return nil, errors.New("sidecar: RequireEncryption needs a Decrypter")
	}
	if s.revSync != nil && s.revs == nil {
		return nil, errors.New("sidecar: a revocation sync needs its store")
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.metrics = newServerMetrics(s)
	if err := s.Apply(cfg, vopts); err != nil {
		return nil, err
	}
	return s, nil
}

// Apply validates cfg and vopts and swaps them in atomically; on error the
// running state stays and the error says which field is wrong. Listen
// addresses and server limits take effect only at the next start.
func (s *Server) Apply(cfg Config, vopts verifier.Options) error {
	st, err := s.build(cfg, vopts)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.lastApplyErr, s.lastApplyErrAt = err, s.now()
		s.metrics.reloadFailed.Inc()
		return err
	}
	old := s.state.Swap(st)
	s.lastApplyErr, s.lastApplyOKTime = nil, s.now()
	s.applied.Add(1)
	s.metrics.reloadOK.Inc()
	if old != nil && old.cache != nil {
		// Requests that loaded the old state may still use its cache, and
		// closing a ristretto cache under a concurrent Set panics: close
		// it once every such request has surely finished.
		grace := 2*(old.cfg.Limits.ReadTimeout+old.cfg.Limits.WriteTimeout) + time.Second
		time.AfterFunc(grace, old.cache.Close)
	}
	return nil
}

func (s *Server) build(cfg Config, vopts verifier.Options) (*state, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if vopts.Now == nil {
		vopts.Now = s.now
	}
	v, err := verifier.New(s.keys, vopts)
	if err != nil {
		return nil, err
	}
	st := &state{
		cfg:       cfg,
		verifier:  v,
		challenge: fmt.Appendf(nil, `Bearer realm=%q`, cfg.Realm),
	}
	if cfg.ClientHeader != "" {
		st.clientHdr = canonicalHeader(cfg.ClientHeader)
	}
	if cfg.KeyIDHeader != "" {
		st.keyIDHdr = canonicalHeader(cfg.KeyIDHeader)
	}
	if cfg.PayloadHeader != "" {
		st.payloadHdr = canonicalHeader(cfg.PayloadHeader)
	}
	for _, h := range cfg.Headers {
		m := headerMapping{name: canonicalHeader(h.Header), scope: h.Claim == "scope"}
		if !m.scope {
			if m.path, err = verifier.ParsePath(h.Claim); err != nil {
				return nil, err
			}
		}
		st.headers = append(st.headers, m)
	}
	index := map[string]int{}
	for _, r := range cfg.Routes {
		rt := route{prefix: strings.TrimSuffix(r.Prefix, "/"), methods: r.Methods, public: r.Public, scopes: r.Scopes}
		if rt.prefix == "" {
			rt.prefix = "/"
		}
		for claim, values := range r.Claims {
			i, ok := index[claim]
			if !ok {
				p, err := verifier.ParsePath(claim)
				if err != nil {
					return nil, err
				}
				i = len(st.claimPaths)
				index[claim] = i
				st.claimPaths = append(st.claimPaths, p)
			}
			rt.claims = append(rt.claims, routeClaim{index: i, values: values})
		}
		st.routes = append(st.routes, rt)
	}
	if cfg.Cache.MaxBytes > 0 {
		st.cache, err = cache.New[*entry](cache.Config{
			MaxBytes:    cfg.Cache.MaxBytes,
			NegativeTTL: cfg.Cache.NegativeTTL,
			Now:         vopts.Now,
		}, func(e *entry) int { return e.size })
		if err != nil {
			return nil, err
		}
	}
	return st, nil
}

// Validate checks a Config and names the first field that is wrong.
func (c Config) Validate() error {
	var errs []error
	if c.Realm == "" || strings.ContainsAny(c.Realm, "\"\\\r\n") {
		errs = append(errs, errors.New(`sidecar: realm: must be non-empty without quotes, backslashes or line breaks`))
	}
	if !c.Token.Header && c.Token.Cookie == "" && c.Token.Query == "" {
		errs = append(errs, errors.New("sidecar: token: no token source enabled"))
	}
	seen := map[string]bool{}
	for i, h := range c.Headers {
		if !validHeaderName(h.Header) {
			errs = append(errs, fmt.Errorf("sidecar: headers[%d].header: %q is not a valid header name", i, h.Header))
		}
		if seen[strings.ToLower(h.Header)] {
			errs = append(errs, fmt.Errorf("sidecar: headers[%d].header: %q is mapped twice", i, h.Header))
		}
		seen[strings.ToLower(h.Header)] = true
		if h.Claim == "" {
			errs = append(errs, fmt.Errorf("sidecar: headers[%d].claim: empty", i))
		}
	}
	for _, h := range []string{c.ClientHeader, c.KeyIDHeader, c.PayloadHeader} {
		if h != "" && !validHeaderName(h) {
			errs = append(errs, fmt.Errorf("sidecar: %q is not a valid header name", h))
		}
	}
	if c.MaxHeaderValue < 16 {
		errs = append(errs, errors.New("sidecar: headers.max_value_length: must be at least 16 bytes"))
	}
	for i, r := range c.Routes {
		if !strings.HasPrefix(r.Prefix, "/") {
			errs = append(errs, fmt.Errorf("sidecar: routes[%d].prefix: %q must start with /", i, r.Prefix))
		} else if norm, ok := normalizePath(nil, []byte(r.Prefix)); !ok || (string(norm) != strings.TrimSuffix(r.Prefix, "/") && r.Prefix != "/") {
			errs = append(errs, fmt.Errorf("sidecar: routes[%d].prefix: %q is not a normalised path (want %q)", i, r.Prefix, norm))
		}
		for _, m := range r.Methods {
			if m == "" || strings.ToUpper(m) != m || !validHeaderName(m) {
				errs = append(errs, fmt.Errorf("sidecar: routes[%d].methods: %q must be an upper-case method", i, m))
			}
		}
		if r.Public && (len(r.Scopes) > 0 || len(r.Claims) > 0) {
			errs = append(errs, fmt.Errorf("sidecar: routes[%d]: a public route cannot require scopes or claims", i))
		}
	}
	if c.Limits.MaxInFlight < 0 {
		errs = append(errs, errors.New("sidecar: limits.max_in_flight: must not be negative"))
	}
	if c.Cache.MaxBytes < 0 || c.Cache.NegativeTTL < 0 {
		errs = append(errs, errors.New("sidecar: cache: sizes and durations must not be negative"))
	}
	return errors.Join(errs...)
}

// canonicalHeader is fasthttp's canonical form of a header name
// ("x-auth-subject" → "X-Auth-Subject").
func canonicalHeader(name string) []byte {
	return fasthttp.AppendNormalizedHeaderKey(nil, name)
}

// validHeaderName: RFC 9110 §5.1 field-name = token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Serve serves /verify on verifyLn and the admin endpoints on adminLn
// (nil skips it) until Shutdown. It returns the first serve error.
func (s *Server) Serve(verifyLn, adminLn net.Listener) error {
	lim := s.state.Load().cfg.Limits
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
	s.metrics.result(resultOverload).Inc()
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
	if st := s.state.Load(); st.cache != nil {
		st.cache.Close()
	}
	return errors.Join(errs...)
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("http server", "detail", fmt.Sprintf(format, args...))
}

// scratch is a per-request buffer for the normalised path and challenge.
type scratch struct{ path, buf, plain []byte }

var scratchPool = sync.Pool{New: func() any { return &scratch{path: make([]byte, 0, 256), buf: make([]byte, 0, 256)} }}

var (
	hdrAuthorization   = []byte("Authorization")
	hdrWWWAuthenticate = []byte("WWW-Authenticate")
	hdrOriginalURI     = []byte("X-Original-URI")
	hdrOriginalMethod  = []byte("X-Original-Method")
	hdrForwardedURI    = []byte("X-Forwarded-Uri")
	hdrForwardedMethod = []byte("X-Forwarded-Method")
	bearerPrefix       = []byte("bearer ")
)

// HandleVerify is the /verify handler (any method, any path).
func (s *Server) HandleVerify(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	now := start // one clock read per request, unless a test injected a clock
	if s.clock != nil {
		now = s.clock()
	}
	st := s.state.Load()
	sc := scratchPool.Get().(*scratch)
	s.verify(ctx, st, sc, now)
	scratchPool.Put(sc)
	s.metrics.latency.UpdateDuration(start)
}

func (s *Server) verify(ctx *fasthttp.RequestCtx, st *state, sc *scratch, now time.Time) {
	method, target := originalRequest(ctx)
	var ok bool
	sc.path, ok = normalizePath(sc.path[:0], target)
	if !ok {
		s.metrics.result(resultBadPath).Inc()
		s.deny(ctx, st, sc, fasthttp.StatusForbidden, verifier.CodeInvalidRequest, "request path cannot be normalised")
		return
	}
	rt := st.matchRoute(method, sc.path)
	if rt != nil && rt.public {
		s.metrics.result(resultPublic).Inc()
		ctx.SetStatusCode(fasthttp.StatusOK)
		return
	}
	token, found := st.extractToken(ctx, target)
	if !found {
		// RFC 6750 §3.1: no error code when the request has no token.
		s.metrics.result(resultNoToken).Inc()
		sc.buf = append(sc.buf[:0], st.challenge...)
		ctx.Response.Header.SetBytesKV(hdrWWWAuthenticate, sc.buf)
		ctx.SetStatusCode(fasthttp.StatusUnauthorized)
		ctx.SetBodyString("missing bearer token\n")
		return
	}

	gen := s.keys.Snapshot().Generation()
	if st.cache != nil {
		if hit, ok := st.cache.LookupAt(token, gen, now); ok {
			if hit.Err != nil {
				s.metrics.cacheNegativeHits.Inc()
				s.reject(ctx, st, sc, hit.Err)
				return
			}
			s.metrics.cacheHits.Inc()
			if s.revoked(hit.Value, now) {
				s.reject(ctx, st, sc, verifier.ErrRevoked)
				return
			}
			s.allow(ctx, st, sc, rt, hit.Value)
			return
		}
		s.metrics.cacheMisses.Inc()
	}

	signed := token
	if s.decrypter != nil && jwe.IsJWE(token) {
		var err error
		sc.plain, _, err = s.decrypter.AppendDecrypt(sc.plain[:0], token)
		if err != nil {
			s.metrics.rejectedJWE(err).Inc()
			s.deny(ctx, st, sc, fasthttp.StatusUnauthorized, verifier.CodeInvalidToken, jwe.Reason(err))
			return
		}
		signed = sc.plain
	} else if s.requireJWE {
		s.metrics.rejectedJWE(errNotEncrypted).Inc()
		s.deny(ctx, st, sc, fasthttp.StatusUnauthorized, verifier.CodeInvalidToken, errNotEncrypted.Reason())
		return
	}

	r := verifier.AcquireResult()
	err := st.verifier.Verify(r, signed)
	if err != nil && s.refetch != nil && errors.Is(err, verifier.ErrUnknownKey) && s.refetchKeys(r.Issuer()) {
		err = st.verifier.Verify(r, signed)
	}
	if err != nil {
		verifier.ReleaseResult(r)
		if st.cache != nil && errors.Is(err, verifier.ErrSignature) {
			// A flood of one forged token costs one signature check.
			st.cache.SetNegative(token, gen, err)
		}
		s.reject(ctx, st, sc, err)
		return
	}
	s.metrics.byAlg(r.Alg()).Inc()
	e := st.newEntry(r)
	exp, hasExp := r.Expiry()
	if !hasExp || exp.After(now.Add(maxCacheTTL)) {
		exp = now.Add(maxCacheTTL)
	}
	generation := r.Generation()
	verifier.ReleaseResult(r)
	if st.cache != nil {
		st.cache.Set(token, generation, exp, e)
	}
	if s.revoked(e, now) {
		// Cached all the same: the rule is checked on every hit, and the
		// token works again at once if the rule is removed.
		s.reject(ctx, st, sc, verifier.ErrRevoked)
		return
	}
	s.allow(ctx, st, sc, rt, e)
}

// errNotEncrypted answers a plain token when encryption is required.
var errNotEncrypted = jwe.ErrNotEncrypted

// ClearCache forgets every cached verification result, for example after
// the decryption keys changed.
func (s *Server) ClearCache() {
	if st := s.state.Load(); st != nil && st.cache != nil {
		st.cache.Clear()
	}
}

// refetchTimeout bounds how long a request with an unknown kid waits for
// the identity provider.
const refetchTimeout = 3 * time.Second

// refetchKeys asks the keyring to refresh issuer's keys for a token whose
// kid it does not know. Only this rare path waits; the keyring limits how
// often it really fetches, however many random kids an attacker sends.
func (s *Server) refetchKeys(issuer []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), refetchTimeout)
	defer cancel()
	changed := s.refetch(ctx, issuer)
	if changed {
		s.metrics.refetchChanged.Inc()
	}
	return changed
}

// maxCacheTTL bounds how long a verified token is cached even when it has
// a later (or no) expiry, so policy-relevant time (nbf, iat) stays fresh.
const maxCacheTTL = 10 * time.Minute

// originalRequest returns the method and request target the proxy
// forwarded: X-Original-Method/X-Original-URI (nginx recipes) or
// X-Forwarded-Method/X-Forwarded-Uri (Caddy, Traefik). These headers are
// trusted because only the proxy reaches /verify and the recipes set them
// from the real request; without them the request's own line is used.
func originalRequest(ctx *fasthttp.RequestCtx) (method, target []byte) {
	h := &ctx.Request.Header
	if target = h.PeekBytes(hdrOriginalURI); len(target) == 0 {
		if target = h.PeekBytes(hdrForwardedURI); len(target) == 0 {
			target = h.RequestURI()
		}
	}
	if method = h.PeekBytes(hdrOriginalMethod); len(method) == 0 {
		if method = h.PeekBytes(hdrForwardedMethod); len(method) == 0 {
			method = h.Method()
		}
	}
	return method, target
}

// extractToken finds the token: Authorization Bearer (RFC 6750 §2.1, the
// scheme compared case-insensitively), then the cookie, then the query
// parameter of the original URI (RFC 6750 §2.3), as configured.
func (st *state) extractToken(ctx *fasthttp.RequestCtx, target []byte) ([]byte, bool) {
	src := st.cfg.Token
	if src.Header {
		if auth := ctx.Request.Header.PeekBytes(hdrAuthorization); len(auth) > len(bearerPrefix) && asciiEqualFold(auth[:len(bearerPrefix)], bearerPrefix) {
			if tok := bytes.TrimLeft(auth[len(bearerPrefix):], " "); len(tok) > 0 {
				return bytes.TrimRight(tok, " "), true
			}
		}
	}
	if src.Cookie != "" {
		if tok := ctx.Request.Header.Cookie(src.Cookie); len(tok) > 0 {
			return tok, true
		}
	}
	if src.Query != "" {
		if tok := queryParam(target, src.Query); len(tok) > 0 {
			return tok, true
		}
	}
	return nil, false
}

// queryParam returns the raw value of name in target's query. Tokens are
// base64url and dots, which need no percent-decoding; an encoded value is
// passed on as is and fails verification.
func queryParam(target []byte, name string) []byte {
	q := bytes.IndexByte(target, '?')
	if q < 0 {
		return nil
	}
	query := target[q+1:]
	if h := bytes.IndexByte(query, '#'); h >= 0 {
		query = query[:h]
	}
	for len(query) > 0 {
		pair := query
		if amp := bytes.IndexByte(query, '&'); amp >= 0 {
			pair, query = query[:amp], query[amp+1:]
		} else {
			query = nil
		}
		if len(pair) > len(name) && pair[len(name)] == '=' && string(pair[:len(name)]) == name {
			return pair[len(name)+1:]
		}
	}
	return nil
}

func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i]|0x20 != b[i]|0x20 {
			return false
		}
	}
	return true
}

func (st *state) matchRoute(method, path []byte) *route {
	for i := range st.routes {
		r := &st.routes[i]
		if !matchPrefix(path, r.prefix) {
			continue
		}
		if len(r.methods) > 0 && !containsBytes(r.methods, method) {
			continue
		}
		return r
	}
	return nil
}

func containsBytes(list []string, b []byte) bool {
	for _, s := range list {
		if s == string(b) {
			return true
		}
	}
	return false
}

// permits reports whether a verified token meets the route's rule.
func (rt *route) permits(e *entry) bool {
	for _, want := range rt.scopes {
		if !containsString(e.scopes, want) {
			return false
		}
	}
	for _, c := range rt.claims {
		ok := false
		for _, v := range e.claimValues[c.index] {
			if containsString(c.values, v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Server) allow(ctx *fasthttp.RequestCtx, st *state, sc *scratch, rt *route, e *entry) {
	if rt != nil && !rt.permits(e) {
		s.metrics.result(resultForbidden).Inc()
		s.deny(ctx, st, sc, fasthttp.StatusForbidden, verifier.CodeInsufficientScope, "insufficient scope")
		return
	}
	for _, h := range e.headers {
		// Names were put in canonical form when the state was built and
		// values sanitised when the entry was: skip fasthttp's per-call
		// normalisation.
		ctx.Response.Header.SetCanonical(h[0], h[1])
	}
	s.metrics.result(resultOK).Inc()
	ctx.SetStatusCode(fasthttp.StatusOK)
}

func (s *Server) reject(ctx *fasthttp.RequestCtx, st *state, sc *scratch, err error) {
	s.metrics.rejected(err).Inc()
	s.deny(ctx, st, sc, fasthttp.StatusUnauthorized, verifier.Code(err), verifier.Reason(err))
}

// deny writes `WWW-Authenticate: Bearer realm="…", error="…",
// error_description="…"` (RFC 6750 §3). Reasons are the verifier's fixed,
// client-safe strings: never token bytes or key material.
func (s *Server) deny(ctx *fasthttp.RequestCtx, st *state, sc *scratch, status int, code, reason string) {
	b := append(sc.buf[:0], st.challenge...)
	b = append(b, `, error="`...)
	b = append(b, code...)
	b = append(b, `", error_description="`...)
	b = append(b, reason...)
	b = append(b, '"')
	sc.buf = b
	ctx.Response.Header.SetBytesKV(hdrWWWAuthenticate, b)
	ctx.SetStatusCode(status)
	ctx.Response.AppendBodyString(reason)
	ctx.Response.AppendBodyString("\n")
}

// newEntry renders what a verified token contributes to responses. It runs
// on a cache miss only, so it may allocate.
func (st *state) newEntry(r *verifier.Result) *entry {
	e := &entry{}
	var val []byte
	for _, m := range st.headers {
		val = val[:0]
		if m.scope {
			for i, sc := range r.Scopes() {
				if i > 0 {
					val = append(val, ' ')
				}
				val = append(val, sc...)
			}
		} else if c, ok := r.Claim(m.path); ok {
			val = c.AppendText(val, ',')
		}
		val = sanitizeHeaderValue(val, st.cfg.MaxHeaderValue)
		if len(val) == 0 {
			continue
		}
		e.headers = append(e.headers, [2][]byte{m.name, bytes.Clone(val)})
	}
	if k := r.Key(); k != nil {
		if st.keyIDHdr != nil {
			e.headers = append(e.headers, [2][]byte{st.keyIDHdr, sanitizeHeaderValue([]byte(k.ID()), st.cfg.MaxHeaderValue)})
		}
		if st.clientHdr != nil && k.Client() != "" {
			e.headers = append(e.headers, [2][]byte{st.clientHdr, sanitizeHeaderValue([]byte(k.Client()), st.cfg.MaxHeaderValue)})
		}
	}
	if st.payloadHdr != nil {
		// The payload as signed: base64url has no character that needs
		// sanitising in a header value.
		e.headers = append(e.headers, [2][]byte{st.payloadHdr, base64.RawURLEncoding.AppendEncode(nil, r.Payload())})
	}
	for _, sc := range r.Scopes() {
		e.scopes = append(e.scopes, string(sc))
	}
	e.iss, e.sub, e.jti = bytes.Clone(r.Issuer()), bytes.Clone(r.Subject()), bytes.Clone(r.ID())
	e.iat, e.hasIat = r.IssuedAtSeconds()
	e.claimValues = make([][]string, len(st.claimPaths))
	for i, p := range st.claimPaths {
		c, ok := r.Claim(p)
		if !ok {
			continue
		}
		if c.Kind() == verifier.KindArray {
			for j := 0; j < c.Len(); j++ {
				e.claimValues[i] = append(e.claimValues[i], string(c.Index(j).AppendText(nil, ',')))
			}
		} else {
			e.claimValues[i] = append(e.claimValues[i], string(c.AppendText(nil, ',')))
		}
	}
	e.size = 64 + 3*24 + len(e.iss) + len(e.sub) + len(e.jti) + 16
	for _, h := range e.headers {
		e.size += 48 + len(h[0]) + len(h[1])
	}
	for _, sc := range e.scopes {
		e.size += 16 + len(sc)
	}
	for _, vs := range e.claimValues {
		for _, v := range vs {
			e.size += 16 + len(v)
		}
	}
	return e
}

// sanitizeHeaderValue drops control characters (CR and LF above all:
// header injection) and DEL, and cuts the value to max bytes on a UTF-8
// boundary.
func sanitizeHeaderValue(v []byte, max int) []byte {
	out := v[:0]
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			continue
		}
		out = append(out, c)
	}
	if len(out) > max {
		cut := max
		for cut > 0 && out[cut]&0xc0 == 0x80 { // inside a UTF-8 sequence
			cut--
		}
		out = out[:cut]
	}
	return out
}
