package sidecar_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// How Envoy's ext_authz HTTP service and Traefik's ForwardAuth describe
// the original request to /verify (issue 13 item 4).
//
// Envoy (ext_authz_http_impl.cc, HttpService.path_prefix): the
// authorization request has the original method and, as its path, the
// path_prefix followed by the original path and query; only Host,
// Method, Path, Content-Length, Authorization and allowed_headers are
// copied, duplicate headers combined with ",". Traefik
// (pkg/middlewares/auth/forward.go): GET to the configured address with
// X-Forwarded-Method, -Uri, -Host, -Proto, -Port and -For set from the
// request, client headers as authRequestHeaders allows.

// TestEnvoyHTTPModePathPrefix: with listen.verify_path_prefix set, the
// request line's target is judged without the prefix, and a target
// outside it is refused instead of being judged as a path of its own (a
// route rule for /admin must not be bypassed because Envoy sends
// "/verify/admin").
func TestEnvoyHTTPModePathPrefix(t *testing.T) {
	f := newFixture(t, func(c *serverConfig) { c.PathPrefix = "/verify" })
	user := sign(t, f.es, nil)
	admin := sign(t, f.es, map[string]any{"scope": "admin"})
	cases := []struct {
		name, method, target, token string
		status                      int
		challenge                   string
	}{
		{"protected path", "GET", "/verify/orders/7?x=1", user, 200, ""},
		{"admin rule applies to the original path", "GET", "/verify/admin/users", user, 403, `error="insufficient_scope"`},
		{"admin rule met", "GET", "/verify/admin/users", admin, 200, ""},
		{"public rule applies without a token", "GET", "/verify/public/x", "", 200, ""},
		{"the original method is the request's", "delete", "/verify/reports/7", sign(t, f.es, map[string]any{"realm_access": nil}), 403, `error="insufficient_scope"`},
		{"prefix alone is the root", "GET", "/verify", user, 200, ""},
		{"dot segments after the prefix", "GET", "/verify/public/../admin", user, 403, `error="insufficient_scope"`},
		{"outside the prefix", "GET", "/admin/users", admin, 403, `error="invalid_request"`},
		{"prefix as part of a segment", "GET", "/verifyadmin", admin, 403, `error="invalid_request"`},
		{"query right after the prefix", "GET", "/verify?x=1", admin, 403, `error="invalid_request"`},
		{"prefix in another case", "GET", "/VERIFY/orders", admin, 403, `error="invalid_request"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := do(f, func(r *fasthttp.Request) {
				r.Header.SetMethod(c.method)
				r.SetRequestURI(c.target)
				if c.token != "" {
					r.Header.Set("Authorization", "Bearer "+c.token)
				}
			})
			if resp.StatusCode() != c.status {
				t.Fatalf("%s %s: %d %q, want %d", c.method, c.target, resp.StatusCode(), resp.Body(), c.status)
			}
			if got := string(resp.Header.Peek("WWW-Authenticate")); !strings.Contains(got, c.challenge) {
				t.Errorf("WWW-Authenticate %q, want %q in it", got, c.challenge)
			}
		})
	}
	// X-Original-URI (nginx) and X-Forwarded-Uri (Traefik, Caddy) still
	// name the original request on the same listener, prefix or not.
	resp := do(f, func(r *fasthttp.Request) {
		r.SetRequestURI("/anything")
		r.Header.Set("X-Forwarded-Uri", "/admin/users")
		r.Header.Set("Authorization", "Bearer "+user)
	})
	if resp.StatusCode() != 403 || !strings.Contains(string(resp.Header.Peek("WWW-Authenticate")), "insufficient_scope") {
		t.Errorf("X-Forwarded-Uri with a prefix configured: %d %q", resp.StatusCode(), resp.Header.Peek("WWW-Authenticate"))
	}
}

// TestEnvoyHTTPModeCombinedAuthorization: Envoy's HTTP mode builds the
// authorization request from the combined header map, so two
// Authorization headers arrive as one "Bearer a,Bearer b": refused like
// two header lines.
func TestEnvoyHTTPModeCombinedAuthorization(t *testing.T) {
	f := newFixture(t, nil)
	tok := sign(t, f.es, nil)
	resp := do(f, func(r *fasthttp.Request) {
		r.SetRequestURI("/orders/7")
		r.Header.Set("Authorization", "Bearer "+tok+",Bearer "+tok)
	})
	if resp.StatusCode() != 401 || !strings.Contains(string(resp.Header.Peek("WWW-Authenticate")), `error="invalid_request"`) {
		t.Errorf("combined Authorization: %d %q", resp.StatusCode(), resp.Header.Peek("WWW-Authenticate"))
	}
}

// TestEnvoyRemoveHeaderNamesWhatWasNotSet: an allowed answer lists in
// X-Envoy-Auth-Headers-To-Remove every configured header it did not set,
// and the "_" spelling of every configured header, so that Envoy removes
// a client's forged copy; never one it set (Envoy removes after it
// sets), and nothing on a refusal.
func TestEnvoyRemoveHeaderNamesWhatWasNotSet(t *testing.T) {
	f := newFixture(t, nil)
	all := []string{"X-Auth-Subject", "X-Auth-Issuer", "X-Auth-Scope", "X-Auth-Expires", "X-Auth-Roles", "X-Auth-Client", "X-Auth-Key-Id"}
	cases := []struct {
		name, target, token string
		unset               []string
	}{
		{"user token: no client label, no roles", "/orders", sign(t, f.es, map[string]any{"realm_access": nil}), []string{"X-Auth-Roles", "X-Auth-Client"}},
		{"API client token: no scope, no roles", "/orders", sign(t, f.client, map[string]any{"scope": nil, "realm_access": nil}), []string{"X-Auth-Scope", "X-Auth-Roles"}},
		{"public route: every name", "/public/x", "", all},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := do(f, func(r *fasthttp.Request) {
				r.Header.Set("X-Original-URI", c.target)
				if c.token != "" {
					r.Header.Set("Authorization", "Bearer "+c.token)
				}
			})
			if resp.StatusCode() != 200 {
				t.Fatalf("status %d %q", resp.StatusCode(), resp.Body())
			}
			got := strings.Split(string(resp.Header.Peek("X-Envoy-Auth-Headers-To-Remove")), ", ")
			want := slices.Clone(c.unset)
			for _, name := range all { // CGI-style servers read X_Auth_Subject as X-Auth-Subject
				want = append(want, strings.ReplaceAll(name, "-", "_"))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("X-Envoy-Auth-Headers-To-Remove %q, want %q", got, want)
			}
			for _, name := range c.unset {
				if v := resp.Header.Peek(name); v != nil {
					t.Errorf("%s listed for removal but set to %q", name, v)
				}
			}
		})
	}
	resp := do(f, func(r *fasthttp.Request) { r.Header.Set("X-Original-URI", "/orders") })
	if resp.StatusCode() != 401 || resp.Header.Peek("X-Envoy-Auth-Headers-To-Remove") != nil {
		t.Errorf("refusal: %d, removal list %q", resp.StatusCode(), resp.Header.Peek("X-Envoy-Auth-Headers-To-Remove"))
	}
}

// TestTraefikForwardAuthRequest: the request exactly as Traefik v3 sends
// it with trustForwardHeader false (GET to the address, the original in
// X-Forwarded-*; the client's own X-Forwarded-* deleted first).
func TestTraefikForwardAuthRequest(t *testing.T) {
	f := newFixture(t, nil)
	user := sign(t, f.es, map[string]any{"realm_access": nil})
	for _, c := range []struct {
		method, uri string
		status      int
	}{
		{"GET", "/orders/7?x=1", 200},
		{"delete", "/reports/7", 403}, // the [DELETE] rule, in any case
		{"GET", "/admin/users", 403},
		{"POST", "/public/form", 200},
		{"GET", "/public/..%2fadmin", 403},
	} {
		resp := do(f, func(r *fasthttp.Request) {
			r.Header.SetMethod("GET")
			r.SetRequestURI("/verify")
			r.Header.Set("Authorization", "Bearer "+user)
			r.Header.Set("X-Forwarded-For", "203.0.113.7")
			r.Header.Set("X-Forwarded-Method", c.method)
			r.Header.Set("X-Forwarded-Proto", "https")
			r.Header.Set("X-Forwarded-Port", "443")
			r.Header.Set("X-Forwarded-Host", "app.example")
			r.Header.Set("X-Forwarded-Uri", c.uri)
		})
		if resp.StatusCode() != c.status {
			t.Errorf("%s %s: %d %q, want %d", c.method, c.uri, resp.StatusCode(), resp.Body(), c.status)
		}
	}
}
