package sidecar_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/verifier"
)

// adminGet serves one admin request in process (its local address is not
// a loopback one).
func adminGet(srv *sidecar.Server, path string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(path)
	srv.HandleAdmin(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return resp
}

// weakRSAJWK is the JWK of a 1024-bit RSA key, which tokengate refuses.
func weakRSAJWK(t *testing.T, kid string) map[string]any {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	return map[string]any{"kty": "RSA", "kid": kid, "alg": "RS256", "n": b64.EncodeToString(k.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

// TestReadyzNamesRefusedKeys: a key set (a provider's or a file) with a key
// tokengate refuses is applied without it, and /readyz says which key was
// refused and why, while staying ready.
func TestReadyzNamesRefusedKeys(t *testing.T) {
	_, good := newSigner(t, "good")
	var set struct{ Keys []map[string]any }
	doc, _ := keyring.MarshalJWKS(good)
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	withWeak, _ := json.Marshal(map[string]any{"keys": append(set.Keys, weakRSAJWK(t, "weak-provider-key"))})
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(withWeak) }))
	t.Cleanup(provider.Close)
	file := filepath.Join(t.TempDir(), "keys.json")
	fileDoc, _ := json.Marshal(map[string]any{"keys": []any{set.Keys[0], weakRSAJWK(t, "weak-file-key")}})
	if err := os.WriteFile(file, fileDoc, 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(keyring.Config{Sources: []keyring.Source{
		{Path: file},
		{Remote: &keyring.RemoteConfig{JWKSURL: provider.URL, Issuer: "https://idp.example", Algs: []keyring.Algorithm{keyring.ES256, keyring.RS256}, AllowHTTP: true}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	srv := serverOptions{}.build(t, defaultServerConfig(), verifier.Options{Policy: verifier.DefaultPolicy()}, ring)
	r := adminGet(srv, "/readyz")
	var ready struct {
		Ready     bool     `json:"ready"`
		Keys      int      `json:"keys"`
		Refused   []string `json:"refused_keys"`
		Providers []struct {
			Refused []string `json:"refused_keys"`
		} `json:"identity_providers"`
	}
	if err := json.Unmarshal(r.Body(), &ready); err != nil {
		t.Fatal(err)
	}
	if r.StatusCode() != 200 || !ready.Ready || ready.Keys != 2 {
		t.Fatalf("readyz %d %s", r.StatusCode(), r.Body())
	}
	if len(ready.Refused) != 1 || !strings.Contains(ready.Refused[0], "weak-file-key") || !strings.Contains(ready.Refused[0], "1024") {
		t.Errorf("file's refused key: %q", ready.Refused)
	}
	if len(ready.Providers) != 1 || len(ready.Providers[0].Refused) != 1 || !strings.Contains(ready.Providers[0].Refused[0], "weak-provider-key") {
		t.Errorf("provider's refused key: %s", r.Body())
	}
}

// octThumbprint is the RFC 7638 thumbprint of an HMAC secret's JWK, as
// /keys once showed a prefix of it: an unsalted hash of the secret.
func octThumbprint(secret []byte) string {
	sum := sha256.Sum256([]byte(`{"k":"` + base64.RawURLEncoding.EncodeToString(secret) + `","kty":"oct"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestKeysPageShowsNoHMACFingerprint: /keys lists an HMAC key by kid, alg,
// source and size in bits only; no value derived from its secret.
func TestKeysPageShowsNoHMACFingerprint(t *testing.T) {
	f := newFixture(t, nil)
	_, adminURL := serve(t, f)
	code, body := httpGet(t, adminURL+"/keys")
	if code != 200 {
		t.Fatalf("/keys on loopback: %d %s", code, body)
	}
	var page struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte("billing-secret-0"), 3)
	if tp := octThumbprint(secret); strings.Contains(string(body), tp[:8]) {
		t.Fatalf("/keys shows a hash of the HMAC secret:\n%s", body)
	}
	found := false
	for _, k := range page.Keys {
		if k["kid"] != "client-billing" {
			if k["fingerprint"] == nil || k["fingerprint"] == "" {
				t.Errorf("public key without fingerprint: %v", k)
			}
			continue
		}
		found = true
		if _, has := k["fingerprint"]; has {
			t.Errorf("HMAC key shown with a fingerprint: %v", k)
		}
		if k["alg"] != "HS256" || k["bits"] != float64(8*len(secret)) || !strings.HasSuffix(k["source"].(string), "billing.secret") {
			t.Errorf("HMAC key entry: %v", k)
		}
	}
	if !found {
		t.Fatalf("HMAC key not listed:\n%s", body)
	}
}

// TestKeysPageNeedsAdminAuthorization: /keys is behind the rule of
// /revocations: the admin bearer token when one is configured, else
// loopback only.
func TestKeysPageNeedsAdminAuthorization(t *testing.T) {
	f := newFixtureOpts(t, nil, func(_ *verifier.Options, o *serverOptions) { o.AdminToken = []byte("admin-token-0123456789") })
	_, adminURL := serve(t, f)
	get := func(url, token string) int {
		req, _ := http.NewRequest("GET", url+"/keys", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		token string
		want  int
	}{{"", 401}, {"wrong-token-0123456789", 401}, {"admin-token-0123456789", 200}} {
		if got := get(adminURL, tc.token); got != tc.want {
			t.Errorf("token %q: %d, want %d", tc.token, got, tc.want)
		}
	}
	// Without a token: loopback only.
	url, ok := serveOffLoopback(t, newFixture(t, nil))
	if !ok {
		return
	}
	if got := get(url, ""); got != 403 {
		t.Errorf("/keys without a token on %s: %d, want 403", url, got)
	}
}

// serveOffLoopback serves f's admin listener on an address of this machine
// that is not a loopback one, and returns its base URL; false (logged) if
// the machine has none to listen on.
func serveOffLoopback(t *testing.T, f *fixture) (string, bool) {
	t.Helper()
	ip := nonLoopbackIP()
	if ip == nil {
		t.Log("no non-loopback address here; only the loopback half ran")
		return "", false
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Logf("cannot listen on %s: %v", ip, err)
		return "", false
	}
	vln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go f.srv.Serve(vln, ln)
	t.Cleanup(func() { f.srv.Shutdown(context.Background()) })
	return "http://" + ln.Addr().String(), true
}

// httpGet fetches url and returns the status and body.
func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}
