package sidecar_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
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
	srv, err := sidecar.New(sidecar.DefaultConfig(), verifier.Options{Policy: verifier.DefaultPolicy()}, sidecar.Options{Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
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
