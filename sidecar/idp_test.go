package sidecar_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/internal/sidecartest"
	"github.com/tokengate/tokengate/internal/testenv"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

// idp is an identity provider over real HTTP: a JWK Set that a test can
// change, and (with discovery) an OpenID configuration.
type idp struct {
	srv      *httptest.Server
	mu       sync.Mutex
	keys     []*keyring.Key
	jwksHits atomic.Int64
}

func newIDP(t *testing.T) *idp {
	p := &idp{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		p.jwksHits.Add(1)
		p.mu.Lock()
		doc, err := keyring.MarshalJWKS(p.keys...)
		p.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(doc)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) set(keys ...*keyring.Key) {
	p.mu.Lock()
	p.keys = keys
	p.mu.Unlock()
}

// newSigner makes an ES256 key pair with kid: the signer and its public key.
func newSigner(t *testing.T, kid string) (*signer.Signer, *keyring.Key) {
	priv, err := signer.GenerateKey(keyring.ES256)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := signer.Public(priv)
	k, err := keyring.NewKey(pub, keyring.Options{ID: kid, Alg: keyring.ES256})
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.New(keyring.ES256, priv, kid)
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

func signClaims(t *testing.T, s *signer.Signer, iss string) string {
	now := time.Now()
	b, _ := json.Marshal(map[string]any{"iss": iss, "sub": "user-1", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	tok, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestIdentityProviderRotation: two identity providers (one by JWK Set
// URL, one by OIDC discovery) behind one sidecar. Each issuer's keys verify
// only its own tokens; a key the provider adds verifies after one shared
// refetch; a key it removes stops verifying even for a token already in
// the cache; random kids cannot make the sidecar hammer the provider.
func TestIdentityProviderRotation(t *testing.T) {
	a, b := newIDP(t), newIDP(t)
	signA1, keyA1 := newSigner(t, "a-1")
	signA2, keyA2 := newSigner(t, "a-2")
	signB, keyB := newSigner(t, "b-1")
	a.set(keyA1)
	b.set(keyB)
	issA, issB := "https://idp-a.example", b.srv.URL

	ring, err := keyring.New(keyring.Config{Sources: []keyring.Source{
		{Remote: &keyring.RemoteConfig{JWKSURL: a.srv.URL + "/keys", Issuer: issA, Algs: []keyring.Algorithm{keyring.ES256},
			AllowHTTP: true, RefetchInterval: time.Second}},
		{Remote: &keyring.RemoteConfig{Issuer: issB, Discover: true, Algs: []keyring.Algorithm{keyring.ES256},
			AllowHTTP: true, RefetchInterval: time.Second}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ring.Start(context.Background())
	t.Cleanup(func() { ring.Close() })
	srv := sidecartest.New(t, gate.DefaultConfig(), sidecar.DefaultConfig(), verifier.Options{Policy: verifier.DefaultPolicy()},
		gate.Options{Refetch: ring.Refetch}, sidecar.Options{Keys: ring})
	f := &fixture{srv: srv, ring: nil}
	status := func(tok string) int { return do(f, bearer(tok)).StatusCode() }

	tokA1 := signClaims(t, signA1, issA)
	waitCached(t, f, func() {
		if c := status(tokA1); c != 200 {
			t.Fatalf("issuer A's token: %d", c)
		}
	})
	if c := status(signClaims(t, signB, issB)); c != 200 {
		t.Fatalf("issuer B's token: %d", c)
	}
	// B's key never verifies a token claiming A, nor A's key one claiming B.
	if c := status(signClaims(t, signB, issA)); c != 401 {
		t.Fatalf("B's key accepted for issuer A: %d", c)
	}
	if c := status(signClaims(t, signA1, issB)); c != 401 {
		t.Fatalf("A's key accepted for issuer B: %d", c)
	}

	// Unknown kids cost at most one refetch per second per provider: let
	// the cross-issuer attempts' refetch interval pass.
	time.Sleep(1100 * time.Millisecond)
	spray := make([]string, 50)
	for i := range spray {
		s, _ := newSigner(t, "random-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		spray[i] = signClaims(t, s, issA)
	}

	// A adds a key: its first token triggers one refetch and verifies.
	hits := a.jwksHits.Load()
	a.set(keyA1, keyA2)
	if c := status(signClaims(t, signA2, issA)); c != 200 {
		t.Fatalf("token of the added key: %d", c)
	}
	if got := a.jwksHits.Load() - hits; got != 1 {
		t.Fatalf("the new kid cost %d fetches, want 1", got)
	}
	// An attacker spraying unknown kids within the interval costs nothing.
	hits = a.jwksHits.Load()
	var wg sync.WaitGroup
	for _, tok := range spray {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c := status(tok); c != 401 {
				t.Errorf("random kid: %d", c)
			}
		}()
	}
	wg.Wait()
	if got := a.jwksHits.Load() - hits; got != 0 {
		t.Fatalf("50 random kids caused %d fetches within the refetch interval", got)
	}

	// A removes its old key: after the next refresh the cached token of
	// that key is refused.
	a.set(keyA2)
	if err := ring.RefreshRemotes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := status(tokA1); c != 401 {
		t.Fatalf("token of a removed key still accepted (cache): %d", c)
	}
	if c := status(signClaims(t, signA2, issA)); c != 200 {
		t.Fatalf("token of the remaining key: %d", c)
	}

	// Metrics and readiness show both providers.
	m := metricsText(f)
	for _, want := range []string{`tokengate_jwks_ready{issuer="https://idp-a.example"`, `tokengate_jwks_refetches_total{issuer="https://idp-a.example"`, "tokengate_jwks_refetches_suppressed_total", "tokengate_jwks_fetches_total"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	var ctx fastCtx
	ctx.Request.SetRequestURI("/readyz")
	srv.HandleAdmin(&ctx.RequestCtx)
	if ctx.Response.StatusCode() != 200 || !strings.Contains(string(ctx.Response.Body()), `"identity_providers"`) {
		t.Fatalf("readyz: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

// TestIdentityProviderDownAtStartIsNotReady: with StartNotReady the
// sidecar answers /readyz 503 until the provider has answered once.
func TestIdentityProviderDownAtStartIsNotReady(t *testing.T) {
	var up atomic.Bool
	p := newIDP(t)
	_, key := newSigner(t, "k")
	p.set(key)
	idpGate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		p.srv.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(idpGate.Close)
	ring, err := keyring.New(keyring.Config{RemoteStartup: keyring.StartNotReady, Sources: []keyring.Source{
		{Remote: &keyring.RemoteConfig{JWKSURL: idpGate.URL + "/keys", Issuer: "https://i", Algs: []keyring.Algorithm{keyring.ES256},
			AllowHTTP: true, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ring.Start(context.Background())
	t.Cleanup(func() { ring.Close() })
	srv := sidecartest.New(t, gate.DefaultConfig(), sidecar.DefaultConfig(), verifier.Options{Policy: verifier.DefaultPolicy()}, gate.Options{}, sidecar.Options{Keys: ring})
	ready := func() (int, string) {
		var ctx fastCtx
		ctx.Request.SetRequestURI("/readyz")
		srv.HandleAdmin(&ctx.RequestCtx)
		return ctx.Response.StatusCode(), string(ctx.Response.Body())
	}
	if code, body := ready(); code != 503 || !strings.Contains(body, `"ready": false`) || !strings.Contains(body, idpGate.URL) {
		t.Fatalf("readyz with the provider down: %d %s", code, body)
	}
	up.Store(true)
	testenv.Eventually(t, 10*time.Second, "ready once the provider answers", func() bool { c, _ := ready(); return c == 200 })
}
