package gate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/verifier"
)

// Holes found by probing the sidecar through its own recipes (issue 12),
// each pinned here at the decision; deploy/ repeats the ones seen through
// a proxy with a real proxy and application.

// TestMethodRulesNotBypassedByCase (issue 12 item 1): a rule on
// [DELETE, POST, PUT] answered 403 to DELETE but 200 to "delete", which
// Flask, Rack and most frameworks upper-case and route to the same
// handler; a [GET] rule did not cover HEAD, which frameworks route to the
// GET handler. Methods now compare case-insensitively, HEAD counts as GET,
// and a method that is not an RFC 9110 token is refused.
func TestMethodRulesNotBypassedByCase(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) {
		c.Routes = []gate.Route{
			{Prefix: "/reports", Methods: []string{"DELETE", "POST", "PUT"}, Scopes: []string{"admin"}},
			{Prefix: "/secrets", Methods: []string{"GET"}, Scopes: []string{"admin"}},
		}
	})
	user := sign(t, e.es, nil)
	for _, m := range []string{"DELETE", "delete", "Delete", "dElEtE", "post", "Post", "put", "pUT"} {
		r := bearer(user)
		r.method, r.target = m, "/reports/7"
		if d := e.check(r); d.Status != 403 || d.Code != verifier.CodeInsufficientScope {
			t.Errorf("%s /reports/7 without the admin scope: %d %q, want 403 insufficient_scope", m, d.Status, d.Reason)
		}
	}
	for _, m := range []string{"GET", "get", "HEAD", "head", "Head"} {
		r := bearer(user)
		r.method, r.target = m, "/secrets/1"
		if d := e.check(r); d.Status != 403 {
			t.Errorf("%s /secrets/1 without the admin scope: %d, want 403 (HEAD is GET)", m, d.Status)
		}
	}
	// Methods the rules do not name stay outside them.
	for _, m := range []string{"GET", "OPTIONS", "PATCH"} {
		r := bearer(user)
		r.method, r.target = m, "/reports/7"
		if d := e.check(r); d.Status != 200 {
			t.Errorf("%s /reports/7: %d, want 200 (the rule names other methods)", m, d.Status)
		}
	}
	// Not a token (RFC 9110 §9.1): refused before any rule or token.
	empty := gate.Request{Target: []byte("/reports/7")}
	empty.AddAuthorization([]byte("Bearer " + user))
	var d gate.Decision
	if e.g.Check(&empty, testNow, &d); d.Status != 403 || !errors.Is(d.Err, gate.ErrBadMethod) {
		t.Errorf("empty method: %d %q, want 403 invalid_request", d.Status, d.Reason)
	}
	for _, m := range []string{"DE LETE", "GET\x00", "DEL\tETE", "DÉLETE", "GET/1", "(GET)", "GE\"T"} {
		r := bearer(user)
		r.method, r.target = m, "/reports/7"
		d := e.check(r)
		if d.Status != 403 || d.Code != verifier.CodeInvalidRequest || !errors.Is(d.Err, gate.ErrBadMethod) {
			t.Errorf("method %q: %d %q %q, want 403 invalid_request", m, d.Status, d.Code, d.Reason)
		}
	}
}

// TestTwoCredentialsRefused (issue 12 item 11): nginx answers 400 to two
// Authorization headers, but Caddy forwarded both while tokengate
// verified only the first, so the application could read the other. A
// request with more than one credential — two Authorization headers, a
// token in two sources, a cookie or query parameter given twice — is
// refused (RFC 6750 §2: one method per request).
func TestTwoCredentialsRefused(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) {
		c.Token = gate.TokenSources{Header: true, Cookie: "at", Query: "access_token"}
	})
	tok, other := sign(t, e.es, nil), sign(t, e.es, map[string]any{"sub": "admin"})
	cases := map[string]req{
		"two Authorization headers":          {auth: []string{"Bearer " + tok, "Bearer " + other}},
		"Authorization Bearer and Basic":     {auth: []string{"Bearer " + tok, "Basic YTpi"}},
		"header and cookie":                  {auth: []string{"Bearer " + tok}, cookies: []string{"at=" + other}},
		"header and query":                   {auth: []string{"Bearer " + tok}, target: "/orders?access_token=" + other},
		"cookie twice in one header":         {cookies: []string{"at=" + tok + "; at=" + other}},
		"cookie in two headers":              {cookies: []string{"at=" + tok, "x=1; at=" + other}},
		"query parameter twice":              {target: "/orders?access_token=" + tok + "&access_token=" + other},
		"cookie and query, the same token":   {cookies: []string{"at=" + tok}, target: "/orders?access_token=" + tok},
		"two Authorization, the same token":  {auth: []string{"Bearer " + tok, "Bearer " + tok}},
		"an empty second Authorization line": {auth: []string{"Bearer " + tok, ""}},
	}
	for name, r := range cases {
		d := e.check(r)
		if d.Allow || d.Status != 401 || d.Code != verifier.CodeInvalidRequest || !errors.Is(d.Err, gate.ErrTwoCredentials) {
			t.Errorf("%s: %d %q %q, want 401 invalid_request", name, d.Status, d.Code, d.Reason)
		}
	}
	// One credential in any one source, other cookies and parameters
	// around it, passes.
	for name, r := range map[string]req{
		"header":                  bearer(tok),
		"cookie among others":     {cookies: []string{"a=1; at=" + tok + "; b=2"}},
		"quoted cookie":           {cookies: []string{`at="` + tok + `"`}},
		"query among others":      {target: "/orders?x=1&access_token=" + tok + "&y=2"},
		"empty other credentials": {cookies: []string{"at="}, target: "/orders?access_token=&q=1", auth: []string{"Bearer " + tok}},
	} {
		if d := e.check(r); d.Status != 200 {
			t.Errorf("%s: %d %q, want 200", name, d.Status, d.Reason)
		}
	}
}

// TestClaimValuesForwardedExactlyOrRefused (issue 12 item 5): control
// characters were deleted from forwarded claim values, so "ad\x00min",
// "ad\x7fmin" and "ad\tmin" all became "admin", and long values were cut
// silently. A value that cannot be written exactly is now refused; the
// json and sf formats encode it reversibly instead.
func TestClaimValuesForwardedExactlyOrRefused(t *testing.T) {
	text := newEnv(t, func(c *gate.Config) { c.MaxHeaderValue = 64 })
	for _, sub := range []string{"ad\x00min", "ad\x7fmin", "ad\tmin", "ad\rmin", "ad\nmin", " admin", "admin ", "ad\x1bmin"} {
		d := text.check(bearer(sign(t, text.es, map[string]any{"sub": sub})))
		if d.Allow || d.Status != 401 || !errors.Is(d.Err, gate.ErrUnforwardable) {
			t.Errorf("sub %q: %d %q, want 401 (cannot be forwarded exactly)", sub, d.Status, d.Reason)
		}
	}
	d := text.check(bearer(sign(t, text.es, map[string]any{"scope": "read ad\x00min"})))
	if d.Allow || !errors.Is(d.Err, gate.ErrUnforwardable) {
		t.Errorf("scope with NUL: %d %q, want 401", d.Status, d.Reason)
	}
	long := strings.Repeat("a", 65)
	if d := text.check(bearer(sign(t, text.es, map[string]any{"sub": long}))); d.Allow || !errors.Is(d.Err, gate.ErrClaimTooLarge) {
		t.Errorf("65-byte sub with a 64-byte limit: %d %q, want 401 (never cut)", d.Status, d.Reason)
	}
	if d := text.check(bearer(sign(t, text.es, map[string]any{"sub": long[:64]}))); !d.Allow {
		t.Errorf("64-byte sub: %d %q, want 200", d.Status, d.Reason)
	}
	// Non-ASCII text is forwarded as it is.
	if d := text.check(bearer(sign(t, text.es, map[string]any{"sub": "zoë"}))); !d.Allow {
		t.Errorf("sub zoë: %d %q", d.Status, d.Reason)
	} else if v, _ := header(d, "X-Auth-Subject"); v != "zoë" {
		t.Errorf("sub zoë forwarded as %q", v)
	}

	// Reversible formats: each distinct value stays distinct.
	for _, tc := range []struct {
		format gate.HeaderFormat
		subs   map[string]string // sub → header value
		refuse []string
	}{
		{gate.FormatJSON, map[string]string{
			"admin": `"admin"`, "ad\x00min": `"ad\u0000min"`, "ad\x7fmin": `"ad\u007fmin"`, "ad\tmin": `"ad\tmin"`,
			" admin": `" admin"`, `a"b`: `"a\"b"`, "zoë": `"zoë"`,
		}, nil},
		{gate.FormatSF, map[string]string{
			"admin": `"admin"`, " admin": `" admin"`, `a"b\c`: `"a\"b\\c"`,
		}, []string{"ad\x00min", "ad\x7fmin", "ad\tmin", "zoë"}},
	} {
		e := newEnv(t, func(c *gate.Config) {
			c.Headers = []gate.HeaderMapping{{Claim: "sub", Header: "X-Auth-Subject", Format: tc.format}}
		})
		for sub, want := range tc.subs {
			d := e.check(bearer(sign(t, e.es, map[string]any{"sub": sub})))
			if got, _ := header(d, "X-Auth-Subject"); !d.Allow || got != want {
				t.Errorf("%s: sub %q forwarded as %q (%d %q), want %q", tc.format, sub, got, d.Status, d.Reason, want)
			}
		}
		for _, sub := range tc.refuse {
			if d := e.check(bearer(sign(t, e.es, map[string]any{"sub": sub}))); d.Allow {
				t.Errorf("%s: sub %q accepted, want refused", tc.format, sub)
			}
		}
	}
}

// TestListClaimsUnambiguous (issue 12 item 6, first part): array elements
// were joined with "," unescaped, so roles ["user", "x,admin"] read as
// three roles, one of them admin, to an application splitting on ",".
func TestListClaimsUnambiguous(t *testing.T) {
	mapping := func(f gate.HeaderFormat) func(*gate.Config) {
		return func(c *gate.Config) {
			c.Headers = []gate.HeaderMapping{{Claim: "roles", Header: "X-Auth-Roles", Format: f}, {Claim: "scope", Header: "X-Auth-Scope", Format: f}}
		}
	}
	text, js, sf := newEnv(t, mapping("")), newEnv(t, mapping(gate.FormatJSON)), newEnv(t, mapping(gate.FormatSF))
	for _, roles := range []any{
		[]string{"user", "x,admin"}, []string{"user", ""}, []string{"user", " admin"},
		[]any{"user", []string{"admin"}}, []any{"user", map[string]any{"a": 1}}, map[string]any{"admin": true},
	} {
		if d := text.check(bearer(sign(t, text.es, map[string]any{"roles": roles}))); d.Allow {
			t.Errorf("text: roles %v forwarded as %v, want refused", roles, d.Set)
		}
	}
	for _, tc := range []struct {
		e    *env
		want string
	}{{text, "user,admin"}, {js, `["user","admin"]`}, {sf, `"user", "admin"`}} {
		d := tc.e.check(bearer(sign(t, tc.e.es, map[string]any{"roles": []string{"user", "admin"}})))
		if got, _ := header(d, "X-Auth-Roles"); got != tc.want {
			t.Errorf("roles [user admin]: %q, want %q", got, tc.want)
		}
	}
	for _, tc := range []struct {
		e    *env
		want string
	}{{js, `["user","x,admin"]`}, {sf, `"user", "x,admin"`}} {
		d := tc.e.check(bearer(sign(t, tc.e.es, map[string]any{"roles": []string{"user", "x,admin"}})))
		if got, _ := header(d, "X-Auth-Roles"); got != tc.want {
			t.Errorf("roles [user x,admin]: %q (%d %q), want %q", got, d.Status, d.Reason, tc.want)
		}
	}
	// Scopes are joined by spaces: an "scp" element holding a space would
	// read as two scopes in text.
	d := text.check(bearer(sign(t, text.es, map[string]any{"scope": nil, "scp": []string{"read", "x admin"}})))
	if d.Allow {
		t.Errorf("scp [read, \"x admin\"] forwarded as %v, want refused", d.Set)
	}
	d = js.check(bearer(sign(t, js.es, map[string]any{"scope": nil, "scp": []string{"read", "x admin"}})))
	if got, _ := header(d, "X-Auth-Scope"); got != `["read","x admin"]` {
		t.Errorf("json scopes: %q (%d %q)", got, d.Status, d.Reason)
	}
}

// TestClaimRuleNeedsStringAtPath (issue 12 item 6, second part):
// roles [["admin"]] met a claim rule roles: [admin]; only a string at the
// path, or a string directly inside an array there, may match.
func TestClaimRuleNeedsStringAtPath(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) {
		c.Headers = nil
		c.Routes = []gate.Route{{Prefix: "/admin", Claims: map[string][]string{"roles": {"admin"}}}}
	})
	for _, roles := range []any{
		[]any{[]string{"admin"}}, map[string]any{"admin": "admin"}, []any{map[string]any{"0": "admin"}},
		true, 1, nil, []string{"ADMIN"}, "admin ",
	} {
		over := map[string]any{"roles": roles}
		d := e.check(req{target: "/admin", auth: []string{"Bearer " + sign(t, e.es, over)}})
		if d.Allow {
			t.Errorf("roles %#v met the rule roles: [admin]", roles)
		}
	}
	for _, roles := range []any{"admin", []string{"admin"}, []any{"x", 1, "admin"}} {
		d := e.check(req{target: "/admin", auth: []string{"Bearer " + sign(t, e.es, map[string]any{"roles": roles})}})
		if !d.Allow {
			t.Errorf("roles %#v: %d %q, want it to meet the rule", roles, d.Status, d.Reason)
		}
	}
}

// TestForbiddenSaysWhichRule (issue 14 item 7): a failed claim rule
// answered only "insufficient scope"; the reason now names the rule's
// claim path (from the configuration, never a token value) and a scope
// rule's challenge carries RFC 6750 §3's scope attribute.
func TestForbiddenSaysWhichRule(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) {
		c.Routes = []gate.Route{
			{Prefix: "/admin", Scopes: []string{"admin", "audit:read"}},
			{Prefix: "/realm", Claims: map[string][]string{"realm_access.roles": {"boss"}, "tenant": {"t1"}}},
		}
	})
	tok := sign(t, e.es, map[string]any{"tenant": "t1"})
	d := e.check(req{target: "/admin/x", auth: []string{"Bearer " + tok}})
	if d.Status != 403 || !strings.Contains(string(d.Challenge), `error="insufficient_scope", error_description="insufficient scope", scope="admin audit:read"`) {
		t.Errorf("scope rule: %d %q", d.Status, d.Challenge)
	}
	d = e.check(req{target: "/realm", auth: []string{"Bearer " + tok}})
	if d.Status != 403 || d.Reason != "claim rule not met: realm_access.roles" || !errors.Is(d.Err, gate.ErrClaimRule) {
		t.Errorf("claim rule: %d %q %q", d.Status, d.Reason, d.Challenge)
	}
	if !strings.Contains(string(d.Challenge), `error_description="claim rule not met: realm_access.roles"`) || strings.Contains(string(d.Challenge), "viewer") {
		t.Errorf("claim rule challenge: %q", d.Challenge)
	}
	if gate.Label(d.Err) != "claim_rule" {
		t.Errorf("claim rule label %q", gate.Label(d.Err))
	}
}

// TestPathsApplicationsReadAsProtected (issue 12 item 12): with /admin
// protected, these reached the application as public paths, and
// applications read them as /admin: a decoded '#' or '?' cuts the path,
// IIS trims trailing dots and spaces, lenient decoders read overlong
// UTF-8, NFKC turns full-width letters into ASCII. Each is refused.
func TestPathsApplicationsReadAsProtected(t *testing.T) {
	routes := func(c *gate.Config) {
		c.Routes = []gate.Route{{Prefix: "/admin", Scopes: []string{"admin"}}, {Prefix: "/", Public: true}}
	}
	e := newEnv(t, routes)
	for _, p := range []string{
		"/admin%23", "/admin%3Fx", "/admin%3f", "/admin.", "/admin%2e", "/admin%2E", "/admin%20", "/admin...",
		"/public/%c0%ae%c0%ae/admin", "/public/..%c0%afadmin", "/%c0%aeadmin", "/admin%ff", "/adm%c3in",
		"/%EF%BD%81dmin", "/%EF%BD%81%EF%BD%84%EF%BD%8D%EF%BD%89%EF%BD%8E",
	} {
		d := e.check(req{target: p})
		if d.Status != 403 || !errors.Is(d.Err, gate.ErrBadPath) {
			t.Errorf("%q: %d %q, want 403 invalid_request", p, d.Status, d.Reason)
		}
	}
	// Legitimate neighbours stay as they were.
	for p, want := range map[string]int{"/admin.json": 200, "/v1.2/x": 200, "/caf%C3%A9": 200, "/admin": 401, "/Admin/x": 401} {
		if d := e.check(req{target: p}); d.Status != want {
			t.Errorf("%q: %d %q, want %d", p, d.Status, d.Reason, want)
		}
	}
	// paths.allow_ascii_lookalikes turns the NFKC refusal off: the
	// full-width path is then a path of its own (public here).
	lax := newEnv(t, func(c *gate.Config) { routes(c); c.AllowASCIILookalikes = true })
	if d := lax.check(req{target: "/%EF%BD%81dmin"}); d.Status != 200 {
		t.Errorf("full-width path with lookalikes allowed: %d %q", d.Status, d.Reason)
	}
}

// TestAmbiguousClaimPathRefused (issue 12 item 6, third part): a top-level
// claim literally named "realm_access.roles" overrode the nested
// realm_access.roles for headers and rules, so the token chose which one
// was read. A token where a path the gate reads names two places is
// refused; a JSON Pointer path names exactly one.
func TestAmbiguousClaimPathRefused(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) {
		c.Headers = []gate.HeaderMapping{{Claim: "realm_access.roles", Header: "X-Auth-Roles"}}
		c.Routes = []gate.Route{{Prefix: "/admin", Claims: map[string][]string{"org.role": {"admin"}}}}
	})
	both := map[string]any{"realm_access.roles": []string{"admin"}, "realm_access": map[string]any{"roles": []string{"viewer"}}}
	if d := e.check(bearer(sign(t, e.es, both))); d.Allow || d.Status != 401 || !errors.Is(d.Err, verifier.ErrAmbiguousClaim) {
		t.Errorf("header path resolving two ways: %d %q, want 401", d.Status, d.Reason)
	}
	rule := map[string]any{"org.role": "admin", "org": map[string]any{"role": "viewer"}}
	if d := e.check(req{target: "/admin", auth: []string{"Bearer " + sign(t, e.es, rule)}}); d.Allow || !errors.Is(d.Err, verifier.ErrAmbiguousClaim) {
		t.Errorf("rule path resolving two ways: %d %q, want 401", d.Status, d.Reason)
	}
	one := map[string]any{"org": map[string]any{"role": "admin"}}
	if d := e.check(req{target: "/admin", auth: []string{"Bearer " + sign(t, e.es, one)}}); !d.Allow {
		t.Errorf("nested path only: %d %q, want 200", d.Status, d.Reason)
	}
	ptr := newEnv(t, func(c *gate.Config) {
		c.Headers = []gate.HeaderMapping{{Claim: "/realm_access.roles", Header: "X-Auth-Roles"}}
	})
	d := ptr.check(bearer(sign(t, ptr.es, both)))
	if v, _ := header(d, "X-Auth-Roles"); !d.Allow || v != "admin" {
		t.Errorf("JSON Pointer to the top-level name: %d %q %q, want 200 with admin", d.Status, d.Reason, v)
	}
}
