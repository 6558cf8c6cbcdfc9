package verifier_test

// Which key a token may use: holes in the lookup by kid and issuer, each
// pinned by a test named after it.

import (
	"testing"

	"github.com/tokengate/tokengate/verifier"
)

// TestEmptyKidMatchesNoKey: "kid": "" is a kid that names no key; it must
// not fall back to the only key of the alg like a header without kid.
func TestEmptyKidMatchesNoKey(t *testing.T) {
	hs := caseFor(t, "HS256")
	v := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy())
	runTokenCases(t, []tokenCase{
		{"kid empty", v, mintRaw(t, hs, `{"alg":"HS256","kid":""}`, claims(nil)), verifier.ErrUnknownKey, nil},
		{"kid missing: the only HS256 key", v, mintRaw(t, hs, `{"alg":"HS256"}`, claims(nil)), nil, nil},
		{"kid exact", v, mintRaw(t, hs, `{"alg":"HS256","kid":"kid-HS256"}`, claims(nil)), nil, nil},
	})
}
