package verifier_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/verifier"
)

func multiIssuerPolicy(n int) verifier.Policy {
	p := verifier.DefaultPolicy()
	p.PerIssuer = map[string]verifier.Policy{
		"https://idp.example.com": {Audiences: []string{"api://orders"}, Leeway: time.Minute},
		"https://other.example":   {Audiences: []string{"api://other"}, Type: "at+jwt"},
	}
	for i := range n {
		p.PerIssuer[fmt.Sprintf("https://tenant-%d.example", i)] = verifier.Policy{Audiences: []string{"api://orders"}}
	}
	return p
}

// TestIssuerSelectsPolicy: the token's iss picks its rules, and a key
// bound to issuer A never verifies a token that claims issuer B.
func TestIssuerSelectsPolicy(t *testing.T) {
	es := caseFor(t, "ES256")
	pub := es.key.Public()
	keyA, err := keyring.NewKey(pub, keyring.Options{ID: "a", Alg: keyring.ES256, Issuer: "https://idp.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, snapshotOf(t, keyA), multiIssuerPolicy(0))
	signA := func(over map[string]any) []byte {
		tok, err := es.signer.SignRaw([]byte(`{"alg":"ES256","kid":"a"}`), claims(over))
		if err != nil {
			t.Fatal(err)
		}
		return []byte(tok)
	}
	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	tests := []struct {
		name string
		over map[string]any
		want error
	}{
		{"issuer A with its audience", nil, nil},
		{"issuer A, its own leeway (60s) allows 45s past exp", map[string]any{"exp": testNow.Unix() - 45}, nil},
		{"issuer A, wrong audience", map[string]any{"aud": "api://other"}, verifier.ErrAudience},
		{"key of A, token claims issuer B", map[string]any{"iss": "https://other.example", "aud": "api://other"}, verifier.ErrUnknownKey},
		{"unknown issuer", map[string]any{"iss": "https://evil.example"}, verifier.ErrUnknownKey},
	}
	for _, tc := range tests {
		err := v.Verify(r, signA(tc.over))
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// A global key (no issuer) is still subject to the accepted issuers.
	global, _ := keyring.NewKey(pub, keyring.Options{ID: "g", Alg: keyring.ES256})
	v = newVerifier(t, snapshotOf(t, global), multiIssuerPolicy(0))
	tok, _ := es.signer.SignRaw([]byte(`{"alg":"ES256","kid":"g"}`), claims(map[string]any{"iss": "https://evil.example"}))
	if err := v.Verify(r, []byte(tok)); !errors.Is(err, verifier.ErrIssuer) {
		t.Errorf("unlisted issuer with a global key: %v", err)
	}
	tok, _ = es.signer.SignRaw([]byte(`{"alg":"ES256","kid":"g"}`), claims(map[string]any{"iss": "https://other.example", "aud": "api://other"}))
	if err := v.Verify(r, []byte(tok)); !errors.Is(err, verifier.ErrType) {
		t.Errorf("issuer B's typ rule not applied: %v", err)
	}
}

// manyIssuersPolicy gives exactly n issuers their own policy; the test
// tokens' issuer is one of them.
func manyIssuersPolicy(n int) verifier.Policy {
	p := verifier.DefaultPolicy()
	p.PerIssuer = map[string]verifier.Policy{
		"https://idp.example.com": {Audiences: []string{"api://orders"}, Leeway: time.Minute},
	}
	for i := range n - 1 {
		p.PerIssuer[fmt.Sprintf("https://tenant-%d.example", i)] = verifier.Policy{Audiences: []string{"api://orders"}}
	}
	return p
}

// BenchmarkManyIssuers shows the cost does not grow with the number of
// configured issuers (the policy is one map lookup, the issuer's keys
// another): 1, 50 and 500 issuers in one run should cost the same.
func BenchmarkManyIssuers(b *testing.B) {
	hs := caseFor(b, "HS256")
	tok := mint(b, hs, claims(map[string]any{"aud": "api://orders"}))
	for _, n := range []int{1, 50, 500} {
		v := newVerifier(b, snapshotOf(b, hs.key), manyIssuersPolicy(n))
		b.Run(fmt.Sprintf("issuers=%d", n), func(b *testing.B) {
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Verify(r, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
