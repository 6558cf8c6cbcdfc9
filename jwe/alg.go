package jwe

// KeyAlgorithm is a JWE "alg" value: the key management algorithm that
// determines the Content Encryption Key (RFC 7516 §4.1.1, RFC 7518 §4.1).
// Only the values below can be looked up. RSA1_5 and the PBES2 family are
// recognised only so that they can be rejected with a precise reason.
type KeyAlgorithm string

// The supported key management algorithms.
const (
	Direct       KeyAlgorithm = "dir"            // RFC 7518 §4.5
	A128KW       KeyAlgorithm = "A128KW"         // RFC 7518 §4.4, RFC 3394
	A256KW       KeyAlgorithm = "A256KW"         // RFC 7518 §4.4, RFC 3394
	ECDHES       KeyAlgorithm = "ECDH-ES"        // RFC 7518 §4.6 (direct key agreement)
	ECDHESA128KW KeyAlgorithm = "ECDH-ES+A128KW" // RFC 7518 §4.6 (agreement + key wrap)
	ECDHESA256KW KeyAlgorithm = "ECDH-ES+A256KW" // RFC 7518 §4.6 (agreement + key wrap)
	RSAOAEP256   KeyAlgorithm = "RSA-OAEP-256"   // RFC 7518 §4.3, SHA-256 and MGF1-SHA-256
)

// KeyAlgorithms lists every supported key management algorithm.
var KeyAlgorithms = []KeyAlgorithm{Direct, A128KW, A256KW, ECDHES, ECDHESA128KW, ECDHESA256KW, RSAOAEP256}

// ContentEncryption is a JWE "enc" value (RFC 7516 §4.1.2, RFC 7518 §5.1).
type ContentEncryption string

// The supported content encryption algorithms.
const (
	A128GCM      ContentEncryption = "A128GCM"       // RFC 7518 §5.3
	A256GCM      ContentEncryption = "A256GCM"       // RFC 7518 §5.3
	A128CBCHS256 ContentEncryption = "A128CBC-HS256" // RFC 7518 §5.2.3
	A256CBCHS512 ContentEncryption = "A256CBC-HS512" // RFC 7518 §5.2.5
)

// ContentEncryptions lists every supported content encryption algorithm.
var ContentEncryptions = []ContentEncryption{A128GCM, A256GCM, A128CBCHS256, A256CBCHS512}

// lookupAlg maps header bytes to a supported KeyAlgorithm without
// allocating. The comparison is exact: RFC 7516 §4.1.1 "alg" values are
// case-sensitive.
func lookupAlg(b []byte) (KeyAlgorithm, bool) {
	switch string(b) {
	case "dir":
		return Direct, true
	case "A128KW":
		return A128KW, true
	case "A256KW":
		return A256KW, true
	case "ECDH-ES":
		return ECDHES, true
	case "ECDH-ES+A128KW":
		return ECDHESA128KW, true
	case "ECDH-ES+A256KW":
		return ECDHESA256KW, true
	case "RSA-OAEP-256":
		return RSAOAEP256, true
	}
	return "", false
}

// lookupEnc maps header bytes to a supported ContentEncryption without
// allocating (RFC 7516 §4.1.2: case-sensitive).
func lookupEnc(b []byte) (ContentEncryption, bool) {
	switch string(b) {
	case "A128GCM":
		return A128GCM, true
	case "A256GCM":
		return A256GCM, true
	case "A128CBC-HS256":
		return A128CBCHS256, true
	case "A256CBC-HS512":
		return A256CBCHS512, true
	}
	return "", false
}

// ParseKeyAlgorithm returns the supported KeyAlgorithm named s.
func ParseKeyAlgorithm(s string) (KeyAlgorithm, bool) { return lookupAlg([]byte(s)) }

// ParseContentEncryption returns the supported ContentEncryption named s.
func ParseContentEncryption(s string) (ContentEncryption, bool) { return lookupEnc([]byte(s)) }

func (a KeyAlgorithm) String() string      { return string(a) }
func (e ContentEncryption) String() string { return string(e) }

// isECDH reports whether a is one of the ECDH-ES family.
func (a KeyAlgorithm) isECDH() bool {
	return a == ECDHES || a == ECDHESA128KW || a == ECDHESA256KW
}

// kwKeyLen is the AES key-wrap KEK length in bytes for the *KW algorithms
// (RFC 7518 §4.4 and §4.6.2 keydatalen), 0 for the others.
func (a KeyAlgorithm) kwKeyLen() int {
	switch a {
	case A128KW, ECDHESA128KW:
		return 16
	case A256KW, ECDHESA256KW:
		return 32
	}
	return 0
}

// keyLen is the CEK length in bytes (RFC 7518 §5.2.3, §5.2.5, §5.3): for
// AES_CBC_HMAC_SHA2 it is MAC_KEY || ENC_KEY.
func (e ContentEncryption) keyLen() int {
	switch e {
	case A128GCM:
		return 16
	case A256GCM, A128CBCHS256:
		return 32
	case A256CBCHS512:
		return 64
	}
	return 0
}

// ivLen is the only accepted IV length: 96 bits for GCM (RFC 7518 §5.3),
// 128 bits for CBC (RFC 7518 §5.2.2.1).
func (e ContentEncryption) ivLen() int {
	if e.isGCM() {
		return 12
	}
	return 16
}

// tagLen is the only accepted authentication tag length: 128 bits for GCM
// (RFC 7518 §5.3), T_LEN for CBC-HMAC (RFC 7518 §5.2.3, §5.2.5).
func (e ContentEncryption) tagLen() int {
	if e == A256CBCHS512 {
		return 32
	}
	return 16
}

func (e ContentEncryption) isGCM() bool { return e == A128GCM || e == A256GCM }
