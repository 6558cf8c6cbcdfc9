package signer

import (
	"bytes"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"

	"github.com/tokengate/tokengate/keyring"
)

// ML-DSA private keys are circl's *mldsa44.PrivateKey, *mldsa65.PrivateKey
// and *mldsa87.PrivateKey. RFC 9964 §4 makes the 32-byte seed ξ the one JOSE
// form of a private key; on disk it is PKCS #8 with the RFC 9881 §6
// ML-DSA-PrivateKey CHOICE, written in its seed form.

// RFC 9881 §2: id-ml-dsa-44, id-ml-dsa-65, id-ml-dsa-87.
var (
	oidMLDSA44 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 17}
	oidMLDSA65 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}
	oidMLDSA87 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 19}
)

// mldsaSeedSize is the size of ξ (FIPS 204 Algorithm 1; RFC 9964 §4: "MUST
// have a length of 32 bytes"). It is the same for the three sets.
const mldsaSeedSize = mldsa44.SeedSize

// mldsaKey is what the three circl private key types have in common.
type mldsaKey interface {
	Seed() []byte
	Bytes() []byte
}

// generateMLDSA makes a fresh key for one of the ML-DSA algorithms.
func generateMLDSA(alg keyring.Algorithm) (any, error) {
	switch alg {
	case keyring.MLDSA44:
		_, sk, err := mldsa44.GenerateKey(rand.Reader)
		return sk, err
	case keyring.MLDSA65:
		_, sk, err := mldsa65.GenerateKey(rand.Reader)
		return sk, err
	case keyring.MLDSA87:
		_, sk, err := mldsa87.GenerateKey(rand.Reader)
		return sk, err
	}
	return nil, fmt.Errorf("signer: %s is not an ML-DSA algorithm", alg)
}

// NewMLDSAKeyFromSeed derives the private key of alg (ML-DSA-44, -65 or
// -87) from the 32-byte seed ξ (FIPS 204 ML-DSA.KeyGen_internal), the form
// an AKP JWK carries in "priv" (RFC 9964 §4).
func NewMLDSAKeyFromSeed(alg keyring.Algorithm, seed []byte) (any, error) {
	if len(seed) != mldsaSeedSize {
		return nil, fmt.Errorf("signer: an ML-DSA seed is %d bytes, got %d", mldsaSeedSize, len(seed))
	}
	s := (*[mldsaSeedSize]byte)(seed)
	switch alg {
	case keyring.MLDSA44:
		_, sk := mldsa44.NewKeyFromSeed(s)
		return sk, nil
	case keyring.MLDSA65:
		_, sk := mldsa65.NewKeyFromSeed(s)
		return sk, nil
	case keyring.MLDSA87:
		_, sk := mldsa87.NewKeyFromSeed(s)
		return sk, nil
	}
	return nil, fmt.Errorf("signer: %s is not an ML-DSA algorithm", alg)
}

// mldsaAlg reports the algorithm of an ML-DSA private key, or "".
func mldsaAlg(private any) keyring.Algorithm {
	switch private.(type) {
	case *mldsa44.PrivateKey:
		return keyring.MLDSA44
	case *mldsa65.PrivateKey:
		return keyring.MLDSA65
	case *mldsa87.PrivateKey:
		return keyring.MLDSA87
	}
	return ""
}

// mldsaPublic returns the public half of an ML-DSA private key.
func mldsaPublic(private any) (any, bool) {
	switch k := private.(type) {
	case *mldsa44.PrivateKey:
		return k.Public(), true
	case *mldsa65.PrivateKey:
		return k.Public(), true
	case *mldsa87.PrivateKey:
		return k.Public(), true
	}
	return nil, false
}

// signMLDSA signs with pure ML-DSA (FIPS 204 Algorithm 2) and the empty
// context string RFC 9964 §5 requires, hedged (fresh randomness, the FIPS
// 204 default). alg must be the key's parameter set.
func signMLDSA(alg keyring.Algorithm, private any, signingInput []byte) ([]byte, error) {
	if got := mldsaAlg(private); got != alg {
		return nil, fmt.Errorf("signer: alg %s does not fit an %s key", alg, got)
	}
	var sig []byte
	var err error
	switch k := private.(type) {
	case *mldsa44.PrivateKey:
		sig = make([]byte, mldsa44.SignatureSize)
		err = mldsa44.SignTo(k, signingInput, nil, true, sig)
	case *mldsa65.PrivateKey:
		sig = make([]byte, mldsa65.SignatureSize)
		err = mldsa65.SignTo(k, signingInput, nil, true, sig)
	case *mldsa87.PrivateKey:
		sig = make([]byte, mldsa87.SignatureSize)
		err = mldsa87.SignTo(k, signingInput, nil, true, sig)
	}
	if err != nil {
		return nil, err
	}
	return sig, nil
}

func mldsaOID(alg keyring.Algorithm) asn1.ObjectIdentifier {
	switch alg {
	case keyring.MLDSA44:
		return oidMLDSA44
	case keyring.MLDSA65:
		return oidMLDSA65
	}
	return oidMLDSA87
}

// marshalMLDSAPKCS8 encodes an ML-DSA private key as PKCS #8 (RFC 5958
// OneAsymmetricKey v1) whose privateKey holds the RFC 9881 §6 CHOICE:
//
//	ML-DSA-xx-PrivateKey ::= CHOICE {
//	  seed [0] OCTET STRING (SIZE (32)),
//	  expandedKey OCTET STRING,
//	  both SEQUENCE { seed OCTET STRING, expandedKey OCTET STRING } }
//
// It writes the seed form (implicit tag [0]: 0x80 0x20 ξ), or the
// expandedKey form for a key read without its seed.
func marshalMLDSAPKCS8(private any) ([]byte, bool, error) {
	alg := mldsaAlg(private)
	if alg == "" {
		return nil, false, nil
	}
	k := private.(mldsaKey)
	var inner []byte
	if seed := k.Seed(); seed != nil {
		inner = append([]byte{0x80, mldsaSeedSize}, seed...)
	} else {
		var err error
		if inner, err = asn1.Marshal(k.Bytes()); err != nil {
			return nil, true, err
		}
	}
	// RFC 9881 §2: the AlgorithmIdentifier parameters are absent.
	der, err := asn1.Marshal(pkcs8{Algo: pkix.AlgorithmIdentifier{Algorithm: mldsaOID(alg)}, PrivateKey: inner})
	return der, true, err
}

// parseMLDSAPKCS8 reads the privateKey of an ML-DSA PKCS #8 document (any
// of the three RFC 9881 §6 forms). isMLDSA reports whether the algorithm
// is ML-DSA at all.
func parseMLDSAPKCS8(p *pkcs8) (key any, isMLDSA bool, err error) {
	var alg keyring.Algorithm
	switch {
	case p.Algo.Algorithm.Equal(oidMLDSA44):
		alg = keyring.MLDSA44
	case p.Algo.Algorithm.Equal(oidMLDSA65):
		alg = keyring.MLDSA65
	case p.Algo.Algorithm.Equal(oidMLDSA87):
		alg = keyring.MLDSA87
	default:
		return nil, false, nil
	}
	bad := func(why string) (any, bool, error) {
		return nil, true, fmt.Errorf("signer: malformed %s private key: %s", alg, why)
	}
	if len(p.Algo.Parameters.FullBytes) != 0 {
		return bad("algorithm parameters must be absent (RFC 9881 §2)")
	}
	var v asn1.RawValue
	rest, err := asn1.Unmarshal(p.PrivateKey, &v)
	if err != nil || len(rest) != 0 {
		return bad("not one DER value")
	}
	switch {
	case v.Class == asn1.ClassContextSpecific && v.Tag == 0 && !v.IsCompound:
		// seed [0] IMPLICIT OCTET STRING (SIZE (32))
		if len(v.Bytes) != mldsaSeedSize {
			return bad("seed is not 32 bytes")
		}
		k, err := NewMLDSAKeyFromSeed(alg, v.Bytes)
		return k, true, err
	case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString:
		k, err := mldsaFromExpanded(alg, v.Bytes)
		if err != nil {
			return bad(err.Error())
		}
		return k, true, nil
	case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSequence:
		var both struct {
			Seed        []byte
			ExpandedKey []byte
		}
		if rest, err := asn1.Unmarshal(p.PrivateKey, &both); err != nil || len(rest) != 0 || len(both.Seed) != mldsaSeedSize {
			return bad("invalid seed and expandedKey pair")
		}
		k, err := NewMLDSAKeyFromSeed(alg, both.Seed)
		if err != nil {
			return nil, true, err
		}
		// The two halves must be the same key (RFC 9964 §7.4 warns of
		// mismatched key parts): the seed decides, the copy must agree.
		if !bytes.Equal(k.(mldsaKey).Bytes(), both.ExpandedKey) {
			return bad("expandedKey is not the key the seed derives")
		}
		return k, true, nil
	}
	return bad("unknown ML-DSA-PrivateKey form")
}

func mldsaFromExpanded(alg keyring.Algorithm, b []byte) (any, error) {
	var k interface{ UnmarshalBinary([]byte) error }
	switch alg {
	case keyring.MLDSA44:
		k = new(mldsa44.PrivateKey)
	case keyring.MLDSA65:
		k = new(mldsa65.PrivateKey)
	default:
		k = new(mldsa87.PrivateKey)
	}
	if err := k.UnmarshalBinary(b); err != nil {
		return nil, errors.New("expandedKey has the wrong length")
	}
	return k, nil
}
