package verifier

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// Path names one place in a token's claims, prepared once (at
// configuration time) so lookups on the request path do not allocate.
// Two syntaxes:
//
//   - A JSON Pointer (RFC 6901) when the path starts with "/":
//     "/realm_access/roles", "/https:~1~1example.com~1roles" ("~1" is "/",
//     "~0" is "~"), "/groups/0". It names exactly one place: member names
//     are exact, array elements are reached by index.
//   - Otherwise a dotted path: "sub", "realm_access.roles",
//     "https://example.com/roles". It names the top-level claim of exactly
//     that name, or the nested claim reached by splitting it at every dot
//     (objects only). A token that has both is ambiguous: Result.Claim
//     finds neither, and Verify refuses the token (ErrAmbiguousClaim) for
//     the paths in Options.ClaimPaths and Policy.RequiredClaims. So with
//     either syntax a token can never choose which of two claims is read.
//     A dotted path with an empty part ("a..b", ".a") names only the
//     top-level claim of that name.
//
// Names are case-sensitive (RFC 7519 §4). The zero Path names nothing.
type Path struct {
	raw string
	// parts are the names (and, for a pointer, indices) to walk from the
	// root: the unescaped reference tokens of a pointer, or the dot-split
	// parts of a dotted path (nil when it is only a top-level name).
	parts   []string
	pointer bool
}

// ParsePath prepares a claim path in either syntax (see Path). It fails on
// an empty path and on a pointer with a "~" not followed by "0" or "1"
// (RFC 6901 §3).
func ParsePath(s string) (Path, error) {
	if s == "" {
		return Path{}, errors.New("verifier: empty claim path")
	}
	if s[0] == '/' {
		tokens := strings.Split(s[1:], "/")
		for i, tok := range tokens {
			u, ok := unescapePointer(tok)
			if !ok {
				return Path{}, fmt.Errorf("verifier: claim path %q: \"~\" must be followed by 0 or 1 in a JSON Pointer (RFC 6901 §3)", s)
			}
			tokens[i] = u
		}
		return Path{raw: s, parts: tokens, pointer: true}, nil
	}
	parts := strings.Split(s, ".")
	if len(parts) == 1 {
		return Path{raw: s}, nil
	}
	for _, p := range parts {
		if p == "" {
			return Path{raw: s}, nil // only a top-level name
		}
	}
	return Path{raw: s, parts: parts}, nil
}

// unescapePointer decodes one reference token: "~1" is "/" and "~0" is
// "~", in one left-to-right pass, which is the order RFC 6901 §4 asks
// for ("~01" is "~1", not "/").
func unescapePointer(tok string) (string, bool) {
	if !strings.Contains(tok, "~") {
		return tok, true
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] != '~' {
			b.WriteByte(tok[i])
			continue
		}
		if i+1 == len(tok) || (tok[i+1] != '0' && tok[i+1] != '1') {
			return "", false
		}
		if tok[i+1] == '0' {
			b.WriteByte('~')
		} else {
			b.WriteByte('/')
		}
		i++
	}
	return b.String(), true
}

// MustParsePath is ParsePath for constants; it panics on an invalid path.
func MustParsePath(s string) Path {
	p, err := ParsePath(s)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return p
}

// String returns the path as written.
func (p Path) String() string { return p.raw }

// IsPointer reports whether p is a JSON Pointer (it starts with "/").
func (p Path) IsPointer() bool { return p.pointer }

// mayBeAmbiguous reports whether p can name two places in some token: a
// dotted path with at least two parts.
func (p Path) mayBeAmbiguous() bool { return !p.pointer && len(p.parts) > 1 }

// resolve finds p in the claims object root. It returns the value and how
// many places p names in this token: 0 (absent), 1, or 2 (a dotted path
// that is both a top-level name and a nested claim; v is then invalid).
func (p Path) resolve(root jsonx.Value) (v jsonx.Value, places int) {
	if p.pointer {
		v = root
		for _, tok := range p.parts {
			if v = pointerStep(v, tok); !v.Exists() {
				return jsonx.Value{}, 0
			}
		}
		return v, 1
	}
	if p.raw == "" {
		return jsonx.Value{}, 0
	}
	lit := root.Get(p.raw)
	if lit.Exists() {
		places++
	}
	if len(p.parts) > 1 {
		nested := root
		for _, part := range p.parts {
			if nested = nested.Get(part); !nested.Exists() {
				break
			}
		}
		if nested.Exists() {
			places++
			v = nested
		}
	}
	switch places {
	case 1:
		if lit.Exists() {
			return lit, 1
		}
		return v, 1
	case 2:
		return jsonx.Value{}, 2
	}
	return jsonx.Value{}, 0
}

// pointerStep applies one RFC 6901 reference token to v: a member name of
// an object, or an array index (§4: "0" or digits without a leading zero;
// "-" and anything else name no element).
func pointerStep(v jsonx.Value, tok string) jsonx.Value {
	switch v.Kind() {
	case jsonx.Object:
		return v.Get(tok)
	case jsonx.Array:
		i, ok := arrayIndex(tok, v.Len())
		if !ok {
			return jsonx.Value{}
		}
		return v.Index(i)
	}
	return jsonx.Value{}
}

// arrayIndex parses an RFC 6901 array index below n, without allocating.
func arrayIndex(tok string, n int) (int, bool) {
	if tok == "" || len(tok) > 1 && tok[0] == '0' {
		return 0, false
	}
	i := 0
	for j := 0; j < len(tok); j++ {
		c := tok[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
		if i >= n {
			return 0, false // also stops before any overflow
		}
	}
	return i, true
}
