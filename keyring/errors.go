package keyring

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned (wrapped) by the parsers. Check them with errors.Is; the
// message around them names the source, the key and what is wrong.
var (
	// ErrMalformed reports input that is not a well-formed JWK, JWK Set,
	// PEM document or secret: bad JSON, bad base64url, missing or
	// mistyped members, wrong lengths, garbage around PEM blocks.
	ErrMalformed = errors.New("keyring: malformed key data")
	// ErrInvalidKey reports key material that is well-formed but refused:
	// too weak (RSA size or exponent, short HMAC secret), off the curve,
	// inconsistent with its alg, or a known-bad RSA modulus.
	ErrInvalidKey = errors.New("keyring: invalid key")
	// ErrPrivateKey reports private key material where a public key is
	// needed: a verification keyring holds public keys (and HMAC secrets).
	ErrPrivateKey = errors.New("keyring: private key material where a public key is needed")
	// ErrUnusable reports a key that is not for signature verification
	// ("use" other than "sig", "key_ops" without "verify", a key-agreement
	// curve, an encryption alg, an unsupported kty). In a JWK Set such
	// keys are skipped; a single key like that is an error.
	ErrUnusable = errors.New("keyring: key is not usable for signature verification")
	// ErrUnsupportedAlg reports an "alg" that is not a tokengate Algorithm.
	ErrUnsupportedAlg = errors.New("keyring: unsupported alg")
	// ErrAlgMismatch reports a JWK "alg" (or kid) that differs from the
	// configured one.
	ErrAlgMismatch = errors.New("keyring: key does not match the configuration")
	// ErrCertMismatch reports an "x5c" whose first certificate holds a
	// different key than the JWK (RFC 7517 §4.7).
	ErrCertMismatch = errors.New("keyring: x5c certificate does not match the key")
	// ErrDuplicateKID reports two keys with the same kid in one set (or,
	// for a Snapshot, the same issuer and kid).
	ErrDuplicateKID = errors.New("keyring: duplicate kid")
	// ErrMixedKeySet reports a JWK Set that holds both HMAC secrets and
	// public keys: a document is either a set of secrets or a public set.
	ErrMixedKeySet = errors.New("keyring: key set mixes secrets and public keys")
	// ErrNoKeys reports a document that yields no usable key.
	ErrNoKeys = errors.New("keyring: no usable keys")
	// ErrTooLarge reports a document larger than MaxDocumentSize.
	ErrTooLarge = errors.New("keyring: key document too large")
)

// KeyError is a failure to load one key, or a whole document when Index is
// -1 and KID is empty. Its message names the source and the kid or position
// and never contains key material.
type KeyError struct {
	Source string // file path, "env:NAME", "inline#0", URL; may be empty
	Index  int    // position in a JWK Set "keys" array or PEM block number (0-based); -1 if none
	KID    string // the key's kid, if known
	Err    error
}

func (e *KeyError) Error() string {
	var b strings.Builder
	b.WriteString("keyring: ")
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	switch {
	case e.KID != "" && e.Index >= 0:
		fmt.Fprintf(&b, "key #%d (kid %q): ", e.Index, e.KID)
	case e.KID != "":
		fmt.Fprintf(&b, "key %q: ", e.KID)
	case e.Index >= 0:
		fmt.Fprintf(&b, "key #%d: ", e.Index)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *KeyError) Unwrap() error { return e.Err }

// Skipped is a well-formed member of a JWK Set that was left out on purpose
// because it is not for signature verification. It is not an error: JWK
// Sets published by identity providers mix signing and encryption keys.
type Skipped struct {
	Source string
	Index  int
	KID    string
	Reason string
}

func (s Skipped) String() string {
	return (&KeyError{Source: s.Source, Index: s.Index, KID: s.KID, Err: errors.New("skipped: " + s.Reason)}).Error()
}

// detail is an error with a short message that also matches a sentinel.
type detail struct {
	kind error
	msg  string
	err  error // optional cause
}

func (d *detail) Error() string {
	if d.err != nil {
		return d.msg + ": " + d.err.Error()
	}
	return d.msg
}

func (d *detail) Unwrap() []error {
	if d.err != nil {
		return []error{d.kind, d.err}
	}
	return []error{d.kind}
}

func errf(kind error, format string, args ...any) error {
	return &detail{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// skipError marks a key that a JWK Set skips and a single JWK refuses.
type skipError struct{ reason string }

func (s *skipError) Error() string { return "not for signature verification: " + s.reason }

func (s *skipError) Is(target error) bool { return target == ErrUnusable }

// clip bounds a value echoed in a message (they come from files, not
// requests, but keep log lines sane).
func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
