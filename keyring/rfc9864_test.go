package keyring_test

// RFC 9864 §2.2: the fully specified JWS algorithms "Ed25519" and "Ed448"
// next to the polymorphic RFC 8037 "EdDSA". One OKP key yields the same
// signature under either name; what tells them apart is the key's bound
// alg, which the verifier compares with the header's "alg".

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/cloudflare/circl/sign/ed448"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

func rfc8037Key(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey, rfcJWS, string) {
	t.Helper()
	var f struct {
		PublicKeyJWK rfcJWK `json:"public_key_jwk"`
		PrivateKey   rfcJWK `json:"private_key_jwk"`
		Thumbprint   string `json:"jwk_thumbprint_sha256"`
		JWS          rfcJWS `json:"jws"`
	}
	readRFCFile(t, &f, "rfc8037.json")
	priv := ed25519.NewKeyFromSeed(b64u(t, f.PrivateKey.D))
	pub := ed25519.PublicKey(b64u(t, f.PublicKeyJWK.X))
	if !pub.Equal(priv.Public()) {
		t.Fatal("RFC 8037 A.1 d does not derive A.2 x")
	}
	return pub, priv, f.JWS, f.Thumbprint
}

func verifySig(t *testing.T, k *keyring.Key, token string) error {
	t.Helper()
	snap, err := keyring.NewSnapshot(1, k)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(snap, verifier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	return v.VerifySignature(r, []byte(token))
}

// TestRFC9864Ed25519 runs the RFC 8037 Appendix A Ed25519 key under both
// names: the A.4 "EdDSA" JWS verifies with the key bound to EdDSA and is
// refused by the same key bound to Ed25519; a JWS with "alg":"Ed25519"
// made with the A.1 private key is the other way round.
func TestRFC9864Ed25519(t *testing.T) {
	pub, priv, jws, tp := rfc8037Key(t)
	x := enc64.EncodeToString(pub)

	kEdDSA, err := keyring.NewKey(pub, keyring.Options{})
	if err != nil || kEdDSA.Alg() != keyring.EdDSA {
		t.Fatalf("no alg: %v %v", err, kEdDSA)
	}
	kEd, err := keyring.ParseJWK([]byte(`{"kty":"OKP","crv":"Ed25519","alg":"Ed25519","x":"`+x+`"}`), keyring.Options{})
	if err != nil || kEd.Alg() != keyring.Ed25519 {
		t.Fatalf("JWK alg Ed25519: %v %v", err, kEd)
	}
	// The thumbprint (RFC 7638 §3.2: crv, kty, x) does not include alg:
	// both are RFC 8037 A.3's.
	if kEd.Thumbprint() != tp || kEdDSA.Thumbprint() != tp {
		t.Errorf("thumbprints %s %s, want %s", kEd.Thumbprint(), kEdDSA.Thumbprint(), tp)
	}
	// Options.Alg binds a JWK without "alg" (a configured source).
	kCfg, err := keyring.ParseJWK([]byte(`{"kty":"OKP","crv":"Ed25519","x":"`+x+`"}`), keyring.Options{Alg: keyring.Ed25519})
	if err != nil || kCfg.Alg() != keyring.Ed25519 {
		t.Fatalf("configured Ed25519: %v %v", err, kCfg)
	}
	// MarshalJWK keeps the name.
	if b, err := kEd.MarshalJWK(); err != nil {
		t.Fatal(err)
	} else if k2, err := keyring.ParseJWK(b, keyring.Options{}); err != nil || k2.Alg() != keyring.Ed25519 {
		t.Errorf("MarshalJWK round trip: %s %v", b, err)
	}

	// The A.4 signature is the same bytes under either name (Key.Verify
	// is the primitive); the verifier's alg binding separates them.
	input, sig := []byte(jws.SigningInput), b64u(t, jws.SignatureB64u)
	if !kEdDSA.Verify(input, sig) || !kEd.Verify(input, sig) {
		t.Fatal("RFC 8037 A.4 signature does not verify")
	}
	if err := verifySig(t, kEdDSA, jws.Compact); err != nil {
		t.Errorf("A.4 EdDSA JWS with the EdDSA key: %v", err)
	}
	if err := verifySig(t, kEd, jws.Compact); err == nil {
		t.Error("A.4 \"alg\":\"EdDSA\" JWS accepted by the key bound to Ed25519")
	}
	s, err := signer.New(keyring.Ed25519, priv, tp)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.SignRaw([]byte(`{"alg":"Ed25519","kid":"`+tp+`"}`), []byte("Example of Ed25519 signing"))
	if err != nil {
		t.Fatal(err)
	}
	if err := verifySig(t, kEd, tok); err != nil {
		t.Errorf("Ed25519 JWS with the Ed25519 key: %v", err)
	}
	if err := verifySig(t, kEdDSA, tok); err == nil {
		t.Error("\"alg\":\"Ed25519\" JWS accepted by the key bound to EdDSA")
	}
	for _, a := range keyring.Algorithms {
		k, err := keyring.NewKey(pub, keyring.Options{Alg: a})
		if ok := a == keyring.EdDSA || a == keyring.Ed25519; ok != (err == nil) {
			t.Errorf("binding an Ed25519 key to %s: %v", a, err)
		} else if err == nil && k.Alg() != a {
			t.Errorf("bound to %s, Alg() = %s", a, k.Alg())
		}
	}
}

// TestRFC9864Refusals: "alg" and "crv" must agree (RFC 9864 §2.2: Ed448 is
// EdDSA on Ed448 only), and a configured alg must equal the JWK's.
func TestRFC9864Refusals(t *testing.T) {
	pub, _, _, _ := rfc8037Key(t)
	x := enc64.EncodeToString(pub)
	ed448Key, err := signer.GenerateEd448()
	if err != nil {
		t.Fatal(err)
	}
	x448 := enc64.EncodeToString(ed448Key.Public().(ed448.PublicKey))
	tests := []struct {
		name string
		doc  string
		o    keyring.Options
		want error
	}{
		{"alg Ed448, crv Ed25519", `{"kty":"OKP","crv":"Ed25519","alg":"Ed448","x":"` + x + `"}`, keyring.Options{}, keyring.ErrInvalidKey},
		{"alg Ed25519, crv Ed448", `{"kty":"OKP","crv":"Ed448","alg":"Ed25519","x":"` + x448 + `"}`, keyring.Options{}, keyring.ErrInvalidKey},
		{"configured Ed448, crv Ed25519", `{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}`, keyring.Options{Alg: keyring.Ed448}, keyring.ErrInvalidKey},
		{"JWK EdDSA, configured Ed25519", `{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","x":"` + x + `"}`, keyring.Options{Alg: keyring.Ed25519}, keyring.ErrAlgMismatch},
		{"JWK Ed25519, configured EdDSA", `{"kty":"OKP","crv":"Ed25519","alg":"Ed25519","x":"` + x + `"}`, keyring.Options{Alg: keyring.EdDSA}, keyring.ErrAlgMismatch},
		{"alg Ed25519 on an EC key", `{"kty":"EC","crv":"P-256","alg":"Ed25519","x":"` + x + `","y":"` + x + `"}`, keyring.Options{}, keyring.ErrInvalidKey},
		{"lowercase ed25519", `{"kty":"OKP","crv":"Ed25519","alg":"ed25519","x":"` + x + `"}`, keyring.Options{}, keyring.ErrUnsupportedAlg},
	}
	for _, tc := range tests {
		if _, err := keyring.ParseJWK([]byte(tc.doc), tc.o); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	k, err := keyring.ParseJWK([]byte(`{"kty":"OKP","crv":"Ed448","alg":"Ed448","x":"`+x448+`"}`), keyring.Options{})
	if err != nil || k.Alg() != keyring.Ed448 {
		t.Fatalf("Ed448 JWK: %v", err)
	}
	// Ed448 signs under both names with one signature scheme; the
	// verifier binds each key to one.
	for _, alg := range []keyring.Algorithm{keyring.Ed448, keyring.EdDSA} {
		s, err := signer.New(alg, ed448Key, "k")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.SignRaw([]byte(`{"alg":"`+string(alg)+`","kid":"k"}`), []byte("payload"))
		if err != nil {
			t.Fatal(err)
		}
		for _, bound := range []keyring.Algorithm{keyring.Ed448, keyring.EdDSA} {
			kb, err := keyring.NewKey(ed448Key.Public(), keyring.Options{ID: "k", Alg: bound})
			if err != nil {
				t.Fatal(err)
			}
			if err := verifySig(t, kb, tok); (err == nil) != (bound == alg) {
				t.Errorf("%s token, key bound to %s: %v", alg, bound, err)
			}
		}
	}
}
