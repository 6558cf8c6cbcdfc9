package gate

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/verifier"
)

type route struct {
	prefix  string
	methods []string // upper case
	public  bool
	scopes  []string
	claims  []routeClaim
	// What a refusal by this route answers, built once: the scope rule's
	// challenge (with RFC 6750 §3 "scope" listing what is required).
	scopeChallenge []byte
}

type routeClaim struct {
	index     int // into state.claimPaths and Token.claimValues
	values    []string
	reason    string // ErrClaimRule's reason with this rule's path
	challenge []byte
}

func (st *state) buildRoutes(cfg Config) error {
	index := map[string]int{}
	for i, r := range cfg.Routes {
		rt := route{prefix: strings.TrimSuffix(r.Prefix, "/"), methods: r.Methods, public: r.Public, scopes: r.Scopes}
		if rt.prefix == "" {
			rt.prefix = "/"
		}
		if len(r.Scopes) > 0 {
			rt.scopeChallenge = st.forbidChallenge(verifier.ErrInsufficientScope.Reason(), strings.Join(r.Scopes, " "))
		}
		// Sorted so that the first failing rule, and so the reason, is the
		// same on every run (map order is random).
		for _, claim := range slices.Sorted(maps.Keys(r.Claims)) {
			j, ok := index[claim]
			if !ok {
				p, err := verifier.ParsePath(claim)
				if err != nil {
					return fmt.Errorf("gate: routes[%d].claims: %w", i, err)
				}
				j = len(st.claimPaths)
				index[claim] = j
				st.claimPaths = append(st.claimPaths, p)
			}
			// The reason names the rule by its path, which comes from the
			// configuration (never from a token); a path that a quoted
			// string cannot hold is named by its route.
			name := claim
			if !quotedStringSafe(claim) {
				name = fmt.Sprintf("routes[%d]", i)
			}
			reason := ErrClaimRule.Reason() + ": " + name
			rt.claims = append(rt.claims, routeClaim{index: j, values: r.Claims[claim], reason: reason,
				challenge: st.forbidChallenge(reason, "")})
		}
		st.routes = append(st.routes, rt)
	}
	return nil
}

// forbidChallenge is the WWW-Authenticate value of a 403 (RFC 6750 §3.1
// insufficient_scope), with the scopes the route requires when it
// requires some.
func (st *state) forbidChallenge(reason, scope string) []byte {
	b := append([]byte(nil), st.challenge...)
	b = fmt.Appendf(b, `, error="%s", error_description="%s"`, verifier.CodeInsufficientScope, reason)
	if scope != "" {
		b = fmt.Appendf(b, `, scope="%s"`, scope)
	}
	return b
}

// matchRoute returns the first route whose prefix holds path and whose
// methods include method. Methods are compared the way the application
// behind the proxy will route them: ASCII case-insensitively (Flask, Rack
// and others upper-case the method, so "delete" deletes), and HEAD as GET
// (frameworks answer HEAD with the GET handler), so a rule on [DELETE]
// cannot be skipped with "delete" nor a rule on [GET] with HEAD.
func (st *state) matchRoute(method, path []byte) *route {
	for i := range st.routes {
		r := &st.routes[i]
		if !matchPrefix(path, r.prefix) {
			continue
		}
		if len(r.methods) > 0 && !methodIn(r.methods, method) {
			continue
		}
		return r
	}
	return nil
}

func methodIn(list []string, method []byte) bool {
	head := asciiEqualFoldString(method, "HEAD")
	for _, m := range list {
		if asciiEqualFoldString(method, m) || head && m == "GET" {
			return true
		}
	}
	return false
}

func asciiEqualFoldString(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// refusal is why a route refuses a verified token: the error, the reason
// and the challenge to answer with (all prepared when the route was
// built).
type refusal struct {
	err       error
	reason    string
	challenge []byte
}

// permits reports whether a verified token meets the route's rule, and
// the refusal when it does not.
func (rt *route) permits(t *Token) (refusal, bool) {
	for _, want := range rt.scopes {
		if !containsString(t.scopes, want) {
			return refusal{verifier.ErrInsufficientScope, verifier.ErrInsufficientScope.Reason(), rt.scopeChallenge}, false
		}
	}
	for i := range rt.claims {
		c := &rt.claims[i]
		ok := false
		for _, v := range t.claimValues[c.index] {
			if containsString(c.values, v) {
				ok = true
				break
			}
		}
		if !ok {
			return refusal{ErrClaimRule, c.reason, c.challenge}, false
		}
	}
	return refusal{}, true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// quotedStringSafe reports whether s can stand in an RFC 6750 §3
// quoted-string as is: %x20-21 / %x23-5B / %x5D-7E.
func quotedStringSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// isScopeToken: RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func isScopeToken(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if c <= 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
