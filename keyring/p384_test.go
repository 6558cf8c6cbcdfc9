package keyring_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/keyring"
)

// ES384 keys verify on circl's P-384 arithmetic (p384.go); these tests run
// it through the public API (NewKey, Key.Verify) next to the crypto/ecdsa
// path it replaced (keyring.VerifyES384Stdlib, exported to tests by
// p384_fuzz_test.go). Crafted scalars that reach circl's exceptional
// additions (u1 = 0, R = O, xR ≥ n) are in p384_fuzz_test.go.

var p384N = elliptic.P384().Params().N

// es384Signer is a throwaway P-384 key, its Key and a JWS-like input.
type es384Signer struct {
	priv *ecdsa.PrivateKey
	key  *keyring.Key
	in   []byte
}

func newES384Signer(t testing.TB) *es384Signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring.NewKey(&priv.PublicKey, keyring.Options{ID: "es384"})
	if err != nil {
		t.Fatal(err)
	}
	if k.Alg() != keyring.ES384 {
		t.Fatalf("P-384 key bound to %s", k.Alg())
	}
	return &es384Signer{priv, k, []byte("eyJhbGciOiJFUzM4NCIsImtpZCI6ImVzMzg0In0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0")}
}

// sign returns r, s and the JWS signature R‖S (RFC 7518 §3.4) of in.
func (s *es384Signer) sign(t testing.TB, in []byte) (r, ss *big.Int, sig []byte) {
	t.Helper()
	d := sha512.Sum384(in)
	r, ss, err := ecdsa.Sign(rand.Reader, s.priv, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return r, ss, rs(r, ss)
}

func rs(r, s *big.Int) []byte {
	out := make([]byte, 96)
	r.FillBytes(out[:48])
	s.FillBytes(out[48:])
	return out
}

// TestES384Wycheproof runs Wycheproof ecdsa_secp384r1_sha384_p1363_test.json
// (testdata/wycheproof, see the README there) through NewKey and Key.Verify
// and checks crypto/ecdsa gives the same answer for every tcId. The file has
// no "acceptable" vectors; wpTally would count one as must-reject.
func TestES384Wycheproof(t *testing.T) {
	const file = "ecdsa_secp384r1_sha384_p1363_test.json"
	wf := loadWycheproof[wpECDSAGroup](t, file)
	var c wpTally
	c.want = wf.NumberOfTests
	for gi, g := range wf.TestGroups {
		if g.Type != "EcdsaP1363Verify" || g.PublicKey.Curve != "secp384r1" || g.Sha != "SHA-384" {
			t.Fatalf("%s group %d: type %s, curve %s, sha %s: not ES384", file, gi, g.Type, g.PublicKey.Curve, g.Sha)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), g.PublicKey.Uncompressed)
		if err != nil {
			t.Fatalf("%s group %d: %v", file, gi, err)
		}
		k, err := keyring.NewKey(pub, keyring.Options{ID: fmt.Sprintf("%s#%d", file, gi)})
		if err != nil {
			t.Errorf("%s group %d: unexpected refusal: %v", file, gi, err)
			c.seen += len(g.Tests)
			continue
		}
		for _, tc := range g.Tests {
			c.run(t, file, k, tc, tc.Sig, func(t *testing.T) {
				if std := keyring.VerifyES384Stdlib(pub, tc.Msg, tc.Sig); std != k.Verify(tc.Msg, tc.Sig) {
					t.Errorf("%s tcId %d (%q, flags %v): crypto/ecdsa says %v", file, tc.TcID, tc.Comment, tc.Flags, std)
				}
			})
		}
	}
	c.log(t)
}

// TestES384EdgeCases: SEC 1 v2 §4.1.4 step 1 (r, s ∈ [1, n−1]) and RFC 7518
// §3.4 (exactly 96 octets) through the public API, each answer matched by
// crypto/ecdsa.
//
// A message whose hash makes u1 = 0 would need e ≡ 0 mod n, i.e. a SHA-384
// preimage; TestES384CraftedScalars covers u1 = 0 at the digest level
// (digests 0 and n).
func TestES384EdgeCases(t *testing.T) {
	s := newES384Signer(t)
	r, ss, sig := s.sign(t, s.in)
	one := big.NewInt(1)
	nm1 := new(big.Int).Sub(p384N, one)
	zero := new(big.Int)
	allFF := make([]byte, 96)
	for i := range allFF {
		allFF[i] = 0xff
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{r, ss})
	if err != nil {
		t.Fatal(err)
	}
	otherR, otherS, _ := s.sign(t, []byte("another message"))
	tests := []struct {
		name string
		in   []byte
		sig  []byte
		want bool
	}{
		{"valid", s.in, sig, true},
		// ECDSA is malleable: (r, n−s) is valid as well. RFC 7518 does not
		// ask for low-s and crypto/ecdsa accepts it, so ES384 does too.
		{"valid (r, n-s)", s.in, rs(r, new(big.Int).Sub(p384N, ss)), true},
		{"r = 0", s.in, rs(zero, ss), false},
		{"s = 0", s.in, rs(r, zero), false},
		{"r = s = 0", s.in, make([]byte, 96), false},
		{"r = n", s.in, rs(p384N, ss), false},
		{"s = n", s.in, rs(r, p384N), false},
		{"r = n-1", s.in, rs(nm1, ss), false},
		{"s = n-1", s.in, rs(r, nm1), false},
		{"r = 1", s.in, rs(one, ss), false},
		{"s = 1", s.in, rs(r, one), false},
		{"all 0xff", s.in, allFF, false},
		{"r, s swapped", s.in, rs(ss, r), false},
		{"r+1", s.in, rs(new(big.Int).Add(r, one), ss), false},
		{"s+1", s.in, rs(r, new(big.Int).Add(ss, one)), false},
		{"other message's signature", s.in, rs(otherR, otherS), false},
		{"message changed", append([]byte("x"), s.in...), sig, false},
		{"length 95", s.in, sig[:95], false},
		{"length 97 (trailing 00)", s.in, append(append([]byte(nil), sig...), 0), false},
		{"length 97 (leading 00)", s.in, append([]byte{0}, sig...), false},
		{"empty", s.in, nil, false},
		{"DER", s.in, der, false},
	}
	if rn := new(big.Int).Add(r, p384N); rn.BitLen() <= 384 {
		tests = append(tests, struct {
			name string
			in   []byte
			sig  []byte
			want bool
		}{"r+n", s.in, rs(rn, ss), false})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.key.Verify(tc.in, tc.sig); got != tc.want {
				t.Errorf("Key.Verify = %v, want %v", got, tc.want)
			}
			if got := keyring.VerifyES384Stdlib(&s.priv.PublicKey, tc.in, tc.sig); got != tc.want {
				t.Errorf("crypto/ecdsa = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestES384Concurrent shares one key and the verifier's scratch pool among
// goroutines (run with -race), mixing valid and invalid signatures.
func TestES384Concurrent(t *testing.T) {
	s := newES384Signer(t)
	_, _, good := s.sign(t, s.in)
	bad := append([]byte(nil), good...)
	bad[95] ^= 1
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				sig, want := bad, (g+i)%2 == 0
				if want {
					sig = good
				}
				if s.key.Verify(s.in, sig) != want {
					t.Errorf("goroutine %d, round %d: want %v", g, i, want)
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkES384Verify: crypto/ecdsa (the former path) next to Key.Verify on
// circl, same key, input and signature. Compare with benchstat -count=10.
func BenchmarkES384Verify(b *testing.B) {
	s := newES384Signer(b)
	_, _, sig := s.sign(b, s.in)
	pub := &s.priv.PublicKey
	if !keyring.VerifyES384Stdlib(pub, s.in, sig) || !s.key.Verify(s.in, sig) {
		b.Fatal("signature does not verify")
	}
	b.Run("stdlib", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			keyring.VerifyES384Stdlib(pub, s.in, sig)
		}
	})
	b.Run("circl", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.key.Verify(s.in, sig)
		}
	})
}
