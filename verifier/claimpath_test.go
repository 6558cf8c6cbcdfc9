package verifier_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tokengate/tokengate/verifier"
)

// TestTopLevelDottedNameCannotShadowNestedClaim (issue 12 item 6): a
// top-level claim literally named "realm_access.roles" was read instead
// of the nested realm_access.roles for route rules and headers, so a
// token could choose which of the two a rule saw. A dotted path now names
// one place per token: the top-level name or the nested claim, and a
// token that has both is refused (for the paths the caller reads) rather
// than read one way; a path starting with "/" is an exact RFC 6901 JSON
// Pointer.
func TestTopLevelDottedNameCannotShadowNestedClaim(t *testing.T) {
	hs := caseFor(t, "HS256")
	roles := verifier.MustParsePath("realm_access.roles")
	auth0 := verifier.MustParsePath("https://example.com/roles")
	v := newVerifierOpts(t, snapshotOf(t, hs.key), verifier.Options{
		Policy:     verifier.DefaultPolicy(),
		ClaimPaths: []verifier.Path{roles, auth0},
	})
	plain := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy())
	both := mint(t, hs, claims(map[string]any{
		"realm_access.roles": []string{"admin"},
		"realm_access":       map[string]any{"roles": []string{"user"}},
	}))
	literalOnly := mint(t, hs, claims(map[string]any{"realm_access": nil, "realm_access.roles": []string{"admin"}}))
	auth0Both := mint(t, hs, claims(map[string]any{
		"https://example.com/roles": []string{"reader"},
		"https://example":           map[string]any{"com/roles": []string{"admin"}},
	}))
	required := newVerifier(t, snapshotOf(t, hs.key), verifier.Policy{RequiredClaims: []string{"realm_access.roles"}})

	reads := func(path, want string) func(*verifier.Result, error) string {
		return func(r *verifier.Result, _ error) string {
			c, ok := r.Claim(verifier.MustParsePath(path))
			if got := string(c.AppendText(nil, ',')); ok != (want != "") || got != want {
				return fmt.Sprintf("Claim(%s) = %q (found %v), want %q", path, got, ok, want)
			}
			return ""
		}
	}
	runTokenCases(t, []tokenCase{
		{"both: refused for a path the caller reads", v, both, verifier.ErrAmbiguousClaim, nil},
		{"both: refused for a required claim", required, both, verifier.ErrAmbiguousClaim, nil},
		{"both: Claim finds neither when the path was not declared", plain, both, nil, reads("realm_access.roles", "")},
		{"both: the JSON Pointer reads the nested claim", plain, both, nil, reads("/realm_access/roles", "user")},
		{"both: the JSON Pointer reads the top-level name", plain, both, nil, reads("/realm_access.roles", "admin")},
		{"nested only: the dotted path reads it", v, mint(t, hs, claims(nil)), nil, reads("realm_access.roles", "admin,auditor")},
		{"top-level name only: the dotted path reads it", v, literalOnly, nil, reads("realm_access.roles", "admin")},
		{"top-level name only: the pointer to the nested claim finds nothing", v, literalOnly, nil, reads("/realm_access/roles", "")},
		{"Auth0-style name and a nested look-alike: refused", v, auth0Both, verifier.ErrAmbiguousClaim, nil},
		{"Auth0-style name as a pointer", plain, auth0Both, nil, reads("/https:~1~1example.com~1roles", "reader")},
	})
	if verifier.ErrAmbiguousClaim.Code() != verifier.CodeInvalidToken || !errors.Is(verifier.ErrAmbiguousClaim, verifier.ErrMalformed) {
		t.Error("an ambiguous token is a malformed token (401 invalid_token)")
	}
}

// TestJSONPointerPaths: RFC 6901 pointers, including its escapes (§3),
// array indices (§4) and the error cases, next to the dotted syntax.
func TestJSONPointerPaths(t *testing.T) {
	hs := caseFor(t, "HS256")
	v := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy())
	tok := mint(t, hs, claims(map[string]any{
		"a/b":  "slash",
		"m~n":  "tilde",
		"~1":   "tilde-one",
		"":     "empty name",
		"list": []any{"x", map[string]any{"k": "deep"}, []string{"y"}},
		"obj":  map[string]any{"0": "zero key", "": map[string]any{"": "nested empty"}},
	}))
	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	if err := v.Verify(r, tok); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"/a~1b", "slash"},
		{"/m~0n", "tilde"},
		{"/~01", "tilde-one"}, // ~0 then 1: "~1", not "/"
		{"/", "empty name"},
		{"/list/0", "x"},
		{"/list/1/k", "deep"},
		{"/list/2/0", "y"},
		{"/list/3", ""},
		{"/list/-", ""},  // the element after the last: never exists
		{"/list/01", ""}, // leading zero: not an index (§4)
		{"/list/+1", ""}, // not digits
		{"/list/k", ""},  // a name on an array
		{"/obj/0", "zero key"},
		{"/obj//", "nested empty"},
		{"/sub", "user-42"},
		{"/Sub", ""},
		{"/realm_access/roles/1", "auditor"},
		{"/list/99999999999999999999999", ""}, // overflows: not found, no panic
		{"sub", "user-42"},
		{"realm_access.roles.0", ""}, // dotted paths walk objects only
	}
	for _, tt := range tests {
		c, ok := r.Claim(verifier.MustParsePath(tt.path))
		if got := string(c.AppendText(nil, ',')); ok != (tt.want != "") || got != tt.want {
			t.Errorf("%q = %q (found %v), want %q", tt.path, got, ok, tt.want)
		}
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		pointer bool
	}{
		{"sub", true, false},
		{"realm_access.roles", true, false},
		{"https://example.com/roles", true, false},
		{"a..b", true, false}, // only a top-level name
		{"/a/b", true, true},
		{"/", true, true},
		{"/~0~1", true, true},
		{"", false, false},
		{"/a~", false, true},
		{"/a~2", false, true},
		{"/~", false, true},
	}
	for _, tt := range tests {
		p, err := verifier.ParsePath(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		if err == nil && (p.String() != tt.in || p.IsPointer() != tt.pointer) {
			t.Errorf("ParsePath(%q) = %q pointer %v", tt.in, p.String(), p.IsPointer())
		}
	}
}

func newVerifierOpts(t testing.TB, keys verifier.KeySet, o verifier.Options) *verifier.Verifier {
	t.Helper()
	if o.Now == nil {
		o.Now = fixedClock
	}
	v, err := verifier.New(keys, o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
