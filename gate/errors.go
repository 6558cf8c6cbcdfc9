package gate

import (
	"github.com/tokengate/tokengate/internal/errclass"
	"github.com/tokengate/tokengate/verifier"
)

// ns is the namespace that keeps gate errors a type of their own.
type ns struct{}

// Error is a refusal that the gate decides itself, not the verifier or
// the decrypter: a request it cannot read unambiguously, a route rule that
// is not met, a claim it cannot forward. Every Error is a package-level
// value, so refusing allocates nothing; Reason is short and safe to show a
// client, Code its RFC 6750 §3.1 code, Label a stable metric label.
type Error = errclass.Error[ns]

var reg = errclass.NewRegistry[ns]("gate")

// The gate's own refusals.
var (
	// ErrBadPath: the request target cannot be normalised without
	// guessing (see normalizePath); refused rather than matched loosely.
	ErrBadPath = reg.Class("bad_path", "request path cannot be normalised", verifier.CodeInvalidRequest)
	// ErrBadMethod: the method is not an RFC 9110 §9.1 token.
	ErrBadMethod = reg.Class("bad_method", "request method is not a valid token", verifier.CodeInvalidRequest)
	// ErrTwoCredentials: the request carries more than one token or
	// Authorization header (RFC 6750 §2).
	ErrTwoCredentials = reg.Class("two_credentials", "more than one credential in the request", verifier.CodeInvalidRequest)
	// ErrClaimRule: a route's claim rule is not met. The Decision's
	// reason names the rule's claim path.
	ErrClaimRule = reg.Class("claim_rule", "claim rule not met", verifier.CodeInsufficientScope)
	// ErrUnforwardable: a claim mapped to a header cannot be written into
	// a header value exactly, and is never forwarded altered.
	ErrUnforwardable = reg.Class("unforwardable_claim", "claim cannot be forwarded in a header unaltered", verifier.CodeInvalidToken)
	// ErrClaimTooLarge: a claim header value would be longer than
	// headers.max_value_length; it is never cut.
	ErrClaimTooLarge = reg.Class("claim_too_large", "claim too large to forward in a header (headers.max_value_length)", verifier.CodeInvalidToken)
)

// Label returns the stable metric label of a refusal error ("other" for
// an error that is none of the gate's, verifier's or decrypter's).
func Label(err error) string {
	if e, ok := err.(errclass.Described); ok {
		return e.Label()
	}
	return "other"
}

// describe returns the RFC 6750 code and the client-safe reason of err;
// an error of unknown origin is a plain invalid_token (fail closed, and
// its text is not shown).
func describe(err error) (code, reason string) {
	if e, ok := err.(errclass.Described); ok {
		return e.Code(), e.Reason()
	}
	return verifier.CodeInvalidToken, "invalid token"
}
