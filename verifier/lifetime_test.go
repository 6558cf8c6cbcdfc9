package verifier_test

import (
	"testing"
	"time"

	"github.com/tokengate/tokengate/verifier"
)

// TestTokenLivingLongerThanMaxLifetimeRefused (issue 12 item 3): revocation
// forgets a subject cutoff (and a jti rule without exp) after
// revocation.max_token_lifetime, but a token living longer than that was
// still accepted, so once its rule was forgotten the revoked token worked
// again. With Policy.MaxLifetime set, a token is accepted only while a
// rule kept for MaxLifetime (+ leeway) past its issue time still covers it.
func TestTokenLivingLongerThanMaxLifetimeRefused(t *testing.T) {
	hs := caseFor(t, "HS256")
	const life = time.Hour
	now := testNow.Unix()
	p := verifier.Policy{Leeway: 30 * time.Second, MaxLifetime: life}
	v := newVerifier(t, snapshotOf(t, hs.key), p)
	noExp := p
	noExp.AllowMissingExp = true
	vNoExp := newVerifier(t, snapshotOf(t, hs.key), noExp)
	perIssuer := verifier.Policy{MaxLifetime: life, PerIssuer: map[string]verifier.Policy{
		"https://idp.example.com": {Leeway: time.Minute, MaxLifetime: 48 * time.Hour}, // the shorter, global bound wins
		"https://other.example":   {},                                                 // inherits it
	}}
	vIss := newVerifier(t, snapshotOf(t, hs.key), perIssuer)
	tok := func(over map[string]any) []byte { return mint(t, hs, claims(over)) }
	h := int64(life / time.Second)

	runTokenCases(t, []tokenCase{
		{"exp - iat = max lifetime", v, tok(map[string]any{"iat": now - 60, "exp": now - 60 + h}), nil, nil},
		{"exp - iat one second over", v, tok(map[string]any{"iat": now - 60, "exp": now - 59 + h}), verifier.ErrLifetime, nil},
		{"a year-long token issued a minute ago", v, tok(map[string]any{"iat": now - 60, "exp": now + 365*24*3600}), verifier.ErrLifetime, nil},
		{"old iat, far exp, within its last hour", v, tok(map[string]any{"iat": now - 30*24*3600, "exp": now + 60}), verifier.ErrLifetime, nil},
		// Without iat the age is unknown: a token with a far exp, refused
		// today, would pass once exp came within the bound, after a
		// subject cutoff against it was forgotten.
		{"no iat, exp within the bound", v, tok(map[string]any{"iat": nil, "exp": now + 60}), verifier.ErrLifetime, nil},
		{"no iat, exp over the bound", v, tok(map[string]any{"iat": nil, "exp": now + h + 1}), verifier.ErrLifetime, nil},
		{"no exp (allowed): within max lifetime of iat", vNoExp, tok(map[string]any{"exp": nil, "iat": now - h + 10}), nil, nil},
		{"no exp (allowed): within max lifetime of iat plus the leeway", vNoExp, tok(map[string]any{"exp": nil, "iat": now - h - 29}), nil, nil},
		{"no exp (allowed): older than max lifetime plus the leeway", vNoExp, tok(map[string]any{"exp": nil, "iat": now - h - 30}), verifier.ErrExpired, nil},
		{"no exp (allowed) and no iat: nothing bounds it", vNoExp, tok(map[string]any{"exp": nil, "iat": nil}), verifier.ErrLifetime, nil},
		{"no exp, not allowed", v, tok(map[string]any{"exp": nil}), verifier.ErrMissingClaim, nil},
		{"per-issuer policy bounded by the global max", vIss, tok(map[string]any{"iat": now - 60, "exp": now + 2*h}), verifier.ErrLifetime, nil},
		{"per-issuer policy without its own max inherits it", vIss, tok(map[string]any{"iss": "https://other.example", "iat": now - 60, "exp": now + 2*h}), verifier.ErrLifetime, nil},
		{"per-issuer policy within the bound", vIss, tok(map[string]any{"iat": now - 60, "exp": now + 60}), nil, nil},
	})
}

// TestMaxLifetimeKeepsEveryAcceptedTokenWithinItsRule: the property
// revocation relies on (revocation.Options.MaxTokenLifetime). Over a grid
// of iat, exp and verification times, every token with iat that verifies
// does so before iat + MaxLifetime + leeway, the moment a subject cutoff
// made just after its issue is forgotten.
func TestMaxLifetimeKeepsEveryAcceptedTokenWithinItsRule(t *testing.T) {
	hs := caseFor(t, "HS256")
	const life, leeway = time.Hour, 30 * time.Second
	base := testNow.Unix()
	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	accepted := 0
	for _, allowNoExp := range []bool{false, true} {
		for _, dIat := range []int64{-7200, -3630, -3600, -600, 0, 20} {
			for _, dExp := range []int64{-1, 0, 600, 3600, 3601, 7200, 86400} {
				iat := base + dIat
				payload := claims(map[string]any{"iat": iat, "exp": iat + dExp})
				if dExp < 0 {
					payload = claims(map[string]any{"iat": iat, "exp": nil})
				}
				tok := mint(t, hs, payload)
				for _, dNow := range []int64{0, 1800, 3599, 3600, 3629, 3631, 7200, 90000} {
					at := time.Unix(iat+dNow, 0)
					v, err := verifier.New(snapshotOf(t, hs.key), verifier.Options{
						Policy: verifier.Policy{Leeway: leeway, MaxLifetime: life, AllowMissingExp: allowNoExp},
						Now:    func() time.Time { return at },
					})
					if err != nil {
						t.Fatal(err)
					}
					if v.Verify(r, tok) != nil {
						continue
					}
					accepted++
					if !at.Before(time.Unix(iat, 0).Add(life + leeway)) {
						t.Errorf("iat %+d exp %+d: accepted at iat%+d, after iat + max lifetime + leeway", dIat, dExp, dNow)
					}
					if until, ok := r.ValidUntil(); !ok || until.After(time.Unix(iat, 0).Add(life)) {
						t.Errorf("iat %+d exp %+d: ValidUntil %v %v beyond iat + max lifetime", dIat, dExp, until, ok)
					}
				}
			}
		}
	}
	if accepted == 0 {
		t.Fatal("the grid accepted nothing")
	}
}

func TestPolicyMaxLeeway(t *testing.T) {
	p := verifier.Policy{Leeway: 30 * time.Second, PerIssuer: map[string]verifier.Policy{
		"a": {Leeway: 2 * time.Minute}, "b": {Leeway: 0},
	}}
	if got := p.MaxLeeway(); got != 2*time.Minute {
		t.Errorf("MaxLeeway = %s", got)
	}
	if got := (verifier.Policy{Leeway: time.Second}).MaxLeeway(); got != time.Second {
		t.Errorf("MaxLeeway without issuers = %s", got)
	}
}

func TestNegativeMaxLifetimeRefused(t *testing.T) {
	hs := caseFor(t, "HS256")
	for _, p := range []verifier.Policy{
		{MaxLifetime: -time.Second},
		{PerIssuer: map[string]verifier.Policy{"x": {MaxLifetime: -time.Second}}},
	} {
		if _, err := verifier.New(snapshotOf(t, hs.key), verifier.Options{Policy: p}); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}
