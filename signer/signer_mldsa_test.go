package signer_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/cloudflare/circl/sign/ed448"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
)

type seeded interface {
	Seed() []byte
	Bytes() []byte
}

// TestMLDSAPKCS8: the private key PEM is PKCS #8 with the RFC 9881 §6
// seed form (privateKey = 0x80 0x20 ξ, parameters absent, §2), and all
// three RFC 9881 forms read back as the same key; a "both" whose halves
// disagree is refused.
func TestMLDSAPKCS8(t *testing.T) {
	oids := map[keyring.Algorithm]string{keyring.MLDSA44: "11", keyring.MLDSA65: "12", keyring.MLDSA87: "13"}
	for _, alg := range []keyring.Algorithm{keyring.MLDSA44, keyring.MLDSA65, keyring.MLDSA87} {
		priv, err := signer.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		k := priv.(seeded)
		pemBytes, err := signer.MarshalPrivateKeyPEM(priv)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(pemBytes)
		// SEQUENCE(52) { INTEGER 0, SEQUENCE(11) { OID 2.16.840.1.101.3.4.3.x },
		// OCTET STRING(34) { [0](32) seed } }
		want, _ := hex.DecodeString("3034020100300b06096086480165030403" + oids[alg] + "04228020")
		want = append(want, k.Seed()...)
		if block == nil || block.Type != "PRIVATE KEY" || !bytes.Equal(block.Bytes, want) {
			t.Fatalf("%s PKCS #8:\n got %x\nwant %x", alg, block.Bytes, want)
		}
		seed, expanded := k.Seed(), k.Bytes()
		inner := func(v any) []byte {
			b, err := asn1.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		doc := func(privateKey []byte) []byte {
			return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: inner(struct {
				Version    int
				Algo       pkix.AlgorithmIdentifier
				PrivateKey []byte
			}{0, pkix.AlgorithmIdentifier{Algorithm: mldsaOID(alg)}, privateKey})})
		}
		type both struct{ Seed, ExpandedKey []byte }
		forms := map[string][]byte{
			"seed":     pemBytes,
			"expanded": doc(inner(expanded)),
			"both":     doc(inner(both{seed, expanded})),
		}
		for name, d := range forms {
			got, err := signer.ParsePrivateKeyPEM(d)
			if err != nil {
				t.Fatalf("%s %s: %v", alg, name, err)
			}
			if !bytes.Equal(got.(seeded).Bytes(), expanded) {
				t.Errorf("%s %s: another key", alg, name)
			}
			// A key read without its seed is written in the expandedKey form.
			if _, err := signer.MarshalPrivateKeyPEM(got); err != nil {
				t.Errorf("%s %s: re-marshal: %v", alg, name, err)
			}
		}
		other, _ := signer.GenerateKey(alg)
		bad := map[string][]byte{
			"both, halves disagree": doc(inner(both{seed, other.(seeded).Bytes()})),
			"short seed":            doc(append([]byte{0x80, 31}, seed[:31]...)),
			"short expanded":        doc(inner(expanded[1:])),
			"trailing byte":         doc(append(append([]byte{0x80, 32}, seed...), 0)),
		}
		for name, d := range bad {
			if _, err := signer.ParsePrivateKeyPEM(d); err == nil {
				t.Errorf("%s %s: accepted", alg, name)
			}
		}
	}
}

func mldsaOID(alg keyring.Algorithm) asn1.ObjectIdentifier {
	last := map[keyring.Algorithm]int{keyring.MLDSA44: 17, keyring.MLDSA65: 18, keyring.MLDSA87: 19}[alg]
	return asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, last}
}

// TestMLDSASeed: NewMLDSAKeyFromSeed is FIPS 204 KeyGen_internal(ξ), the
// RFC 9964 §4 "priv"; only 32-byte seeds and ML-DSA algs are accepted.
func TestMLDSASeed(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	for alg, want := range map[keyring.Algorithm]func() []byte{
		keyring.MLDSA44: func() []byte { pk, _ := mldsa44.NewKeyFromSeed((*[32]byte)(seed)); return pk.Bytes() },
		keyring.MLDSA65: func() []byte { pk, _ := mldsa65.NewKeyFromSeed((*[32]byte)(seed)); return pk.Bytes() },
		keyring.MLDSA87: func() []byte { pk, _ := mldsa87.NewKeyFromSeed((*[32]byte)(seed)); return pk.Bytes() },
	} {
		priv, err := signer.NewMLDSAKeyFromSeed(alg, seed)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := signer.Public(priv)
		if !bytes.Equal(pub.(interface{ Bytes() []byte }).Bytes(), want()) {
			t.Errorf("%s: seed derives another key", alg)
		}
	}
	if _, err := signer.NewMLDSAKeyFromSeed(keyring.MLDSA44, seed[:31]); err == nil {
		t.Error("31-byte seed accepted")
	}
	if _, err := signer.NewMLDSAKeyFromSeed(keyring.ES256, seed); err == nil {
		t.Error("ES256 seed accepted")
	}
}

// TestAlgFitsKey: a key signs only under the algs its type allows: the
// ML-DSA parameter set; EdDSA or the curve's RFC 9864 name.
func TestAlgFitsKey(t *testing.T) {
	k44, _ := signer.GenerateKey(keyring.MLDSA44)
	_, ed, _ := ed25519.GenerateKey(nil)
	e448, _ := signer.GenerateKey(keyring.Ed448)
	if _, ok := e448.(ed448.PrivateKey); !ok {
		t.Fatalf("GenerateKey(Ed448) gave %T", e448)
	}
	if k, _ := signer.GenerateKey(keyring.Ed25519); k == nil {
		t.Fatal("GenerateKey(Ed25519)")
	} else if _, ok := k.(ed25519.PrivateKey); !ok {
		t.Fatalf("GenerateKey(Ed25519) gave %T", k)
	}
	ok := []struct {
		alg keyring.Algorithm
		key any
	}{{keyring.MLDSA44, k44}, {keyring.EdDSA, ed}, {keyring.Ed25519, ed}, {keyring.EdDSA, e448}, {keyring.Ed448, e448}}
	for _, c := range ok {
		s, err := signer.New(c.alg, c.key, "k")
		if err != nil {
			t.Fatalf("%s with %T: %v", c.alg, c.key, err)
		}
		tok, err := s.Sign([]byte(`{"sub":"a"}`))
		if err != nil || !strings.HasPrefix(tok, "ey") {
			t.Fatalf("%s: %v", c.alg, err)
		}
	}
	bad := []struct {
		alg keyring.Algorithm
		key any
	}{{keyring.MLDSA65, k44}, {keyring.EdDSA, k44}, {keyring.Ed448, ed}, {keyring.MLDSA44, ed}, {keyring.Ed25519, e448}}
	for _, c := range bad {
		if _, err := signer.New(c.alg, c.key, "k"); err == nil {
			t.Errorf("signer.New(%s, %T) succeeded", c.alg, c.key)
		}
		if _, err := signer.Signature(c.alg, c.key, []byte("x")); err == nil {
			t.Errorf("Signature(%s, %T) succeeded", c.alg, c.key)
		}
	}
}
