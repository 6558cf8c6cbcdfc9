package bench_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/bench/sessions"
	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

// Realistic access tokens: the registered claims an OAuth 2.0 / OIDC
// provider puts in an access token (RFC 9068 §2.2) plus scope and roles,
// carrying the same information as a session record.
const (
	benchIssuer   = sessions.Issuer
	benchAudience = "api://orders"
	minClaims     = 300 // bytes of claims JSON, before base64url
	maxClaims     = 500
	// missCache is the byte budget of the gate that measures new tokens:
	// about ten entries, so that tokensPerAlg tokens cycled through it
	// find the cache full of others and every Set competes for a place,
	// as in a sidecar whose tokens are never seen twice.
	missCache = 16 << 10
)

type tokenClaims struct {
	Iss   string   `json:"iss"`
	Sub   string   `json:"sub"`
	Aud   []string `json:"aud"`
	Exp   int64    `json:"exp"`
	Iat   int64    `json:"iat"`
	Nbf   int64    `json:"nbf"`
	Jti   string   `json:"jti"`
	Azp   string   `json:"azp"`
	Scope string   `json:"scope"`
	Roles []string `json:"roles"`
	Email string   `json:"email"`
	Pad   string   `json:"ctx,omitempty"`
}

// minimalClaims is a token with only iss, sub, aud, exp, iat and jti:
// the smallest a deployment sends (about 170 bytes).
type minimalClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Iat int64  `json:"iat"`
	Jti string `json:"jti"`
	Pad string `json:"ctx,omitempty"`
}

// claimsFor returns the claims JSON of token n: session n's information
// (user, roles, scopes, expiry) in JWT form, padded with a "ctx" claim to
// at least size bytes.
func claimsFor(n, size int) []byte { return claimsWith(n, size, benchIssuer) }

// claimsWith is claimsFor with another issuer. A size of at most 200
// gives minimalClaims padded to size.
func claimsWith(n, size int, iss string) []byte {
	s := sessions.For(n)
	jti := fmt.Sprintf("7c9e6679-7425-40de-944b-%012x", n)
	if size > 0 && size <= 200 {
		m := minimalClaims{Iss: iss, Sub: s.UserID, Aud: benchAudience, Exp: benchNow.Add(10 * time.Minute).Unix(), Iat: benchNow.Add(-5 * time.Minute).Unix(), Jti: jti}
		b, _ := json.Marshal(m)
		if pad := size - len(b) - len(`,"ctx":""`); pad > 0 {
			m.Pad = strings.Repeat("x", pad)
			b, _ = json.Marshal(m)
		}
		return b
	}
	c := tokenClaims{
		Iss:   iss,
		Sub:   s.UserID,
		Aud:   []string{benchAudience, "api://billing"},
		Exp:   benchNow.Add(10 * time.Minute).Unix(),
		Iat:   benchNow.Add(-5 * time.Minute).Unix(),
		Nbf:   benchNow.Add(-5 * time.Minute).Unix(),
		Jti:   jti,
		Azp:   s.Client,
		Scope: strings.Join(s.Scopes, " "),
		Roles: s.Roles,
		Email: s.Email,
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	if pad := size - len(b) - len(`,"ctx":""`); pad > 0 {
		c.Pad = strings.Repeat("x", pad)
		b, _ = json.Marshal(c)
	}
	return b
}

// algCase is one algorithm with its signer and public key.
type algCase struct {
	alg    keyring.Algorithm
	signer *signer.Signer
	key    *keyring.Key
}

var (
	keysOnce sync.Once
	keyCases []algCase
	keySnap  *keyring.Snapshot
	keysErr  error
)

// benchAlgs are the algorithms measured: every one tokengate implements,
// EdDSA once (as Ed25519, RFC 9864; "EdDSA" with an Ed25519 key is the
// same computation).
func benchAlgs() []keyring.Algorithm {
	var out []keyring.Algorithm
	for _, a := range keyring.Algorithms {
		if a != keyring.EdDSA {
			out = append(out, a)
		}
	}
	return out
}

// newKey generates a key for alg and returns its signer and public key.
func newKey(alg keyring.Algorithm, kid, issuer string) (algCase, error) {
	priv, err := signer.GenerateKey(alg)
	if err != nil {
		return algCase{}, err
	}
	s, err := signer.New(alg, priv, kid)
	if err != nil {
		return algCase{}, err
	}
	pub := priv
	if alg.Family() != keyring.FamilyHMAC {
		if pub, err = signer.Public(priv); err != nil {
			return algCase{}, err
		}
	}
	k, err := keyring.NewKey(pub, keyring.Options{ID: kid, Alg: alg, Issuer: issuer, Source: "bench"})
	return algCase{alg: alg, signer: s, key: k}, err
}

// algCases returns one key per algorithm, generated once per process, and
// a snapshot holding all of them.
func algCases(tb testing.TB) ([]algCase, *keyring.Snapshot) {
	tb.Helper()
	keysOnce.Do(func() {
		var keys []*keyring.Key
		for _, alg := range benchAlgs() {
			c, err := newKey(alg, "bench-"+string(alg), benchIssuer)
			if err != nil {
				keysErr = err
				return
			}
			keyCases = append(keyCases, c)
			keys = append(keys, c.key)
		}
		keySnap, keysErr = keyring.NewSnapshot(1, keys...)
	})
	if keysErr != nil {
		tb.Fatal(keysErr)
	}
	return keyCases, keySnap
}

// benchPolicy is what a production sidecar checks: issuer, audience,
// subject and token id present.
func benchPolicy() verifier.Policy {
	p := verifier.DefaultPolicy()
	p.Issuers = []string{benchIssuer}
	p.Audiences = []string{benchAudience}
	p.RequiredClaims = []string{"sub", "jti"}
	return p
}

// newGate returns the decision the sidecar runs, with its default
// configuration (headers for sub, iss, scope, exp and the key id) and a
// cache of cacheBytes, on the suite's fixed clock.
func newGate(tb testing.TB, keys verifier.KeySet, policy verifier.Policy, cacheBytes int64, maxToken int) *gate.Gate {
	tb.Helper()
	cfg := gate.DefaultConfig()
	cfg.Cache.MaxBytes = cacheBytes
	g, err := gate.New(cfg, verifier.Options{Policy: policy, Now: benchClock, MaxTokenSize: maxToken}, gate.Options{Keys: keys, Now: benchClock})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(g.Close)
	return g
}

// mintTokens signs n tokens with s, tokens first..first+n-1, with claims
// of at least claimSize bytes, as Authorization header values.
func mintTokens(tb testing.TB, s *signer.Signer, first, n, claimSize int) [][]byte {
	tb.Helper()
	auth := make([][]byte, n)
	for i := range auth {
		auth[i] = mint(tb, s, claimsFor(first+i, claimSize))
	}
	return auth
}

// tokenMemo keeps minted tokens for the process: -count 10 runs every
// benchmark ten times, and signing a thousand RSA tokens takes seconds.
var tokenMemo sync.Map // "alg/n/size" → [][]byte

// tokensFor is mintTokens(s, 0, n, claimSize), minted once per process.
func tokensFor(tb testing.TB, s *signer.Signer, n, claimSize int) [][]byte {
	key := fmt.Sprintf("%s/%d/%d", s.Alg(), n, claimSize)
	if v, ok := tokenMemo.Load(key); ok {
		return v.([][]byte)
	}
	auth := mintTokens(tb, s, 0, n, claimSize)
	tokenMemo.Store(key, auth)
	return auth
}

// mint signs claims with s into an Authorization header value.
func mint(tb testing.TB, s *signer.Signer, claims []byte) []byte {
	t, err := s.Sign(claims)
	if err != nil {
		tb.Fatal(err)
	}
	return []byte("Bearer " + t)
}

// checker runs gate.Check for one goroutine, as the sidecar does for a
// request to /verify: a reused Request and Decision.
type checker struct {
	g      *gate.Gate
	req    *gate.Request
	d      *gate.Decision
	hits   int
	checks int
}

var (
	method = []byte("GET")
	target = []byte("/orders/7?x=1")
)

func newChecker(g *gate.Gate) *checker {
	return &checker{g: g, req: gate.AcquireRequest(), d: gate.AcquireDecision()}
}

func (c *checker) check(auth []byte) error {
	c.req.Reset()
	c.req.Method, c.req.Target = method, target
	c.req.AddAuthorization(auth)
	c.g.Check(c.req, benchNow, c.d)
	c.checks++
	if c.d.Cache == gate.CacheHit {
		c.hits++
	}
	if !c.d.Allow {
		return fmt.Errorf("status %d: %s (%v)", c.d.Status, c.d.Reason, c.d.Err)
	}
	return nil
}

// warm checks every token until each one is a cache hit (ristretto's Set
// is asynchronous and may drop writes).
func warm(tb testing.TB, g *gate.Gate, auth [][]byte) {
	tb.Helper()
	c := newChecker(g)
	for attempt := 0; ; attempt++ {
		missing := 0
		for _, a := range auth {
			if err := c.check(a); err != nil {
				tb.Fatal(err)
			}
			if c.d.Cache != gate.CacheHit {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if attempt == 50 {
			tb.Fatalf("cache: %d of %d tokens still missing", missing, len(auth))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runChecks measures gate.Check over auth, cycled, and reports hit-% (the
// share served from the cache).
func runChecks(b *testing.B, g *gate.Gate, auth [][]byte, inFlight int) {
	checkers := make([]*checker, inFlight)
	run(b, inFlight, measurement{reqBytes: len(bearerPrefix) - len("Bearer ") + len(auth[0])}, func(gi int) func(int) error {
		c := newChecker(g)
		checkers[gi] = c
		return func(k int) error { return c.check(auth[k%len(auth)]) }
	})
	hits, checks := 0, 0
	for _, c := range checkers {
		hits, checks = hits+c.hits, checks+c.checks
	}
	if checks > 0 {
		b.ReportMetric(100*float64(hits)/float64(checks), "hit-%")
	}
}

// BenchmarkJWT measures, per algorithm, what the sidecar's decision
// (gate.Check: path, route, token, cache, verification, revocation,
// headers) costs for a token it has seen before (token=repeat: served
// from the cache) and for one it has not (token=new: verified, rendered
// and offered to a cache that is full of other tokens), at each number
// of requests in flight.
func BenchmarkJWT(b *testing.B) {
	cases, snap := algCases(b)
	for _, c := range cases {
		auth := tokensFor(b, c.signer, tokensPerAlg, 0)
		b.Run("alg="+string(c.alg), func(b *testing.B) {
			hit := newGate(b, snap, benchPolicy(), gate.DefaultConfig().Cache.MaxBytes, 0)
			warm(b, hit, auth)
			miss := newGate(b, snap, benchPolicy(), missCache, 0)
			for _, kind := range []struct {
				name string
				g    *gate.Gate
			}{{"repeat", hit}, {"new", miss}} {
				b.Run("token="+kind.name, func(b *testing.B) {
					for _, n := range inFlights {
						b.Run(fmt.Sprintf("inflight=%d", n), func(b *testing.B) { runChecks(b, kind.g, auth, n) })
					}
				})
			}
		})
	}
}

// TestTokens pins the realism of the tokens — 300-500 bytes of claims
// carrying the session's data — and that every algorithm's token is
// allowed by the gate, first verified, then from the cache, while the
// miss gate serves (almost) nothing from its cache.
func TestTokens(t *testing.T) {
	cases, snap := algCases(t)
	for _, n := range []int{0, 1, 1023, rows - 1} {
		if l := len(claimsFor(n, 0)); l < minClaims || l > maxClaims {
			t.Errorf("claims of token %d: %d bytes, want %d-%d", n, l, minClaims, maxClaims)
		}
	}
	if l := len(claimsFor(0, 4096)); l < 4096 || l > 4096+8 {
		t.Errorf("padded claims: %d bytes, want 4096", l)
	}
	g := newGate(t, snap, benchPolicy(), 1<<20, 0)
	for _, c := range cases {
		t.Run(string(c.alg), func(t *testing.T) {
			auth := mintTokens(t, c.signer, 0, 1, 0)
			ch := newChecker(g)
			if err := ch.check(auth[0]); err != nil {
				t.Fatal(err)
			}
			want := sessions.For(0)
			if tok := ch.d.Token; tok == nil || tok.Subject() != want.UserID || !tok.HasScope("orders:write") {
				t.Fatalf("token = %+v", tok)
			}
			warm(t, g, auth)
		})
	}
	miss := newGate(t, snap, benchPolicy(), missCache, 0)
	auth := mintTokens(t, cases[0].signer, 0, 1024, 0)
	ch := newChecker(miss)
	for range 3 {
		for _, a := range auth {
			if err := ch.check(a); err != nil {
				t.Fatal(err)
			}
		}
	}
	if share := float64(ch.hits) / float64(ch.checks); share > 0.05 {
		t.Errorf("the miss gate served %.1f%% from its cache, want < 5%%", 100*share)
	}
}
