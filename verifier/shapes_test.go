package verifier_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/verifier"
)

// TestProviderTokenShapes: the shapes real identity providers issue
// (issue 14). Spring Authorization Server sends "scope" as an array; Ory
// Hydra sends "aud": [] when no audience was requested; a claim no rule
// reads must not fail a token for its shape, while the claims the
// verifier and revocation act on keep their RFC 7519 types.
func TestProviderTokenShapes(t *testing.T) {
	hs := caseFor(t, "HS256")
	const hydra = "http://127.0.0.1:4444/"
	base := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy())
	p := verifier.DefaultPolicy()
	p.Audiences = []string{"api://orders"}
	p.Issuers = []string{"https://idp.example.com"}
	p.PerIssuer = map[string]verifier.Policy{
		hydra:                    {Audiences: []string{"api://orders"}, AllowMissingAudience: true},
		"https://no-aud.example": {}, // check_audience: false
	}
	aud := newVerifier(t, snapshotOf(t, hs.key), p)
	tok := func(over map[string]any) []byte { return mint(t, hs, claims(over)) }
	scopes := func(want string) func(*verifier.Result, error) string {
		return func(r *verifier.Result, _ error) string {
			if got := joinBytes(r.Scopes()); got != want {
				return "scopes " + got + ", want " + want
			}
			return ""
		}
	}
	runTokenCases(t, []tokenCase{
		// item 4: scope shapes.
		{"scope as an array of strings (Spring AS)", base, tok(map[string]any{"scope": []string{"orders:read", "orders:write"}}), nil, scopes("orders:read,orders:write")},
		{"scope as a number grants no scope, token accepted", base, tok(map[string]any{"scope": 7}), nil, scopes("")},
		{"scope array with a non-string grants no scope", base, tok(map[string]any{"scope": []any{"admin", 1}}), nil, scopes("")},
		{"scope object grants no scope", base, tok(map[string]any{"scope": map[string]any{"admin": true}}), nil, scopes("")},
		{"scp as a number grants no scope", base, tok(map[string]any{"scope": nil, "scp": false}), nil, scopes("")},
		{"scope array and scp array together", base, tok(map[string]any{"scope": []string{"a"}, "scp": []string{"b"}}), nil, scopes("a,b")},
		// Claims the verifier or a revocation rule acts on keep their types.
		{"sub as a number is malformed (a subject cutoff must see it)", base, tok(map[string]any{"sub": 42}), verifier.ErrMalformed, nil},
		{"jti as a number is malformed (a jti rule must see it)", base, tok(map[string]any{"jti": 42}), verifier.ErrMalformed, nil},
		{"iss as an array is malformed (it selects keys)", base, tok(map[string]any{"iss": []string{"https://idp.example.com"}}), verifier.ErrMalformed, nil},
		// item 5: audiences.
		{"aud of another shape: no audience rule reads it", base, tok(map[string]any{"aud": 7}), nil, nil},
		{"aud of another shape with an audience rule", aud, tok(map[string]any{"aud": map[string]any{"x": 1}}), verifier.ErrMalformed, nil},
		{"Hydra aud [] with allow_missing_aud", aud, tok(map[string]any{"iss": hydra, "aud": []string{}}), nil, nil},
		{"Hydra aud [] without allow_missing_aud", aud, tok(map[string]any{"aud": []string{}}), verifier.ErrAudience, nil},
		{"Hydra: a present aud must still match", aud, tok(map[string]any{"iss": hydra, "aud": []string{"api://other"}}), verifier.ErrAudience, nil},
		{"issuer without audience check despite the global list", aud, tok(map[string]any{"iss": "https://no-aud.example", "aud": "anything"}), nil, nil},
	})
}

// TestIDTokensRefusedAsAccessTokens (issue 14 item 6): Hydra, Keycloak and
// others sign ID tokens and access tokens with the same keys and the same
// typ "JWT". Policy.RefuseIDTokens refuses a token carrying a claim only
// ID tokens carry (OpenID Connect Core: nonce §2, at_hash §3.1.3.6 and
// §3.2.2.10, c_hash §3.3.2.11); auth_time is not one (RFC 9068 §2.2.1
// allows it in access tokens).
func TestIDTokensRefusedAsAccessTokens(t *testing.T) {
	hs := caseFor(t, "HS256")
	refuse := verifier.DefaultPolicy()
	refuse.RefuseIDTokens = true
	v := newVerifier(t, snapshotOf(t, hs.key), refuse)
	perIssuer := verifier.DefaultPolicy()
	perIssuer.Issuers = []string{"https://other.example"}
	perIssuer.PerIssuer = map[string]verifier.Policy{"https://idp.example.com": {Leeway: verifier.DefaultLeeway, RefuseIDTokens: true}}
	vIss := newVerifier(t, snapshotOf(t, hs.key), perIssuer)
	allow := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy())
	tok := func(over map[string]any) []byte { return mint(t, hs, claims(over)) }
	runTokenCases(t, []tokenCase{
		{"access token", v, tok(map[string]any{"client_id": "app"}), nil, nil},
		{"access token with auth_time (RFC 9068)", v, tok(map[string]any{"auth_time": testNow.Unix() - 60}), nil, nil},
		{"ID token with nonce", v, tok(map[string]any{"nonce": "n-0S6_WzA2Mj"}), verifier.ErrType, nil},
		{"ID token with at_hash", v, tok(map[string]any{"at_hash": "77QmUPtjPfzWtF2AnpK9RQ"}), verifier.ErrType, nil},
		{"ID token with c_hash", v, tok(map[string]any{"c_hash": "LDktKdoQak3Pk0cnXxCltA"}), verifier.ErrType, nil},
		{"ID token with a null nonce", v, tok(map[string]any{"nonce": rawJSON("null")}), verifier.ErrType, nil},
		{"per issuer: refused for that issuer", vIss, tok(map[string]any{"at_hash": "x"}), verifier.ErrType, nil},
		{"per issuer: another issuer unaffected", vIss, tok(map[string]any{"iss": "https://other.example", "at_hash": "x"}), nil, nil},
		{"NONCE is not nonce", v, tok(map[string]any{"NONCE": "x"}), nil, nil},
		{"not refused unless asked", allow, tok(map[string]any{"nonce": "x", "at_hash": "y"}), nil, nil},
	})
}

// TestOpaqueTokenReason (issue 14 item 8): a reference token such as
// Hydra's "ory_at_…" (one dot) is told it is not a JWT, not that it lacks
// segments; a JWE reaching the verifier says it is encrypted.
func TestOpaqueTokenReason(t *testing.T) {
	hs := caseFor(t, "HS256")
	v := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy())
	good := string(mint(t, hs, claims(nil)))
	tests := []struct{ name, token, reason string }{
		{"Hydra opaque token", "ory_at_WjCq9gRQ2y7eI0Gk3rK8bQm4Xo1VnA5tLs6Fd0Hc2Pu.8fZkQeR3yTnV7wXaB1cD5gH9jK2mN4pS6uW8zY0", "not a JWT"},
		{"opaque token without dots", "2YotnFZFEjr1zCsicMWpAA", "not a JWT"},
		{"a JWT missing its signature", good[:strings.LastIndexByte(good, '.')], "three non-empty segments"},
		{"empty segment", "eyJhbGciOiJIUzI1NiJ9..c2ln", "three non-empty segments"},
		{"JWE without decryption", "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..aXY.Y3Q.dGFn", "encrypted (JWE)"},
	}
	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	for _, tt := range tests {
		err := v.Verify(r, []byte(tt.token))
		if !errors.Is(err, verifier.ErrMalformed) || !strings.Contains(verifier.Reason(err), tt.reason) {
			t.Errorf("%s: %v, want a malformed token whose reason says %q", tt.name, err, tt.reason)
		}
	}
	if !strings.Contains(verifier.Reason(verifier.ErrTokenTooLarge), "limits.max_token_size") {
		t.Errorf("too large: %q does not name the limit", verifier.Reason(verifier.ErrTokenTooLarge))
	}
}
