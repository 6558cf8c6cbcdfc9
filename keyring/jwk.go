package keyring

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"

	"github.com/cloudflare/circl/sign/ed448"
	"github.com/tokengate/tokengate/internal/jsonx"
)

// Member names of private key parts (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2;
// RFC 9964 §3: the AKP "priv", which "MUST NOT be present in public keys").
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "priv"}

// Registered JWE "alg" (RFC 7518 §4.1, RFC 8037 §3.2) and "enc" (RFC 7518
// §5.1) values. A key with one of them is an encryption key: skipped in a
// set, not an error in it.
var encryptionAlgs = map[string]bool{
	"RSA1_5": true, "RSA-OAEP": true, "RSA-OAEP-256": true, "RSA-OAEP-384": true, "RSA-OAEP-512": true,
	"A128KW": true, "A192KW": true, "A256KW": true, "dir": true,
	"ECDH-ES": true, "ECDH-ES+A128KW": true, "ECDH-ES+A192KW": true, "ECDH-ES+A256KW": true,
	"A128GCMKW": true, "A192GCMKW": true, "A256GCMKW": true,
	"PBES2-HS256+A128KW": true, "PBES2-HS384+A192KW": true, "PBES2-HS512+A256KW": true,
	"A128CBC-HS256": true, "A192CBC-HS384": true, "A256CBC-HS512": true,
	"A128GCM": true, "A192GCM": true, "A256GCM": true,
}

// parseJWKValue turns one JWK object into a Key. It returns the kid it read
// (for error messages) even on failure; a *skipError means "not for
// verification".
func parseJWKValue(v jsonx.Value, o Options) (*Key, string, error) {
	kid, kty, crv, err := jwkHeader(v, o)
	if err != nil {
		return nil, kid, err
	}
	label := kid
	alg, err := jwkAlg(v, kty, crv, o)
	if err != nil {
		return nil, label, err
	}
	if o.ID != "" && kid != "" && o.ID != kid {
		return nil, label, errf(ErrAlgMismatch, "kid %q differs from the configured id %q", kid, o.ID)
	}
	if kid == "" {
		kid = o.ID
	}
	material, err := jwkMaterial(v, kty, crv, alg)
	if err != nil {
		return nil, label, err
	}
	ko := o
	ko.ID, ko.Alg = kid, alg
	k, err := newKey(material, ko)
	if err != nil {
		return nil, label, err
	}
	return k, k.ID(), nil
}

// jwkHeader checks the members that say what a JWK is for: their types,
// kid, kty, private members, use and key_ops, and the key types and curves
// that are not for signatures (a *skipError).
func jwkHeader(v jsonx.Value, o Options) (kid, kty, crv string, err error) {
	if v.Kind() != jsonx.Object {
		return "", "", "", errf(ErrMalformed, "JWK is not a JSON object")
	}
	// Members tokengate reads must have the type RFC 7517 §4 gives them;
	// other members are ignored (RFC 7517 §4: "MUST be ignored").
	for m := v.First(); m.Exists(); m = m.Next() {
		name := string(m.Name())
		switch name {
		case "key_ops", "x5c", "oth":
			if m.Kind() != jsonx.Array {
				return "", "", "", errf(ErrMalformed, "%q is not an array", name)
			}
		case "kty", "use", "alg", "kid", "crv", "n", "e", "x", "y", "k", "pub", "x5t", "x5t#S256", "d", "p", "q", "dp", "dq", "qi", "priv":
			if m.Kind() != jsonx.String {
				return "", "", "", errf(ErrMalformed, "%q is not a string", name)
			}
		}
	}
	kid = string(v.Get("kid").Str())
	if v.Get("kid").Exists() && kid == "" {
		return "", "", "", errf(ErrMalformed, `"kid" is empty`)
	}
	kty = string(v.Get("kty").Str())
	if kty == "" {
		return kid, "", "", errf(ErrMalformed, `"kty" is missing`)
	}
	asymmetric := kty == "RSA" || kty == "EC" || kty == "OKP" || kty == "AKP"
	if asymmetric {
		for _, name := range privateMembers {
			if v.Get(name).Exists() {
				// A verification keyring holds public keys only: a
				// private key here means the wrong file was configured
				// (or a private key is about to be published).
				return kid, "", "", errf(ErrPrivateKey, "JWK has the private member %q", name)
			}
		}
	}
	if err := jwkUse(v); err != nil {
		return kid, "", "", err
	}
	crv = string(v.Get("crv").Str())
	switch {
	case !asymmetric && kty != "oct":
		return kid, "", "", &skipError{reason: fmt.Sprintf("kty %q is not a signature key type tokengate verifies with", clip([]byte(kty)))}
	case kty == "OKP" && (crv == "X25519" || crv == "X448"):
		// RFC 8037 §3.2: X25519 and X448 are for ECDH-ES only.
		return kid, "", "", &skipError{reason: fmt.Sprintf("crv %s is a key-agreement curve", crv)}
	case kty == "EC" && crv == "secp256k1":
		return kid, "", "", &skipError{reason: "crv secp256k1 (ES256K) is not supported"}
	case kty == "oct" && o.published:
		// A JWK Set published at a URL is public: an HMAC secret in it is
		// known to everyone and must never verify anything.
		return kid, "", "", errf(ErrPrivateKey, "an oct (HMAC secret) key in a published JWK Set is never used")
	case kty == "AKP" && !v.Get("alg").Exists():
		// RFC 9964 §3: "The alg JSON Web Key Parameter ... is REQUIRED for
		// all AKP keys": the JWK itself must say which algorithm its bytes
		// are for.
		return kid, "", "", errf(ErrMalformed, `"alg" is missing: it is required for kty AKP`)
	}
	return kid, kty, crv, nil
}

// jwkUse checks "use" and "key_ops": a key not for verifying signatures
// is a *skipError.
func jwkUse(v jsonx.Value) error {
	// RFC 7517 §4.2: "sig" is the only use for a signature key.
	if use := v.Get("use"); use.Exists() && string(use.Str()) != "sig" {
		return &skipError{reason: fmt.Sprintf("use is %q, not \"sig\"", clip(use.Str()))}
	}
	// RFC 7517 §4.3: key_ops lists the permitted operations, without
	// duplicates; a verification key must permit "verify".
	ops := v.Get("key_ops")
	if !ops.Exists() {
		return nil
	}
	verify := false
	seen := map[string]bool{}
	for op := ops.First(); op.Exists(); op = op.Next() {
		if op.Kind() != jsonx.String {
			return errf(ErrMalformed, `"key_ops" holds a non-string`)
		}
		s := string(op.Str())
		if seen[s] {
			return errf(ErrMalformed, `"key_ops" lists %q twice`, clip(op.Str()))
		}
		seen[s] = true
		verify = verify || s == "verify"
	}
	if !verify {
		return &skipError{reason: `"key_ops" does not permit "verify"`}
	}
	return nil
}

// jwkMaterial decodes the key material of a JWK of type kty and checks an
// "x5c" against it.
func jwkMaterial(v jsonx.Value, kty, crv string, alg Algorithm) (any, error) {
	var (
		material any
		err      error
	)
	switch kty {
	case "RSA":
		material, err = jwkRSA(v)
	case "EC":
		material, err = jwkEC(v, crv)
	case "OKP":
		material, err = jwkOKP(v, crv)
	case "AKP":
		material, err = jwkAKP(v, alg)
	case "oct":
		if v.Get("x5c").Exists() {
			return nil, errf(ErrMalformed, `an oct key cannot carry "x5c"`)
		}
		return b64Member(v, "k")
	}
	if err != nil {
		return nil, err
	}
	if err := checkX5C(v, material); err != nil {
		return nil, err
	}
	return material, nil
}

// jwkAlg resolves the key's alg from the JWK "alg" and the configured one.
// For a file the configured alg is the key's, and a JWK "alg" must agree
// with it. For a provider's published set it only binds keys without an
// "alg" that can use it (issuers[].alg names the RSA algorithm of a
// provider that omits "alg"); a key that says its alg keeps it and the
// allow-list judges it, and an EC or OKP key takes its alg from its curve.
// "" leaves the choice to the key type (newKey).
func jwkAlg(v jsonx.Value, kty, crv string, o Options) (Algorithm, error) {
	av := v.Get("alg")
	if !av.Exists() {
		if o.published && o.Alg != "" && !algFits(kty, crv, o.Alg) {
			return "", nil
		}
		return o.Alg, nil
	}
	raw := av.Str()
	alg, ok := LookupAlgorithm(raw)
	if !ok {
		if encryptionAlgs[string(raw)] {
			return "", &skipError{reason: fmt.Sprintf("alg %s is an encryption algorithm", raw)}
		}
		// Unknown or unsupported: "none", "ES521", "ES224", "HS1"... The
		// key decides the alg, so a key with an alg we cannot honour must
		// not be loaded under another one.
		return "", errf(ErrUnsupportedAlg, "alg %q is not supported", clip(raw))
	}
	if o.Alg != "" && o.Alg != alg && !o.published {
		return "", errf(ErrAlgMismatch, "JWK alg %s differs from the configured alg %s", alg, o.Alg)
	}
	return alg, nil
}

// algFits reports whether a key of type kty on curve crv can verify a.
func algFits(kty, crv string, a Algorithm) bool {
	switch kty {
	case "RSA":
		return a.Family() == FamilyRSA || a.Family() == FamilyRSAPSS
	case "EC":
		curve, _, ok := ecCurve(crv)
		if !ok {
			return false
		}
		want, _, _ := curveAlg(curve)
		return a == want
	case "OKP":
		return a == EdDSA || Algorithm(crv) == a
	case "oct":
		return a.Family() == FamilyHMAC
	}
	return false
}

var strictB64URL = base64.RawURLEncoding.Strict()

// b64Member decodes a required base64url member. RFC 7518 §6 and RFC 7515
// §2: base64url without padding; Strict also refuses non-zero trailing
// bits, so each key has exactly one encoding. encoding/base64 skips CR and
// LF, which are not base64url characters: refuse them explicitly.
func b64Member(v jsonx.Value, name string) ([]byte, error) {
	m := v.Get(name)
	if !m.Exists() {
		return nil, errf(ErrMalformed, "%q is missing", name)
	}
	s := m.Str()
	if bytes.ContainsAny(s, "\r\n") {
		return nil, errf(ErrMalformed, "%q is not base64url: contains a line break", name)
	}
	out := make([]byte, strictB64URL.DecodedLen(len(s)))
	n, err := strictB64URL.Decode(out, s)
	if err != nil {
		return nil, errf(ErrMalformed, "%q is not unpadded base64url", name)
	}
	return out[:n], nil
}

func jwkRSA(v jsonx.Value) (*rsa.PublicKey, error) {
	n, err := b64Member(v, "n")
	if err != nil {
		return nil, err
	}
	e, err := b64Member(v, "e")
	if err != nil {
		return nil, err
	}
	// RFC 7518 §6.3.1.1/§6.3.1.2: both are unsigned big-endian integers
	// in the minimum number of octets.
	if len(n) == 0 || n[0] == 0 {
		return nil, errf(ErrMalformed, `"n" is empty or has a leading zero octet`)
	}
	if len(e) == 0 || e[0] == 0 {
		return nil, errf(ErrMalformed, `"e" is empty or has a leading zero octet`)
	}
	if len(n) > MaxRSABits/8 {
		return nil, errf(ErrInvalidKey, "RSA modulus is %d bytes, at most %d bits are accepted", len(n), MaxRSABits)
	}
	if len(e) > 4 {
		return nil, errf(ErrInvalidKey, "RSA public exponent is %d bytes, at most 4 are accepted", len(e))
	}
	var ev int64
	for _, b := range e {
		ev = ev<<8 | int64(b)
	}
	if ev > 1<<31-1 {
		return nil, errf(ErrInvalidKey, "RSA public exponent is too large")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ev)}, nil
}

// ecCurve maps a JWK "crv" (RFC 7518 §6.2.1.1) to the curve and the octet
// length of its coordinates.
func ecCurve(crv string) (elliptic.Curve, int, bool) {
	switch crv {
	case "P-256":
		return elliptic.P256(), 32, true
	case "P-384":
		return elliptic.P384(), 48, true
	case "P-521":
		return elliptic.P521(), 66, true
	}
	return nil, 0, false
}

func jwkEC(v jsonx.Value, crv string) (*ecdsa.PublicKey, error) {
	curve, size, ok := ecCurve(crv)
	if !ok {
		if crv == "" {
			return nil, errf(ErrMalformed, `"crv" is missing`)
		}
		return nil, errf(ErrInvalidKey, "EC curve %q is not supported (P-256, P-384, P-521)", clip([]byte(crv)))
	}
	x, err := b64Member(v, "x")
	if err != nil {
		return nil, err
	}
	y, err := b64Member(v, "y")
	if err != nil {
		return nil, err
	}
	// RFC 7518 §6.2.1.2/§6.2.1.3: "The length of this octet string MUST
	// be the full size of a coordinate for the curve".
	if len(x) != size || len(y) != size {
		return nil, errf(ErrMalformed, "%s coordinates must be %d bytes each, got x %d and y %d", crv, size, len(x), len(y))
	}
	raw := make([]byte, 0, 1+2*size)
	raw = append(append(append(raw, 4), x...), y...)
	// Validate the point here too (NewKey does again): reject invalid-curve
	// points (not on the curve, or infinity) before anything else.
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
	if err != nil {
		return nil, errf(ErrInvalidKey, "EC point is not on curve %s", crv)
	}
	return pub, nil
}

func jwkOKP(v jsonx.Value, crv string) (any, error) {
	var size int
	switch crv {
	case "Ed25519":
		size = ed25519.PublicKeySize
	case "Ed448":
		size = ed448.PublicKeySize
	case "":
		return nil, errf(ErrMalformed, `"crv" is missing`)
	default:
		return nil, errf(ErrInvalidKey, "OKP curve %q is not supported (Ed25519, Ed448)", clip([]byte(crv)))
	}
	x, err := b64Member(v, "x")
	if err != nil {
		return nil, err
	}
	// RFC 8037 §2: "x" is the public key in the RFC 8032 encoding, of a
	// fixed length for each curve.
	if len(x) != size {
		return nil, errf(ErrMalformed, "%s \"x\" must be %d bytes, got %d", crv, size, len(x))
	}
	if crv == "Ed25519" {
		return ed25519.PublicKey(x), nil
	}
	return ed448.PublicKey(x), nil
}
