package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/tokengate/tokengate/internal/frontendtest"
)

// diffConfig is the one configuration file every front end of the
// differential test is built from (build.New, and the CLI reads it too):
// three token sources, an audience, claim headers in two formats, route
// rules on scopes, methods and claims, decryption keys and a revocation
// file.
const diffConfig = `
listen:
  verify: 127.0.0.1:0
  admin: 127.0.0.1:0
  ext_authz_grpc: 127.0.0.1:0
  verify_path_prefix: /ext-authz
watch_keys: false
keys:
  - file: es.jwks.json
    issuer: ` + frontendtest.Issuer + `
policy:
  audiences: [api]
token:
  header: true
  cookie: tg_session
  query: access_token
headers:
  claims:
    - {claim: sub, header: X-Auth-Subject}
    - {claim: iss, header: X-Auth-Issuer}
    - {claim: scope, header: X-Auth-Scope}
    - {claim: exp, header: X-Auth-Expires}
    - {claim: roles, header: X-Auth-Roles, format: sf}
routes:
  - {prefix: /public, public: true}
  - {prefix: /admin, scopes: [admin]}
  - {prefix: /reports, methods: [DELETE, POST, PUT], scopes: [admin]}
  - {prefix: /secrets, methods: [GET], scopes: [admin]}
  - {prefix: /billing, claims: {roles: [billing]}}
decryption:
  keys:
    - {file: enc.key.pem, alg: ECDH-ES+A256KW, kid: enc-1}
revocation:
  file: revoked.json
`

// diffRow is one request of the differential table: the original
// request's method and target and the credential lines it carries, and
// the decision every front end must give.
type diffRow struct {
	name    string
	method  string
	target  string
	auth    []string // Authorization header lines
	cookies []string // Cookie header lines
	status  int
	reason  string // contained in the reason of a refusal
}

// outcome is a decision as a client of one front end sees it.
type outcome struct {
	status    int
	reason    string            // the refusal's reason ("" when allowed)
	challenge string            // WWW-Authenticate
	headers   map[string]string // forwarded claim headers, lower-case names (allowed only)
	skipped   string            // why this front end cannot send the row ("" when it did)
}

func (o outcome) String() string {
	if o.skipped != "" {
		return "— (" + o.skipped + ")"
	}
	if o.status == 200 {
		keys := slices.Sorted(maps.Keys(o.headers))
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%q", k, o.headers[k])
		}
		return "200" + b.String()
	}
	return fmt.Sprintf("%d %q [%s]", o.status, o.reason, o.challenge)
}

func (o outcome) equal(p outcome) bool {
	return o.status == p.status && o.reason == p.reason && o.challenge == p.challenge && maps.Equal(o.headers, p.headers)
}

// diffRows is the table: valid, expired, revoked, forged, encrypted,
// wrong audience, public and protected routes, scopes, claim rules, paths
// applications read two ways, lower-case methods, HEAD on a GET rule,
// duplicate credentials, tokens in the cookie and the query.
func diffRows(t *testing.T, env *frontendtest.Env) []diffRow {
	tok := func(over map[string]any) string {
		c := map[string]any{"aud": "api", "scope": "read", "roles": []string{"user"}}
		maps.Copy(c, over)
		return env.Token(t, c)
	}
	good := tok(nil)
	admin := tok(map[string]any{"sub": "root", "scope": "admin read", "roles": []string{"admin", "billing"}})
	other := tok(map[string]any{"sub": "other"})
	enc := env.Encrypted(t, map[string]any{"aud": "api", "scope": "read", "roles": []string{"user"}})
	encParts := strings.Split(enc, ".")
	// One character of the ciphertext, changed (never to itself: a
	// ciphertext that starts with "A" would stay untouched).
	swap := "A"
	if encParts[3][0] == 'A' {
		swap = "B"
	}
	encParts[3] = swap + encParts[3][1:]
	tampered := strings.Join(encParts, ".")
	past := time.Now().Add(-time.Hour).Unix()
	future := time.Now().Add(time.Hour).Unix()
	b := func(s string) []string { return []string{"Bearer " + s} }
	const (
		missing   = "missing bearer token"
		badPath   = "request path cannot be normalised"
		twoCreds  = "more than one credential in the request"
		scope     = "insufficient scope"
		claimRule = "claim rule not met"
	)
	return []diffRow{
		{name: "valid", method: "GET", target: "/orders/7", auth: b(good), status: 200},
		{name: "valid, with a query", method: "GET", target: "/orders/7?x=1&y=2", auth: b(good), status: 200},
		{name: "valid, HEAD", method: "HEAD", target: "/orders/7", auth: b(good), status: 200},
		{name: "valid, POST", method: "POST", target: "/orders", auth: b(good), status: 200},
		{name: "valid, lower-case method", method: "get", target: "/orders/7", auth: b(good), status: 200},
		{name: "valid, lower-case scheme", method: "GET", target: "/orders/7", auth: []string{"bearer " + good}, status: 200},
		{name: "expired", method: "GET", target: "/orders/7", auth: b(tok(map[string]any{"exp": past})), status: 401, reason: "expired"},
		{name: "not yet valid", method: "GET", target: "/orders/7", auth: b(tok(map[string]any{"nbf": future})), status: 401},
		{name: "revoked", method: "GET", target: "/orders/7", auth: b(tok(map[string]any{"jti": "revoked-1"})), status: 401, reason: "revoked"},
		{name: "forged signature", method: "GET", target: "/orders/7", auth: b(env.Forged(t, map[string]any{"aud": "api", "scope": "admin"})), status: 401, reason: "signature"},
		{name: "garbage token", method: "GET", target: "/orders/7", auth: b("not.a.token"), status: 401},
		{name: "wrong audience", method: "GET", target: "/orders/7", auth: b(tok(map[string]any{"aud": "other-api"})), status: 401, reason: "audience"},
		{name: "no audience", method: "GET", target: "/orders/7", auth: b(tok(map[string]any{"aud": nil})), status: 401},
		{name: "encrypted", method: "GET", target: "/orders/7", auth: b(enc), status: 200},
		{name: "encrypted, tampered", method: "GET", target: "/orders/7", auth: b(tampered), status: 401},
		{name: "encrypted, revoked inside", method: "GET", target: "/orders/7", auth: b(env.Encrypted(t, map[string]any{"aud": "api", "jti": "revoked-1"})), status: 401, reason: "revoked"},
		{name: "claim that cannot be forwarded", method: "GET", target: "/orders/7", auth: b(tok(map[string]any{"sub": "ad\x00min"})), status: 401, reason: "forwarded"},
		{name: "token too large", method: "GET", target: "/orders/7", auth: b(tok(map[string]any{"pad": strings.Repeat("x", 9000)})), status: 401},
		{name: "list claim with a comma (sf)", method: "GET", target: "/orders/7", auth: b(tok(map[string]any{"roles": []string{"a,b", "c"}})), status: 200},
		{name: "no token", method: "GET", target: "/orders/7", status: 401, reason: missing},
		{name: "Basic credentials only", method: "GET", target: "/orders/7", auth: []string{"Basic dXNlcjpwYXNz"}, status: 401, reason: missing},
		{name: "public, no token", method: "GET", target: "/public/logo.png", status: 200},
		{name: "public, with a token", method: "GET", target: "/public/logo.png", auth: b(good), status: 200},
		{name: "public, forged token", method: "GET", target: "/public/x", auth: b("not.a.token"), status: 200},
		{name: "public, lower-case POST", method: "post", target: "/public/form", status: 200},
		{name: "admin without the scope", method: "GET", target: "/admin/users", auth: b(good), status: 403, reason: scope},
		{name: "admin with the scope", method: "GET", target: "/admin/users", auth: b(admin), status: 200},
		{name: "admin, upper case", method: "GET", target: "/ADMIN/users", auth: b(good), status: 403, reason: scope},
		{name: "admin, trailing slash", method: "GET", target: "/admin/", auth: b(good), status: 403, reason: scope},
		{name: "admin, no token", method: "GET", target: "/admin/users", status: 401, reason: missing},
		{name: "dot segments into admin", method: "GET", target: "/public/../admin/users", auth: b(good), status: 403, reason: scope},
		{name: "encoded dot segments into admin", method: "GET", target: "/public/%2e%2e/admin", auth: b(good), status: 403, reason: scope},
		{name: "matrix parameter", method: "GET", target: "/public/..;/admin", auth: b(admin), status: 403, reason: badPath},
		{name: "encoded slash", method: "GET", target: "/admin%2fusers", auth: b(admin), status: 403, reason: badPath},
		{name: "encoded #", method: "GET", target: "/admin%23", auth: b(admin), status: 403, reason: badPath},
		{name: "encoded ?", method: "GET", target: "/admin%3Fx", auth: b(admin), status: 403, reason: badPath},
		{name: "segment ending in a dot", method: "GET", target: "/admin.", auth: b(admin), status: 403, reason: badPath},
		{name: "encoded trailing space", method: "GET", target: "/admin%20", auth: b(admin), status: 403, reason: badPath},
		{name: "overlong UTF-8 dots", method: "GET", target: "/%c0%ae%c0%ae/admin", auth: b(admin), status: 403, reason: badPath},
		{name: "full-width letter", method: "GET", target: "/%EF%BD%81dmin", auth: b(admin), status: 403, reason: badPath},
		{name: "encoded unreserved letter", method: "GET", target: "/%61dmin/users", auth: b(good), status: 403, reason: scope},
		{name: "doubled slashes", method: "GET", target: "//admin//users", auth: b(good), status: 403, reason: scope},
		{name: "DELETE on a method rule", method: "DELETE", target: "/reports/7", auth: b(good), status: 403, reason: scope},
		{name: "delete on a method rule", method: "delete", target: "/reports/7", auth: b(good), status: 403, reason: scope},
		{name: "Delete on a method rule", method: "Delete", target: "/reports/7", auth: b(good), status: 403, reason: scope},
		{name: "GET outside the method rule", method: "GET", target: "/reports/7", auth: b(good), status: 200},
		{name: "DELETE with the scope", method: "DELETE", target: "/reports/7", auth: b(admin), status: 200},
		{name: "HEAD on a GET rule", method: "HEAD", target: "/secrets/1", auth: b(good), status: 403, reason: scope},
		{name: "head on a GET rule", method: "head", target: "/secrets/1", auth: b(good), status: 403, reason: scope},
		{name: "POST outside a GET rule", method: "POST", target: "/secrets/1", auth: b(good), status: 200},
		{name: "GET rule with the scope", method: "GET", target: "/secrets/1", auth: b(admin), status: 200},
		{name: "claim rule not met", method: "GET", target: "/billing/invoices", auth: b(good), status: 403, reason: claimRule},
		{name: "claim rule met", method: "GET", target: "/billing/invoices", auth: b(admin), status: 200},
		{name: "nested array claim (cannot be forwarded)", method: "GET", target: "/billing/invoices", auth: b(tok(map[string]any{"roles": [][]string{{"billing"}}})), status: 401, reason: "forwarded"},
		{name: "two Authorization headers", method: "GET", target: "/orders/7", auth: []string{"Bearer " + good, "Bearer " + other}, status: 401, reason: twoCreds},
		{name: "two Authorization headers, one token", method: "GET", target: "/orders/7", auth: []string{"Bearer " + good, "Bearer " + good}, status: 401, reason: twoCreds},
		{name: "Authorization and cookie", method: "GET", target: "/orders/7", auth: b(good), cookies: []string{"tg_session=" + other}, status: 401, reason: twoCreds},
		{name: "Authorization and query", method: "GET", target: "/orders/7?access_token=" + other, auth: b(good), status: 401, reason: twoCreds},
		{name: "token in the cookie", method: "GET", target: "/orders/7", cookies: []string{"theme=dark; tg_session=" + good}, status: 200},
		{name: "token in the second Cookie line", method: "GET", target: "/orders/7", cookies: []string{"theme=dark", "tg_session=" + good}, status: 200},
		{name: "cookie twice in one line", method: "GET", target: "/orders/7", cookies: []string{"tg_session=" + good + "; tg_session=" + other}, status: 401, reason: twoCreds},
		{name: "cookie in two lines", method: "GET", target: "/orders/7", cookies: []string{"tg_session=" + good, "tg_session=" + other}, status: 401, reason: twoCreds},
		{name: "token in the query", method: "GET", target: "/orders/7?x=1&access_token=" + good, status: 200},
		{name: "query parameter twice", method: "GET", target: "/orders/7?access_token=" + good + "&access_token=" + other, status: 401, reason: twoCreds},
		{name: "admin token in the cookie on admin", method: "DELETE", target: "/admin/users/3", cookies: []string{"tg_session=" + admin}, status: 200},
	}
}

// TestFrontEndsAgree sends every row of the table through every front
// end built from one configuration file — the CLI (tokengate verify),
// fasthttp /verify as nginx calls it, the net/http middleware, the Envoy
// ext_authz gRPC service, /verify as Envoy's HTTP mode and as Traefik's
// ForwardAuth call it — and requires the same status, reason, challenge
// and forwarded headers from each; on any difference it prints the
// table.
func TestFrontEndsAgree(t *testing.T) {
	fe := newFrontEnds(t)
	rows := diffRows(t, fe.env)
	if len(rows) < 50 {
		t.Fatalf("the table has %d rows; it needs at least 50", len(rows))
	}
	var report strings.Builder
	tw := tabwriter.NewWriter(&report, 0, 4, 2, ' ', 0)
	bad := 0
	answered := map[string]int{}
	for _, r := range rows {
		got := fe.run(t, r)
		for _, g := range got {
			if g.o.skipped == "" {
				answered[g.name]++
			}
		}
		ref := got[0].o
		ok := ref.status == r.status && strings.Contains(ref.reason, r.reason)
		for _, g := range got[1:] {
			if g.o.skipped == "" && !g.o.equal(ref) {
				ok = false
			}
		}
		if ok {
			continue
		}
		bad++
		fmt.Fprintf(tw, "%s\t(%s %s; want %d %q)\t\n", r.name, r.method, r.target, r.status, r.reason)
		for _, g := range got {
			fmt.Fprintf(tw, "\t%s\t%s\n", g.name, g.o)
		}
	}
	tw.Flush()
	for name, n := range answered {
		if n < len(rows)/2 {
			t.Errorf("%s answered %d of %d rows: too few to compare", name, n, len(rows))
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d rows differ between front ends or from what they should be:\n%s", bad, len(rows), report.String())
	}
}
