// Package errclass is the one machinery behind the request-path errors of
// the verifier and jwe packages: package-level error values, each either a
// failure class or a detailed reason belonging to one, with a reason that
// is safe to show a client, an RFC 6750 §3.1 error code and a stable metric
// label.
//
// Every Error is created once, at package initialisation, through a
// Registry; nothing on the request path builds an error, because an
// attacker decides how often the failure path runs. Error() returns a
// string built at creation, so even formatting an Error allocates nothing.
//
// Each package instantiates Error with its own namespace type, so a
// verifier error and a jwe error stay distinct types (errors.As into a
// *verifier.Error never matches a jwe error), while the code is written
// once. All lists every Error ever registered, which lets a test hold every
// reason to the grammar it is sent in (RFC 6750 §3: error_description is a
// quoted-string body of %x20-21 / %x23-5B / %x5D-7E).
package errclass

import (
	"errors"
	"fmt"
)

// RFC 6750 §3.1 error codes.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
)

// Error is one failure: a class (ErrMalformed, ...) or a detail that
// belongs to a class. N is the owning package's namespace type and only
// keeps the packages' errors apart. Errors are immutable and compared by
// identity.
type Error[N any] struct {
	msg    string    // "<package>: <reason>"
	reason string    // suffix of msg
	code   string    // RFC 6750 §3.1 code of the class
	label  string    // metric label; "" on a detail means the class's
	class  *Error[N] // nil when the Error is itself a class
}

// Error returns "<package>: <reason>" without allocating.
func (e *Error[N]) Error() string { return e.msg }

// Is reports whether target is e's class, so errors.Is(detail, Class)
// holds.
func (e *Error[N]) Is(target error) bool {
	return e.class != nil && target == error(e.class)
}

// Reason is the short, client-safe description: it never contains token
// bytes, claim values or key material.
func (e *Error[N]) Reason() string { return e.reason }

// Class returns the failure class e belongs to (e itself for a class).
func (e *Error[N]) Class() *Error[N] {
	if e.class != nil {
		return e.class
	}
	return e
}

// Code returns the RFC 6750 §3.1 error code of e's class.
func (e *Error[N]) Code() string { return e.Class().code }

// Label is a stable, low-cardinality name for metrics: the detail's own
// when it has one, else its class's.
func (e *Error[N]) Label() string {
	if e.label != "" {
		return e.label
	}
	return e.Class().label
}

// Described is what every registered Error offers, whatever its package.
type Described interface {
	error
	Reason() string
	Code() string
	Label() string
}

// all holds every registered Error, in creation order. It is appended to
// only during package initialisation (which runs on one goroutine) and
// read by All.
var all []Described

// All returns every Error registered by the packages linked into this
// program, classes and details, in creation order.
func All() []Described { return append([]Described(nil), all...) }

// Registry creates the Errors of one package.
type Registry[N any] struct{ prefix string }

// NewRegistry returns the Registry of package pkg ("verifier"): its
// errors' texts start with "pkg: ".
func NewRegistry[N any](pkg string) Registry[N] { return Registry[N]{prefix: pkg + ": "} }

// Class creates a failure class.
func (r Registry[N]) Class(label, reason, code string) *Error[N] {
	return r.register(&Error[N]{reason: reason, code: code, label: label})
}

// Detail creates a detailed reason within class c; label "" uses the
// class's label.
func (r Registry[N]) Detail(c *Error[N], label, reason string) *Error[N] {
	if c == nil || c.class != nil {
		panic("errclass: a detail needs a class")
	}
	return r.register(&Error[N]{reason: reason, code: c.code, label: label, class: c})
}

func (r Registry[N]) register(e *Error[N]) *Error[N] {
	e.msg = r.prefix + e.reason
	e.reason = e.msg[len(r.prefix):]
	all = append(all, e)
	return e
}

// As finds the first *Error[N] in err's chain. The common case, err being
// one, is a type assertion that allocates nothing.
func As[N any](err error) (*Error[N], bool) {
	if e, ok := err.(*Error[N]); ok {
		return e, true
	}
	var e *Error[N]
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CheckReason reports whether s can be sent as the body of an RFC 6750 §3
// quoted-string (error-description = *( %x20-21 / %x23-5B / %x5D-7E )):
// printable ASCII without '"' and '\', and not empty.
func CheckReason(s string) error {
	if s == "" {
		return errors.New("empty reason")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return fmt.Errorf("byte %#02x at %d is outside RFC 6750's error-description (%%x20-21 / %%x23-5B / %%x5D-7E)", c, i)
		}
	}
	return nil
}
