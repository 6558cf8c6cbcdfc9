package keyring

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// ML-DSA (FIPS 204) for JWS, as RFC 9964 ("ML-DSA for JOSE and COSE")
// specifies it:
//
//   - §3: keys are JWKs of kty "AKP" (Algorithm Key Pair) with a REQUIRED
//     "alg" naming the parameter set and the public key in "pub"
//     (base64url); "priv" is private information and MUST NOT be present in
//     a public key, so a verification keyring refuses it like "d".
//   - §5: "pub" is the FIPS 204 pkEncode output, 1312, 1952 or 2592 bytes
//     for ML-DSA-44, -65 and -87; signatures are FIPS 204 sigEncode output,
//     2420, 3309 or 4627 bytes; signing is ML-DSA.Sign (FIPS 204
//     Algorithm 2, pure ML-DSA, not HashML-DSA, §7.2) with an empty context
//     string, so verification is ML-DSA.Verify (Algorithm 3) with ctx = "".
//   - §6: the RFC 7638 thumbprint members are "alg", "kty", "pub", in that
//     (lexicographic) order.
//
// PEM keys use the X.509 forms of RFC 9881: a SubjectPublicKeyInfo whose
// algorithm is id-ml-dsa-44/65/87 (2.16.840.1.101.3.4.3.17/.18/.19) with
// absent parameters (§2) and the raw public key in the BIT STRING (§4).

// mldsaParams is one ML-DSA parameter set (FIPS 204 Table 1, sizes from
// Table 2, repeated in RFC 9964 §5 Table 1).
type mldsaParams struct {
	alg     Algorithm
	oid     asn1.ObjectIdentifier
	pubSize int
	sigSize int
}

var mldsaSets = [...]mldsaParams{
	{MLDSA44, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 17}, mldsa44.PublicKeySize, mldsa44.SignatureSize},
	{MLDSA65, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}, mldsa65.PublicKeySize, mldsa65.SignatureSize},
	{MLDSA87, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 19}, mldsa87.PublicKeySize, mldsa87.SignatureSize},
}

func mldsaParamsFor(a Algorithm) (mldsaParams, bool) {
	for _, p := range mldsaSets {
		if p.alg == a {
			return p, true
		}
	}
	return mldsaParams{}, false
}

// initMLDSAMaterial is NewKey for the circl ML-DSA types. handled is false
// when material is none of them.
func (k *Key) initMLDSAMaterial(material any) (handled bool, err error) {
	switch m := material.(type) {
	case *mldsa44.PublicKey:
		if m == nil {
			return true, errors.New("nil ML-DSA-44 public key")
		}
		return true, k.initMLDSA(MLDSA44, m.Bytes())
	case *mldsa65.PublicKey:
		if m == nil {
			return true, errors.New("nil ML-DSA-65 public key")
		}
		return true, k.initMLDSA(MLDSA65, m.Bytes())
	case *mldsa87.PublicKey:
		if m == nil {
			return true, errors.New("nil ML-DSA-87 public key")
		}
		return true, k.initMLDSA(MLDSA87, m.Bytes())
	case *mldsa44.PrivateKey, *mldsa65.PrivateKey, *mldsa87.PrivateKey:
		return true, errors.New("private key given where a public key is needed")
	}
	return false, nil
}

// initMLDSA binds the encoded public key raw of parameter set set.
func (k *Key) initMLDSA(set Algorithm, raw []byte) error {
	p, _ := mldsaParamsFor(set)
	if k.alg == "" {
		k.alg = set
	}
	// RFC 9964 §3 and §5: an AKP key's "alg" names its one parameter set;
	// an ML-DSA-44 key must not verify an ML-DSA-65 signature or anything
	// else.
	if k.alg != set {
		return fmt.Errorf("alg %s cannot be used with an %s key", k.alg, set)
	}
	if len(raw) != p.pubSize {
		return fmt.Errorf("%s public key is %d bytes, must be %d", set, len(raw), p.pubSize)
	}
	// Every byte string of the right length is a valid pkEncode output
	// (FIPS 204 Algorithm 22/23: rho and 10-bit t1 coefficients), so the
	// only check left is the degenerate key: with t1 = 0 the verification
	// equation no longer involves the challenge and anyone can forge
	// (Wycheproof "ZeroPublicKey"). RFC 9964 §7.3 asks that key
	// parameters be validated; refuse it at load time.
	if allZero(raw[32:]) {
		return fmt.Errorf("%s public key has t1 = 0: anyone could forge signatures for it", set)
	}
	raw = bytes.Clone(raw)
	k.thumbprint = thumbprint("alg", string(set), "kty", "AKP", "pub", b64.EncodeToString(raw))
	k.bits = 8 * len(raw)
	// Each verify closure checks the signature length first (RFC 9964 §5,
	// FIPS 204 Table 2) and runs pure ML-DSA.Verify with the empty context
	// that RFC 9964 §5 requires (nil and empty are the same to circl).
	switch set {
	case MLDSA44:
		pk := new(mldsa44.PublicKey)
		if err := pk.UnmarshalBinary(raw); err != nil {
			return err
		}
		k.public = pk
		k.verify = func(in, sig []byte) bool {
			return len(sig) == mldsa44.SignatureSize && mldsa44.Verify(pk, in, nil, sig)
		}
	case MLDSA65:
		pk := new(mldsa65.PublicKey)
		if err := pk.UnmarshalBinary(raw); err != nil {
			return err
		}
		k.public = pk
		k.verify = func(in, sig []byte) bool {
			return len(sig) == mldsa65.SignatureSize && mldsa65.Verify(pk, in, nil, sig)
		}
	case MLDSA87:
		pk := new(mldsa87.PublicKey)
		if err := pk.UnmarshalBinary(raw); err != nil {
			return err
		}
		k.public = pk
		k.verify = func(in, sig []byte) bool {
			return len(sig) == mldsa87.SignatureSize && mldsa87.Verify(pk, in, nil, sig)
		}
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// mldsaPublicKey decodes the encoded public key of parameter set p into
// the circl type NewKey takes. The caller has checked the length.
func mldsaPublicKey(p mldsaParams, raw []byte) (any, error) {
	var pk interface{ UnmarshalBinary([]byte) error }
	switch p.alg {
	case MLDSA44:
		pk = new(mldsa44.PublicKey)
	case MLDSA65:
		pk = new(mldsa65.PublicKey)
	default:
		pk = new(mldsa87.PublicKey)
	}
	if err := pk.UnmarshalBinary(raw); err != nil {
		return nil, err
	}
	return pk, nil
}

// mldsaPublicBytes returns the encoded public key of a circl ML-DSA public
// key, or nil.
func mldsaPublicBytes(pub any) []byte {
	switch p := pub.(type) {
	case *mldsa44.PublicKey:
		return p.Bytes()
	case *mldsa65.PublicKey:
		return p.Bytes()
	case *mldsa87.PublicKey:
		return p.Bytes()
	}
	return nil
}

// jwkAKP reads the "pub" of an AKP JWK (RFC 9964 §3) whose alg is already
// resolved. Only the ML-DSA algorithms are defined for AKP here; "pub" must
// have the length of alg's parameter set (RFC 9964 §5).
func jwkAKP(v jsonx.Value, alg Algorithm) (any, error) {
	p, ok := mldsaParamsFor(alg)
	if !ok {
		return nil, errf(ErrInvalidKey, "alg %s cannot be used with kty AKP (ML-DSA-44, ML-DSA-65, ML-DSA-87)", alg)
	}
	pub, err := b64Member(v, "pub")
	if err != nil {
		return nil, err
	}
	if len(pub) != p.pubSize {
		for _, q := range mldsaSets {
			if len(pub) == q.pubSize {
				// The sizes differ per parameter set, so the key says which
				// set it is for: it contradicts its "alg".
				return nil, errf(ErrInvalidKey, "\"pub\" is %d bytes, an %s public key, but alg is %s", len(pub), q.alg, alg)
			}
		}
		return nil, errf(ErrMalformed, "%s \"pub\" must be %d bytes, got %d", alg, p.pubSize, len(pub))
	}
	pk, err := mldsaPublicKey(p, pub)
	if err != nil {
		return nil, &detail{kind: ErrMalformed, msg: "invalid " + string(alg) + " public key", err: err}
	}
	return pk, nil
}

// parseMLDSASPKI parses an ML-DSA SubjectPublicKeyInfo (RFC 9881 §2, §4),
// which crypto/x509 does not know. isMLDSA reports whether der names an
// ML-DSA algorithm at all; err is set when it does but is malformed.
func parseMLDSASPKI(der []byte) (pub any, isMLDSA bool, err error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil {
		return nil, false, nil
	}
	var p mldsaParams
	for _, q := range mldsaSets {
		if spki.Algorithm.Algorithm.Equal(q.oid) {
			p, isMLDSA = q, true
		}
	}
	if !isMLDSA {
		return nil, false, nil
	}
	if len(rest) != 0 {
		return nil, true, errors.New("trailing data after SubjectPublicKeyInfo")
	}
	// RFC 9881 §2: "The contents of the parameters component for each
	// algorithm MUST be absent."
	if len(spki.Algorithm.Parameters.FullBytes) != 0 {
		return nil, true, fmt.Errorf("%s algorithm parameters must be absent", p.alg)
	}
	if spki.PublicKey.BitLength != 8*p.pubSize {
		return nil, true, fmt.Errorf("%s public key is %d bits, must be %d", p.alg, spki.PublicKey.BitLength, 8*p.pubSize)
	}
	pk, err := mldsaPublicKey(p, spki.PublicKey.Bytes)
	if err != nil {
		return nil, true, err
	}
	return pk, true, nil
}
