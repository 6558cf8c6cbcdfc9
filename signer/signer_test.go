package signer_test

import (
	"strings"
	"testing"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
)

// TestRoundTrip: a key generated, written as PEM, read back and used to
// sign verifies with the public key under the same alg, and under no other.
func TestRoundTrip(t *testing.T) {
	type kc struct {
		alg   keyring.Algorithm
		ed448 bool
	}
	cases := []kc{{alg: keyring.EdDSA, ed448: true}}
	for _, a := range keyring.Algorithms {
		cases = append(cases, kc{alg: a})
	}
	for _, c := range cases {
		name := string(c.alg)
		if c.ed448 {
			name += "-Ed448"
		}
		t.Run(name, func(t *testing.T) {
			var priv any
			var err error
			if c.ed448 {
				priv, err = signer.GenerateEd448()
			} else {
				priv, err = signer.GenerateKey(c.alg)
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.alg.Family() != keyring.FamilyHMAC {
				pemBytes, err := signer.MarshalPrivateKeyPEM(priv)
				if err != nil {
					t.Fatal(err)
				}
				if priv, err = signer.ParsePrivateKeyPEM(pemBytes); err != nil {
					t.Fatal(err)
				}
			}
			s, err := signer.New(c.alg, priv, "k")
			if err != nil {
				t.Fatal(err)
			}
			tok, err := s.Sign([]byte(`{"sub":"a"}`))
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := signer.Public(priv)
			k, err := keyring.NewKey(pub, keyring.Options{ID: "k", Alg: c.alg})
			if err != nil {
				t.Fatal(err)
			}
			dot := strings.LastIndexByte(tok, '.')
			sig, err := signatureBytes(tok[dot+1:])
			if err != nil || !k.Verify([]byte(tok[:dot]), sig) {
				t.Fatalf("signature does not verify: %v", err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	priv, _ := signer.GenerateKey(keyring.ES256)
	if _, err := signer.New(keyring.ES384, priv, "k"); err == nil {
		t.Error("P-256 key bound to ES384")
	}
	if _, err := signer.New(keyring.HS256, []byte("short"), "k"); err == nil {
		t.Error("short HMAC secret accepted")
	}
	s, _ := signer.New(keyring.ES256, priv, "k")
	if _, err := s.Sign([]byte(`[1]`)); err == nil {
		t.Error("non-object claims signed")
	}
	if _, err := signer.ParsePrivateKeyPEM([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")); err == nil {
		t.Error("public key parsed as private")
	}
}
