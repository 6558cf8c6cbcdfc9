//go:build !race

package verifier_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/tokengate/tokengate/verifier"
)

// The zero-allocation promises of the hot path (DESIGN.md "Rules of the hot
// path"). The race detector allocates on its own, hence the build tag.

func TestSplitDoesNotAllocate(t *testing.T) {
	tok := mint(t, caseFor(t, "HS256"), claims(nil))
	if n := testing.AllocsPerRun(100, func() {
		if _, _, _, err := verifier.Split(tok); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Split allocates %.1f times", n)
	}
}

func TestVerifyDoesNotAllocate(t *testing.T) {
	for _, name := range []string{"HS256", "HS384", "HS512", "EdDSA"} {
		t.Run(name, func(t *testing.T) {
			c := caseFor(t, name)
			v := newVerifier(t, allKeys(t), verifier.DefaultPolicy())
			// Every registered claim in the shapes providers send: scope
			// and scp arrays, aud [] (Hydra).
			tok := mint(t, c, claims(map[string]any{"scope": []string{"a", "b"}, "scp": "c d", "aud": []string{}}))
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			if n := testing.AllocsPerRun(100, func() {
				if err := v.Verify(r, tok); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Fatalf("Verify allocates %.1f times", n)
			}
		})
	}
}

// TestVerifyAllocatesOnlyInThePrimitive: for algorithms whose primitive
// allocates (crypto/rsa, crypto/ecdsa, circl's Ed448), full Verify adds no
// allocation of its own on top of the bound primitive.
func TestVerifyAllocatesOnlyInThePrimitive(t *testing.T) {
	v := newVerifier(t, allKeys(t), verifier.DefaultPolicy())
	for _, c := range algFixtures(t) {
		t.Run(c.name, func(t *testing.T) {
			tok := mint(t, c, claims(nil))
			dot := bytes.LastIndexByte(tok, '.')
			sig, err := enc.DecodeString(string(tok[dot+1:]))
			if err != nil {
				t.Fatal(err)
			}
			primitive := testing.AllocsPerRun(50, func() {
				if !c.key.Verify(tok[:dot], sig) {
					t.Fatal("primitive rejected")
				}
			})
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			full := testing.AllocsPerRun(50, func() {
				if err := v.Verify(r, tok); err != nil {
					t.Fatal(err)
				}
			})
			if full > primitive {
				t.Fatalf("Verify allocates %.1f times, the primitive %.1f", full, primitive)
			}
			t.Logf("%s: %.0f allocations, all in the primitive", c.name, full)
		})
	}
}

// An attacker decides how often the failure path runs: it must not
// allocate either.
func TestRejectDoesNotAllocate(t *testing.T) {
	hs := caseFor(t, "HS256")
	p := verifier.DefaultPolicy()
	p.MaxLifetime, p.RefuseIDTokens = 24*time.Hour, true
	v := newVerifierOpts(t, allKeys(t), verifier.Options{Policy: p, ClaimPaths: []verifier.Path{verifier.MustParsePath("realm_access.roles")}})
	good := mint(t, hs, claims(nil))
	bad := map[string][]byte{
		"malformed":     []byte("not.a.token!"),
		"bad signature": withSignatureB(good, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		"expired":       mint(t, hs, claims(map[string]any{"exp": testNow.Unix() - 3600})),
		"unknown kid":   mintRaw(t, hs, header("HS256", "nope", ""), claims(nil)),
		"alg none":      []byte("eyJhbGciOiJub25lIn0.e30.AAAA"),
		"duplicate":     mintRaw(t, hs, `{"alg":"HS256","alg":"HS256"}`, claims(nil)),
		"opaque":        []byte("ory_at_WjCq9gRQ2y7eI0Gk3rK8bQm4Xo1VnA5t.8fZkQeR3yTnV7wXaB1cD5gH9jK2mN4pS"),
		"encrypted":     []byte("eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..aXY.Y3Q.dGFn"),
		"too long":      bytes.Repeat([]byte("a"), verifier.DefaultMaxTokenSize+1),
		"lifetime":      mint(t, hs, claims(map[string]any{"exp": testNow.Unix() + 400*24*3600})),
		"id token":      mint(t, hs, claims(map[string]any{"nonce": "n"})),
		"ambiguous":     mint(t, hs, claims(map[string]any{"realm_access.roles": []string{"x"}})),
	}
	for name, tok := range bad {
		t.Run(name, func(t *testing.T) {
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			if n := testing.AllocsPerRun(100, func() {
				if err := v.Verify(r, tok); err == nil {
					t.Fatal("accepted")
				}
			}); n != 0 {
				t.Fatalf("rejecting allocates %.1f times", n)
			}
		})
	}
}

// TestClaimPathsDoNotAllocate: the ambiguity check of declared and
// required paths, and Claim with either syntax, allocate nothing.
func TestClaimPathsDoNotAllocate(t *testing.T) {
	hs := caseFor(t, "HS256")
	paths := []verifier.Path{verifier.MustParsePath("realm_access.roles"), verifier.MustParsePath("/realm_access/roles/1"), verifier.MustParsePath("sub")}
	p := verifier.DefaultPolicy()
	p.RequiredClaims = []string{"realm_access.roles", "/jti"}
	v := newVerifierOpts(t, snapshotOf(t, hs.key), verifier.Options{Policy: p, ClaimPaths: paths})
	tok := mint(t, hs, claims(nil))
	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	if n := testing.AllocsPerRun(100, func() {
		if err := v.Verify(r, tok); err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			if _, ok := r.Claim(path); !ok {
				t.Fatalf("%s not found", path)
			}
		}
	}); n != 0 {
		t.Fatalf("Verify and Claim allocate %.1f times", n)
	}
}
