//go:build unix

package deploy_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tokengate/tokengate/config"
)

// traefikEnv names a Traefik v3 binary for TestTraefikRecipeRealTraefik
// (else "traefik" on PATH). Traefik cannot be built here from the Go
// module proxy (some of its dependencies are not served), so CI does not
// install it and the test skips without one even under
// TOKENGATE_INTEGRATION=require; with a release binary it runs with one
// command (deploy/README.md).
const traefikEnv = "TOKENGATE_TRAEFIK"

// traefikDynamic is the part of Traefik's dynamic configuration the
// recipe uses, read strictly: a misspelt key fails the test.
type traefikDynamic struct {
	HTTP struct {
		Routers map[string]struct {
			Rule        string   `yaml:"rule"`
			EntryPoints []string `yaml:"entryPoints"`
			Middlewares []string `yaml:"middlewares"`
			Service     string   `yaml:"service"`
		} `yaml:"routers"`
		Middlewares map[string]struct {
			ForwardAuth *traefikForwardAuth `yaml:"forwardAuth"`
		} `yaml:"middlewares"`
		Services map[string]struct {
			LoadBalancer struct {
				Servers []struct {
					URL string `yaml:"url"`
				} `yaml:"servers"`
			} `yaml:"loadBalancer"`
		} `yaml:"services"`
	} `yaml:"http"`
}

// traefikForwardAuth mirrors Traefik's dynamic.ForwardAuth fields
// (pkg/config/dynamic/middlewares.go).
type traefikForwardAuth struct {
	Address                  string   `yaml:"address"`
	TrustForwardHeader       *bool    `yaml:"trustForwardHeader"`
	AuthRequestHeaders       []string `yaml:"authRequestHeaders"`
	AuthResponseHeaders      []string `yaml:"authResponseHeaders"`
	AuthResponseHeadersRegex string   `yaml:"authResponseHeadersRegex"`
	PreserveRequestMethod    bool     `yaml:"preserveRequestMethod"`
	ForwardBody              bool     `yaml:"forwardBody"`
}

func loadTraefikRecipe(t *testing.T) (*traefikDynamic, *traefikForwardAuth) {
	t.Helper()
	data, err := os.ReadFile("traefik/dynamic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d traefikDynamic
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("traefik/dynamic.yaml: %v", err)
	}
	r, ok := d.HTTP.Routers["app"]
	if !ok || len(r.Middlewares) != 1 {
		t.Fatalf("traefik/dynamic.yaml: want the app router with one middleware, got %+v", d.HTTP.Routers)
	}
	fa := d.HTTP.Middlewares[r.Middlewares[0]].ForwardAuth
	if fa == nil {
		t.Fatalf("traefik/dynamic.yaml: middleware %s is not a forwardAuth", r.Middlewares[0])
	}
	return &d, fa
}

// TestTraefikRecipeSettings: the ForwardAuth middleware asks /verify
// about every request, lets no client X-Forwarded-* or X-Original-*
// header reach tokengate, and replaces every header tokengate may set.
func TestTraefikRecipeSettings(t *testing.T) {
	d, fa := loadTraefikRecipe(t)
	if fa.Address != "http://"+recipeTokengate+"/verify" {
		t.Errorf("address %s, want tokengate's /verify at %s", fa.Address, recipeTokengate)
	}
	if fa.TrustForwardHeader == nil || *fa.TrustForwardHeader {
		t.Errorf("trustForwardHeader must be set to false (unset keeps some client X-Forwarded-* headers)")
	}
	if fa.PreserveRequestMethod || fa.ForwardBody {
		t.Errorf("preserveRequestMethod and forwardBody must stay off: the method travels in X-Forwarded-Method, /verify takes no body")
	}
	for _, h := range []string{"Authorization", "Cookie"} {
		if !slices.ContainsFunc(fa.AuthRequestHeaders, func(s string) bool { return strings.EqualFold(s, h) }) {
			t.Errorf("authRequestHeaders lacks %s", h)
		}
	}
	for _, h := range fa.AuthRequestHeaders {
		if n := strings.ToLower(h); strings.HasPrefix(n, "x-original-") || strings.HasPrefix(n, "x-forwarded-") {
			t.Errorf("authRequestHeaders passes the client's %s to tokengate", h)
		}
	}
	// Every header the reference configuration sets is replaced.
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	gc := cfg.Gate()
	names := []string{gc.ClientHeader, gc.KeyIDHeader}
	for _, h := range gc.Headers {
		names = append(names, h.Header)
	}
	re, err := regexp.Compile(fa.AuthResponseHeadersRegex)
	if err != nil {
		t.Fatalf("authResponseHeadersRegex: %v", err)
	}
	for _, n := range names {
		if !slices.ContainsFunc(fa.AuthResponseHeaders, func(s string) bool { return strings.EqualFold(s, n) }) {
			t.Errorf("authResponseHeaders lacks %s", n)
		}
		if !re.MatchString(http.CanonicalHeaderKey(n)) || !re.MatchString(strings.ReplaceAll(n, "-", "_")) {
			t.Errorf("authResponseHeadersRegex misses %s or its underscore spelling", n)
		}
	}
	for _, n := range []string{"X-Auth-Role", "X_auth_tenant"} {
		if !re.MatchString(n) {
			t.Errorf("authResponseHeadersRegex misses %s (a name tokengate does not set)", n)
		}
	}
	for _, n := range []string{"Authorization", "X-Envoy-Auth-Headers-To-Remove", "X-Authority", "Www-Authenticate"} {
		if re.MatchString(n) {
			t.Errorf("authResponseHeadersRegex matches %s", n)
		}
	}
	if u := d.HTTP.Services["app"].LoadBalancer.Servers; len(u) != 1 || u[0].URL != "http://"+recipeApp {
		t.Errorf("app service %v, want http://%s", u, recipeApp)
	}
}

// traefikForward stands in for Traefik running the recipe: it does what
// ForwardAuth does (pkg/middlewares/auth/forward.go, writeHeader and
// ServeHTTP, Traefik v3) with the recipe's values, in front of a real
// tokengate and application. Traefik is a Go program: the original URI it
// sends is req.URL.RequestURI() of Go's own parse, as here.
type traefikForward struct {
	fa      *traefikForwardAuth
	re      *regexp.Regexp
	verify  string // the recipe's address, pointed at the test's tokengate
	appAddr string
	client  *http.Client
}

// Traefik's hop-by-hop headers and the X-Forwarded-* headers it manages.
var (
	traefikHop      = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}
	traefikXHeaders = []string{"X-Forwarded-Proto", "X-Forwarded-Scheme", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Server",
		"X-Forwarded-Uri", "X-Forwarded-Method", "X-Forwarded-Prefix", "X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info", "X-Scheme", "X-Real-Ip"}
)

func (f *traefikForward) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := http.MethodGet
	if f.fa.PreserveRequestMethod {
		method = r.Method
	}
	areq, err := http.NewRequestWithContext(r.Context(), method, f.verify, nil)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h := r.Header.Clone()
	for _, name := range traefikHop {
		h.Del(name)
	}
	if !*f.fa.TrustForwardHeader { // DeleteXForwardedHeaders: canonical and underscore spellings
		for name := range h {
			if slices.Contains(traefikXHeaders, http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-"))) {
				delete(h, name)
			}
		}
	}
	if _, ok := r.Header["User-Agent"]; !ok {
		h.Set("User-Agent", "")
	}
	if len(f.fa.AuthRequestHeaders) > 0 { // filterForwardRequestHeaders
		kept := http.Header{}
		for _, name := range f.fa.AuthRequestHeaders {
			if v := h.Values(name); len(v) > 0 {
				kept[http.CanonicalHeaderKey(name)] = v
			}
		}
		h = kept
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		h.Set("X-Forwarded-For", ip)
	}
	h.Set("X-Forwarded-Method", r.Method)
	h.Set("X-Forwarded-Proto", "http")
	_, port, _ := net.SplitHostPort(r.Host)
	h.Set("X-Forwarded-Port", port)
	h.Set("X-Forwarded-Host", r.Host)
	h.Set("X-Forwarded-Uri", r.URL.RequestURI())
	areq.Header = h
	resp, err := f.client.Do(areq)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		for name, vals := range resp.Header {
			if !slices.Contains(traefikHop, name) {
				w.Header()[name] = vals
			}
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
		return
	}
	out := r.Header.Clone()
	for _, name := range f.fa.AuthResponseHeaders {
		key := http.CanonicalHeaderKey(name)
		out.Del(key)
		if v := resp.Header[key]; len(v) > 0 {
			out[key] = v
		}
	}
	if f.re != nil {
		for key := range out {
			if f.re.MatchString(key) {
				delete(out, key)
			}
		}
		for key, v := range resp.Header {
			if f.re.MatchString(key) {
				out[key] = v
			}
		}
	}
	forwardToApp(w, r, f.client, f.appAddr, r.URL.RequestURI(), out)
}

// TestTraefikRecipe sends the recipes' request table through the
// ForwardAuth stand-in running deploy/traefik/dynamic.yaml, then stops
// tokengate: Traefik answers 500 and nothing reaches the application.
func TestTraefikRecipe(t *testing.T) {
	t.Parallel()
	_, fa := loadTraefikRecipe(t)
	g := newGate(t)
	f := &traefikForward{fa: fa, verify: strings.Replace(fa.Address, recipeTokengate, g.verifyAddr, 1), appAddr: g.app.addr, client: newClient(t)}
	if fa.AuthResponseHeadersRegex != "" {
		f.re = regexp.MustCompile(fa.AuthResponseHeadersRegex)
	}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	runTraefikCases(t, g, newClient(t), "http://"+ln.Addr().String())
}

func runTraefikCases(t *testing.T, g *gate, client *http.Client, base string) {
	goodAuth := g.goodAuth()
	cases := append(g.cases(),
		proxyCase{name: "unlisted X-Auth-* headers are removed", path: "/orders/7", token: g.good,
			header: map[string]string{"X-Auth-Roles": "admin", "x_auth_tenant": "other"}, status: 200, auth: goodAuth},
		proxyCase{name: "two Authorization headers", path: "/orders/7", token: g.good,
			header: map[string]string{"authorization": "Bearer " + g.admin}, status: 401, challenge: `error="invalid_request"`},
		proxyCase{name: "lower-case method on a method rule", method: "delete", path: "/reports/3", token: g.good, status: 403, challenge: `error="insufficient_scope"`},
		proxyCase{name: "client X-Forwarded-* and X_Forwarded_* cannot pick the route", path: "/admin/users", token: g.good, header: map[string]string{
			"X-Forwarded-Uri": "/public/x", "X_Forwarded_Uri": "/public/x", "X-Forwarded-Method": "GET", "X-Forwarded-Prefix": "/public",
		}, status: 403, challenge: `error="insufficient_scope"`},
	)
	g.run(t, client, base, cases)
	g.failsClosed(t, client, base, http.StatusInternalServerError)
}

// TestTraefikRecipeRealTraefik runs the recipe in a real Traefik v3 when
// one is available ($TOKENGATE_TRAEFIK or traefik on PATH), with the same
// table as TestTraefikRecipe:
//
//	TOKENGATE_TRAEFIK=/path/to/traefik go test -run TestTraefikRecipeRealTraefik ./deploy/
func TestTraefikRecipeRealTraefik(t *testing.T) {
	bin := os.Getenv(traefikEnv)
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("traefik"); err != nil {
			t.Skipf("no Traefik binary: set %s to a Traefik v3 binary (a release tarball; it cannot be built from the module proxy here) to run the recipe in it", traefikEnv)
		}
	}
	t.Parallel()
	g := newGate(t)
	dir := t.TempDir()
	listen := freeAddr(t)
	dynamic := render(t, "traefik/dynamic.yaml", recipeTokengate, g.verifyAddr, recipeApp, g.app.addr)
	writeFile(t, filepath.Join(dir, "dynamic.yaml"), []byte(dynamic))
	static := render(t, "traefik/traefik.yaml",
		`address: ":80"`, `address: "`+listen+`"`,
		"/etc/traefik/dynamic.yaml", filepath.Join(dir, "dynamic.yaml"),
	)
	writeFile(t, filepath.Join(dir, "traefik.yaml"), []byte(static))
	p := startProc(t, "traefik", []string{"PATH=/usr/bin:/bin", "HOME=" + dir}, nil, bin, "--configFile="+filepath.Join(dir, "traefik.yaml"))
	client := newClient(t)
	base := "http://" + listen
	waitReady(t, p, client, base)
	runTraefikCases(t, g, client, base)
}
