package gate

import (
	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/verifier"
)

// Error is a refusal that the gate decides itself, not the verifier or
// the decrypter: a request it cannot read unambiguously, a route rule that
// is not met, a claim it cannot forward. Every Error is a package-level
// value, so refusing allocates nothing. Reason is short and safe to show
// a client.
type Error struct {
	reason string
	code   string // RFC 6750 §3.1
	label  string // stable metric label
	class  *Error // the package-level error this one details, or nil
}

// Is reports whether target is e's class, so errors.Is(detail, ErrClass)
// holds for a rule's own error.
func (e *Error) Is(target error) bool { return e.class != nil && target == error(e.class) }

func (e *Error) Error() string { return "gate: " + e.reason }

// Reason is the short, client-safe description.
func (e *Error) Reason() string { return e.reason }

// Code is the RFC 6750 §3.1 error code.
func (e *Error) Code() string { return e.code }

// Label is a stable, low-cardinality name for metrics.
func (e *Error) Label() string { return e.label }

// The gate's own refusals.
var (
	// ErrBadPath: the request target cannot be normalised without
	// guessing (see normalizePath); refused rather than matched loosely.
	ErrBadPath = &Error{reason: "request path cannot be normalised", code: verifier.CodeInvalidRequest, label: "bad_path"}
	// ErrBadMethod: the method is not an RFC 9110 §9.1 token.
	ErrBadMethod = &Error{reason: "request method is not a valid token", code: verifier.CodeInvalidRequest, label: "bad_method"}
	// ErrTwoCredentials: the request carries more than one token or
	// Authorization header (RFC 6750 §2).
	ErrTwoCredentials = &Error{reason: "more than one credential in the request", code: verifier.CodeInvalidRequest, label: "two_credentials"}
	// ErrClaimRule: a route's claim rule is not met.
	ErrClaimRule = &Error{reason: "claim rule not met", code: verifier.CodeInsufficientScope, label: "claim_rule"}
	// ErrUnforwardable: a claim mapped to a header cannot be written into
	// a header value exactly, and is never forwarded altered.
	ErrUnforwardable = &Error{reason: "claim cannot be forwarded in a header unaltered", code: verifier.CodeInvalidToken, label: "unforwardable_claim"}
	// ErrClaimTooLarge: a claim header value would be longer than
	// headers.max_value_length; it is never cut.
	ErrClaimTooLarge = &Error{reason: "claim too large to forward in a header (headers.max_value_length)", code: verifier.CodeInvalidToken, label: "claim_too_large"}
)

// described is what every refusal error offers: verifier, jwe and gate
// errors all do.
type described interface {
	error
	Reason() string
	Code() string
	Label() string
}

var (
	_ described = (*verifier.Error)(nil)
	_ described = (*jwe.Error)(nil)
	_ described = (*Error)(nil)
)

// Label returns the stable metric label of a refusal error ("other" for
// an error that is none of the gate's, verifier's or decrypter's).
func Label(err error) string {
	if e, ok := err.(described); ok {
		return e.Label()
	}
	return "other"
}

// describe returns the RFC 6750 code and the client-safe reason of err;
// an error of unknown origin is a plain invalid_token (fail closed, and
// its text is not shown).
func describe(err error) (code, reason string) {
	if e, ok := err.(described); ok {
		return e.Code(), e.Reason()
	}
	return verifier.CodeInvalidToken, "invalid token"
}
