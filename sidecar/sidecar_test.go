package sidecar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/internal/sidecartest"
	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/revocation"
	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedClock() time.Time { return testNow }

type fixture struct {
	srv    *sidecar.Server
	ring   *keyring.Ring
	es     *signer.Signer // ES256, kid "es"
	client *signer.Signer // HS256 secret of API client "billing-batch", kid "client-billing"
	dir    string
}

var (
	esKeyOnce sync.Once
	esKey     any
)

// serverConfig is what a test server is built from: the gate's
// configuration and the listener limits.
type serverConfig struct {
	gate.Config
	Limits     sidecar.Limits
	PathPrefix string
}

func defaultServerConfig() serverConfig {
	return serverConfig{Config: gate.DefaultConfig(), Limits: sidecar.DefaultConfig().Limits}
}

// serverOptions are the collaborators of a test server (the gate's and
// the sidecar's options, which share some).
type serverOptions struct {
	Now               func() time.Time
	Logger            *slog.Logger
	Revocations       *revocation.Store
	RevocationSync    *revocation.Sync
	AdminToken        []byte
	Refetch           func(ctx context.Context, issuer, kid []byte) bool
	Decrypter         *jwe.Decrypter
	RequireEncryption bool
}

func (o serverOptions) build(t testing.TB, cfg serverConfig, vo verifier.Options, ring *keyring.Ring) *sidecar.Server {
	gopts := gate.Options{Now: o.Now, Refetch: o.Refetch, RequireEncryption: o.RequireEncryption}
	if o.Decrypter != nil {
		gopts.Decrypter = o.Decrypter
	}
	return sidecartest.New(t, cfg.Config, sidecar.Config{Limits: cfg.Limits, PathPrefix: cfg.PathPrefix}, vo, gopts, sidecar.Options{
		Keys: ring, Now: o.Now, Logger: o.Logger, Revocations: o.Revocations, RevocationSync: o.RevocationSync, AdminToken: o.AdminToken,
	})
}

func newFixture(t testing.TB, mutate func(*serverConfig)) *fixture {
	t.Helper()
	return newFixtureOpts(t, mutate, nil)
}

// newFixtureOpts is newFixture with a hook on the options the server is
// built with (revocation, clocks).
func newFixtureOpts(t testing.TB, mutate func(*serverConfig), opts func(*verifier.Options, *serverOptions)) *fixture {
	t.Helper()
	esKeyOnce.Do(func() {
		var err error
		if esKey, err = signer.GenerateKey(keyring.ES256); err != nil {
			panic(err)
		}
	})
	dir := t.TempDir()
	pub, _ := signer.Public(esKey)
	k, err := keyring.NewKey(pub, keyring.Options{ID: "es", Alg: keyring.ES256})
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := keyring.MarshalJWKS(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "idp.jwks.json"), jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte("billing-secret-0"), 3)
	if err := os.WriteFile(filepath.Join(dir, "billing.secret"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(keyring.Config{Sources: []keyring.Source{
		{Path: filepath.Join(dir, "idp.jwks.json")},
		{Path: filepath.Join(dir, "billing.secret"), Secret: true, Alg: keyring.HS256, ID: "client-billing", Client: "billing-batch"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultServerConfig()
	cfg.Headers = append(cfg.Headers, gate.HeaderMapping{Claim: "realm_access.roles", Header: "X-Auth-Roles"})
	cfg.Routes = []gate.Route{
		{Prefix: "/public", Public: true},
		{Prefix: "/admin", Scopes: []string{"admin"}},
		{Prefix: "/reports", Methods: []string{"DELETE"}, Claims: map[string][]string{"realm_access.roles": {"auditor"}}},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	vo, so := verifier.Options{Policy: verifier.DefaultPolicy(), Now: fixedClock}, serverOptions{Now: fixedClock}
	if opts != nil {
		opts(&vo, &so)
	}
	srv := so.build(t, cfg, vo, ring)
	es, err := signer.New(keyring.ES256, esKey, "es")
	if err != nil {
		t.Fatal(err)
	}
	client, err := signer.New(keyring.HS256, secret, "client-billing")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, ring: ring, es: es, client: client, dir: dir}
}

func claimsJSON(over map[string]any) []byte {
	c := map[string]any{
		"iss":          "https://idp.example.com",
		"sub":          "user-42",
		"exp":          testNow.Add(10 * time.Minute).Unix(),
		"iat":          testNow.Add(-time.Minute).Unix(),
		"scope":        "orders:read orders:write",
		"realm_access": map[string]any{"roles": []string{"viewer", "auditor"}},
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	b, _ := json.Marshal(c)
	return b
}

func sign(t testing.TB, s *signer.Signer, over map[string]any) string {
	t.Helper()
	tok, err := s.Sign(claimsJSON(over))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do runs one request through the /verify handler with a fresh RequestCtx.
func do(f *fixture, setup func(req *fasthttp.Request)) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/verify")
	if setup != nil {
		setup(&ctx.Request)
	}
	f.srv.HandleVerify(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return resp
}

func bearer(tok string) func(*fasthttp.Request) {
	return func(r *fasthttp.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func TestVerifyEndpoint(t *testing.T) {
	f := newFixture(t, nil)
	good := sign(t, f.es, nil)
	admin := sign(t, f.es, map[string]any{"scope": "admin orders:read"})
	expired := sign(t, f.es, map[string]any{"exp": testNow.Add(-time.Hour).Unix()})
	forged := good[:strings.LastIndexByte(good, '.')+1] + strings.Repeat("A", 86)
	evil := sign(t, f.es, map[string]any{"sub": "user-42\r\nX-Injected: 1", "realm_access": map[string]any{"roles": []string{"a\nb"}}})

	type want struct {
		status    int
		challenge string            // substring of WWW-Authenticate; "-" means absent
		headers   map[string]string // expected response headers ("" means absent)
	}
	tests := []struct {
		name  string
		setup func(*fasthttp.Request)
		want  want
	}{
		{"no token", nil, want{401, `Bearer realm="tokengate"`, map[string]string{"X-Auth-Subject": ""}}},
		{"good token", bearer(good), want{200, "-", map[string]string{
			"X-Auth-Subject": "user-42", "X-Auth-Issuer": "https://idp.example.com", "X-Auth-Scope": "orders:read orders:write",
			"X-Auth-Expires": "1767323645", "X-Auth-Roles": "viewer,auditor", "X-Auth-Key-Id": "es", "X-Auth-Client": ""}}},
		{"scheme in lower case", func(r *fasthttp.Request) { r.Header.Set("Authorization", "bearer "+good) }, want{200, "-", map[string]string{"X-Auth-Subject": "user-42"}}},
		{"scheme in upper case", func(r *fasthttp.Request) { r.Header.Set("Authorization", "BEARER "+good) }, want{200, "-", nil}},
		{"basic auth is no token", func(r *fasthttp.Request) { r.Header.Set("Authorization", "Basic dXNlcjpwYXNz") }, want{401, `Bearer realm="tokengate"`, nil}},
		{"expired", bearer(expired), want{401, `error="invalid_token", error_description="token expired"`, map[string]string{"X-Auth-Subject": ""}}},
		{"forged", bearer(forged), want{401, `error="invalid_token", error_description="invalid signature"`, nil}},
		{"forged again (negative cache)", bearer(forged), want{401, `error_description="invalid signature"`, nil}},
		{"garbage", bearer("not-a-token"), want{401, `error="invalid_token", error_description="token is not a JWT (an opaque or reference token): tokengate verifies JWTs only, token introspection is not supported"`, nil}},
		{"JWT missing a segment", bearer("eyJhbGciOiJIUzI1NiJ9.e30"), want{401, `error="invalid_token", error_description="token must have three non-empty segments"`, nil}},
		{"API client key", bearer(sign(t, f.client, nil)), want{200, "-", map[string]string{"X-Auth-Client": "billing-batch", "X-Auth-Key-Id": "client-billing"}}},
		{"cookie not configured", func(r *fasthttp.Request) { r.Header.SetCookie("access_token", good) }, want{401, `Bearer realm="tokengate"`, nil}},
		{"query not configured", func(r *fasthttp.Request) { r.Header.Set("X-Original-URI", "/orders?access_token="+good) }, want{401, `Bearer realm="tokengate"`, nil}},
		{"route needs a scope the token lacks (nginx headers)", func(r *fasthttp.Request) {
			bearer(good)(r)
			r.Header.Set("X-Original-URI", "/admin/users?x=1")
		}, want{403, `error="insufficient_scope"`, map[string]string{"X-Auth-Subject": ""}}},
		{"route needs a scope the token has (Caddy headers)", func(r *fasthttp.Request) {
			bearer(admin)(r)
			r.Header.Set("X-Forwarded-Uri", "/admin/users")
		}, want{200, "-", map[string]string{"X-Auth-Subject": "user-42"}}},
		{"route by method and claim: allowed", func(r *fasthttp.Request) {
			bearer(good)(r)
			r.Header.Set("X-Original-URI", "/reports/7")
			r.Header.Set("X-Original-Method", "DELETE")
		}, want{200, "-", nil}},
		{"route by method and claim: other method needs nothing", func(r *fasthttp.Request) {
			bearer(sign(t, f.es, map[string]any{"realm_access": nil}))(r)
			r.Header.Set("X-Original-URI", "/reports/7")
			r.Header.Set("X-Original-Method", "GET")
		}, want{200, "-", nil}},
		{"route by method and claim: denied", func(r *fasthttp.Request) {
			bearer(sign(t, f.es, map[string]any{"realm_access": map[string]any{"roles": []string{"viewer"}}}))(r)
			r.Header.Set("X-Forwarded-Uri", "/reports/7")
			r.Header.Set("X-Forwarded-Method", "DELETE")
		}, want{403, `error="insufficient_scope"`, nil}},
		{"public route without token", func(r *fasthttp.Request) { r.Header.Set("X-Original-URI", "/public/logo.png") }, want{200, "-", map[string]string{"X-Auth-Subject": ""}}},
		{"dot segments do not escape a rule", func(r *fasthttp.Request) {
			bearer(good)(r)
			r.Header.Set("X-Original-URI", "/public/../admin/users")
		}, want{403, `error="insufficient_scope"`, nil}},
		{"encoded slash is denied", func(r *fasthttp.Request) {
			bearer(admin)(r)
			r.Header.Set("X-Original-URI", "/public%2F..%2Fadmin")
		}, want{403, `error="invalid_request"`, nil}},
		{"CR/LF in claims are refused, never forwarded altered", bearer(evil), want{401, `error_description="claim cannot be forwarded in a header unaltered"`, map[string]string{"X-Auth-Subject": "", "X-Injected": ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(f, tc.setup)
			if resp.StatusCode() != tc.want.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode(), tc.want.status, resp.Body())
			}
			ch := string(resp.Header.Peek("WWW-Authenticate"))
			if tc.want.challenge == "-" {
				if ch != "" {
					t.Errorf("unexpected challenge %q", ch)
				}
			} else if !strings.Contains(ch, tc.want.challenge) {
				t.Errorf("challenge %q does not contain %q", ch, tc.want.challenge)
			}
			for h, v := range tc.want.headers {
				if got := string(resp.Header.Peek(h)); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
			// No response ever carries the token.
			if strings.Contains(resp.String(), good[20:60]) {
				t.Errorf("response contains token bytes")
			}
		})
	}
}

func TestCookieAndQuerySources(t *testing.T) {
	f := newFixture(t, func(c *serverConfig) {
		c.Token = gate.TokenSources{Header: false, Cookie: "access_token", Query: "access_token"}
	})
	good := sign(t, f.es, nil)
	if resp := do(f, func(r *fasthttp.Request) { r.Header.SetCookie("access_token", good) }); resp.StatusCode() != 200 {
		t.Errorf("cookie: %d %s", resp.StatusCode(), resp.Body())
	}
	if resp := do(f, func(r *fasthttp.Request) { r.Header.Set("X-Original-URI", "/x?a=1&access_token="+good) }); resp.StatusCode() != 200 {
		t.Errorf("query: %d %s", resp.StatusCode(), resp.Body())
	}
	if resp := do(f, bearer(good)); resp.StatusCode() != 401 {
		t.Errorf("header source disabled but used: %d", resp.StatusCode())
	}
}

// TestCachedTokenStopsWhenItsKeyGoes: a token served from the cache must be
// rejected as soon as its key leaves the keyring.
func TestCachedTokenStopsWhenItsKeyGoes(t *testing.T) {
	f := newFixture(t, nil)
	tok := sign(t, f.es, nil)
	for range 3 {
		if resp := do(f, bearer(tok)); resp.StatusCode() != 200 {
			t.Fatalf("status %d", resp.StatusCode())
		}
	}
	if err := os.WriteFile(filepath.Join(f.dir, "idp.jwks.json"), []byte(`{"keys":[]}`), 0o600); err == nil {
		// An empty set is refused (keeps the old keys); remove the key by
		// replacing it with another one.
		other, _ := signer.GenerateKey(keyring.ES256)
		pub, _ := signer.Public(other)
		k, _ := keyring.NewKey(pub, keyring.Options{ID: "other"})
		jwks, _ := keyring.MarshalJWKS(k)
		if err := os.WriteFile(filepath.Join(f.dir, "idp.jwks.json"), jwks, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.ring.Reload(); err != nil {
		t.Fatal(err)
	}
	resp := do(f, bearer(tok))
	if resp.StatusCode() != 401 || !strings.Contains(string(resp.Header.Peek("WWW-Authenticate")), "unknown signing key") {
		t.Fatalf("removed key still accepted from cache: %d %s", resp.StatusCode(), resp.Header.Peek("WWW-Authenticate"))
	}
}

func TestApplyKeepsRunningConfigOnError(t *testing.T) {
	f := newFixture(t, nil)
	bad := gate.DefaultConfig()
	bad.Headers = []gate.HeaderMapping{{Claim: "sub", Header: "Bad Header"}}
	err := f.srv.Gate().Apply(bad, verifier.Options{Policy: verifier.DefaultPolicy()})
	if err == nil || !strings.Contains(err.Error(), "headers[0].header") {
		t.Fatalf("Apply error %v does not name the field", err)
	}
	if resp := do(f, bearer(sign(t, f.es, nil))); resp.StatusCode() != 200 || string(resp.Header.Peek("X-Auth-Roles")) == "" {
		t.Fatalf("running config lost: %d", resp.StatusCode())
	}
	// A good new policy applies at once.
	if err := f.srv.Gate().Apply(gate.DefaultConfig(), verifier.Options{Policy: verifier.Policy{Issuers: []string{"https://other"}}, Now: fixedClock}); err != nil {
		t.Fatal(err)
	}
	if resp := do(f, bearer(sign(t, f.es, nil))); resp.StatusCode() != 401 {
		t.Fatalf("new policy not applied: %d", resp.StatusCode())
	}
}

func TestAdminEndpoints(t *testing.T) {
	f := newFixture(t, nil)
	do(f, bearer(sign(t, f.es, nil)))
	do(f, bearer("x.y.z"))
	get := func(path string) *fasthttp.Response {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		f.srv.HandleAdmin(&ctx)
		resp := &fasthttp.Response{}
		ctx.Response.CopyTo(resp)
		return resp
	}
	if r := get("/healthz"); r.StatusCode() != 200 {
		t.Errorf("healthz %d", r.StatusCode())
	}
	r := get("/readyz")
	var ready struct {
		Ready bool `json:"ready"`
		Keys  int  `json:"keys"`
	}
	if err := json.Unmarshal(r.Body(), &ready); err != nil || r.StatusCode() != 200 || !ready.Ready || ready.Keys != 2 {
		t.Errorf("readyz %d %s", r.StatusCode(), r.Body())
	}
	m := string(get("/metrics").Body())
	for _, want := range []string{
		`tokengate_requests_total{reason="none",result="ok"} 1`,
		`tokengate_requests_total{reason="malformed",result="unauthorized"} 1`,
		`tokengate_verified_total{alg="ES256"} 1`,
		`tokengate_cache_misses_total`, `tokengate_keyring_generation`, `tokengate_verify_duration_seconds_bucket`,
		`tokengate_keyring_last_reload_success_timestamp_seconds`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if r := get("/keys"); r.StatusCode() != 403 {
		t.Errorf("/keys off loopback without an admin token: %d", r.StatusCode())
	}
	_, adminURL := serve(t, f)
	_, body := httpGet(t, adminURL+"/keys")
	keys := string(body)
	if !strings.Contains(keys, `"kid": "client-billing"`) || !strings.Contains(keys, `"client": "billing-batch"`) || strings.Contains(keys, "billing-secret") {
		t.Errorf("/keys: %s", keys)
	}
	if r := get("/nope"); r.StatusCode() != 404 {
		t.Errorf("unknown admin path: %d", r.StatusCode())
	}
}

// waitCached repeats run until the sidecar serves from its cache (ristretto
// applies Sets asynchronously), judged by the hit counter.
func waitCached(t testing.TB, f *fixture, run func()) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		before := cacheHits(f)
		run()
		if cacheHits(f) > before {
			return
		}
	}
	t.Fatal("token never served from the cache")
}

func cacheHits(f *fixture) float64 {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/metrics")
	f.srv.HandleAdmin(&ctx)
	for _, line := range strings.Split(string(ctx.Response.Body()), "\n") {
		if v, ok := strings.CutPrefix(line, "tokengate_cache_hits_total "); ok {
			var n float64
			fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}
