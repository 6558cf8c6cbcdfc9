package keyring

import (
	"crypto"
	"fmt"
)

// Algorithm is a JWS "alg" value (RFC 7518 §3.1, RFC 8037 §3.1, RFC 9864
// §2.2, RFC 9964 §5). Only the algorithms below exist in tokengate; "none" is
// deliberately absent, so no spelling of it can ever be looked up.
type Algorithm string

// The supported JWS algorithms.
const (
	HS256 Algorithm = "HS256"
	HS384 Algorithm = "HS384"
	HS512 Algorithm = "HS512"
	RS256 Algorithm = "RS256"
	RS384 Algorithm = "RS384"
	RS512 Algorithm = "RS512"
	PS256 Algorithm = "PS256"
	PS384 Algorithm = "PS384"
	PS512 Algorithm = "PS512"
	ES256 Algorithm = "ES256"
	ES384 Algorithm = "ES384"
	ES512 Algorithm = "ES512"
	// EdDSA is the polymorphic RFC 8037 name: the key's curve (Ed25519 or
	// Ed448) decides. RFC 9864 deprecates it in favour of Ed25519 and Ed448;
	// it stays supported, and a key bound to EdDSA verifies only "EdDSA".
	EdDSA Algorithm = "EdDSA"
	// Ed25519 and Ed448 are the fully specified EdDSA algorithms of RFC 9864
	// §2.2: pure EdDSA on that one curve (RFC 8032 §5.1 and §5.2, the latter
	// with an empty context).
	Ed25519 Algorithm = "Ed25519"
	Ed448   Algorithm = "Ed448"
	// MLDSA44, MLDSA65 and MLDSA87 are ML-DSA (FIPS 204) with the parameter
	// sets of FIPS 204 Table 1, pure mode and an empty context string, as
	// RFC 9964 §5 registers them for JWS.
	MLDSA44 Algorithm = "ML-DSA-44"
	MLDSA65 Algorithm = "ML-DSA-65"
	MLDSA87 Algorithm = "ML-DSA-87"
)

// Algorithms lists every supported algorithm, in a stable order.
var Algorithms = []Algorithm{
	HS256, HS384, HS512,
	RS256, RS384, RS512,
	PS256, PS384, PS512,
	ES256, ES384, ES512,
	EdDSA, Ed25519, Ed448,
	MLDSA44, MLDSA65, MLDSA87,
}

// Family groups algorithms that share a key type.
type Family uint8

// The algorithm families.
const (
	FamilyUnknown Family = iota
	FamilyHMAC
	FamilyRSA    // RSASSA-PKCS1-v1_5
	FamilyRSAPSS // RSASSA-PSS
	FamilyECDSA
	FamilyEdDSA // EdDSA, Ed25519, Ed448: OKP keys (RFC 8037, RFC 9864)
	FamilyMLDSA // ML-DSA-44/65/87: AKP keys (RFC 9964)
)

// LookupAlgorithm maps the bytes of a header's "alg" to an Algorithm. The
// comparison is exact and case-sensitive (RFC 7515 §4.1.1: "alg" values are
// case-sensitive), so "none", "None", "hs256" and every other unknown
// spelling report false. It does not allocate.
func LookupAlgorithm(b []byte) (Algorithm, bool) {
	switch string(b) {
	case "HS256":
		return HS256, true
	case "HS384":
		return HS384, true
	case "HS512":
		return HS512, true
	case "RS256":
		return RS256, true
	case "RS384":
		return RS384, true
	case "RS512":
		return RS512, true
	case "PS256":
		return PS256, true
	case "PS384":
		return PS384, true
	case "PS512":
		return PS512, true
	case "ES256":
		return ES256, true
	case "ES384":
		return ES384, true
	case "ES512":
		return ES512, true
	case "EdDSA":
		return EdDSA, true
	case "Ed25519":
		return Ed25519, true
	case "Ed448":
		return Ed448, true
	case "ML-DSA-44":
		return MLDSA44, true
	case "ML-DSA-65":
		return MLDSA65, true
	case "ML-DSA-87":
		return MLDSA87, true
	}
	return "", false
}

// ParseAlgorithm is LookupAlgorithm for configuration strings, with an error
// that names the value.
func ParseAlgorithm(s string) (Algorithm, error) {
	if a, ok := LookupAlgorithm([]byte(s)); ok {
		return a, nil
	}
	return "", fmt.Errorf("keyring: unsupported algorithm %q", s)
}

// Family reports the key family of a.
func (a Algorithm) Family() Family {
	switch a {
	case HS256, HS384, HS512:
		return FamilyHMAC
	case RS256, RS384, RS512:
		return FamilyRSA
	case PS256, PS384, PS512:
		return FamilyRSAPSS
	case ES256, ES384, ES512:
		return FamilyECDSA
	case EdDSA, Ed25519, Ed448:
		return FamilyEdDSA
	case MLDSA44, MLDSA65, MLDSA87:
		return FamilyMLDSA
	}
	return FamilyUnknown
}

// Hash is the digest a uses (RFC 7518 §3.2-§3.5); 0 for EdDSA and ML-DSA,
// which hash the whole message internally.
func (a Algorithm) Hash() crypto.Hash {
	switch a {
	case HS256, RS256, PS256, ES256:
		return crypto.SHA256
	case HS384, RS384, PS384, ES384:
		return crypto.SHA384
	case HS512, RS512, PS512, ES512:
		return crypto.SHA512
	}
	return 0
}

func (a Algorithm) String() string { return string(a) }
