package verifier_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

// fuzzKey is an HS256 key whose secret the fuzzer never sees in a useful
// form: any token it makes verify must be one the test minted.
func fuzzSetup(f *testing.F) (*signer.Signer, *verifier.Verifier, *keyring.Snapshot) {
	secret := bytes.Repeat([]byte("fuzz-secret-0123"), 4)
	s, err := signer.New(keyring.HS256, secret, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	k, err := keyring.NewKey(secret, keyring.Options{ID: "fuzz", Alg: keyring.HS256})
	if err != nil {
		f.Fatal(err)
	}
	snap, err := keyring.NewSnapshot(1, k)
	if err != nil {
		f.Fatal(err)
	}
	v, err := verifier.New(snap, verifier.Options{Policy: verifier.DefaultPolicy(), Now: fixedClock})
	if err != nil {
		f.Fatal(err)
	}
	return s, v, snap
}

// FuzzVerify feeds arbitrary tokens. Property: nothing but a token the test
// signed itself ever verifies (a mutated token never does), and a failure
// is always a verifier error with a reason.
func FuzzVerify(f *testing.F) {
	s, v, _ := fuzzSetup(f)
	valid := map[string]bool{}
	for _, c := range []map[string]any{nil, {"aud": "x"}, {"scope": "a b"}} {
		tok, err := s.Sign(claims(c))
		if err != nil {
			f.Fatal(err)
		}
		valid[tok] = true
		f.Add([]byte(tok))
	}
	for _, seed := range []string{"", ".", "..", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA", "eyJhbGciOiJIUzI1NiJ9.e30=.AAAA"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, tok []byte) {
		r := verifier.AcquireResult()
		defer verifier.ReleaseResult(r)
		err := v.Verify(r, tok)
		if err == nil {
			if !valid[string(tok)] {
				t.Fatalf("forged token verified: %q", tok)
			}
			return
		}
		var ve *verifier.Error
		if !asVerifierError(err, &ve) || ve.Reason() == "" {
			t.Fatalf("error %v is not a verifier error", err)
		}
	})
}

// FuzzHeader signs arbitrary header bytes with the real key. Property: an
// accepted header is a JSON object whose alg is exactly HS256 and that has
// no crit or b64.
func FuzzHeader(f *testing.F) {
	s, v, _ := fuzzSetup(f)
	for _, seed := range []string{
		`{"alg":"HS256","kid":"fuzz"}`, `{"alg":"HS256"}`, `{"alg":"none"}`, `{"alg":"HS256","crit":["b64"],"b64":false}`,
		`{"alg":"HS256","alg":"HS256"}`, `{"alg":"HS256","kid":"fuzz","typ":"JWT","jwk":{"kty":"oct","k":"AA"}}`, `[]`, `{"alg":"HS\u0032\u00356"}`,
	} {
		f.Add([]byte(seed))
	}
	payload := claims(nil)
	f.Fuzz(func(t *testing.T, header []byte) {
		tok, err := s.SignRaw(header, payload)
		if err != nil {
			t.Skip()
		}
		r := verifier.AcquireResult()
		defer verifier.ReleaseResult(r)
		if v.Verify(r, []byte(tok)) != nil {
			return
		}
		var h map[string]any
		if err := json.Unmarshal(header, &h); err != nil {
			t.Fatalf("accepted a header encoding/json rejects: %q", header)
		}
		if h["alg"] != "HS256" || h["crit"] != nil || h["b64"] != nil {
			t.Fatalf("accepted header %q", header)
		}
	})
}

// FuzzClaims signs arbitrary payload bytes with the real key. Property: an
// accepted payload is a JSON object whose exp is a number after now; and
// under a strict policy (maximum lifetime, ID tokens refused, a declared
// dotted path) an accepted payload has exp - iat within the lifetime, no
// ID-token claim, and not both readings of the path.
func FuzzClaims(f *testing.F) {
	s, v, snap := fuzzSetup(f)
	strictPolicy := verifier.DefaultPolicy()
	strictPolicy.MaxLifetime, strictPolicy.RefuseIDTokens = time.Hour, true
	strict, err := verifier.New(snap, verifier.Options{Policy: strictPolicy, Now: fixedClock,
		ClaimPaths: []verifier.Path{verifier.MustParsePath("realm_access.roles")}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(claims(nil))
	for _, seed := range []string{`{"exp":1e300}`, `{"exp":NaN}`, `{"exp":1767323045,"exp":1}`, `{"exp":"1767323045"}`, `{"exp":1767323045.5,"aud":[1]}`, `{"a":[[[[[[]]]]]],"exp":1767323999}`, `Payload`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		tok, err := s.SignRaw([]byte(`{"alg":"HS256","kid":"fuzz"}`), payload)
		if err != nil {
			t.Skip()
		}
		r := verifier.AcquireResult()
		defer verifier.ReleaseResult(r)
		if v.Verify(r, []byte(tok)) != nil {
			return
		}
		var c map[string]any
		if err := json.Unmarshal(payload, &c); err != nil {
			t.Fatalf("accepted claims encoding/json rejects: %q", payload)
		}
		exp, ok := c["exp"].(float64)
		if !ok || exp+verifier.DefaultLeeway.Seconds() <= float64(testNow.Unix()) {
			t.Fatalf("accepted claims with exp %v: %q", c["exp"], payload)
		}
		if strict.Verify(r, []byte(tok)) != nil {
			return
		}
		iat, hasIat := c["iat"].(float64)
		_, both := c["realm_access.roles"]
		ra, _ := c["realm_access"].(map[string]any)
		_, nested := ra["roles"]
		switch {
		case hasIat && exp-iat > time.Hour.Seconds(), !hasIat && exp-float64(testNow.Unix()) > time.Hour.Seconds():
			t.Fatalf("strict policy accepted a token living longer than an hour: %q", payload)
		case c["nonce"] != nil || c["at_hash"] != nil || c["c_hash"] != nil:
			t.Fatalf("strict policy accepted an ID token: %q", payload)
		case both && nested:
			t.Fatalf("strict policy accepted an ambiguous path: %q", payload)
		}
	})
}
