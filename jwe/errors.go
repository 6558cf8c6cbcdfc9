package jwe

import "github.com/tokengate/tokengate/internal/errclass"

// ns is the namespace that keeps jwe errors a type of their own.
type ns struct{}

// Error is a decryption failure. Every Error is a package-level value: the
// request path never builds an error per call, because an attacker decides
// how often the failure path runs. An Error is either a class (ErrMalformed,
// ErrDecrypt, ...) or a detailed reason that belongs to a class; errors.Is
// matches both:
//
//	if errors.Is(err, jwe.ErrUnsupported) { ... }
//
// Its methods: Reason is short and safe to show a client (it never
// contains token bytes, plaintext or key material); Code is the RFC 6750
// §3.1 error code, always "invalid_token"; Label is a stable,
// low-cardinality metric name (the detail's own, or its class's); Class is
// the class it belongs to (itself for a class).
type Error = errclass.Error[ns]

var reg = errclass.NewRegistry[ns]("jwe")

func class(label, reason string) *Error {
	return reg.Class(label, reason, errclass.CodeInvalidToken)
}

func detail(c *Error, label, reason string) *Error { return reg.Detail(c, label, reason) }

// The failure classes.
var (
	// ErrMalformed: the token is not a well-formed compact JWE.
	ErrMalformed = class("jwe_malformed", "malformed encrypted token")
	// ErrTooLarge: a size limit was exceeded; nothing was decrypted.
	ErrTooLarge = class("jwe_too_large", "encrypted token too large")
	// ErrUnsupported: an algorithm or header feature that is refused.
	ErrUnsupported = class("jwe_unsupported", "unsupported encryption algorithm or header parameter")
	// ErrKeyNotFound: no key in the key set can decrypt this token.
	ErrKeyNotFound = class("jwe_unknown_key", "no decryption key for this token")
	// ErrDecrypt is the one error for every way the cryptography can fail
	// (key unwrap, RSA-OAEP, authentication tag, padding); which way is not
	// told to anyone, so no padding or unwrap oracle exists (RFC 7516 §11.5).
	ErrDecrypt = class("jwe_decrypt", "decryption failed")
	// ErrContentType: the token is not a nested JWT (cty is not "JWT").
	ErrContentType = class("jwe_cty", "encrypted token must have content type JWT")
	// ErrNotEncrypted is for callers that require encryption and were
	// given a plain (signed only) token.
	ErrNotEncrypted = class("jwe_required", "token must be encrypted")
)

// Detailed reasons. Each belongs to one class above.
var (
	ErrTokenTooLarge        = detail(ErrTooLarge, "jwe_too_large_token", "encrypted token too large (limits.max_token_size)")
	ErrHeaderTooLarge       = detail(ErrTooLarge, "jwe_too_large_header", "protected header too large")
	ErrEncryptedKeyTooLarge = detail(ErrTooLarge, "jwe_too_large_key", "encrypted key too large")
	ErrCiphertextTooLarge   = detail(ErrTooLarge, "jwe_too_large_ciphertext", "ciphertext too large (limits.max_token_size)")

	ErrZip         = detail(ErrUnsupported, "jwe_zip", "compression not supported: zip bombs")
	ErrCrit        = detail(ErrUnsupported, "jwe_crit", "crit header parameter not supported")
	ErrRSA1_5      = detail(ErrUnsupported, "jwe_rsa1_5", "RSA1_5 is not supported (padding oracle, RFC 8725 section 3.2)")
	ErrPBES2       = detail(ErrUnsupported, "jwe_pbes2", "PBES2 is not supported (attacker-controlled iteration count)")
	ErrUnknownAlg  = detail(ErrUnsupported, "jwe_alg", "unsupported key management algorithm")
	ErrUnknownEnc  = detail(ErrUnsupported, "jwe_enc", "unsupported content encryption algorithm")
	ErrEncNotAllow = detail(ErrUnsupported, "jwe_enc_not_allowed", "content encryption algorithm not allowed")

	ErrInvalidEPK = detail(ErrMalformed, "jwe_epk", "invalid ephemeral public key")
	ErrEPKCurve   = detail(ErrMalformed, "jwe_epk_curve", "ephemeral public key is not on the recipient key's curve")

	ErrKeyAlgMismatch = detail(ErrKeyNotFound, "jwe_key_alg", "key does not accept this algorithm")
	ErrAmbiguousKey   = detail(ErrKeyNotFound, "jwe_key_ambiguous", "no kid and more than one key for this algorithm")
)

var (
	errSegments    = detail(ErrMalformed, "", "encrypted token must have five segments")
	errBase64      = detail(ErrMalformed, "jwe_base64", "segment is not strict base64url")
	errHeaderJSON  = detail(ErrMalformed, "", "protected header is not a valid JSON object")
	errDuplicate   = detail(ErrMalformed, "jwe_duplicate", "duplicate member name in protected header")
	errHeaderAlgEn = detail(ErrMalformed, "", "protected header needs alg and enc strings")
	errHeaderType  = detail(ErrMalformed, "", "protected header member has the wrong type")
	errIV          = detail(ErrMalformed, "jwe_iv", "initialization vector has the wrong length")
	errTag         = detail(ErrMalformed, "jwe_tag", "authentication tag has the wrong length")
	errEncKeyLen   = detail(ErrMalformed, "jwe_encrypted_key", "encrypted key has the wrong length")
	errCipherLen   = detail(ErrMalformed, "", "ciphertext has the wrong length")
	errDirKeyLen   = detail(ErrKeyNotFound, "jwe_key_size", "key size does not match the content encryption algorithm")
	errKeyEnc      = detail(ErrKeyNotFound, "jwe_key_enc", "key does not accept this content encryption algorithm")
	errNoKid       = detail(ErrKeyNotFound, "", "no key with this kid")
)

// Reason returns the client-safe reason of a jwe error, or a generic one
// for any other error (whose text might not be safe to show).
func Reason(err error) string {
	if e, ok := errclass.As[ns](err); ok {
		return e.Reason()
	}
	return "invalid token"
}

// Label returns the metric label of a jwe error, "jwe_error" for others.
func Label(err error) string {
	if e, ok := errclass.As[ns](err); ok {
		return e.Label()
	}
	return "jwe_error"
}
