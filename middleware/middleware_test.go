package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/frontendtest"
	"github.com/tokengate/tokengate/middleware"
)

const testConfig = `
listen:
  verify: 127.0.0.1:0
  admin: 127.0.0.1:0
watch_keys: false
keys:
  - file: es.jwks.json
    issuer: ` + frontendtest.Issuer + `
token:
  header: true
  cookie: tg_session
routes:
  - prefix: /public
    public: true
  - prefix: /admin
    scopes: [admin]
  - prefix: /reports
    methods: [DELETE]
    scopes: [admin]
revocation:
  file: revoked.json
`

// seen is what the wrapped application saw of one request.
type seen struct {
	method, uri string
	header      http.Header
	hasToken    bool
	subject     string
	scopes      []string
	claims      map[string]any
}

// app is the application behind the middleware: it records each request
// under its X-Test-Id.
type app struct {
	mu   sync.Mutex
	seen map[string]seen
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := seen{method: r.Method, uri: r.RequestURI, header: r.Header.Clone()}
	if tok, ok := middleware.TokenFrom(r.Context()); ok {
		s.hasToken, s.subject, s.scopes = true, tok.Subject(), tok.Scopes()
		json.Unmarshal(tok.Claims(), &s.claims)
	}
	a.mu.Lock()
	a.seen[r.Header.Get("X-Test-Id")] = s
	a.mu.Unlock()
	io.WriteString(w, "app\n")
}

func (a *app) request(id string) (seen, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.seen[id]
	return s, ok
}

type fixture struct {
	env  *frontendtest.Env
	app  *app
	addr string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	env := frontendtest.New(t, testConfig, "revoked-jti")
	a := &app{seen: map[string]seen{}}
	srv := httptest.NewServer(middleware.New(env.Parts.Gate, a, middleware.Options{}))
	t.Cleanup(srv.Close)
	return &fixture{env: env, app: a, addr: srv.Listener.Addr().String()}
}

// response is a raw HTTP response.
type response struct {
	status int
	header http.Header
	body   string
}

// send writes one request exactly as given (method and target are not
// cleaned by any client) and reads the answer.
func (f *fixture) send(t *testing.T, method, target string, headers [][2]string) response {
	t.Helper()
	resp, body := frontendtest.RawHTTP(t, f.addr, method, target, headers)
	return response{resp.StatusCode, resp.Header, body}
}

func authHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for name, vals := range h {
		n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if strings.HasPrefix(n, "x-auth-") {
			out[n] = strings.Join(vals, " | ")
		}
	}
	return out
}

// TestAllowedRequestReachesTheApplication: an allowed request reaches the
// application with tokengate's claim headers and none of the client's
// copies of them (any case, underscores, several copies, names
// tokengate did not set this time), and with the token in its context.
func TestAllowedRequestReachesTheApplication(t *testing.T) {
	f := newFixture(t)
	exp := time.Now().Add(10 * time.Minute).Unix()
	tok := f.env.Token(t, map[string]any{"sub": "alice", "scope": "read write", "exp": exp, "tenant": "t-1"})
	forged := [][2]string{
		{"X-Auth-Subject", "admin"}, {"x-auth-subject", "root"}, {"X-AUTH-SCOPE", "admin"},
		{"X_Auth_Subject", "admin"}, {"X-Auth-Client", "billing"}, {"X-Auth-Key-Id", "other"},
	}
	for _, target := range []string{"/orders/7?x=1", "/public/page"} {
		id := "allowed" + target
		headers := append([][2]string{{"X-Test-Id", id}, {"Authorization", "Bearer " + tok}}, forged...)
		resp := f.send(t, "GET", target, headers)
		if resp.status != 200 || resp.body != "app\n" {
			t.Fatalf("%s: %d %q", target, resp.status, resp.body)
		}
		s, ok := f.app.request(id)
		if !ok {
			t.Fatalf("%s: the application did not see the request", target)
		}
		want := map[string]string{
			"x-auth-subject": "alice", "x-auth-issuer": frontendtest.Issuer, "x-auth-scope": "read write",
			"x-auth-expires": fmt.Sprint(exp), "x-auth-key-id": frontendtest.KID,
		}
		if target == "/public/page" {
			want = map[string]string{} // a public route reads no token and sets nothing
		}
		if got := authHeaders(s.header); !maps.Equal(got, want) {
			t.Errorf("%s: the application saw %v, want %v", target, got, want)
		}
		if s.uri != target || s.header.Get("Authorization") != "Bearer "+tok {
			t.Errorf("%s: the request changed on the way: %q, Authorization %q", target, s.uri, s.header.Get("Authorization"))
		}
		if target == "/public/page" {
			if s.hasToken {
				t.Errorf("public route: TokenFrom found a token")
			}
			continue
		}
		if !s.hasToken || s.subject != "alice" || !slices.Equal(s.scopes, []string{"read", "write"}) || s.claims["tenant"] != "t-1" {
			t.Errorf("TokenFrom: %v %q %v %v", s.hasToken, s.subject, s.scopes, s.claims)
		}
	}
}

// TestRefusedLikeVerify: a refused request never reaches the
// application; the answer has /verify's status, challenge and reason.
func TestRefusedLikeVerify(t *testing.T) {
	f := newFixture(t)
	user := f.env.Token(t, map[string]any{"scope": "read"})
	const realm = `Bearer realm="tokengate"`
	cases := []struct {
		name, method, target string
		headers              [][2]string
		status               int
		challenge, reason    string
	}{
		{"no token", "GET", "/orders/7", nil, 401, realm, "missing bearer token"},
		{"expired", "GET", "/orders/7", [][2]string{{"Authorization", "Bearer " + f.env.Token(t, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})}}, 401,
			realm + `, error="invalid_token", error_description="token expired"`, "token expired"},
		{"revoked", "GET", "/orders/7", [][2]string{{"Authorization", "Bearer " + f.env.Token(t, map[string]any{"jti": "revoked-jti"})}}, 401,
			realm + `, error="invalid_token", error_description="token revoked"`, "token revoked"},
		{"forged", "GET", "/orders/7", [][2]string{{"Authorization", "Bearer " + f.env.Forged(t, nil)}}, 401, realm + `, error="invalid_token"`, ""},
		{"no admin scope", "GET", "/admin/users", [][2]string{{"Authorization", "Bearer " + user}}, 403, realm + `, error="insufficient_scope"`, ""},
		{"lower-case method on a method rule", "delete", "/reports/7", [][2]string{{"Authorization", "Bearer " + user}}, 403, realm + `, error="insufficient_scope"`, ""},
		{"two Authorization headers", "GET", "/orders/7", [][2]string{{"Authorization", "Bearer " + user}, {"Authorization", "Bearer " + user}}, 401,
			realm + `, error="invalid_request"`, "more than one credential in the request"},
		{"header and cookie", "GET", "/orders/7", [][2]string{{"Authorization", "Bearer " + user}, {"Cookie", "tg_session=" + user}}, 401, realm + `, error="invalid_request"`, ""},
		{"a path applications read two ways", "GET", "/public/..;/admin", [][2]string{{"Authorization", "Bearer " + user}}, 403, realm + `, error="invalid_request"`, ""},
		{"an encoded dot segment", "GET", "/public/%2e%2e/admin", [][2]string{{"Authorization", "Bearer " + user}}, 403, realm + `, error="insufficient_scope"`, ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprint("refused-", i)
			resp := f.send(t, c.method, c.target, append([][2]string{{"X-Test-Id", id}}, c.headers...))
			if _, reached := f.app.request(id); reached || resp.status != c.status {
				t.Fatalf("status %d (reached the application: %v), want %d", resp.status, reached, c.status)
			}
			if ch := resp.header.Values("WWW-Authenticate"); len(ch) != 1 || !strings.HasPrefix(ch[0], c.challenge) {
				t.Errorf("WWW-Authenticate %q, want one starting %q", ch, c.challenge)
			}
			if c.reason != "" && resp.body != c.reason+"\n" {
				t.Errorf("body %q, want %q", resp.body, c.reason+"\n")
			}
		})
	}
}

// TestCallersRequestUnchanged: the request passed on is a copy; the one
// the caller handed in keeps its headers (net/http's rule for handlers).
func TestCallersRequestUnchanged(t *testing.T) {
	env := frontendtest.New(t, testConfig)
	var got http.Header
	h := middleware.New(env.Parts.Gate, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header }), middleware.Options{})
	r := httptest.NewRequest("GET", "/orders/7", nil)
	r.Header.Set("Authorization", "Bearer "+env.Token(t, nil))
	r.Header.Set("X-Auth-Subject", "forged")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if r.Header.Get("X-Auth-Subject") != "forged" || got.Get("X-Auth-Subject") != "user-42" {
		t.Errorf("caller's X-Auth-Subject %q, passed on %q", r.Header.Get("X-Auth-Subject"), got.Get("X-Auth-Subject"))
	}
}
