package extauthz_test

import (
	"context"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tokengate/tokengate/extauthz"
	"github.com/tokengate/tokengate/internal/frontendtest"
)

const testConfig = `
listen:
  verify: 127.0.0.1:0
  admin: 127.0.0.1:0
  ext_authz_grpc: 127.0.0.1:0
watch_keys: false
keys:
  - file: es.jwks.json
    issuer: ` + frontendtest.Issuer + `
token:
  header: true
  cookie: tg_session
headers:
  claims:
    - claim: sub
      header: X-Auth-Subject
    - claim: scope
      header: X-Auth-Scope
routes:
  - prefix: /public
    public: true
  - prefix: /admin
    scopes: [admin]
decryption:
  keys:
    - file: enc.key.pem
      alg: ECDH-ES+A256KW
      kid: enc-1
revocation:
  file: revoked.json
`

// service is a running Authorization service and a real gRPC client of
// it over TCP.
type service struct {
	env    *frontendtest.Env
	srv    *extauthz.Server
	client authv3.AuthorizationClient
	addr   string
}

func newService(t testing.TB, o extauthz.Options) *service {
	t.Helper()
	env := frontendtest.New(t, testConfig, "revoked-jti")
	srv, err := extauthz.New(env.Parts.Gate, o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &service{env: env, srv: srv, client: authv3.NewAuthorizationClient(conn), addr: ln.Addr().String()}
}

// checkRequest is what Envoy sends for an HTTP request: method, path and
// the headers map (lower-case names, duplicate lines combined with ",").
func checkRequest(method, path string, headers map[string]string) *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: method, Path: path, Headers: headers, Host: "app.example", Scheme: "https", Protocol: "HTTP/1.1"},
	}}}
}

// rawCheckRequest is the same with encode_raw_headers: every header line
// in header_map, values in raw_value.
func rawCheckRequest(method, path string, lines [][2]string) *authv3.CheckRequest {
	hm := &corev3.HeaderMap{}
	for _, l := range lines {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: l[0], RawValue: []byte(l[1])})
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: method, Path: path, HeaderMap: hm},
	}}}
}

// answer is a CheckResponse as the differences a client sees.
type answer struct {
	code      codes.Code
	status    int // HTTP status of a denial, 200 when allowed
	set       map[string]string
	remove    []string
	challenge string
	body      string
}

func (s *service) check(t *testing.T, cr *authv3.CheckRequest) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := s.client.Check(ctx, cr)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	a := answer{code: codes.Code(resp.GetStatus().GetCode()), set: map[string]string{}}
	if ok := resp.GetOkResponse(); ok != nil {
		a.status = 200
		for _, h := range ok.GetHeaders() {
			if h.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
				t.Errorf("header %s: append action %v, want OVERWRITE_IF_EXISTS_OR_ADD", h.GetHeader().GetKey(), h.GetAppendAction())
			}
			a.set[strings.ToLower(h.GetHeader().GetKey())] = h.GetHeader().GetValue()
		}
		for _, name := range ok.GetHeadersToRemove() {
			a.remove = append(a.remove, strings.ToLower(name))
		}
	}
	if d := resp.GetDeniedResponse(); d != nil {
		a.status, a.body = int(d.GetStatus().GetCode()), d.GetBody()
		for _, h := range d.GetHeaders() {
			if strings.EqualFold(h.GetHeader().GetKey(), "WWW-Authenticate") {
				a.challenge = h.GetHeader().GetValue()
			}
		}
	}
	return a
}

func TestCheckOverGRPC(t *testing.T) {
	s := newService(t, extauthz.Options{})
	env := s.env
	user := env.Token(t, map[string]any{"scope": "read"})
	admin := env.Token(t, map[string]any{"sub": "root", "scope": "admin"})
	bearer := func(tok string) map[string]string {
		return map[string]string{"authorization": "Bearer " + tok, "x-auth-subject": "forged"}
	}
	const (
		realm   = `Bearer realm="tokengate"`
		invalid = realm + `, error="invalid_token"`
		badReq  = `error="invalid_request"`
		scope   = `error="insufficient_scope"`
	)
	cases := []struct {
		name      string
		req       *authv3.CheckRequest
		code      codes.Code
		status    int
		set       map[string]string
		challenge string // contained in WWW-Authenticate
	}{
		{"valid token", checkRequest("GET", "/orders/7?x=1", bearer(user)), codes.OK, 200,
			map[string]string{"x-auth-subject": "user-42", "x-auth-scope": "read", "x-auth-key-id": frontendtest.KID}, ""},
		{"encrypted token", checkRequest("GET", "/orders/7", bearer(env.Encrypted(t, map[string]any{"scope": "read"}))), codes.OK, 200,
			map[string]string{"x-auth-subject": "user-42", "x-auth-scope": "read", "x-auth-key-id": frontendtest.KID}, ""},
		{"token in the cookie", checkRequest("GET", "/orders/7", map[string]string{"cookie": "a=1; tg_session=" + user}), codes.OK, 200,
			map[string]string{"x-auth-subject": "user-42", "x-auth-scope": "read", "x-auth-key-id": frontendtest.KID}, ""},
		{"public route, no token", checkRequest("POST", "/public/form", nil), codes.OK, 200, map[string]string{}, ""},
		{"admin route with the scope", checkRequest("delete", "/admin/users/3", bearer(admin)), codes.OK, 200,
			map[string]string{"x-auth-subject": "root", "x-auth-scope": "admin", "x-auth-key-id": frontendtest.KID}, ""},
		{"no token", checkRequest("GET", "/orders/7", nil), codes.Unauthenticated, 401, nil, realm},
		{"expired", checkRequest("GET", "/orders/7", bearer(env.Token(t, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}))), codes.Unauthenticated, 401, nil, invalid + `, error_description="token expired"`},
		{"forged", checkRequest("GET", "/orders/7", bearer(env.Forged(t, nil))), codes.Unauthenticated, 401, nil, invalid},
		{"revoked", checkRequest("GET", "/orders/7", bearer(env.Token(t, map[string]any{"jti": "revoked-jti"}))), codes.Unauthenticated, 401, nil, invalid + `, error_description="token revoked"`},
		{"admin route without the scope", checkRequest("GET", "/ADMIN/users", bearer(user)), codes.PermissionDenied, 403, nil, scope},
		{"admin route through dot segments", checkRequest("GET", "/public/%2e%2e/admin", bearer(user)), codes.PermissionDenied, 403, nil, scope},
		{"a path refused", checkRequest("GET", "/public/..;/admin", bearer(admin)), codes.PermissionDenied, 403, nil, badReq},
		{"two Authorization lines, combined by Envoy", checkRequest("GET", "/orders/7", map[string]string{"authorization": "Bearer " + user + ",Bearer " + admin}), codes.Unauthenticated, 401, nil, badReq},
		{"the name in two spellings", checkRequest("GET", "/orders/7", map[string]string{"authorization": "Bearer " + user, "Authorization": "Bearer " + admin}), codes.Unauthenticated, 401, nil, badReq},
		{"header and cookie", checkRequest("GET", "/orders/7", map[string]string{"authorization": "Bearer " + user, "cookie": "tg_session=" + admin}), codes.Unauthenticated, 401, nil, badReq},
		{"two Cookie lines, combined by Envoy", checkRequest("GET", "/orders/7", map[string]string{"cookie": "tg_session=" + user + ",tg_session=" + admin}), codes.Unauthenticated, 401, nil, badReq},
		{"raw header lines: one token", rawCheckRequest("GET", "/orders/7", [][2]string{{"authorization", "Bearer " + user}, {"x-auth-scope", "admin"}}), codes.OK, 200,
			map[string]string{"x-auth-subject": "user-42", "x-auth-scope": "read", "x-auth-key-id": frontendtest.KID}, ""},
		{"raw header lines: two Authorization", rawCheckRequest("GET", "/orders/7", [][2]string{{"authorization", "Bearer " + user}, {"authorization", "Bearer " + admin}}), codes.Unauthenticated, 401, nil, badReq},
		{"not an HTTP check", &authv3.CheckRequest{}, codes.PermissionDenied, 403, nil, badReq},
	}
	all := []string{"x-auth-subject", "x-auth-scope", "x-auth-client", "x-auth-key-id"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := s.check(t, c.req)
			if a.code != c.code || a.status != c.status {
				t.Fatalf("gRPC %v, HTTP %d (%q); want %v, %d", a.code, a.status, a.body, c.code, c.status)
			}
			if c.status != 200 {
				if !strings.HasPrefix(a.challenge, realm) || !strings.Contains(a.challenge, c.challenge) {
					t.Errorf("WWW-Authenticate %q, want %q in it", a.challenge, c.challenge)
				}
				if a.body == "" || !strings.HasSuffix(a.body, "\n") {
					t.Errorf("body %q: want the reason and a newline, as /verify", a.body)
				}
				return
			}
			if !maps.Equal(a.set, c.set) {
				t.Errorf("headers set %v, want %v", a.set, c.set)
			}
			// Every configured name is either set or removed, never both;
			// its "_" spelling is always removed.
			for _, name := range all {
				_, set := a.set[name]
				if removed := slices.Contains(a.remove, name); set == removed {
					t.Errorf("%s: set %v, removed %v (remove list %v)", name, set, removed, a.remove)
				}
				if u := strings.ReplaceAll(name, "-", "_"); !slices.Contains(a.remove, u) {
					t.Errorf("%s not removed (remove list %v)", u, a.remove)
				}
			}
		})
	}
}

// TestEnvoyAppliesTheAnswer applies the answer to the request as Envoy's
// ext_authz filter does (onComplete: set each header, replacing every
// copy, then remove the listed names) and checks what the upstream gets:
// tokengate's claim headers and no client copy of any configured name,
// in any letter case or number of copies, or with "_" for "-".
func TestEnvoyAppliesTheAnswer(t *testing.T) {
	s := newService(t, extauthz.Options{})
	tok := s.env.Token(t, map[string]any{"sub": "alice", "scope": nil})
	forged := [][2]string{
		{"x-auth-subject", "admin"}, {"x-auth-subject", "root"}, {"x-auth-scope", "admin"}, {"x_auth_subject", "admin"},
		{"x-auth-client", "billing"}, {"x-auth-key-id", "other"}, {"x-request-id", "r-1"},
	}
	for _, path := range []string{"/orders/7", "/public/x"} {
		lines := append([][2]string{{"authorization", "Bearer " + tok}}, forged...)
		a := s.check(t, rawCheckRequest("GET", path, lines))
		if a.status != 200 {
			t.Fatalf("%s: %d %q", path, a.status, a.body)
		}
		upstream := envoyApply(lines, a)
		want := map[string]string{"authorization": "Bearer " + tok, "x-request-id": "r-1"}
		if path == "/orders/7" {
			want["x-auth-subject"], want["x-auth-key-id"] = "alice", frontendtest.KID
		}
		if !maps.Equal(upstream, want) {
			t.Errorf("%s: the upstream gets %v, want %v", path, upstream, want)
		}
	}
}

// envoyApply is Envoy's handling of an OkHttpResponse on the request's
// header lines (names lower case): headers_to_set (setCopy: every copy
// replaced), then headers_to_remove. Duplicates left are joined with
// " | " so that a test sees them.
func envoyApply(lines [][2]string, a answer) map[string]string {
	var out [][2]string
	out = append(out, lines...)
	for name, v := range a.set {
		out = slices.DeleteFunc(out, func(l [2]string) bool { return l[0] == name })
		out = append(out, [2]string{name, v})
	}
	for _, name := range a.remove {
		out = slices.DeleteFunc(out, func(l [2]string) bool { return l[0] == name })
	}
	m := map[string]string{}
	for _, l := range out {
		if prev, ok := m[l[0]]; ok {
			m[l[0]] = prev + " | " + l[1]
		} else {
			m[l[0]] = l[1]
		}
	}
	return m
}

// TestReloadedConfigurationApplies: the service asks the gate the
// configuration reload swaps (SIGHUP's build.Parts.Reload), so a new
// route rule applies to the next Check.
func TestReloadedConfigurationApplies(t *testing.T) {
	s := newService(t, extauthz.Options{})
	tok := s.env.Token(t, map[string]any{"scope": "read"})
	req := checkRequest("GET", "/reports/1", map[string]string{"authorization": "Bearer " + tok})
	if a := s.check(t, req); a.status != 200 {
		t.Fatalf("before reload: %d", a.status)
	}
	next := *s.env.Config
	next.Routes = append(slices.Clone(next.Routes), next.Routes[1])
	next.Routes[len(next.Routes)-1].Prefix = "/reports"
	if err := s.env.Parts.Reload(&next); err != nil {
		t.Fatal(err)
	}
	if a := s.check(t, req); a.status != 403 || !strings.Contains(a.challenge, "insufficient_scope") {
		t.Errorf("after reload: %d %q, want 403 insufficient_scope", a.status, a.challenge)
	}
}

// TestOversizedCheckRequest: a CheckRequest beyond MaxRequestBytes is
// refused by gRPC before the gate sees it (Envoy then applies
// status_on_error: fail closed).
func TestOversizedCheckRequest(t *testing.T) {
	s := newService(t, extauthz.Options{MaxRequestBytes: 8 << 10})
	req := checkRequest("GET", "/orders", map[string]string{"authorization": "Bearer " + strings.Repeat("a", 16<<10)})
	_, err := s.client.Check(context.Background(), req)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized request: %v, want RESOURCE_EXHAUSTED", err)
	}
	if a := s.check(t, checkRequest("GET", "/public/x", nil)); a.status != 200 {
		t.Errorf("a normal request after it: %d", a.status)
	}
}
