package gate

import (
	"sync"

	"github.com/tokengate/tokengate/keyring"
)

// Outcome classifies a Decision for metrics and access logs.
type Outcome uint8

// The outcomes.
const (
	// Allowed: a token verified and the route rule (if any) is met.
	Allowed Outcome = iota
	// Public: the route is public; no token was read.
	Public
	// NoToken: the route needs a token and the request has none (401,
	// no error code: RFC 6750 §3.1).
	NoToken
	// Rejected: the token was refused (401 invalid_token; Err says why).
	Rejected
	// Forbidden: a valid token that does not meet the route's rule (403
	// insufficient_scope).
	Forbidden
	// BadRequest: the request cannot be read unambiguously — a path or
	// method that is refused, two credentials (invalid_request).
	BadRequest
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"allowed", "public", "no_token", "rejected", "forbidden", "bad_request"}

func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "unknown"
}

// CacheResult says what the verified-token cache contributed.
type CacheResult uint8

// The cache results.
const (
	CacheNone     CacheResult = iota // not consulted (no token, cache off, refused first)
	CacheHit                         // a verified result was reused
	CacheNegative                    // a cached failure was reused
	CacheMiss                        // the token was verified
)

// Header is one header to set, name in canonical form.
type Header struct {
	Name, Value []byte
}

// Decision is the answer of Check: whether the request may go through,
// what to answer when it may not, and the headers to set and remove when
// it may. A Decision is reused across calls (AcquireDecision, or one per
// goroutine); everything it holds stays valid until the next Check with
// it. It is not safe for concurrent use.
type Decision struct {
	// Allow says whether the request may go through.
	Allow bool
	// Status is the HTTP status to answer: 200, 401 or 403.
	Status int
	// Code is the RFC 6750 §3.1 error code ("" when there is none: the
	// request was allowed or had no token).
	Code string
	// Reason is a short, client-safe description of a refusal ("" when
	// allowed); it never holds token bytes, claim values or key material.
	Reason string
	// Challenge is the WWW-Authenticate value for a 401 or 403
	// (RFC 6750 §3), nil when allowed.
	Challenge []byte
	// Set are the headers to set on the request forwarded upstream (or on
	// /verify's response, for a proxy to copy), when allowed.
	Set []Header
	// Remove are the names of every header tokengate may set: a front end
	// that forwards the request itself must delete client-sent copies of
	// them first, so that no claim header reaches the application unless
	// tokengate wrote it. The same on every decision.
	Remove [][]byte
	// Unset is, when allowed, the comma-separated list of the names a
	// proxy that sets Set and then removes names (Envoy's ext_authz)
	// must remove: those of Remove that Set does not hold, and the "_"
	// spelling of every name of Remove. Prepared with the token (or the
	// configuration, for a public route): nothing is built per request.
	Unset []byte

	// Outcome classifies the decision; Err is the refusal's error (a
	// package-level value of verifier, jwe or gate), nil when allowed or
	// without a token.
	Outcome Outcome
	Err     error
	// Cache says whether the cache answered; Refetched that an unknown
	// kid made the keyring fetch its identity provider's keys and they
	// changed.
	Cache     CacheResult
	Refetched bool
	// Verified says a signature was checked for this decision (a cache
	// miss, or no cache), successfully.
	Verified bool
	// Path is the normalised path the routes were matched against (nil
	// when it could not be normalised).
	Path []byte
	// Token is the verified token, when one was verified (allowed,
	// forbidden by a route rule, or revoked); nil otherwise. It is
	// immutable and may be kept after the next Check.
	Token *Token

	buf  []byte // Path and Challenge are built here
	path []byte
}

// reset prepares d for a new decision, keeping its buffers.
func (d *Decision) reset(st *state) {
	*d = Decision{buf: d.buf[:0], path: d.path[:0], Remove: st.remove}
}

var decisionPool = sync.Pool{New: func() any {
	return &Decision{buf: make([]byte, 0, 256), path: make([]byte, 0, 256)}
}}

// AcquireDecision returns a Decision from a pool; pair it with
// ReleaseDecision.
func AcquireDecision() *Decision { return decisionPool.Get().(*Decision) }

// ReleaseDecision returns d to the pool; d and everything it holds must
// not be used afterwards (but a Token it pointed to may).
func ReleaseDecision(d *Decision) {
	if cap(d.buf) > 64<<10 || cap(d.path) > 64<<10 {
		return // a huge path does not stay pinned in the pool
	}
	decisionPool.Put(d)
}

// Observer is told about every decision, once Check has made it, with the
// request it was made for: metrics and access logs. It runs on the
// request path, so it must be fast, must not block, and must keep neither
// r nor d nor any of their byte slices (copy what it needs; d.Token may
// be kept).
type Observer interface {
	Observe(r *Request, d *Decision)
}

// Observers is an Observer that tells each of os in turn (nil ones are
// skipped).
func Observers(os ...Observer) Observer {
	var list observers
	for _, o := range os {
		if o != nil {
			list = append(list, o)
		}
	}
	if len(list) == 1 {
		return list[0]
	}
	return list
}

type observers []Observer

func (os observers) Observe(r *Request, d *Decision) {
	for _, o := range os {
		o.Observe(r, d)
	}
}

// Token is what the gate keeps of a verified token: the headers it
// renders to, what route rules and revocation rules read, and facts for
// logs. It is immutable once built and shared by every request that
// presents the same token (it is the cache's value).
type Token struct {
	headers     []Header
	unset       []byte // Decision.Unset when this token is allowed
	scopes      []string
	claimValues [][]string
	payload     []byte // the claims JSON, only when Options.KeepClaims
	alg         keyring.Algorithm
	kid, client string
	iss, sub    []byte
	jti         []byte
	iat, exp    float64
	hasIat      bool
	hasExp      bool
	size        int
}

// Subject is the "sub" claim ("" when absent).
func (t *Token) Subject() string { return string(t.sub) }

// Issuer is the "iss" claim ("" when absent).
func (t *Token) Issuer() string { return string(t.iss) }

// ID is the "jti" claim ("" when absent).
func (t *Token) ID() string { return string(t.jti) }

// Scopes are the token's scopes ("scope" or "scp"); the slice must not be
// modified.
func (t *Token) Scopes() []string { return t.scopes }

// HasScope reports whether s is one of Scopes.
func (t *Token) HasScope(s string) bool { return containsString(t.scopes, s) }

// Alg is the algorithm the token was verified with.
func (t *Token) Alg() keyring.Algorithm { return t.alg }

// KeyID is the kid of the key that verified the token.
func (t *Token) KeyID() string { return t.kid }

// Client is the client label of the key that verified the token ("" when
// the key has none).
func (t *Token) Client() string { return t.client }

// Expiry is "exp" in seconds since the epoch; ok is false without one.
func (t *Token) Expiry() (sec float64, ok bool) { return t.exp, t.hasExp }

// Claims is the token's claims JSON as signed, or nil unless the gate was
// built with Options.KeepClaims. It must not be modified.
func (t *Token) Claims() []byte { return t.payload }

// Headers are the headers the token renders to; they must not be
// modified.
func (t *Token) Headers() []Header { return t.headers }
