package verifier

import "github.com/tokengate/tokengate/internal/errclass"

// ns is the namespace that keeps verifier errors a type of their own.
type ns struct{}

// Error is a verification failure. Every Error is a package-level value: the
// request path never builds an error per call, because an attacker decides
// how often the failure path runs. An Error is either a class (ErrMalformed,
// ErrSignature, ...) or a detailed reason that belongs to a class; errors.Is
// matches both, so callers can test for the class:
//
//	if errors.Is(err, verifier.ErrExpired) { ... }
//
// Its methods: Reason is short and safe to show a client (it never
// contains token bytes, claim values or key material); Code is the RFC 6750
// §3.1 error code of its class; Label is a stable, low-cardinality metric
// name (the detail's own, or its class's); Class is the class it belongs
// to (itself for a class). Error() allocates nothing.
type Error = errclass.Error[ns]

var reg = errclass.NewRegistry[ns]("verifier")

func class(label, reason, code string) *Error { return reg.Class(label, reason, code) }

func detail(c *Error, label, reason string) *Error { return reg.Detail(c, label, reason) }

// RFC 6750 §3.1 error codes.
const (
	CodeInvalidRequest    = errclass.CodeInvalidRequest
	CodeInvalidToken      = errclass.CodeInvalidToken
	CodeInsufficientScope = errclass.CodeInsufficientScope
)

// The failure classes.
var (
	ErrMalformed      = class("malformed", "malformed token", CodeInvalidToken)
	ErrUnsupportedAlg = class("unsupported_alg", "unsupported algorithm", CodeInvalidToken)
	ErrUnknownKey     = class("unknown_key", "unknown signing key", CodeInvalidToken)
	// ErrSignature is the one error for every way a signature can be
	// wrong; which way is not told to the client.
	ErrSignature         = class("signature", "invalid signature", CodeInvalidToken)
	ErrExpired           = class("expired", "token expired", CodeInvalidToken)
	ErrNotYetValid       = class("not_yet_valid", "token not yet valid", CodeInvalidToken)
	ErrIssuer            = class("issuer", "issuer not accepted", CodeInvalidToken)
	ErrAudience          = class("audience", "audience not accepted", CodeInvalidToken)
	ErrMissingClaim      = class("missing_claim", "required claim missing", CodeInvalidToken)
	ErrType              = class("type", "token type not accepted", CodeInvalidToken)
	ErrInsufficientScope = class("insufficient_scope", "insufficient scope", CodeInsufficientScope)
	// ErrLifetime: the token lives longer than Policy.MaxLifetime allows
	// (exp - iat, or exp - now without iat), or has neither exp nor iat
	// to bound its lifetime with.
	ErrLifetime = class("lifetime", "token lives longer than the maximum token lifetime (revocation.max_token_lifetime)", CodeInvalidToken)
	// ErrRevoked is for tokens taken back before their expiry (a denied
	// "jti", or a subject's "issued before" cutoff). The verifier does not
	// return it itself; the sidecar does, from its revocation set.
	ErrRevoked = class("revoked", "token revoked", CodeInvalidToken)
)

// Detailed reasons. Each belongs to one class above.
var (
	ErrTokenTooLarge = detail(ErrMalformed, "too_large", "token too large (limits.max_token_size)")
	errOpaque        = detail(ErrMalformed, "not_jwt", "token is not a JWT (an opaque or reference token): tokengate verifies JWTs only, token introspection is not supported")
	errEncrypted     = detail(ErrMalformed, "encrypted", "token is encrypted (JWE) and no decryption key is configured (decryption.keys)")
	errEmpty         = detail(ErrMalformed, "", "empty token")
	errSegments      = detail(ErrMalformed, "", "token must have three non-empty segments")
	errBase64Header  = detail(ErrMalformed, "", "header is not strict base64url")
	errBase64Payload = detail(ErrMalformed, "", "payload is not strict base64url")
	errBase64Sig     = detail(ErrMalformed, "", "signature is not strict base64url")
	errHeaderJSON    = detail(ErrMalformed, "", "header is not a valid JSON object")
	errClaimsJSON    = detail(ErrMalformed, "", "claims are not a valid JSON object")
	errDuplicate     = detail(ErrMalformed, "duplicate", "duplicate member name")
	errJSONLimits    = detail(ErrMalformed, "", "JSON too deep or too large")
	errHeaderAlg     = detail(ErrMalformed, "", "header alg missing or not a string")
	errHeaderKid     = detail(ErrMalformed, "", "header kid is not a string")
	errHeaderTyp     = detail(ErrMalformed, "", "header typ is not a string")
	errCrit          = detail(ErrMalformed, "crit", "unsupported critical header parameter")
	errB64           = detail(ErrMalformed, "b64", "unencoded payload (b64) not supported")
	errClaimType     = detail(ErrMalformed, "", "registered claim has the wrong type")
	errNumericDate   = detail(ErrMalformed, "numeric_date", "time claim is not a valid NumericDate")
	// ErrAmbiguousClaim: a claim path the caller reads names two places in
	// the token (a top-level claim whose name has dots, and the nested
	// claim the dots would reach), so the token could choose which is read.
	ErrAmbiguousClaim = detail(ErrMalformed, "ambiguous_claim", "claim path resolves two ways (a top-level name with dots and a nested claim)")
	errAlgNone        = detail(ErrUnsupportedAlg, "alg_none", "unsecured tokens (alg none) are never accepted")
	errAlgMismatch    = detail(ErrUnknownKey, "alg_mismatch", "key does not accept this algorithm")
	errNoIssuerKeys   = detail(ErrUnknownKey, "no_issuer_keys", "no keys for the token's issuer")
	errIssuedInFuture = detail(ErrNotYetValid, "", "token issued in the future")

	errOlderThanMaxLifetime = detail(ErrExpired, "", "token without exp is older than the maximum token lifetime (revocation.max_token_lifetime)")
	errUnboundedLifetime    = detail(ErrLifetime, "lifetime_unbounded", "token has neither exp nor iat, so its lifetime cannot be bounded (revocation.max_token_lifetime)")
	errNoIatLifetime        = detail(ErrLifetime, "lifetime_no_iat", "token has no iat, so its lifetime cannot be bounded (revocation.max_token_lifetime)")
	errNoAudience           = detail(ErrAudience, "", "token has no audience")
	errNoIssuer             = detail(ErrIssuer, "", "token has no issuer")
	errNoExp                = detail(ErrMissingClaim, "", "token has no expiry")
	errNoType               = detail(ErrType, "", "token has no type")
	errIDToken              = detail(ErrType, "id_token", "ID token (it carries nonce, at_hash or c_hash) not accepted as an access token")
)

// Code maps any error to its RFC 6750 §3.1 error code. Errors that are not
// verifier errors map to "invalid_token": fail closed.
func Code(err error) string {
	if e, ok := errclass.As[ns](err); ok {
		return e.Code()
	}
	return CodeInvalidToken
}

// Reason returns the client-safe reason of a verifier error, or a generic
// one for any other error (whose text might not be safe to show).
func Reason(err error) string {
	if e, ok := errclass.As[ns](err); ok {
		return e.Reason()
	}
	return "invalid token"
}
