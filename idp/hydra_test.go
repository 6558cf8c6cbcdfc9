package idp_test

import (
	"bytes"
	"crypto/rand"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testenv"
)

// hydraBuild is how to build the Hydra binary this test runs; .ci/run
// does it.
const hydraBuild = "(from the repository root) CGO_ENABLED=1 go -C idp/hydra build -tags sqlite,sqlite_omit_load_extension -o /usr/local/bin/hydra github.com/ory/hydra/v2"

// hydraBinary returns the Ory Hydra to run: $TOKENGATE_HYDRA, else hydra on
// PATH. It must be the version hydra/go.mod pins, built with the sqlite tag
// (DSN=memory needs it). A missing or different binary skips the test, or
// fails it under TOKENGATE_INTEGRATION=require.
func hydraBinary(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile("hydra/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for line := range strings.Lines(string(mod)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/ory/hydra/v2" {
			want = f[1]
		}
	}
	if want == "" {
		t.Fatal("hydra/go.mod does not require github.com/ory/hydra/v2")
	}
	path := os.Getenv("TOKENGATE_HYDRA")
	if path == "" {
		if path, err = exec.LookPath("hydra"); err != nil {
			testenv.Missing(t, "no Ory Hydra binary ($TOKENGATE_HYDRA, or hydra on PATH); build it with: %s", hydraBuild)
		}
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		testenv.Missing(t, "%s: %v", path, err)
	}
	tags := ""
	for _, s := range info.Settings {
		if s.Key == "-tags" {
			tags = s.Value
		}
	}
	if info.Main.Path != "github.com/ory/hydra/v2" || info.Main.Version != want || !strings.Contains(","+tags+",", ",sqlite,") {
		testenv.Missing(t, "%s is %s %s (tags %q), not github.com/ory/hydra/v2 %s with the sqlite tag; build it with: %s",
			path, info.Main.Path, info.Main.Version, tags, want, hydraBuild)
	}
	return path
}

// hydra is a running `hydra serve all --dev` with its database in memory
// and JWT access tokens.
type hydra struct {
	bin, issuer   string
	public, admin string // loopback host:port
	proc          *testenv.Process
	http          *http.Client
}

func startHydra(t *testing.T, bin, issuer string) *hydra {
	t.Helper()
	h := &hydra{bin: bin, issuer: issuer, public: testenv.FreeAddr(t), admin: testenv.FreeAddr(t),
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}}
	t.Cleanup(h.http.CloseIdleConnections)
	h.start(t)
	return h
}

// start runs Hydra on h's ports with a new, empty database (new keys, no
// clients) and waits until it is ready.
func (h *hydra) start(t *testing.T) {
	t.Helper()
	secret := make([]byte, 16)
	rand.Read(secret)
	pubHost, pubPort, _ := net.SplitHostPort(h.public)
	admHost, admPort, _ := net.SplitHostPort(h.admin)
	// Only what Hydra needs: its configuration comes from the environment,
	// so nothing of the test's own may leak in.
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"DSN=memory", "STRATEGIES_ACCESS_TOKEN=jwt", "SECRETS_SYSTEM=" + hex.EncodeToString(secret),
		"URLS_SELF_ISSUER=" + h.issuer, "URLS_SELF_PUBLIC=" + h.issuer,
		"SERVE_PUBLIC_HOST=" + pubHost, "SERVE_PUBLIC_PORT=" + pubPort,
		"SERVE_ADMIN_HOST=" + admHost, "SERVE_ADMIN_PORT=" + admPort,
		"LOG_LEVEL=warn", "SQA_OPT_OUT=true"}
	h.proc = testenv.StartProcess(t, "hydra", env, h.bin, "serve", "all", "--dev", "--sqa-opt-out")
	h.proc.WaitHTTP(t, h.http, "http://"+h.public+"/health/ready", 60*time.Second)
}

// call sends a JSON request to Hydra's admin API and decodes the answer
// into out (when not nil); any status but want fails the test.
func (h *hydra) call(t *testing.T, method, path string, in any, want int, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+h.admin+path, body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatalf("hydra %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("hydra %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("hydra %s %s: %v", method, path, err)
		}
	}
}

// client registers a client-credentials client allowed scopes and
// audiences; lifespan ("5s", …) bounds its access tokens when not empty.
// More client fields may follow in extra (name, value, …).
func (h *hydra) client(t *testing.T, id, scopes string, audiences []string, lifespan string, extra ...any) {
	t.Helper()
	c := map[string]any{
		"client_id": id, "client_secret": id + "-secret-0123456789", "grant_types": []string{"client_credentials"},
		"scope": scopes, "audience": audiences, "token_endpoint_auth_method": "client_secret_basic",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	h.call(t, "POST", "/admin/clients", c, http.StatusCreated, nil)
	if lifespan != "" {
		h.call(t, "PUT", "/admin/clients/"+id+"/lifespans",
			map[string]any{"client_credentials_grant_access_token_lifespan": lifespan}, http.StatusOK, nil)
	}
}

// token gets a client-credentials access token from Hydra's token endpoint.
func (h *hydra) token(t *testing.T, client, scopes string, audiences ...string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scopes}}
	if len(audiences) > 0 {
		form.Set("audience", strings.Join(audiences, " "))
	}
	req, _ := http.NewRequest("POST", "http://"+h.public+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, client+"-secret-0123456789")
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatalf("hydra token: %v", err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &tr); resp.StatusCode != http.StatusOK || err != nil || tr.AccessToken == "" {
		t.Fatalf("hydra token: %d %s", resp.StatusCode, b)
	}
	return tr.AccessToken
}

// accessTokenKeys lists the kids of Hydra's access-token key set.
func (h *hydra) accessTokenKeys(t *testing.T) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	h.call(t, "GET", "/admin/keys/hydra.jwt.access-token", nil, http.StatusOK, &set)
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KID)
	}
	return kids
}

// segment decodes part i (0 header, 1 payload) of a compact JWS.
func segment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %.20s…", tok)
	}
	b, err := b64url.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func kidOf(t *testing.T, tok string) string { return segment(t, tok, 0)["kid"].(string) }

func expOf(t *testing.T, tok string) int64 { return int64(segment(t, tok, 1)["exp"].(float64)) }

// front is the provider's public host in front of Hydra: a reverse proxy
// that serves each JWK Set with its keys in a different order (rotated by
// one per fetch), as Hydra itself does from one fetch to the next, so that
// every fetch is a reordering; it counts the fetches.
type front struct {
	mu      sync.Mutex
	fetches []time.Time
	orders  map[string]bool // distinct kid orders served
}

func newFront(t *testing.T, public string) (*front, http.Handler) {
	f := &front{orders: map[string]bool{}}
	target := &url.URL{Scheme: "http", Host: public}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = r.In.Host },
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.URL.Path != "/.well-known/jwks.json" || resp.StatusCode != http.StatusOK {
				return nil
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			b = f.reorder(t, b)
			resp.Body = io.NopCloser(bytes.NewReader(b))
			resp.ContentLength = int64(len(b))
			resp.Header.Set("Content-Length", fmt.Sprint(len(b)))
			resp.Header.Del("ETag")
			return nil
		},
	}
	return f, rp
}

func (f *front) reorder(t *testing.T, doc []byte) []byte {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil || len(set.Keys) == 0 {
		t.Errorf("hydra served a JWK Set the test cannot read: %v", err)
		return doc
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.fetches) % len(set.Keys)
	set.Keys = append(set.Keys[n:], set.Keys[:n]...)
	f.fetches = append(f.fetches, time.Now())
	var kids []string
	for _, k := range set.Keys {
		var m struct {
			KID string `json:"kid"`
		}
		json.Unmarshal(k, &m)
		kids = append(kids, m.KID)
	}
	f.orders[strings.Join(kids, " ")] = true
	out, _ := json.Marshal(set)
	return out
}

// fetchesSince counts the JWK Set fetches at or after since.
func (f *front) fetchesSince(since time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, at := range f.fetches {
		if !at.Before(since) {
			n++
		}
	}
	return n
}

func (f *front) distinctOrders() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.orders)
}
