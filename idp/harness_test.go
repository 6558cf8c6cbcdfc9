package idp_test

import (
	"bufio"
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testenv"
)

// buildDir holds the tokengate binary the tests build (once per run).
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tokengate-idp-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var buildOnce = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(buildDir, "tokengate")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/tokengate/tokengate/cmd/tokengate").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/tokengate: %v\n%s", err, out)
	}
	return bin, nil
})

// tokengateBinary returns the path of the tokengate binary built from this
// checkout.
func tokengateBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the tokengate binary")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// readmeConfigs returns the YAML block of every "### " subsection of
// README.md's "## Providers" section, by subsection title. Each subsection
// must hold exactly one.
func readmeConfigs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	configs := map[string]string{}
	var section, title string
	var block *strings.Builder
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\n")
		switch {
		case block != nil && line == "```":
			if _, dup := configs[title]; dup {
				t.Fatalf("README.md: Providers/%s has more than one yaml block", title)
			}
			configs[title] = block.String()
			block = nil
		case block != nil:
			block.WriteString(line + "\n")
		case strings.HasPrefix(line, "## "):
			section, title = line, ""
		case section == "## Providers" && strings.HasPrefix(line, "### "):
			title = strings.TrimPrefix(line, "### ")
		case section == "## Providers" && title != "" && line == "```yaml":
			block = &strings.Builder{}
		}
	}
	if len(configs) == 0 {
		t.Fatal(`README.md has no "## Providers" section with yaml blocks`)
	}
	return configs
}

// internet stands in for the providers' public hosts: one TLS server whose
// certificate (from a CA of the test's own, in caFile) names every host,
// and an HTTP proxy that tunnels CONNECT host:443 for exactly those hosts
// to it and refuses anything else, so nothing leaves the machine.
type internet struct {
	caFile string
	proxy  string // http://127.0.0.1:port, for HTTPS_PROXY

	mu     sync.Mutex
	hosts  map[string]http.Handler
	tunnel []net.Conn
}

func newInternet(t *testing.T, hosts map[string]http.Handler) *internet {
	t.Helper()
	n := &internet{hosts: hosts}
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	caPEM, leaf := testCertificates(t, names)
	n.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(n.caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := n.hosts[strings.TrimSuffix(r.Host, ":443")]
		if h == nil {
			http.Error(w, "no such host", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	}))
	site.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	site.StartTLS()
	t.Cleanup(site.Close)

	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, err := net.SplitHostPort(r.Host)
		if r.Method != http.MethodConnect || err != nil || port != "443" || n.hosts[host] == nil {
			http.Error(w, "this proxy tunnels only to the test's hosts on port 443", http.StatusForbidden)
			return
		}
		n.connect(w, site.Listener.Addr().String())
	}))
	n.proxy = proxy.URL
	t.Cleanup(func() {
		n.mu.Lock()
		for _, c := range n.tunnel {
			c.Close()
		}
		n.mu.Unlock()
		proxy.Close()
	})
	return n
}

// connect answers a CONNECT by splicing the client's connection to addr.
func (n *internet) connect(w http.ResponseWriter, addr string) {
	up, err := net.Dial("tcp", addr)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	down, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		up.Close()
		return
	}
	n.mu.Lock()
	n.tunnel = append(n.tunnel, up, down)
	n.mu.Unlock()
	if _, err := down.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		up.Close()
		down.Close()
		return
	}
	go func() {
		io.Copy(up, rw) // what the client sent after CONNECT, buffered or not
		up.Close()
	}()
	go func() {
		io.Copy(down, up)
		down.Close()
	}()
}

// testCertificates makes a CA and a server certificate for names signed by
// it; it returns the CA as PEM and the server's certificate and key.
func testCertificates(t *testing.T, names []string) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tokengate idp test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// gateway is a running `tokengate serve`.
type gateway struct {
	verifyURL, adminURL string
	proc                *testenv.Process
	client              *http.Client
}

// startGateway runs tokengate with config (a README block, written to a
// file unchanged) on free loopback ports, reaching inet's hosts through its
// proxy and trusting its CA, plus env ("TOKENGATE_X=v"), and waits until it
// is ready. Variables from the test's own environment that would change
// the configuration or the proxy are not passed on.
func startGateway(t *testing.T, config string, inet *internet, env ...string) *gateway {
	t.Helper()
	bin := tokengateBinary(t)
	cfg := filepath.Join(t.TempDir(), "tokengate.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	verify, admin := testenv.FreeAddr(t), testenv.FreeAddr(t)
	drop := func(name string) bool {
		return strings.HasPrefix(name, "TOKENGATE_") || strings.HasSuffix(strings.ToUpper(name), "_PROXY")
	}
	env = append([]string{
		"TOKENGATE_LISTEN_VERIFY=" + verify, "TOKENGATE_LISTEN_ADMIN=" + admin,
		"TOKENGATE_JWKS_CA_FILE=" + inet.caFile, "HTTPS_PROXY=" + inet.proxy,
		// A provider that never answers fails start-up sooner than the
		// 30s default.
		"TOKENGATE_JWKS_STARTUP_TIMEOUT=15s",
	}, env...)
	g := &gateway{
		verifyURL: "http://" + verify + "/verify", adminURL: "http://" + admin,
		proc:   testenv.StartProcess(t, "tokengate", testenv.Environ(drop, env...), bin, "serve", "--config", cfg),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}},
	}
	t.Cleanup(g.client.CloseIdleConnections)
	g.proc.WaitHTTP(t, g.client, g.adminURL+"/readyz", 30*time.Second)
	return g
}

// answer is what /verify said about a token.
type answer struct {
	status    int
	auth      map[string]string // every X-Auth-* header, by lower-case name
	challenge string            // WWW-Authenticate
}

// verify asks /verify about token for the original request method and
// path (GET / when empty).
func (g *gateway) verify(t *testing.T, token, method, path string) answer {
	t.Helper()
	a, err := g.ask(token, method, path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// ask is verify for goroutines other than the test's.
func (g *gateway) ask(token, method, path string) (answer, error) {
	req, _ := http.NewRequest(http.MethodGet, g.verifyURL, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Original-Method", cmp.Or(method, "GET"))
	req.Header.Set("X-Original-URI", cmp.Or(path, "/"))
	resp, err := g.client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("/verify: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a := answer{status: resp.StatusCode, auth: map[string]string{}, challenge: resp.Header.Get("WWW-Authenticate")}
	for name, values := range resp.Header {
		if n := strings.ToLower(name); strings.HasPrefix(n, "x-auth-") {
			a.auth[n] = strings.Join(values, "\n")
		}
	}
	return a, nil
}

// metric sums the values of the series of name whose labels contain every
// one of labels (`issuer="…"`) in /metrics.
func (g *gateway) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	resp, err := g.client.Get(g.adminURL + "/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		series, value, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(series, l) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// generation is the keyring generation /keys reports.
func (g *gateway) generation(t *testing.T) uint64 {
	t.Helper()
	resp, err := g.client.Get(g.adminURL + "/keys")
	if err != nil {
		t.Fatalf("/keys: %v", err)
	}
	defer resp.Body.Close()
	var keys struct {
		Generation uint64 `json:"generation"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&keys); err != nil {
		t.Fatalf("/keys: %v", err)
	}
	return keys.Generation
}

// writeJSON answers with v as JSON of the given content type.
func writeJSON(w http.ResponseWriter, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Write(b)
}
