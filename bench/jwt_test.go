package bench_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/cache"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

// Realistic access tokens: the registered claims an OAuth 2.0 / OIDC
// provider puts in an access token (RFC 9068 §2.2) plus scope and roles,
// carrying the same information as a session record.
const (
	benchIssuer   = "https://login.example.com/realms/tokengate"
	benchAudience = "api://orders"
	minClaims     = 300 // bytes of claims JSON, before base64url
	maxClaims     = 500
	// tokensPerAlg distinct tokens (different sub and jti) are cycled through
	// by every JWT benchmark, as sessionProbes ids are by the session ones.
	tokensPerAlg = 256
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
}

// claimsFor returns the claims JSON of token n: a session's information
// (user, roles, scopes, expiry, creation) in JWT form.
func claimsFor(n int) []byte {
	s := sessionFor(n)
	c := tokenClaims{
		Iss:   benchIssuer,
		Sub:   s.UserID,
		Aud:   []string{benchAudience, "api://billing"},
		Exp:   benchNow.Add(10 * time.Minute).Unix(),
		Iat:   benchNow.Add(-5 * time.Minute).Unix(),
		Nbf:   benchNow.Add(-5 * time.Minute).Unix(),
		Jti:   fmt.Sprintf("7c9e6679-7425-40de-944b-%012x", n),
		Azp:   "web-frontend",
		Scope: "openid profile email " + strings.Join(s.Scopes, " "),
		Roles: s.Roles,
		Email: s.UserID + "@customers.example.com",
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return b
}

// algCase is one algorithm with its signer and public key.
type algCase struct {
	name   string // the alg, or "EdDSA-Ed448"
	signer *signer.Signer
	key    *keyring.Key
}

var (
	keysOnce sync.Once
	keyCases []algCase
	keySnap  *keyring.Snapshot
	keysErr  error
)

// algCases returns one key per algorithm of keyring.Algorithms plus Ed448,
// generated once per process (RSA key generation is slow), and a snapshot
// holding all of them.
func algCases(tb testing.TB) ([]algCase, *keyring.Snapshot) {
	tb.Helper()
	keysOnce.Do(func() {
		keysErr = func() error {
			var keys []*keyring.Key
			add := func(name string, alg keyring.Algorithm, priv any) error {
				kid := "bench-" + name
				s, err := signer.New(alg, priv, kid)
				if err != nil {
					return err
				}
				pub, err := signer.Public(priv)
				if err != nil {
					return err
				}
				k, err := keyring.NewKey(pub, keyring.Options{ID: kid, Alg: alg, Issuer: benchIssuer, Source: "bench"})
				if err != nil {
					return err
				}
				keyCases = append(keyCases, algCase{name: name, signer: s, key: k})
				keys = append(keys, k)
				return nil
			}
			for _, alg := range keyring.Algorithms {
				priv, err := signer.GenerateKey(alg)
				if err != nil {
					return err
				}
				if err := add(string(alg), alg, priv); err != nil {
					return err
				}
			}
			priv, err := signer.GenerateEd448()
			if err != nil {
				return err
			}
			if err := add("EdDSA-Ed448", keyring.EdDSA, priv); err != nil {
				return err
			}
			keySnap, err = keyring.NewSnapshot(1, keys...)
			return err
		}()
	})
	if keysErr != nil {
		tb.Fatal(keysErr)
	}
	return keyCases, keySnap
}

// benchVerifier is configured as a production sidecar would be: issuer and
// audience checked, default leeway, the suite's fixed clock.
func benchVerifier(tb testing.TB, keys verifier.KeySet) *verifier.Verifier {
	tb.Helper()
	p := verifier.DefaultPolicy()
	p.Issuers = []string{benchIssuer}
	p.Audiences = []string{benchAudience}
	p.RequiredClaims = []string{"sub", "jti"}
	v, err := verifier.New(keys, verifier.Options{Policy: p, Now: benchClock})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// mintTokens signs n tokens with c, checking every claims size.
func mintTokens(tb testing.TB, c algCase, n int) [][]byte {
	tb.Helper()
	toks := make([][]byte, n)
	for i := range toks {
		claims := claimsFor(i)
		if len(claims) < minClaims || len(claims) > maxClaims {
			tb.Fatalf("claims of token %d are %d bytes, want %d-%d: %s", i, len(claims), minClaims, maxClaims, claims)
		}
		t, err := c.signer.Sign(claims)
		if err != nil {
			tb.Fatal(err)
		}
		toks[i] = []byte(t)
	}
	return toks
}

// verified is what the sidecar keeps for a verified token: enough to answer
// the request without the token (its subject, scopes and roles).
type verified struct {
	sub    string
	scopes []string
}

func verifiedSize(v *verified) int {
	n := len(v.sub)
	for _, s := range v.scopes {
		n += len(s) + 16
	}
	return n
}

// BenchmarkJWT measures, per algorithm, a full Verify (split, decode, key
// lookup, signature, claims policy) and a cache hit (what the sidecar does
// for a token it has seen: compare bytes, check generation and expiry).
func BenchmarkJWT(b *testing.B) {
	cases, snap := algCases(b)
	v := benchVerifier(b, snap)
	gen := snap.Generation()
	for _, c := range cases {
		toks := mintTokens(b, c, tokensPerAlg)
		reqBytes := len(bearerPrefix) + len(toks[0])
		b.Run(c.name+"/verify", func(b *testing.B) {
			for _, m := range modes {
				b.Run(m.name, func(b *testing.B) {
					measure(b, reqBytes, m.parallel, func() func(int) error {
						r := verifier.AcquireResult()
						// One Result per goroutine, reused as the sidecar
						// does; released by the GC with the closure.
						return func(i int) error {
							return v.Verify(r, toks[i%len(toks)])
						}
					})
				})
			}
		})
		b.Run(c.name+"/cached", func(b *testing.B) {
			cc, err := cache.New[*verified](cache.Config{MaxBytes: 16 << 20, Now: benchClock}, verifiedSize)
			if err != nil {
				b.Fatal(err)
			}
			defer cc.Close()
			fillCache(b, v, cc, toks)
			for _, m := range modes {
				b.Run(m.name, func(b *testing.B) {
					measure(b, reqBytes, m.parallel, func() func(int) error {
						return func(i int) error {
							e, ok := cc.LookupAt(toks[i%len(toks)], gen, benchNow)
							if !ok || e.Err != nil || e.Value == nil {
								return fmt.Errorf("cache miss for token %d", i%len(toks))
							}
							return nil
						}
					})
				})
			}
		})
	}
}

// fillCache verifies every token and caches the result as the sidecar does,
// until every token is a hit (ristretto may drop a Set under contention).
func fillCache(tb testing.TB, v *verifier.Verifier, cc *cache.Cache[*verified], toks [][]byte) {
	tb.Helper()
	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	for attempt := 0; ; attempt++ {
		missing := 0
		for _, t := range toks {
			if _, ok := cc.LookupAt(t, r.Generation(), benchNow); ok && attempt > 0 {
				continue
			}
			if err := v.Verify(r, t); err != nil {
				tb.Fatal(err)
			}
			var scopes []string
			for _, s := range r.Scopes() {
				scopes = append(scopes, string(s))
			}
			exp, _ := r.Expiry()
			cc.Set(t, r.Generation(), exp, &verified{sub: string(r.Subject()), scopes: scopes})
			missing++
		}
		cc.Wait()
		if missing == 0 {
			return
		}
		if attempt == 5 {
			tb.Fatalf("cache: %d of %d tokens still missing after %d attempts", missing, len(toks), attempt)
		}
	}
}

// TestTokenSizes pins the realism of the tokens: 300-500 bytes of claims,
// and every algorithm's token verifies and carries the session's data.
func TestTokenSizes(t *testing.T) {
	cases, snap := algCases(t)
	v := benchVerifier(t, snap)
	for _, n := range []int{0, 1, tokensPerAlg - 1, sessionsInMemory - 1} {
		if l := len(claimsFor(n)); l < minClaims || l > maxClaims {
			t.Errorf("claims of token %d: %d bytes, want %d-%d", n, l, minClaims, maxClaims)
		}
	}
	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := mintTokens(t, c, 1)[0]
			if err := v.Verify(r, tok); err != nil {
				t.Fatal(err)
			}
			want := sessionFor(0)
			if got := string(r.Subject()); got != want.UserID {
				t.Errorf("sub = %q, want %q", got, want.UserID)
			}
			for _, s := range want.Scopes {
				if !r.HasScope(s) {
					t.Errorf("scope %q missing", s)
				}
			}
			t.Logf("%s: %d bytes of claims, %d-byte token, %d request bytes",
				c.name, len(claimsFor(0)), len(tok), len(bearerPrefix)+len(tok))
		})
	}
}
