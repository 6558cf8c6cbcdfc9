// Package gate is tokengate's decision, as a library: given what a front
// end knows about a request (method, raw request target, the credentials it
// carries) and the time, Check says whether the request may go through, and
// with which headers, or how to refuse it (RFC 6750 §3). Every front end —
// the fasthttp /verify endpoint behind nginx, Caddy, Traefik and Envoy, the
// Envoy ext_authz gRPC service, the net/http middleware, the CLI — asks the
// same Gate and only translates its Decision, so they cannot disagree.
//
// In order, Check: normalises the path (refusing what applications could
// read two ways), validates the method, matches the route rules (method
// compared case-insensitively, HEAD as GET), finds the one credential
// (refusing two), looks the token up in the cache of verified tokens
// (same bytes, current key generation, not expired), and on a miss
// decrypts a JWE, verifies the JWS and renders the claims into headers
// (refusing a value that cannot be forwarded exactly); then it checks
// revocation (on hits too) and the route's scope and claim rules.
//
// The package imports no transport and no configuration library. Its
// collaborators are small interfaces (KeySet, Revoker, Decrypter,
// Observer), so another key source or revocation store plugs in without
// touching it. A cache hit allocates nothing.
package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokengate/tokengate/cache"
	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/verifier"
)

// Revoker answers whether a verified token has been revoked (a denied
// "jti", or a subject's "issued before" cutoff). *revocation.Store is one.
// Revoked is called for every accepted token, cache hits included, so it
// must be fast and must not allocate.
type Revoker interface {
	Revoked(iss, sub, jti []byte, iat float64, hasIat bool, now time.Time) bool
}

// Decrypter decrypts a compact JWE wrapping a signed JWT. *jwe.Decrypter
// is one.
type Decrypter interface {
	AppendDecrypt(dst, token []byte) ([]byte, jwe.Header, error)
}

// Options are the Gate's collaborators.
type Options struct {
	// Keys is the key set tokens are verified with (a *keyring.Ring).
	Keys verifier.KeySet
	// Now is the clock of the cache and the verifier; nil means time.Now.
	// Check takes the time of each request from its caller, which must
	// read this same clock.
	Now func() time.Time
	// Revocations, when set, is consulted for every accepted token; a
	// match is a 401 "token revoked".
	Revocations Revoker
	// Refetch, when set, is called when a token names a key the keyring
	// does not have (a kid the identity provider may just have added;
	// kid is nil for a token without one). It refreshes the issuer's key
	// set, rate-limited and shared by concurrent callers, and reports
	// whether the key may now be found; if so the token is verified once
	// more. keyring.Ring.Refetch is one.
	Refetch func(ctx context.Context, issuer, kid []byte) bool
	// Decrypter, when set, accepts encrypted tokens: a compact JWE (five
	// segments) wrapping a signed JWT is decrypted, then the inner token
	// is verified exactly like a plain one. The cache keys on the
	// encrypted token, so a token seen before skips both steps; call
	// ClearCache after changing the Decrypter's keys.
	Decrypter Decrypter
	// RequireEncryption refuses tokens that are not JWE (with a
	// Decrypter): for deployments where claims must never travel in clear.
	RequireEncryption bool
	// Observer, when set, is told about every decision (metrics, logs).
	Observer Observer
	// KeepClaims keeps each verified token's claims JSON in the cache
	// entry, for front ends that hand all claims to an application (the
	// net/http middleware); it costs the payload's size per entry.
	KeepClaims bool
}

// Gate makes decisions. It is safe for concurrent use; Apply swaps in a
// new configuration while requests are in flight, and each Check loads
// the configuration once.
type Gate struct {
	opts  Options
	now   func() time.Time
	state atomic.Pointer[state]

	mu         sync.Mutex // serialises Apply
	applied    atomic.Uint64
	failed     atomic.Uint64
	lastErr    error
	lastErrAt  time.Time
	lastOKTime time.Time
}

// New builds a Gate from cfg, the verifier options (claims policy, limits)
// and its collaborators.
func New(cfg Config, vopts verifier.Options, o Options) (*Gate, error) {
	if o.Keys == nil {
		return nil, errors.New("gate: no key set")
	}
	if o.RequireEncryption && o.Decrypter == nil {
		return nil, errors.New("gate: RequireEncryption needs a Decrypter")
	}
	g := &Gate{opts: o, now: o.Now}
	if g.now == nil {
		g.now = time.Now
	}
	if err := g.Apply(cfg, vopts); err != nil {
		return nil, err
	}
	return g, nil
}

// Apply validates cfg and vopts and swaps them in atomically; on error the
// running configuration stays and the error names what is wrong. The
// cache starts empty under a new configuration: what a cached entry holds
// (headers, route values) depends on it.
func (g *Gate) Apply(cfg Config, vopts verifier.Options) error {
	st, err := g.build(cfg, vopts)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.lastErr, g.lastErrAt = err, g.now()
		g.failed.Add(1)
		return err
	}
	old := g.state.Swap(st)
	g.lastErr, g.lastOKTime = nil, g.now()
	g.applied.Add(1)
	if old != nil && old.cache != nil {
		// Checks that loaded the old state may still use its cache, and
		// closing a ristretto cache under a concurrent Set panics: close
		// it once every such Check has surely returned (the longest a
		// Check can take is a refetch).
		time.AfterFunc(refetchTimeout+30*time.Second, old.cache.Close)
	}
	return nil
}

// Status is the Gate's configuration history, for readiness and metrics.
type Status struct {
	Applied   uint64    // successful Apply calls, New's included
	Failed    uint64    // failed Apply calls after New
	LastOK    time.Time // time of the last successful Apply
	LastError error     // error of the last Apply if it failed (the previous configuration is in force)
	LastErrAt time.Time
	Cache     cache.Stats // zero when the cache is off
	CacheOn   bool
}

// Status reports the Gate's configuration history and cache statistics.
func (g *Gate) Status() Status {
	g.mu.Lock()
	s := Status{Applied: g.applied.Load(), Failed: g.failed.Load(), LastOK: g.lastOKTime, LastError: g.lastErr, LastErrAt: g.lastErrAt}
	g.mu.Unlock()
	if st := g.state.Load(); st != nil && st.cache != nil {
		s.Cache, s.CacheOn = st.cache.Stats(), true
	}
	return s
}

// Config returns the configuration in force.
func (g *Gate) Config() Config { return g.state.Load().cfg }

// ClearCache forgets every cached verification result, for example after
// the decryption keys changed.
func (g *Gate) ClearCache() {
	if st := g.state.Load(); st != nil && st.cache != nil {
		st.cache.Clear()
	}
}

// Close releases the cache. Check must not be called afterwards.
func (g *Gate) Close() {
	if st := g.state.Load(); st != nil && st.cache != nil {
		st.cache.Close()
	}
}

// state is everything derived from one Config: immutable once built.
type state struct {
	cfg      Config
	verifier *verifier.Verifier
	cache    *cache.Cache[*Token] // nil when disabled
	headers  []headerMapping
	routes   []route
	// claimPaths are the distinct claim paths route rules read; a Token
	// keeps their values so a cache hit can check routes without parsing.
	claimPaths []verifier.Path
	// remove lists every header name the gate may set (Decision.Remove);
	// unset is Decision.Unset for a decision that sets none of them.
	remove     [][]byte
	unset      []byte
	challenge  []byte // `Bearer realm="…"`
	clientHdr  []byte
	keyIDHdr   []byte
	payloadHdr []byte
}

func (g *Gate) build(cfg Config, vopts verifier.Options) (*state, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if vopts.Now == nil {
		vopts.Now = g.now
	}
	st := &state{
		cfg:       cfg,
		challenge: fmt.Appendf(nil, `Bearer realm="%s"`, cfg.Realm),
	}
	if err := st.buildHeaders(cfg); err != nil {
		return nil, err
	}
	if err := st.buildRoutes(cfg); err != nil {
		return nil, err
	}
	st.unset = appendRemovals(nil, st.remove, nil)
	// Every claim path read here is one the verifier refuses a token
	// for naming two places (a top-level "a.b" and a nested a.b), so a
	// header or a rule never reads the place the token chose.
	vopts.ClaimPaths = append(slices.Clip(vopts.ClaimPaths), st.claimPaths...)
	for _, m := range st.headers {
		if !m.scope {
			vopts.ClaimPaths = append(vopts.ClaimPaths, m.path)
		}
	}
	var err error
	if st.verifier, err = verifier.New(g.opts.Keys, vopts); err != nil {
		return nil, err
	}
	if cfg.Cache.MaxBytes > 0 {
		st.cache, err = cache.New[*Token](cache.Config{
			MaxBytes:    cfg.Cache.MaxBytes,
			NegativeTTL: cfg.Cache.NegativeTTL,
			Now:         vopts.Now,
			SecondUse:   !cfg.Cache.AdmitFirstUse,
		}, func(t *Token) int { return t.size })
		if err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (st *state) buildHeaders(cfg Config) error {
	for _, h := range cfg.Headers {
		m := headerMapping{name: CanonicalHeader(h.Header), scope: h.Claim == "scope", format: h.Format}
		if !m.scope {
			var err error
			if m.path, err = verifier.ParsePath(h.Claim); err != nil {
				return err
			}
		}
		st.headers = append(st.headers, m)
		st.remove = append(st.remove, m.name)
	}
	for _, h := range []struct {
		dst  *[]byte
		name string
	}{{&st.clientHdr, cfg.ClientHeader}, {&st.keyIDHdr, cfg.KeyIDHeader}, {&st.payloadHdr, cfg.PayloadHeader}} {
		if h.name != "" {
			*h.dst = CanonicalHeader(h.name)
			st.remove = append(st.remove, *h.dst)
		}
	}
	return nil
}

// CanonicalHeader is the canonical form of a header name: each
// dash-separated word capitalised ("x-auth-subject" → "X-Auth-Subject").
func CanonicalHeader(name string) []byte {
	b := []byte(name)
	upper := true
	for i, c := range b {
		switch {
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case !upper && 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
	return b
}
