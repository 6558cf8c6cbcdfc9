//go:build unix

package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokengate/tokengate/build"
	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/internal/testenv"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
)

// integrationEnv set to "require" turns a missing nginx or caddy binary
// from a skip into a failure (CI sets it).
const integrationEnv = "TOKENGATE_INTEGRATION"

// Placeholders in the committed recipes that the tests replace.
const (
	recipeTokengate = "127.0.0.1:8181"
	recipeApp       = "127.0.0.1:8080"
)

const testIssuer = "https://idp.example.test"

// lookBinary finds a server binary (also in /usr/sbin, which is not on
// every user's PATH), or skips — or fails under TOKENGATE_INTEGRATION=require.
func lookBinary(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv(integrationEnv) == "require" {
		t.Fatalf("%s is not installed and %s=require (apt-get install %s)", name, integrationEnv, name)
	}
	t.Skipf("%s is not installed (apt-get install %s; %s=require makes this a failure)", name, name, integrationEnv)
	return ""
}

// gate is the part every proxy test shares: a running sidecar with its
// keys, the tokens to send, and the upstream application.
type gate struct {
	verifyAddr string
	adminAddr  string
	parts      *build.Parts // for front ends other than /verify (the Envoy gRPC service)
	stop       func()       // stops the sidecar (idempotent)
	app        *upstream
	sidecarLog *testenv.SyncBuffer

	good, admin, client, expired, forged string
	goodExp, adminExp, clientExp         int64
	kid                                  string
}

// newGate writes keys and a configuration into a temp dir, loads it the
// way `tokengate serve` does (config.Load, Validate, build.New) and serves
// it on loopback listeners with free ports.
func newGate(t *testing.T) *gate {
	t.Helper()
	return newGateListen(t, "")
}

// newGateListen is newGate with more keys in the listen section (YAML
// lines indented by two spaces, e.g. "  verify_path_prefix: /verify\n").
func newGateListen(t *testing.T, listenExtra string) *gate {
	t.Helper()
	dir := t.TempDir()
	g := &gate{kid: "it-es256", sidecarLog: &testenv.SyncBuffer{}}

	priv, err := signer.GenerateKey(keyring.ES256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signer.Public(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring.NewKey(pub, keyring.Options{ID: g.kid, Alg: keyring.ES256})
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := keyring.MarshalJWKS(k)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "idp.jwks.json"), jwks)
	secret := bytes.Repeat([]byte("billing-batch-hmac-secret-"), 2) // 52 bytes ≥ SHA-256 size
	writeFile(t, filepath.Join(dir, "billing.key"), secret)
	writeFile(t, filepath.Join(dir, "tokengate.yaml"), []byte(`
listen:
  verify: 127.0.0.1:0
  admin: 127.0.0.1:0
`+listenExtra+`keys:
  - file: idp.jwks.json
    issuer: `+testIssuer+`
  - secret_file: billing.key
    alg: HS256
    kid: billing
    issuer: billing-batch
    client: billing-batch
watch_keys: false
routes:
  - prefix: /public
    public: true
  - prefix: /admin
    scopes: [admin]
  - prefix: /reports
    methods: [DELETE, POST, PUT]
    scopes: [admin]
  - prefix: /secrets
    methods: [GET]
    scopes: [admin]
log:
  level: debug
`))
	cfg, err := config.Load(filepath.Join(dir, "tokengate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	parts, err := build.New(cfg, build.Options{Logger: cfg.Logger(g.sidecarLog)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(parts.Close)
	g.parts = parts
	srv, err := parts.Sidecar()
	if err != nil {
		t.Fatal(err)
	}
	vln, err := net.Listen("tcp", cfg.Listen.Verify)
	if err != nil {
		t.Fatal(err)
	}
	aln, err := net.Listen("tcp", cfg.Listen.Admin)
	if err != nil {
		vln.Close()
		t.Fatal(err)
	}
	g.verifyAddr, g.adminAddr = vln.Addr().String(), aln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(vln, aln) }()
	var stopOnce sync.Once
	g.stop = func() {
		stopOnce.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Errorf("sidecar shutdown: %v", err)
			}
			if err := <-served; err != nil {
				t.Errorf("sidecar serve: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		g.stop()
		if t.Failed() {
			t.Logf("tokengate log:\n%s", g.sidecarLog)
		}
	})

	es, err := signer.New(keyring.ES256, priv, g.kid)
	if err != nil {
		t.Fatal(err)
	}
	other, err := signer.GenerateKey(keyring.ES256)
	if err != nil {
		t.Fatal(err)
	}
	forger, err := signer.New(keyring.ES256, other, g.kid) // same kid, wrong key
	if err != nil {
		t.Fatal(err)
	}
	hs, err := signer.New(keyring.HS256, secret, "billing")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	g.goodExp = now.Add(10 * time.Minute).Unix()
	g.adminExp = now.Add(11 * time.Minute).Unix()
	g.clientExp = now.Add(12 * time.Minute).Unix()
	g.good = mint(t, es, map[string]any{"iss": testIssuer, "sub": "user-42", "scope": "read", "exp": g.goodExp})
	g.admin = mint(t, es, map[string]any{"iss": testIssuer, "sub": "root-1", "scope": "admin read", "exp": g.adminExp})
	g.client = mint(t, hs, map[string]any{"iss": "billing-batch", "sub": "svc-billing", "exp": g.clientExp})
	g.expired = mint(t, es, map[string]any{"iss": testIssuer, "sub": "user-42", "scope": "read", "exp": now.Add(-time.Hour).Unix()})
	g.forged = mint(t, forger, map[string]any{"iss": testIssuer, "sub": "admin", "scope": "admin", "exp": g.goodExp})

	g.app = newUpstream(t)
	return g
}

func mint(t *testing.T, s *signer.Signer, claims map[string]any) string {
	t.Helper()
	if _, ok := claims["iat"]; !ok {
		// RFC 9068 §2.2: access tokens carry iat (tokengate refuses a
		// token whose age it cannot tell; see revocation).
		claims["iat"] = time.Now().Unix()
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// upstream is the application behind the proxy: it records the headers
// of every request it receives, keyed by the X-Test-Id request header.
type upstream struct {
	addr string
	mu   sync.Mutex
	seen map[string]seenRequest
}

type seenRequest struct {
	method, uri string
	header      http.Header
	body        string
	// route is how a typical application reads the request: the method
	// upper-cased (Werkzeug/Flask, Rack) and each path segment with
	// trailing dots and spaces trimmed (IIS), e.g. "DELETE /reports/7".
	route string
}

// appRoute reads a request the way the application behind the proxy
// would route it (see seenRequest.route).
func appRoute(r *http.Request) string {
	segs := strings.Split(r.URL.Path, "/")
	for i, s := range segs {
		segs[i] = strings.TrimRight(s, ". ")
	}
	return strings.ToUpper(r.Method) + " " + strings.Join(segs, "/")
}

const upstreamBody = "hello from the app\n"

func newUpstream(t *testing.T) *upstream {
	u := &upstream{seen: map[string]seenRequest{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.seen[r.Header.Get("X-Test-Id")] = seenRequest{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: string(body), route: appRoute(r)}
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, upstreamBody)
	}))
	t.Cleanup(srv.Close)
	u.addr = srv.Listener.Addr().String()
	return u
}

func (u *upstream) request(id string) (seenRequest, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	r, ok := u.seen[id]
	return r, ok
}

// authHeaders returns the X-Auth-* headers a request carried, with names
// in lower case and "_" read as "-" (app servers built on CGI conventions
// — PHP, WSGI, Rack — map X_Auth_Subject and X-Auth-Subject to the same
// variable). Empty values count as absent.
func authHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for name, vals := range h {
		n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if !strings.HasPrefix(n, "x-auth-") {
			continue
		}
		v := strings.Join(vals, ", ")
		if v == "" {
			continue
		}
		if prev, dup := out[n]; dup {
			v = prev + " | " + v
		}
		out[n] = v
	}
	return out
}

// freeAddr returns a loopback address with a port that was free a moment
// ago. The proxy is checked to be ours once it answers (waitReady).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// render replaces each placeholder of a recipe and fails if one is missing,
// so the tests never run a recipe that silently lost its addresses.
func render(t *testing.T, recipe string, pairs ...string) string {
	t.Helper()
	data, err := os.ReadFile(recipe)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("%s: placeholder %q not found", recipe, pairs[i])
		}
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	return s
}

// proc is a server subprocess in its own process group.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *testenv.SyncBuffer
	done chan struct{}
	err  error
}

// startProc starts a server and registers its stop: SIGTERM, then SIGKILL
// to the whole process group (nginx workers outlive a killed master) if it
// has not exited within a bound. On failure its output and the files in
// logs are printed.
func startProc(t *testing.T, name string, env []string, logs []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &testenv.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		pid := p.cmd.Process.Pid
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop within 10s of SIGTERM; killing its process group", name)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				t.Errorf("%s (pid %d) survived SIGKILL", name, pid)
			}
		}
		// A master stopped by SIGTERM has stopped its workers; make sure
		// nothing of the group is left either way.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out)
			for _, f := range logs {
				if b, err := os.ReadFile(f); err == nil {
					t.Logf("%s:\n%s", f, b)
				}
			}
		}
	})
	return p
}

// waitReady polls the proxy until a public request comes back from the
// upstream through it, within a deadline; it fails at once if the process
// exits.
func waitReady(t *testing.T, p *proc, client *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		resp, err := client.Get(base + "/public/ready")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && string(body) == upstreamBody {
				return
			}
			last = fmt.Sprintf("status %d, body %q", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not serve %s/public/ready within 20s (last: %s)", p.name, base, last)
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before serving: %v", p.name, p.err)
		case <-tick.C:
		}
	}
}

func newClient(t *testing.T) *http.Client {
	c := &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// proxyCase is one request through the proxy and what must come of it.
type proxyCase struct {
	name   string
	method string
	path   string // sent as is: dot segments and encodings are not cleaned
	token  string
	header map[string]string // extra request headers (set as written)
	body   string

	status int
	// challenge must be contained in the one WWW-Authenticate header on
	// 401/403; on 2xx there must be none.
	challenge string
	// auth, when the request must reach the app, is exactly the set of
	// X-Auth-* headers the app must see (lower-case names); nil: none.
	auth map[string]string
}

// spoofed are X-Auth-* headers a client might send to impersonate someone.
var spoofed = map[string]string{
	"X-Auth-Subject": "admin",
	"X-Auth-Issuer":  "https://evil.example",
	"X-Auth-Scope":   "admin",
	"X-Auth-Expires": "9999999999",
	"X-Auth-Client":  "billing-batch",
	"X-Auth-Key-Id":  "billing",
	"X_Auth_Subject": "admin",
}

// goodAuth is what the app must see for g.good: every header tokengate
// sends for it and nothing else (no X-Auth-Client: its key has no client).
func (g *gate) goodAuth() map[string]string {
	return map[string]string{
		"x-auth-subject": "user-42",
		"x-auth-issuer":  testIssuer,
		"x-auth-scope":   "read",
		"x-auth-expires": strconv.FormatInt(g.goodExp, 10),
		"x-auth-key-id":  g.kid,
	}
}

func (g *gate) cases() []proxyCase {
	goodAuth := g.goodAuth()
	adminAuth := map[string]string{
		"x-auth-subject": "root-1",
		"x-auth-issuer":  testIssuer,
		"x-auth-scope":   "admin read",
		"x-auth-expires": strconv.FormatInt(g.adminExp, 10),
		"x-auth-key-id":  g.kid,
	}
	clientAuth := map[string]string{
		"x-auth-subject": "svc-billing",
		"x-auth-issuer":  "billing-batch",
		"x-auth-expires": strconv.FormatInt(g.clientExp, 10),
		"x-auth-key-id":  "billing",
		"x-auth-client":  "billing-batch",
	}
	const (
		noToken      = `Bearer realm="tokengate"`
		invalidToken = `Bearer realm="tokengate", error="invalid_token"`
		scope        = `Bearer realm="tokengate", error="insufficient_scope"`
	)
	return []proxyCase{
		{name: "good token reaches the app with its claims", path: "/orders/7?x=1", token: g.good, status: 200, auth: goodAuth},
		{name: "API client token carries X-Auth-Client", path: "/orders/7", token: g.client, status: 200, auth: clientAuth},
		{name: "POST body still reaches the app", method: "POST", path: "/orders", token: g.good, body: `{"item":1}`, status: 200, auth: goodAuth},
		{name: "missing token", path: "/orders/7", status: 401, challenge: noToken},
		{name: "forged token", path: "/orders/7", token: g.forged, status: 401, challenge: invalidToken + `, error_description="invalid signature"`},
		{name: "expired token", path: "/orders/7", token: g.expired, status: 401, challenge: invalidToken + `, error_description="token expired"`},
		{name: "garbage token", path: "/orders/7", token: "not.a.token", status: 401, challenge: invalidToken},
		{name: "admin route without the admin scope", path: "/admin/users", token: g.good, status: 403, challenge: scope},
		{name: "admin route with the admin scope", path: "/admin/users", token: g.admin, status: 200, auth: adminAuth},
		{name: "method rule: DELETE needs admin", method: "DELETE", path: "/reports/3", token: g.good, status: 403, challenge: scope},
		{name: "method rule: GET does not", path: "/reports/3", token: g.good, status: 200, auth: goodAuth},
		{name: "spoofed X-Auth-* headers are replaced by verified ones", path: "/orders/7", token: g.good, header: spoofed, status: 200, auth: goodAuth},
		{name: "spoofed headers without a token are refused", path: "/orders/7", header: spoofed, status: 401, challenge: noToken},
		{name: "spoofed X-Original-URI does not pick another route", path: "/admin/users", token: g.good, header: map[string]string{
			"X-Original-URI": "/public/x", "X-Original-Method": "GET", "X-Forwarded-Uri": "/public/x", "X-Forwarded-Method": "GET",
		}, status: 403, challenge: scope},
		{name: "spoofed X-Original-Method does not pick another rule", method: "DELETE", path: "/reports/3", token: g.good, header: map[string]string{
			"X-Original-Method": "GET", "X-Forwarded-Method": "GET",
		}, status: 403, challenge: scope},
		{name: "dot segments do not make a path public", path: "/public/../admin/users", token: g.good, status: 403, challenge: scope},
		{name: "encoded dot segments do not make a path public", path: "/public/%2e%2e/admin/users", token: g.good, status: 403, challenge: scope},
		{name: "public route needs no token and strips X-Auth-*", path: "/public/logo.png", header: spoofed, status: 200},
		{name: "public route strips X-Auth-* with a token too", path: "/public/logo.png", token: g.good, header: spoofed, status: 200},
	}
}

// run sends every case through the proxy at base.
func (g *gate) run(t *testing.T, client *http.Client, base string, cases []proxyCase) {
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("case-%d", i)
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(method, base+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			// Keep the path exactly as written (no cleaning, no re-encoding).
			req.URL.Opaque = tc.path
			if q := strings.IndexByte(tc.path, '?'); q >= 0 {
				req.URL.Opaque, req.URL.RawQuery = tc.path[:q], tc.path[q+1:]
			}
			for k, v := range tc.header {
				req.Header[k] = []string{v} // as written: no canonicalisation
			}
			req.Header.Set("X-Test-Id", id)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			respBody, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %q; WWW-Authenticate %q", resp.StatusCode, tc.status, respBody, resp.Header.Values("WWW-Authenticate"))
			}
			challenges := resp.Header.Values("WWW-Authenticate")
			seen, reached := g.app.request(id)
			if tc.status >= 200 && tc.status < 300 {
				if len(challenges) != 0 {
					t.Errorf("WWW-Authenticate %q on a %d", challenges, tc.status)
				}
				if !reached {
					t.Fatalf("request never reached the app")
				}
				if string(respBody) != upstreamBody {
					t.Errorf("body %q is not the app's", respBody)
				}
				if seen.method != method {
					t.Errorf("app saw method %s, want %s", seen.method, method)
				}
				if seen.body != tc.body {
					t.Errorf("app saw body %q, want %q", seen.body, tc.body)
				}
				got := authHeaders(seen.header)
				want := tc.auth
				if want == nil {
					want = map[string]string{}
				}
				for name, v := range want {
					if got[name] != v {
						t.Errorf("app saw %s = %q, want %q", name, got[name], v)
					}
				}
				for name, v := range got {
					if _, ok := want[name]; !ok {
						t.Errorf("app saw unexpected %s = %q", name, v)
					}
				}
				return
			}
			if reached {
				t.Errorf("a %d request reached the app (headers %v)", tc.status, seen.header)
			}
			if tc.challenge != "" {
				if len(challenges) != 1 || !strings.Contains(challenges[0], tc.challenge) {
					t.Errorf("WWW-Authenticate %q, want one containing %q", challenges, tc.challenge)
				}
			}
			if strings.Contains(string(respBody), upstreamBody) {
				t.Errorf("refused request answered with the app's body")
			}
		})
	}
}

// failsClosed stops the sidecar and checks that the proxy then refuses
// a request with a good token (with status, a 5xx) instead of letting it
// through.
func (g *gate) failsClosed(t *testing.T, client *http.Client, base string, status int) {
	t.Run("tokengate down fails closed", func(t *testing.T) {
		g.stop()
		req, err := http.NewRequest(http.MethodGet, base+"/orders/7", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Test-Id", "sidecar-down")
		req.Header.Set("Authorization", "Bearer "+g.good)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("status %d, want %d", resp.StatusCode, status)
		}
		if _, reached := g.app.request("sidecar-down"); reached {
			t.Errorf("request reached the app while tokengate was down")
		}
	})
}

// TestNginxRecipe runs deploy/nginx/nginx.conf in a real nginx.
func TestNginxRecipe(t *testing.T) {
	bin := lookBinary(t, "nginx")
	t.Parallel()
	g := newGate(t)
	client, base := startNginx(t, bin, g)
	cases := append(g.cases(),
		proxyCase{name: "the auth location is internal", path: "/_tokengate", token: g.good, status: 404},
	)
	g.run(t, client, base, cases)
	g.failsClosed(t, client, base, http.StatusInternalServerError)
}

// startNginx runs deploy/nginx/nginx.conf in front of g in a real nginx,
// wrapped in a minimal main configuration that keeps every path in a temp
// dir, and returns a client and the base URL once it serves.
func startNginx(t *testing.T, bin string, g *gate) (*http.Client, string) {
	t.Helper()
	dir := t.TempDir()
	listen := freeAddr(t)
	site := render(t, "nginx/nginx.conf",
		recipeTokengate, g.verifyAddr,
		recipeApp, g.app.addr,
		"listen 80;", "listen "+listen+";",
	)
	writeFile(t, filepath.Join(dir, "tokengate.conf"), []byte(site))

	// As root, nginx would run its workers as "nobody", who cannot enter
	// the temp dir; run them as the current user instead (the directive is
	// ignored, with a warning, when nginx is not started as root).
	userLine := ""
	if os.Geteuid() == 0 {
		if u, err := user.Current(); err == nil {
			userLine = "user " + u.Username + ";"
		}
	}
	main := fmt.Sprintf(`# generated by deploy/integration_test.go
daemon off;
master_process on;
worker_processes 1;
%[2]s
pid %[1]s/nginx.pid;
error_log stderr info;
events {
    worker_connections 256;
}
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/tokengate.conf;
}
`, dir, userLine)
	writeFile(t, filepath.Join(dir, "nginx.conf"), []byte(main))

	p := startProc(t, "nginx", []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, []string{filepath.Join(dir, "access.log")},
		bin, "-e", "stderr", "-p", dir+"/", "-c", filepath.Join(dir, "nginx.conf"))
	client := newClient(t)
	base := "http://" + listen
	waitReady(t, p, client, base)
	return client, base
}

// TestCaddyRecipe runs deploy/caddy/Caddyfile in a real Caddy.
func TestCaddyRecipe(t *testing.T) {
	bin := lookBinary(t, "caddy")
	t.Parallel()
	g := newGate(t)
	client, base := startCaddy(t, bin, g)

	// Caddy removes X-Auth-* by wildcard, so even headers tokengate is not
	// configured to send never pass (stock nginx cannot do that: its recipe
	// lists each header).
	goodAuth := g.goodAuth()
	unlisted := map[string]string{"X-Auth-Roles": "admin", "X-Auth-Tenant": "other"}
	cases := append(g.cases(),
		proxyCase{name: "unlisted X-Auth-* headers are removed", path: "/orders/7", token: g.good, header: unlisted, status: 200, auth: goodAuth},
		proxyCase{name: "unlisted X-Auth-* headers are removed on public routes", path: "/public/x", header: unlisted, status: 200},
	)
	g.run(t, client, base, cases)
	g.failsClosed(t, client, base, http.StatusBadGateway)
}

// startCaddy runs deploy/caddy/Caddyfile in front of g in a real Caddy,
// with the admin endpoint and automatic HTTPS off and its state in a temp
// dir, and returns a client and the base URL once it serves.
func startCaddy(t *testing.T, bin string, g *gate) (*http.Client, string) {
	t.Helper()
	dir := t.TempDir()
	listen := freeAddr(t)
	_, port, _ := net.SplitHostPort(listen)
	site := render(t, "caddy/Caddyfile",
		recipeTokengate, g.verifyAddr,
		recipeApp, g.app.addr,
		":80 {", ":"+port+" {\n\tbind 127.0.0.1",
	)
	caddyfile := "# generated by deploy/integration_test.go\n{\n\tadmin off\n\tauto_https off\n}\n\n" + site
	path := filepath.Join(dir, "Caddyfile")
	writeFile(t, path, []byte(caddyfile))

	env := []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
	}
	p := startProc(t, "caddy", env, nil, bin, "run", "--config", path, "--adapter", "caddyfile")
	client := newClient(t)
	base := "http://" + listen
	waitReady(t, p, client, base)
	return client, base
}
