package errclass_test

import (
	"testing"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/internal/errclass"
	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/verifier"
)

// TestErrorDescriptionNeverBreaksRFC6750Syntax: every reason of every error
// class and detail of verifier, jwe and gate is sent as error_description="…" in
// WWW-Authenticate, so it must be a valid quoted-string body (RFC 6750 §3:
// %x20-21 / %x23-5B / %x5D-7E). Two did not (issue 12 item 9): `encrypted
// token must have content type "JWT"` (unescaped quotes end the parameter
// early) and a reason with a non-ASCII '§'. The walk covers every error the
// packages register, so a reason added later is held to it too.
func TestErrorDescriptionNeverBreaksRFC6750Syntax(t *testing.T) {
	all := errclass.All()
	seen := map[errclass.Described]bool{}
	for _, e := range all {
		seen[e] = true
		if err := errclass.CheckReason(e.Reason()); err != nil {
			t.Errorf("%q (label %s): %v", e.Reason(), e.Label(), err)
		}
		switch e.Code() {
		case errclass.CodeInvalidRequest, errclass.CodeInvalidToken, errclass.CodeInsufficientScope:
		default:
			t.Errorf("%q: code %q is not an RFC 6750 §3.1 code", e.Reason(), e.Code())
		}
		if !isLabel(e.Label()) {
			t.Errorf("%q: label %q is not a metric label ([a-z0-9_]+)", e.Reason(), e.Label())
		}
	}
	// The registry is what makes the walk complete: both packages' errors
	// must be in it.
	for _, e := range []errclass.Described{verifier.ErrMalformed, verifier.ErrTokenTooLarge, jwe.ErrMalformed, jwe.ErrContentType, jwe.ErrRSA1_5, gate.ErrBadPath, gate.ErrClaimTooLarge} {
		if !seen[e] {
			t.Errorf("%v is not registered", e)
		}
	}
	if len(all) < 60 {
		t.Errorf("only %d errors registered", len(all))
	}
}

func TestCheckReason(t *testing.T) {
	tests := []struct {
		name, reason string
		ok           bool
	}{
		{"plain", "token expired", true},
		{"punctuation", "no keys for the token's issuer (limits.max_token_size): a, b; c!", true},
		{"every allowed byte", allowedBytes(), true},
		{"empty", "", false},
		{"double quote", `content type "JWT"`, false},
		{"backslash", `a\b`, false},
		{"non-ASCII", "RFC 8725 §3.2", false},
		{"control", "a\tb", false},
		{"DEL", "a\x7fb", false},
	}
	for _, tt := range tests {
		if err := errclass.CheckReason(tt.reason); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func allowedBytes() string {
	var b []byte
	for c := byte(0x20); c <= 0x7e; c++ {
		if c != '"' && c != '\\' {
			b = append(b, c)
		}
	}
	return string(b)
}

func isLabel(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}
