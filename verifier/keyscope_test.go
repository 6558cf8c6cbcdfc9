package verifier_test

// Which key a token may use: holes in the lookup by kid and issuer, each
// pinned by a test named after it.

import (
	"errors"
	"testing"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/verifier"
)

// TestEmptyKidMatchesNoKey: "kid": "" is a kid that names no key; it must
// not fall back to the only key of the alg like a header without kid.
func TestEmptyKidMatchesNoKey(t *testing.T) {
	hs := caseFor(t, "HS256")
	v := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy())
	runTokenCases(t, []tokenCase{
		{"kid empty", v, mintRaw(t, hs, `{"alg":"HS256","kid":""}`, claims(nil)), verifier.ErrUnknownKey, nil},
		{"kid missing: the only HS256 key", v, mintRaw(t, hs, `{"alg":"HS256"}`, claims(nil)), nil, nil},
		{"kid exact", v, mintRaw(t, hs, `{"alg":"HS256","kid":"kid-HS256"}`, claims(nil)), nil, nil},
	})
}

// TestUnscopedKeyCannotSignForIssuerWithOwnKeys: a token whose iss names
// an issuer that has keys of its own verifies with those keys only. A
// static key without an issuer (a service's HMAC secret, say) must not
// verify a token that claims to come from the identity provider.
func TestUnscopedKeyCannotSignForIssuerWithOwnKeys(t *testing.T) {
	hs, es := caseFor(t, "HS256"), caseFor(t, "ES256")
	const idp = "https://idp.example.com"
	idpKey, err := keyring.NewKey(es.key.Public(), keyring.Options{ID: "idp-1", Issuer: idp})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, snapshotOf(t, idpKey, hs.key), verifier.DefaultPolicy())
	asIDP := claims(map[string]any{"iss": idp})
	asOther := claims(map[string]any{"iss": "https://service.example"})
	runTokenCases(t, []tokenCase{
		{"unscoped key by kid, iss of the provider", v, mintRaw(t, hs, `{"alg":"HS256","kid":"kid-HS256"}`, asIDP), verifier.ErrUnknownKey, nil},
		{"unscoped key without kid, iss of the provider", v, mintRaw(t, hs, `{"alg":"HS256"}`, asIDP), verifier.ErrUnknownKey, nil},
		{"provider key, iss of the provider", v, mintRaw(t, es, `{"alg":"ES256","kid":"idp-1"}`, asIDP), nil, nil},
		{"unscoped key, another issuer", v, mintRaw(t, hs, `{"alg":"HS256","kid":"kid-HS256"}`, asOther), nil, nil},
		{"provider key, another issuer", v, mintRaw(t, es, `{"alg":"ES256","kid":"idp-1"}`, asOther), verifier.ErrUnknownKey, nil},
	})
}

// TestNoKeysForIssuerToldApartFromUnknownKid: a token whose iss has no
// keys at all (while other issuers do) gets its own reason, so that an
// issuer written differently in the configuration is not mistaken for an
// unknown signing key; the reason is fixed text, never the token's iss.
func TestNoKeysForIssuerToldApartFromUnknownKid(t *testing.T) {
	es := caseFor(t, "ES256")
	const configured = "https://idp.example.com/"
	key, err := keyring.NewKey(es.key.Public(), keyring.Options{ID: "idp-1", Issuer: configured})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, snapshotOf(t, key), verifier.DefaultPolicy())
	tests := []struct {
		name, iss, kid, reason string
	}{
		{"issuer without the trailing slash", "https://idp.example.com", "idp-1", "no keys for the token's issuer"},
		{"no issuer", "", "idp-1", "no keys for the token's issuer"},
		{"configured issuer, unknown kid", configured, "idp-2", "unknown signing key"},
	}
	for _, tt := range tests {
		over := map[string]any{"iss": tt.iss}
		if tt.iss == "" {
			over["iss"] = nil
		}
		r := verifier.AcquireResult()
		err := v.Verify(r, mintRaw(t, es, `{"alg":"ES256","kid":"`+tt.kid+`"}`, claims(over)))
		verifier.ReleaseResult(r)
		if !errors.Is(err, verifier.ErrUnknownKey) || verifier.Reason(err) != tt.reason {
			t.Errorf("%s: %v (reason %q), want class %v with reason %q", tt.name, err, verifier.Reason(err), verifier.ErrUnknownKey, tt.reason)
		}
	}
}
