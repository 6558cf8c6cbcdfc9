package verifier_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/verifier"
)

func TestVerifyEveryAlgorithm(t *testing.T) {
	snap := allKeys(t)
	v := newVerifier(t, snap, verifier.DefaultPolicy())
	for _, c := range algFixtures(t) {
		t.Run(c.name, func(t *testing.T) {
			tok := mint(t, c, claims(nil))
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			if err := v.Verify(r, tok); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if r.Key() != c.key || r.Alg() != c.alg || string(r.KeyID()) != c.key.ID() {
				t.Errorf("key %v alg %s kid %s", r.Key().ID(), r.Alg(), r.KeyID())
			}
			if r.Generation() != snap.Generation() {
				t.Errorf("generation %d, want %d", r.Generation(), snap.Generation())
			}
			if string(r.Subject()) != "user-42" || string(r.Issuer()) != "https://idp.example.com" || string(r.ID()) != "5f0c6a2e-8d59-4c8e-9a51-0b1d6b3f7a10" {
				t.Errorf("sub %q iss %q jti %q", r.Subject(), r.Issuer(), r.ID())
			}
			if got := joinBytes(r.Audiences()); got != "api://orders,api://billing" {
				t.Errorf("aud %q", got)
			}
			if got := joinBytes(r.Scopes()); got != "orders:read,orders:write" {
				t.Errorf("scopes %q", got)
			}
			if exp, ok := r.Expiry(); !ok || !exp.Equal(testNow.Add(10*time.Minute)) {
				t.Errorf("exp %v %v", exp, ok)
			}
			if string(r.Type()) != "JWT" {
				t.Errorf("typ %q", r.Type())
			}
		})
	}
}

// TestOneBitFlipNeverVerifies flips every bit of a token, one at a time:
// nothing but the original may verify (strict base64url makes every
// encoding canonical, so each flip changes the signed bytes or signature).
func TestOneBitFlipNeverVerifies(t *testing.T) {
	for _, name := range []string{"HS256", "ES256", "EdDSA"} {
		c := caseFor(t, name)
		v := newVerifier(t, snapshotOf(t, c.key), verifier.DefaultPolicy())
		tok := mint(t, c, claims(nil))
		r := verifier.AcquireResult()
		for i := range tok {
			for bit := range 8 {
				m := append([]byte{}, tok...)
				m[i] ^= 1 << bit
				if err := v.Verify(r, m); err == nil {
					t.Fatalf("%s: flipping bit %d of byte %d verified", name, bit, i)
				}
			}
		}
		verifier.ReleaseResult(r)
	}
}

func joinBytes(bs [][]byte) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return strings.Join(s, ",")
}

func TestClaimsPolicy(t *testing.T) {
	hs := caseFor(t, "HS256")
	snap := snapshotOf(t, hs.key)
	now := testNow.Unix()
	base := verifier.DefaultPolicy()
	strict := verifier.Policy{
		Issuers:        []string{"https://idp.example.com", "https://other.example.com"},
		Audiences:      []string{"api://orders"},
		Leeway:         30 * time.Second,
		Type:           "at+jwt",
		RequiredClaims: []string{"jti", "realm_access.roles"},
	}
	tests := []struct {
		name   string
		policy verifier.Policy
		claims map[string]any
		typ    string // header typ; "" means "JWT"
		want   error  // nil: accepted
	}{
		{"valid", base, nil, "", nil},
		{"exp missing", base, map[string]any{"exp": nil}, "", verifier.ErrMissingClaim},
		{"exp missing but allowed", verifier.Policy{AllowMissingExp: true}, map[string]any{"exp": nil}, "", nil},
		{"expired beyond leeway", base, map[string]any{"exp": now - 31}, "", verifier.ErrExpired},
		{"expired within leeway", base, map[string]any{"exp": now - 29}, "", nil},
		{"expired exactly now, no leeway", verifier.Policy{}, map[string]any{"exp": now}, "", verifier.ErrExpired},
		{"fractional exp in the future", verifier.Policy{}, map[string]any{"exp": float64(now) + 0.5}, "", nil},
		{"fractional exp in the past", verifier.Policy{}, map[string]any{"exp": float64(now) - 0.5}, "", verifier.ErrExpired},
		{"exp 1e300", base, map[string]any{"exp": 1e300}, "", verifier.ErrMalformed},
		{"exp 2^63", base, map[string]any{"exp": math.Pow(2, 63)}, "", verifier.ErrMalformed},
		{"exp negative", base, map[string]any{"exp": -1}, "", verifier.ErrMalformed},
		{"exp as a string", base, map[string]any{"exp": "1999999999"}, "", verifier.ErrMalformed},
		{"exp as a bool", base, map[string]any{"exp": true}, "", verifier.ErrMalformed},
		{"exp null", base, map[string]any{"exp": rawJSON("null")}, "", verifier.ErrMalformed},
		{"nbf in the future", base, map[string]any{"nbf": now + 60}, "", verifier.ErrNotYetValid},
		{"nbf within leeway", base, map[string]any{"nbf": now + 20}, "", nil},
		{"iat in the future", base, map[string]any{"iat": now + 3600}, "", verifier.ErrNotYetValid},
		{"iat not numeric", base, map[string]any{"iat": "yesterday"}, "", verifier.ErrMalformed},
		{"strict: valid", strict, nil, "at+jwt", nil},
		{"strict: typ with application/ prefix and capitals", strict, nil, "Application/AT+JWT", nil},
		{"strict: refresh token typ", strict, nil, "refresh+jwt", verifier.ErrType},
		{"strict: plain JWT typ", strict, nil, "JWT", verifier.ErrType},
		{"strict: other allowed issuer", strict, map[string]any{"iss": "https://other.example.com"}, "at+jwt", nil},
		{"strict: wrong issuer", strict, map[string]any{"iss": "https://evil.example.com"}, "at+jwt", verifier.ErrIssuer},
		{"strict: issuer differs in case", strict, map[string]any{"iss": "https://IDP.example.com"}, "at+jwt", verifier.ErrIssuer},
		{"strict: no issuer", strict, map[string]any{"iss": nil}, "at+jwt", verifier.ErrIssuer},
		{"strict: issuer not a string", strict, map[string]any{"iss": 7}, "at+jwt", verifier.ErrMalformed},
		{"strict: audience as a string", strict, map[string]any{"aud": "api://orders"}, "at+jwt", nil},
		{"strict: wrong audience", strict, map[string]any{"aud": "api://billing"}, "at+jwt", verifier.ErrAudience},
		{"strict: no audience", strict, map[string]any{"aud": nil}, "at+jwt", verifier.ErrAudience},
		{"strict: empty audience array", strict, map[string]any{"aud": []string{}}, "at+jwt", verifier.ErrAudience},
		{"strict: audience array with a number", strict, map[string]any{"aud": []any{"api://orders", 1}}, "at+jwt", verifier.ErrMalformed},
		{"strict: required claim missing", strict, map[string]any{"jti": nil}, "at+jwt", verifier.ErrMissingClaim},
		{"strict: required nested claim missing", strict, map[string]any{"realm_access": map[string]any{}}, "at+jwt", verifier.ErrMissingClaim},
		{"strict: required claim null", strict, map[string]any{"realm_access": map[string]any{"roles": rawJSON("null")}}, "at+jwt", verifier.ErrMissingClaim},
		{"registered string claim null", base, map[string]any{"jti": rawJSON("null")}, "", verifier.ErrMalformed},
		{"sub not a string", base, map[string]any{"sub": 42}, "", verifier.ErrMalformed},
		{"scope as an array of strings", base, map[string]any{"scope": []string{"a"}}, "", nil},
		{"scope of another shape grants nothing, refuses nothing", base, map[string]any{"scope": 7}, "", nil},
		// RFC 7519 §4: claim names are case-sensitive. Upper-case variants
		// are other, unregistered claims and must change nothing.
		{"SUB, ISS and Exp variants are ignored", strict, map[string]any{"SUB": "admin", "ISS": "https://evil.example.com", "Exp": now + 1e6, "AUD": "api://billing"}, "at+jwt", nil},
		{"Exp variant does not stand in for a missing exp", base, map[string]any{"exp": nil, "Exp": now + 600, "EXP": now + 600}, "", verifier.ErrMissingClaim},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, snap, tc.policy)
			typ := tc.typ
			if typ == "" {
				typ = "JWT"
			}
			tok, err := hs.signer.SignWithType(claims(tc.claims), typ)
			if err != nil {
				t.Fatal(err)
			}
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			err = v.Verify(r, []byte(tok))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if string(r.Subject()) != "user-42" {
					t.Fatalf("subject %q: a case variant leaked in", r.Subject())
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSetPolicyIsAtomicAndValidated(t *testing.T) {
	hs := caseFor(t, "HS256")
	v := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy())
	tok := mint(t, hs, claims(nil))
	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	if err := v.Verify(r, tok); err != nil {
		t.Fatal(err)
	}
	if err := v.SetPolicy(verifier.Policy{Leeway: -time.Second}); err == nil {
		t.Fatal("negative leeway accepted")
	}
	if err := v.Verify(r, tok); err != nil {
		t.Fatalf("a rejected policy changed the verifier: %v", err)
	}
	if err := v.SetPolicy(verifier.Policy{Issuers: []string{"https://someone-else"}}); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(r, tok); !errors.Is(err, verifier.ErrIssuer) {
		t.Fatalf("new policy not applied: %v", err)
	}
}

func TestClaimLookup(t *testing.T) {
	hs := caseFor(t, "HS256")
	v := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy())
	tok := mint(t, hs, claims(map[string]any{
		"https://example.com/roles": []any{"a", "b"},
		"tenant":                    map[string]any{"id": 7, "name": "acme", "flags": []any{true, false, nil, 1.5}},
		"scp":                       []string{"extra"},
	}))
	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	if err := v.Verify(r, tok); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string
		ok   bool
	}{
		{"sub", "user-42", true},
		{"realm_access.roles", "admin,auditor", true},
		{"https://example.com/roles", "a,b", true},
		{"tenant.id", "7", true},
		{"tenant.name", "acme", true},
		{"tenant.flags", "true,false,,1.5", true},
		{"tenant", `{"flags":[true,false,null,1.5],"id":7,"name":"acme"}`, true},
		{"tenant.missing", "", false},
		{"Sub", "", false},
		{"realm_access.roles.0", "", false},
	}
	for _, tc := range tests {
		c, ok := r.Claim(verifier.MustParsePath(tc.path))
		if ok != tc.ok {
			t.Errorf("%s: found %v", tc.path, ok)
			continue
		}
		if got := string(c.AppendText(nil, ',')); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.path, got, tc.want)
		}
	}
	if !r.HasScope("orders:write") || !r.HasScope("extra") || r.HasScope("orders") {
		t.Errorf("scopes %q", joinBytes(r.Scopes()))
	}
}

func TestErrorCodes(t *testing.T) {
	if verifier.Code(verifier.ErrInsufficientScope) != verifier.CodeInsufficientScope {
		t.Error("insufficient_scope")
	}
	if verifier.Code(verifier.ErrTokenTooLarge) != verifier.CodeInvalidToken || !errors.Is(verifier.ErrTokenTooLarge, verifier.ErrMalformed) {
		t.Error("too large is a malformed token")
	}
	if verifier.Code(errors.New("something else")) != verifier.CodeInvalidToken {
		t.Error("unknown errors must fail closed as invalid_token")
	}
	if verifier.Reason(errors.New("secret detail")) == "secret detail" {
		t.Error("foreign error text must not reach the client")
	}
	if errors.Is(verifier.ErrExpired, verifier.ErrSignature) || errors.Is(verifier.ErrTokenTooLarge, verifier.ErrSignature) {
		t.Error("classes must be distinct")
	}
}

func TestSplit(t *testing.T) {
	h, p, s, err := verifier.Split([]byte("aa.bb.cc"))
	if err != nil || string(h) != "aa" || string(p) != "bb" || string(s) != "cc" {
		t.Fatalf("%q %q %q %v", h, p, s, err)
	}
	for _, bad := range []string{"", ".", "..", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.", "a.b.c."} {
		if _, _, _, err := verifier.Split([]byte(bad)); !errors.Is(err, verifier.ErrMalformed) {
			t.Errorf("Split(%q) = %v", bad, err)
		}
	}
}
