package revocation

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

const (
	policyLifetime = time.Hour
	policyLeeway   = 30 * time.Second
)

// posted is when each rule is posted.
var posted = t0

// oracle is a real verifier with the leeway the store is told about,
// sharing the store's clock: whether a token "still verifies" is its
// answer, not the test's opinion.
type oracle struct {
	v     *verifier.Verifier
	sign  *signer.Signer
	clock *clock
}

func newOracle(t *testing.T, c *clock) *oracle {
	t.Helper()
	priv, err := signer.GenerateKey(keyring.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.New(keyring.EdDSA, priv, "k")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signer.Public(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring.NewKey(pub, keyring.Options{ID: "k", Alg: keyring.EdDSA, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := keyring.NewSnapshot(1, k)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(snap, verifier.Options{Policy: verifier.Policy{Leeway: policyLeeway}, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &oracle{v: v, sign: s, clock: c}
}

// token is what a revocation rule is matched against.
type token struct {
	sub, jti string
	iat      time.Time // zero: no "iat"
	exp      time.Time
}

func (o *oracle) mint(t *testing.T, tk token) []byte {
	t.Helper()
	claims := map[string]any{"sub": tk.sub, "jti": tk.jti, "exp": tk.exp.Unix()}
	if !tk.iat.IsZero() {
		claims["iat"] = tk.iat.Unix()
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.sign.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}

// claims is what the gate hands Store.Revoked for a verified token.
type claims struct {
	iss, sub, jti []byte
	iat           float64
	hasIat        bool
}

// verify reports whether the verifier accepts tok at time at, with the
// claims the gate would look revocation up with.
func (o *oracle) verify(tok []byte, at time.Time) (claims, bool) {
	o.clock.Set(at)
	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	if err := o.v.Verify(r, tok); err != nil {
		return claims{}, false
	}
	c := claims{iss: append([]byte(nil), r.Issuer()...), sub: append([]byte(nil), r.Subject()...),
		jti: append([]byte(nil), r.ID()...)}
	c.iat, c.hasIat = r.IssuedAtSeconds()
	return c, true
}

// TestRuleForgottenWhileItsTokenStillVerifies is issue 12 items 2 and 3 at
// the store: for each kind of rule, the token it matches that verifies the
// longest, checked with the real verifier at the boundary instants. The
// store's retention must cover every instant the verifier still accepts
// the token (exp + leeway − 1ns is revoked), and may end when the token
// cannot verify anyway (exp + leeway). Tokens live at most max_token_lifetime
// (exp − iat), which the verifier enforces when revocation is on.
func TestRuleForgottenWhileItsTokenStillVerifies(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule Entry
		// tok is a token the rule matches, the one accepted the longest.
		tok token
		// forget is when the store lets the rule go, after posted.
		forget time.Duration
	}{
		{"jti rule with the token's exp",
			Entry{Kind: KindJTI, JTI: "j", Expires: posted.Add(20 * time.Minute)},
			token{sub: "u", jti: "j", iat: posted.Add(-10 * time.Minute), exp: posted.Add(20 * time.Minute)},
			20*time.Minute + policyLeeway},
		// Without exp the rule can only go by when it was posted: the
		// latest token that verifies then was issued by a clock running the
		// whole leeway ahead, and lives max_token_lifetime.
		{"jti rule without exp, token issued the leeway ahead",
			Entry{Kind: KindJTI, JTI: "j"},
			token{sub: "u", jti: "j", iat: posted.Add(policyLeeway), exp: posted.Add(policyLeeway + policyLifetime)},
			policyLifetime + 2*policyLeeway},
		{"jti rule without exp, token without iat verifying when posted",
			Entry{Kind: KindJTI, JTI: "j"},
			token{sub: "u", jti: "j", exp: posted.Add(policyLifetime)},
			policyLifetime + 2*policyLeeway},
		{"subject cutoff, token issued the second before it",
			Entry{Kind: KindSubject, Subject: "u", Before: posted},
			token{sub: "u", jti: "x", iat: posted.Add(-time.Second), exp: posted.Add(policyLifetime - time.Second)},
			policyLifetime + policyLeeway},
		{"subject cutoff, token without iat verifying when posted",
			Entry{Kind: KindSubject, Subject: "u", Before: posted},
			token{sub: "u", jti: "x", exp: posted.Add(policyLifetime)},
			policyLifetime + policyLeeway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: posted}
			o := newOracle(t, c)
			s := NewStore(Options{MaxTokenLifetime: policyLifetime, Leeway: policyLeeway, Now: c.Now})
			tok := o.mint(t, tc.tok)
			if _, ok := o.verify(tok, posted); !ok {
				t.Fatal("premise: the token must verify when the rule is posted")
			}
			c.Set(posted)
			if _, err := s.Add(tc.rule); err != nil {
				t.Fatal(err)
			}
			end := tc.tok.exp.Add(policyLeeway)
			last, ok := o.verify(tok, end.Add(-time.Microsecond))
			if !ok {
				t.Fatal("premise: the token must still verify a microsecond before exp + leeway")
			}
			for _, at := range []time.Time{
				posted, tc.tok.exp.Add(-time.Second), tc.tok.exp, end.Add(-time.Second), end.Add(-time.Microsecond),
			} {
				c.Set(at)
				s.Sweep()
				if cl, ok := o.verify(tok, at); ok && !s.Revoked(cl.iss, cl.sub, cl.jti, cl.iat, cl.hasIat, at) {
					t.Fatalf("%v after exp: the token verifies and the rule is gone", at.Sub(tc.tok.exp))
				}
			}
			// The verifier reads times as float64 seconds, too coarse for
			// the last nanosecond: ask the store directly.
			c.Set(end.Add(-time.Nanosecond))
			s.Sweep()
			if !s.Revoked(last.iss, last.sub, last.jti, last.iat, last.hasIat, end.Add(-time.Nanosecond)) {
				t.Fatal("rule gone at exp + leeway − 1ns")
			}
			if _, ok := o.verify(tok, end); ok {
				t.Fatal("premise: the verifier must refuse the token at exp + leeway")
			}
			// Kept exactly as long as some token it matches may verify.
			forget := posted.Add(tc.forget)
			if c.Set(forget.Add(-time.Nanosecond)); s.Sweep() != 0 || s.Len() != 1 {
				t.Fatalf("rule swept before %v after it was posted", tc.forget)
			}
			if c.Set(forget); s.Sweep() != 1 {
				t.Errorf("rule kept beyond %v after it was posted", tc.forget)
			}
		})
	}
}
