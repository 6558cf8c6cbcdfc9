package verifier_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"encoding/asn1"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/ed448"

	"github.com/tokengate/tokengate/cache"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/verifier"
)

// floor returns the raw standard-library (or circl) primitive for a fixture:
// hash the signing input and check the signature, with every conversion
// (base64, DER encoding) done beforehand. It is what Verify can at best
// cost, and the benchmarks report Verify next to it.
func floor(b *testing.B, c algCase, signingInput, sig []byte) func() bool {
	h := c.alg.Hash()
	switch k := c.key.Public().(type) {
	case nil: // HMAC: a reused state, as fast as HMAC gets.
		mac := hmac.New(h.New, fixturePrivate[c.name].([]byte))
		var buf [64]byte
		return func() bool {
			mac.Reset()
			mac.Write(signingInput)
			return hmac.Equal(mac.Sum(buf[:0]), sig)
		}
	case *rsa.PublicKey:
		pss := c.alg.Family() == keyring.FamilyRSAPSS
		return func() bool {
			d := h.New()
			d.Write(signingInput)
			var buf [64]byte
			if pss {
				return rsa.VerifyPSS(k, h, d.Sum(buf[:0]), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
			}
			return rsa.VerifyPKCS1v15(k, h, d.Sum(buf[:0]), sig) == nil
		}
	case *ecdsa.PublicKey:
		n := len(sig) / 2
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])})
		if err != nil {
			b.Fatal(err)
		}
		return func() bool {
			return ecdsa.VerifyASN1(k, digestOf(h, signingInput), der)
		}
	case ed25519.PublicKey:
		return func() bool { return ed25519.Verify(k, signingInput, sig) }
	case ed448.PublicKey:
		return func() bool { return ed448.Verify(k, signingInput, sig, "") }
	case *mldsa44.PublicKey: // RFC 9964: pure ML-DSA, empty context
		return func() bool { return mldsa44.Verify(k, signingInput, nil, sig) }
	case *mldsa65.PublicKey:
		return func() bool { return mldsa65.Verify(k, signingInput, nil, sig) }
	case *mldsa87.PublicKey:
		return func() bool { return mldsa87.Verify(k, signingInput, nil, sig) }
	}
	b.Fatalf("no floor for %T", c.key.Public())
	return nil
}

func digestOf(h crypto.Hash, in []byte) []byte {
	d := h.New()
	d.Write(in)
	return d.Sum(nil)
}

// BenchmarkVerify reports, per algorithm and side by side: the raw primitive
// (floor), Key.Verify (the keyring's bound primitive), full Verify, and a
// cache hit. Compare with benchstat over -count=10.
func BenchmarkVerify(b *testing.B) {
	snap := allKeys(b)
	v := newVerifier(b, snap, verifier.DefaultPolicy())
	c, err := cache.New[int](cache.Config{MaxBytes: 1 << 20, Now: fixedClock}, func(int) int { return 0 })
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for _, fc := range algFixtures(b) {
		tok := mint(b, fc, claims(nil))
		dot := strings.LastIndexByte(string(tok), '.')
		signingInput := tok[:dot]
		sig, err := enc.DecodeString(string(tok[dot+1:]))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fc.name+"/floor", func(b *testing.B) {
			f := floor(b, fc, signingInput, sig)
			b.ReportAllocs()
			for b.Loop() {
				if !f() {
					b.Fatal("floor rejected")
				}
			}
		})
		b.Run(fc.name+"/key", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !fc.key.Verify(signingInput, sig) {
					b.Fatal("rejected")
				}
			}
		})
		b.Run(fc.name+"/verify", func(b *testing.B) {
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			b.ReportAllocs()
			b.SetBytes(int64(len(tok)))
			for b.Loop() {
				if err := v.Verify(r, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fc.name+"/cached", func(b *testing.B) {
			c.Set(tok, snap.Generation(), testNow.Add(time.Hour), 1)
			c.Wait()
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := c.Lookup(tok, snap.Generation()); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}

// BenchmarkVerifyParallel is full Verify from every core, one Result per
// goroutine, as the sidecar runs it.
func BenchmarkVerifyParallel(b *testing.B) {
	v := newVerifier(b, allKeys(b), verifier.DefaultPolicy())
	for _, name := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
		tok := mint(b, caseFor(b, name), claims(nil))
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := verifier.AcquireResult()
				defer verifier.ReleaseResult(r)
				for pb.Next() {
					if err := v.Verify(r, tok); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkSplit(b *testing.B) {
	tok := mint(b, caseFor(b, "ES256"), claims(nil))
	b.ReportAllocs()
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		if _, _, _, err := verifier.Split(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReject is the cost of turning away a forged token: the path an
// attacker controls.
func BenchmarkReject(b *testing.B) {
	hs := caseFor(b, "HS256")
	v := newVerifier(b, allKeys(b), verifier.DefaultPolicy())
	good := mint(b, hs, claims(nil))
	cases := map[string][]byte{
		"malformed":     []byte("eyJhbGciOiJIUzI1NiJ9.!!!.AAAA"),
		"bad-signature": withSignatureB(good, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		"unknown-kid":   mintRaw(b, hs, header("HS256", "nope", ""), claims(nil)),
	}
	for name, tok := range cases {
		b.Run(name, func(b *testing.B) {
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			b.ReportAllocs()
			for b.Loop() {
				if v.Verify(r, tok) == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
