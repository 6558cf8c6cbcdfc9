package keyring_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"

	"github.com/tokengate/tokengate/keyring"
)

// BenchmarkVerifyMLDSA measures Key.Verify (the signature check the
// verifier runs on a cache miss) for the three ML-DSA parameter sets next
// to ES256 and Ed25519, over a typical signing input, and the raw circl
// primitive next to each ML-DSA Key.Verify.
func BenchmarkVerifyMLDSA(b *testing.B) {
	input := []byte("eyJhbGciOiJNTC1EU0EtNjUiLCJraWQiOiJrMSIsInR5cCI6IkpXVCJ9." +
		"eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwic3ViIjoiYWxpY2UiLCJhdWQiOiJhcGkiLCJpYXQiOjE3NjcyMjU2MDAsImV4cCI6NDEwMjQ0NDgwMH0")
	type bc struct {
		name   string
		key    *keyring.Key
		sig    []byte
		direct func([]byte, []byte) bool // the raw primitive, or nil
	}
	var cases []bc
	add := func(name string, pub any, sig []byte, direct func([]byte, []byte) bool) {
		k, err := keyring.NewKey(pub, keyring.Options{ID: name})
		if err != nil {
			b.Fatal(err)
		}
		if !k.Verify(input, sig) {
			b.Fatalf("%s: signature does not verify", name)
		}
		cases = append(cases, bc{name, k, sig, direct})
	}

	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256(input)
	r, s, err := ecdsa.Sign(rand.Reader, ec, d[:])
	if err != nil {
		b.Fatal(err)
	}
	esSig := make([]byte, 64)
	r.FillBytes(esSig[:32])
	s.FillBytes(esSig[32:])
	add("ES256", &ec.PublicKey, esSig, nil)

	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	add("Ed25519", edPub, ed25519.Sign(edPriv, input), nil)

	pk44, sk44, _ := mldsa44.GenerateKey(rand.Reader)
	sig44 := make([]byte, mldsa44.SignatureSize)
	_ = mldsa44.SignTo(sk44, input, nil, true, sig44)
	add("ML-DSA-44", pk44, sig44, func(in, sig []byte) bool { return mldsa44.Verify(pk44, in, nil, sig) })

	pk65, sk65, _ := mldsa65.GenerateKey(rand.Reader)
	sig65 := make([]byte, mldsa65.SignatureSize)
	_ = mldsa65.SignTo(sk65, input, nil, true, sig65)
	add("ML-DSA-65", pk65, sig65, func(in, sig []byte) bool { return mldsa65.Verify(pk65, in, nil, sig) })

	pk87, sk87, _ := mldsa87.GenerateKey(rand.Reader)
	sig87 := make([]byte, mldsa87.SignatureSize)
	_ = mldsa87.SignTo(sk87, input, nil, true, sig87)
	add("ML-DSA-87", pk87, sig87, func(in, sig []byte) bool { return mldsa87.Verify(pk87, in, nil, sig) })

	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !c.key.Verify(input, c.sig) {
					b.Fatal("verify failed")
				}
			}
		})
		if c.direct != nil {
			b.Run(c.name+"/circl", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if !c.direct(input, c.sig) {
						b.Fatal("verify failed")
					}
				}
			})
		}
	}
}
