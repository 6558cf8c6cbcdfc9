package keyring_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testenv"
	"github.com/tokengate/tokengate/keyring"
)

// idpKey is a P-256 signing key of a fake identity provider.
type idpKey struct {
	kid  string
	priv *ecdsa.PrivateKey
	pub  *keyring.Key
}

func newIDPKey(t testing.TB, kid string, curve elliptic.Curve) idpKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keyring.NewKey(&priv.PublicKey, keyring.Options{ID: kid})
	if err != nil {
		t.Fatal(err)
	}
	return idpKey{kid: kid, priv: priv, pub: pub}
}

// sign returns the JWS ES256 signature of input: R || S, 32 bytes each
// (RFC 7518 §3.4).
func (k idpKey) sign(t testing.TB, input []byte) []byte {
	t.Helper()
	h := sha256.Sum256(input)
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

func idpJWKS(t testing.TB, keys ...idpKey) []byte {
	t.Helper()
	pubs := make([]*keyring.Key, len(keys))
	for i, k := range keys {
		pubs[i] = k.pub
	}
	b, err := keyring.MarshalJWKS(pubs...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// idpFind looks kid up for issuer and checks that it verifies a signature
// made with k.
func idpFind(t testing.TB, r *keyring.Ring, issuer string, k idpKey) bool {
	t.Helper()
	key, ok := r.Snapshot().Find([]byte(issuer), []byte(k.kid), keyring.ES256)
	if !ok {
		return false
	}
	input := []byte("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0")
	if key.Alg() != keyring.ES256 || !key.Verify(input, k.sign(t, input)) {
		t.Fatalf("key %q for issuer %q does not verify its signature", k.kid, issuer)
	}
	return true
}

// idp is a fake identity provider: a JWK Set at /jwks and, under any path,
// an OpenID Provider configuration at .../.well-known/openid-configuration.
type idp struct {
	srv    *httptest.Server
	caFile string // PEM of the TLS server's certificate; "" for plain http

	mu       sync.Mutex
	s        idpSettings
	requests []*http.Request
}

// idpSettings is how the provider answers.
type idpSettings struct {
	doc          []byte
	etag         string
	cacheControl string
	age          string
	status       int           // non-zero: answer /jwks with it and a body
	hang         bool          // block /jwks until the client gives up
	chunked      bool          // stream /jwks without Content-Length
	delay        time.Duration // before answering /jwks
	issuer       string        // discovery "issuer"; default: the server URL
	jwksURI      string        // discovery "jwks_uri"; default: <server>/jwks
	redirect     string        // non-empty: /jwks redirects there
}

func newIDP(t *testing.T, useTLS bool, doc []byte) *idp {
	t.Helper()
	p := &idp{s: idpSettings{doc: doc}}
	if useTLS {
		p.srv = httptest.NewUnstartedServer(p)
		p.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the tests make fail
		p.srv.StartTLS()
		p.caFile = filepath.Join(t.TempDir(), "ca.pem")
		pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
		if err := os.WriteFile(p.caFile, pemCert, 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		p.srv = httptest.NewServer(p)
	}
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) set(f func(s *idpSettings)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.s)
}

// count returns the number of requests whose path ends in suffix.
func (p *idp) count(suffix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.requests {
		if strings.HasSuffix(r.URL.Path, suffix) {
			n++
		}
	}
	return n
}

func (p *idp) last() *http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[len(p.requests)-1]
}

func (p *idp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.requests = append(p.requests, r.Clone(context.Background()))
	q := p.s
	p.mu.Unlock()

	if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
		iss, jwks := q.issuer, q.jwksURI
		if iss == "" {
			iss = p.srv.URL
		}
		if jwks == "" {
			jwks = p.srv.URL + "/jwks"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks_uri": jwks, "response_types_supported": []string{"code"}})
		return
	}
	if q.delay > 0 {
		select {
		case <-time.After(q.delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case q.hang:
		<-r.Context().Done()
		return
	case q.redirect != "":
		http.Redirect(w, r, q.redirect, http.StatusFound)
		return
	case q.status != 0:
		w.WriteHeader(q.status)
		fmt.Fprint(w, "<html>upstream database exploded\n\n   retry later</html>")
		return
	}
	if q.etag != "" {
		w.Header().Set("ETag", q.etag)
		if r.Header.Get("If-None-Match") == q.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if q.cacheControl != "" {
		w.Header().Set("Cache-Control", q.cacheControl)
	}
	if q.age != "" {
		w.Header().Set("Age", q.age)
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	if q.chunked {
		for c := range slicesChunk(q.doc, 512) {
			w.Write(c)
			w.(http.Flusher).Flush()
		}
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(q.doc)))
	w.Write(q.doc)
}

func slicesChunk(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			c := b[:min(n, len(b))]
			b = b[len(c):]
			if !yield(c) {
				return
			}
		}
	}
}

// remote returns a RemoteConfig for the provider's JWK Set, trusting its
// TLS certificate (or allowing its loopback http URL), with fast backoff.
func (p *idp) remote(issuer string) *keyring.RemoteConfig {
	rc := &keyring.RemoteConfig{
		JWKSURL:    p.srv.URL + "/jwks",
		Issuer:     issuer,
		Algs:       []keyring.Algorithm{keyring.ES256},
		MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
	}
	if p.caFile != "" {
		rc.CAFile = p.caFile
	} else {
		rc.AllowHTTP = true
	}
	return rc
}

// discovery returns a RemoteConfig that finds the provider's JWK Set by
// OpenID Connect discovery from issuer.
func (p *idp) discovery(issuer string) *keyring.RemoteConfig {
	rc := p.remote(issuer)
	rc.JWKSURL, rc.Discover = "", true
	return rc
}

// idpClock is a clock the test moves by hand.
type idpClock struct {
	mu sync.Mutex
	t  time.Time
}

func newIDPClock() *idpClock { return &idpClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *idpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *idpClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newRemoteRing(t *testing.T, cfg keyring.Config) *keyring.Ring {
	t.Helper()
	r, err := keyring.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// idpWait polls cond until it holds; it fails the test after a generous
// deadline (the machine may be loaded).
func idpWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func remoteStatus(t *testing.T, r *keyring.Ring, i int) keyring.RemoteStatus {
	t.Helper()
	st := r.Status()
	if len(st.Remotes) <= i {
		t.Fatalf("status has %d remotes, want more than %d", len(st.Remotes), i)
	}
	return st.Remotes[i]
}

func wantErr(t *testing.T, err error, target error, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one matching %v containing %q", target, contains)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("error %q does not match %v", err, target)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

// TestRemoteJWKSIssuerScope: keys of a JWK Set URL are scoped to the
// configured issuer; a key of issuer A is never found for issuer B.
func TestRemoteJWKSIssuerScope(t *testing.T) {
	ka, kb := newIDPKey(t, "a1", elliptic.P256()), newIDPKey(t, "b1", elliptic.P256())
	shared := newIDPKey(t, "shared", elliptic.P256()) // same kid at both providers, other keys
	sharedB := newIDPKey(t, "shared", elliptic.P256())
	a := newIDP(t, false, idpJWKS(t, ka, shared))
	b := newIDP(t, true, idpJWKS(t, kb, sharedB))
	const issA, issB = "https://a.example", "https://b.example"
	r := newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: a.remote(issA)}, {Remote: b.remote(issB)}}})

	if !r.Ready() {
		t.Fatal("ring with fetched remotes is not ready")
	}
	if !idpFind(t, r, issA, ka) || !idpFind(t, r, issB, kb) || !idpFind(t, r, issA, shared) || !idpFind(t, r, issB, sharedB) {
		t.Fatal("a provider's key is not found for its issuer")
	}
	for _, tc := range []struct {
		iss string
		k   idpKey
	}{{issB, ka}, {issA, kb}, {"", ka}, {"https://c.example", kb}} {
		if _, ok := r.Snapshot().Find([]byte(tc.iss), []byte(tc.k.kid), keyring.ES256); ok {
			t.Errorf("key %q found for issuer %q", tc.k.kid, tc.iss)
		}
	}
	if k, _ := r.Snapshot().Find([]byte(issA), []byte("shared"), keyring.ES256); k.Source() != a.srv.URL+"/jwks" || k.Issuer() != issA {
		t.Errorf("key source %q issuer %q", k.Source(), k.Issuer())
	}
	st := r.Status()
	if st.Generation != 1 || st.Keys != 4 || len(st.Remotes) != 2 {
		t.Fatalf("status %+v", st)
	}
	for i, want := range []struct{ url, iss string }{{a.srv.URL + "/jwks", issA}, {b.srv.URL + "/jwks", issB}} {
		rs := st.Remotes[i]
		if rs.URL != want.url || rs.JWKSURL != want.url || rs.Issuer != want.iss || !rs.Ready || rs.Keys != 2 ||
			rs.Fetches != 1 || rs.FetchErrors != 0 || rs.LastError != nil || rs.LastSuccess.IsZero() || !rs.NextRefresh.After(rs.LastAttempt) {
			t.Errorf("remote %d status %+v", i, rs)
		}
	}
	req := a.last()
	if got := req.Header.Get("Accept"); got != "application/jwk-set+json, application/json" {
		t.Errorf("Accept %q", got)
	}
	// No remote without an issuer: a token of another issuer fetches nothing.
	if r.Refetch(context.Background(), []byte("https://c.example"), []byte("x")) || a.count("/jwks")+b.count("/jwks") != 2 {
		t.Error("Refetch for an unconfigured issuer fetched")
	}
}

// TestRemoteDiscovery follows OpenID Connect Discovery 1.0 §4.
func TestRemoteDiscovery(t *testing.T) {
	k := newIDPKey(t, "k1", elliptic.P256())
	discover := (*idp).discovery
	t.Run("happy path with a path and a trailing slash", func(t *testing.T) {
		p := newIDP(t, true, idpJWKS(t, k))
		iss := p.srv.URL + "/realms/main/"
		p.set(func(s *idpSettings) { s.issuer = iss })
		r := newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: discover(p, iss)}}})
		if !idpFind(t, r, iss, k) {
			t.Fatal("discovered key not found")
		}
		// §4: the terminating "/" is removed before appending the path.
		if p.count("/realms/main/.well-known/openid-configuration") != 1 || p.count("//.well-known/openid-configuration") != 0 {
			t.Errorf("discovery not at /realms/main/.well-known/openid-configuration: %s", p.last().URL)
		}
		rs := remoteStatus(t, r, 0)
		if rs.URL != p.srv.URL+"/realms/main/.well-known/openid-configuration" || rs.JWKSURL != p.srv.URL+"/jwks" || !rs.Ready {
			t.Errorf("status %+v", rs)
		}
	})
	t.Run("issuer mismatch", func(t *testing.T) {
		p := newIDP(t, true, idpJWKS(t, k))
		p.set(func(s *idpSettings) { s.issuer = p.srv.URL + "/" }) // one byte more
		r := newRemoteRing(t, keyring.Config{RemoteStartup: keyring.StartNotReady, Sources: []keyring.Source{{Remote: discover(p, p.srv.URL)}}})
		rs := remoteStatus(t, r, 0)
		wantErr(t, rs.LastError, keyring.ErrIssuerMismatch, p.srv.URL+"/.well-known/openid-configuration")
		if r.Ready() || rs.Ready || p.count("/jwks") != 0 {
			t.Errorf("mismatched provider used: ready %v, %d JWKS requests", r.Ready(), p.count("/jwks"))
		}
	})
	t.Run("http jwks_uri refused", func(t *testing.T) {
		plain := newIDP(t, false, idpJWKS(t, k))
		p := newIDP(t, true, nil)
		p.set(func(s *idpSettings) { s.jwksURI = plain.srv.URL + "/jwks" })
		r := newRemoteRing(t, keyring.Config{RemoteStartup: keyring.StartNotReady, Sources: []keyring.Source{{Remote: discover(p, p.srv.URL)}}})
		wantErr(t, remoteStatus(t, r, 0).LastError, keyring.ErrInsecureURL, "jwks_uri", p.srv.URL)
		if r.Ready() || plain.count("/jwks") != 0 {
			t.Error("http jwks_uri fetched")
		}
	})
}

// TestRemoteConfigErrors: configurations are refused before any request,
// each error naming the field.
func TestRemoteConfigErrors(t *testing.T) {
	es := []keyring.Algorithm{keyring.ES256}
	tests := []struct {
		name     string
		src      keyring.Source
		want     error
		contains []string
	}{
		{"http without AllowHTTP", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "http://127.0.0.1:1/jwks", Algs: es}}, keyring.ErrInsecureURL, []string{"issuers[].jwks_url", "http://127.0.0.1:1/jwks", "jwks.allow_http"}},
		{"AllowHTTP with a remote host", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "http://idp.example/jwks", Algs: es, AllowHTTP: true}}, keyring.ErrInsecureURL, []string{"issuers[].jwks_url", "loopback", "idp.example"}},
		{"AllowHTTP with a lookalike host", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "http://127.0.0.1.nip.io/jwks", Algs: es, AllowHTTP: true}}, keyring.ErrInsecureURL, []string{"loopback"}},
		{"other scheme", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "file:///etc/jwks.json", Algs: es}}, keyring.ErrInsecureURL, []string{"issuers[].jwks_url", "scheme"}},
		{"relative URL", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "/jwks", Algs: es}}, keyring.ErrInsecureURL, []string{"issuers[].jwks_url"}},
		{"credentials in the URL", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://u:p@idp.example/jwks", Algs: es}}, keyring.ErrInsecureURL, []string{"user information"}},
		{"no URL", keyring.Source{Remote: &keyring.RemoteConfig{Algs: es}}, nil, []string{"issuers[].jwks_url is required"}},
		{"URL and discovery", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Discover: true, Issuer: "https://idp.example", Algs: es}}, nil, []string{"exclusive"}},
		{"discovery without issuer", keyring.Source{Remote: &keyring.RemoteConfig{Discover: true, Algs: es}}, nil, []string{"issuers[].issuer is required"}},
		{"http issuer", keyring.Source{Remote: &keyring.RemoteConfig{Discover: true, Issuer: "http://idp.example", Algs: es}}, keyring.ErrInsecureURL, []string{"issuers[].issuer"}},
		{"issuer with a query", keyring.Source{Remote: &keyring.RemoteConfig{Discover: true, Issuer: "https://idp.example/?tenant=1", Algs: es}}, nil, []string{"issuers[].issuer", "query"}},
		{"no allow-list", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks"}}, nil, []string{"issuers[].algs", "required"}},
		{"HMAC in the allow-list", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Algs: []keyring.Algorithm{keyring.HS256}}}, nil, []string{"issuers[].algs", "HS256"}},
		{"unknown alg", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Algs: []keyring.Algorithm{"none"}}}, nil, []string{"issuers[].algs", `"none"`}},
		{"alg outside algs", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Alg: keyring.RS256, Algs: es}}, nil, []string{"issuers[].alg", "RS256"}},
		{"min above max refresh", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Algs: es, MaxRefresh: time.Second}}, nil, []string{"jwks.min_refresh", "jwks.max_refresh"}},
		{"negative timeout", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Algs: es, Timeout: -time.Second}}, nil, []string{"jwks.timeout"}},
		{"min above max backoff", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Algs: es, MinBackoff: time.Hour}}, nil, []string{"jwks.min_backoff", "jwks.max_backoff"}},
		{"size above the cap", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Algs: es, MaxSize: keyring.MaxDocumentSize + 1}}, nil, []string{"jwks.max_size"}},
		{"CA file and client", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Algs: es, CAFile: "ca.pem", HTTPClient: &http.Client{}}}, nil, []string{"jwks.ca_file", "HTTPClient"}},
		{"missing CA file", keyring.Source{Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Algs: es, CAFile: filepath.Join(t.TempDir(), "missing.pem")}}, os.ErrNotExist, []string{"jwks.ca_file"}},
		{"source fields with remote", keyring.Source{Issuer: "https://idp.example", Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Algs: es}}, nil, []string{"RemoteConfig"}},
		{"path and remote", keyring.Source{Path: "x.json", Remote: &keyring.RemoteConfig{JWKSURL: "https://idp.example/jwks", Algs: es}}, nil, []string{"exactly one of"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keyring.New(keyring.Config{Sources: []keyring.Source{tt.src}})
			wantErr(t, err, tt.want, tt.contains...)
		})
	}
	ok := keyring.RemoteConfig{JWKSURL: "http://localhost:8080/jwks", AllowHTTP: true, Algs: es}
	if err := ok.Validate(); err != nil {
		t.Errorf("loopback http with AllowHTTP refused: %v", err)
	}
	ok.JWKSURL = "http://[::1]:8080/jwks"
	if err := ok.Validate(); err != nil {
		t.Errorf("IPv6 loopback http with AllowHTTP refused: %v", err)
	}
}

// TestRemoteRedirects: a redirect from https to http is never followed,
// and chains are capped.
func TestRemoteRedirects(t *testing.T) {
	k := newIDPKey(t, "k1", elliptic.P256())
	plain := newIDP(t, false, idpJWKS(t, k))
	secure := newIDP(t, true, nil)
	secure.set(func(s *idpSettings) { s.redirect = plain.srv.URL + "/jwks" })
	rc := secure.remote("https://idp.example")
	rc.AllowHTTP = true // even so: not from https
	r := newRemoteRing(t, keyring.Config{RemoteStartup: keyring.StartNotReady, Sources: []keyring.Source{{Remote: rc}}})
	wantErr(t, remoteStatus(t, r, 0).LastError, keyring.ErrInsecureURL, secure.srv.URL+"/jwks", "redirect")
	if plain.count("/jwks") != 0 {
		t.Error("followed a redirect to http")
	}

	// A redirect loop stops after a few hops.
	secure.set(func(s *idpSettings) { s.redirect = secure.srv.URL + "/jwks" })
	if err := r.RefreshRemotes(context.Background()); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("redirect loop: %v", err)
	}
	if n := secure.count("/jwks"); n > 1+1+3 { // first attempt, then the loop: one request and 3 redirects
		t.Errorf("%d requests for a redirect loop", n)
	}
}

// TestRemoteCacheControl: the refresh time follows Cache-Control max-age
// (minus Age), clamped into [MinRefresh, MaxRefresh] (RFC 9111 §5.2.2.1).
func TestRemoteCacheControl(t *testing.T) {
	k := newIDPKey(t, "k1", elliptic.P256())
	p := newIDP(t, false, idpJWKS(t, k))
	clock := newIDPClock()
	rc := p.remote("https://idp.example")
	rc.MinRefresh, rc.MaxRefresh, rc.DefaultRefresh = time.Minute, time.Hour, 15*time.Minute
	r := newRemoteRing(t, keyring.Config{Now: clock.Now, Sources: []keyring.Source{{Remote: rc}}})
	tests := []struct {
		cacheControl, age string
		want              time.Duration
	}{
		{"", "", 15 * time.Minute},
		{"public, max-age=120", "", 2 * time.Minute},
		{"max-age=86400, must-revalidate", "", time.Hour},
		{"max-age=5", "", time.Minute},
		{"no-store", "", time.Minute},
		{"max-age=3600, no-cache", "", time.Minute},
		{"MAX-AGE=600", "300", 5 * time.Minute},
		{"max-age=99999999999999999999", "", time.Hour},
		{"max-age=soon", "", 15 * time.Minute},
	}
	for _, tt := range tests {
		p.set(func(s *idpSettings) { s.cacheControl, s.age = tt.cacheControl, tt.age })
		clock.Advance(time.Second)
		if err := r.RefreshRemotes(context.Background()); err != nil {
			t.Fatal(err)
		}
		rs := remoteStatus(t, r, 0)
		if got := rs.NextRefresh.Sub(rs.LastAttempt); got != tt.want || !rs.LastAttempt.Equal(clock.Now()) {
			t.Errorf("Cache-Control %q, Age %q: next refresh in %s, want %s", tt.cacheControl, tt.age, got, tt.want)
		}
	}
}

// TestRemoteConditionalRequests: the ETag comes back as If-None-Match, a
// 304 keeps keys and generation, and an unchanged 200 body keeps the
// generation too.
func TestRemoteConditionalRequests(t *testing.T) {
	k1, k2 := newIDPKey(t, "k1", elliptic.P256()), newIDPKey(t, "k2", elliptic.P256())
	p := newIDP(t, false, idpJWKS(t, k1))
	p.set(func(s *idpSettings) { s.etag = `"v1"` })
	const iss = "https://idp.example"
	reloads := 0
	r := newRemoteRing(t, keyring.Config{
		OnReload: func(keyring.Status) { reloads++ },
		Sources:  []keyring.Source{{Remote: p.remote(iss)}},
	})
	if h := p.last().Header.Get("If-None-Match"); h != "" {
		t.Errorf("first request carries If-None-Match %q", h)
	}
	gen := r.Snapshot().Generation()
	refresh := func() {
		t.Helper()
		if err := r.RefreshRemotes(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	refresh()
	if h := p.last().Header.Get("If-None-Match"); h != `"v1"` {
		t.Errorf("second request If-None-Match %q", h)
	}
	rs := remoteStatus(t, r, 0)
	if rs.NotModified != 1 || rs.Fetches != 2 || rs.LastError != nil || !idpFind(t, r, iss, k1) || r.Snapshot().Generation() != gen {
		t.Fatalf("after 304: status %+v, generation %d (was %d)", rs, r.Snapshot().Generation(), gen)
	}

	// The same bytes without an ETag: fetched again, generation kept.
	p.set(func(s *idpSettings) { s.etag = "" })
	refresh()
	if r.Snapshot().Generation() != gen || remoteStatus(t, r, 0).NotModified != 1 || !idpFind(t, r, iss, k1) {
		t.Fatalf("unchanged 200 changed the generation to %d (was %d)", r.Snapshot().Generation(), gen)
	}
	if h := p.last().Header.Get("If-None-Match"); h != `"v1"` {
		t.Errorf("third request If-None-Match %q", h)
	}

	// A new document: new generation.
	p.set(func(s *idpSettings) { s.doc = idpJWKS(t, k1, k2) })
	refresh()
	if r.Snapshot().Generation() != gen+1 || !idpFind(t, r, iss, k2) {
		t.Fatalf("new document: generation %d, want %d", r.Snapshot().Generation(), gen+1)
	}
	if h := p.last().Header.Get("If-None-Match"); h != "" {
		t.Errorf("request after an ETag-less answer carries If-None-Match %q", h)
	}
	if reloads != 2 {
		t.Errorf("%d reloads, want 2 (New and the new document)", reloads)
	}
}

// TestRemoteFailuresKeepKeys: a bad answer of any kind keeps the last good
// keys and generation, names the URL, and makes the retry back off.
func TestRemoteFailuresKeepKeys(t *testing.T) {
	k1 := newIDPKey(t, "k1", elliptic.P256())
	p := newIDP(t, false, idpJWKS(t, k1))
	const iss = "https://idp.example"
	clock := newIDPClock()
	rc := p.remote(iss)
	rc.MaxSize = 4096
	rc.MinBackoff, rc.MaxBackoff = time.Second, time.Hour
	var logs testenv.SyncBuffer
	r := newRemoteRing(t, keyring.Config{
		Now:     clock.Now,
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sources: []keyring.Source{{Remote: rc}},
	})
	gen := r.Snapshot().Generation()
	url := p.srv.URL + "/jwks"
	big := append([]byte(`{"keys":[],"pad":"`), bytes.Repeat([]byte("x"), 5000)...)
	big = append(big, `"}`...)
	es384 := newIDPKey(t, "p384", elliptic.P384())

	tests := []struct {
		name     string
		set      func(s *idpSettings)
		want     error
		contains []string
	}{
		{"oversized", func(s *idpSettings) { s.doc = big }, keyring.ErrTooLarge, []string{url, "4096"}},
		{"oversized without Content-Length", func(s *idpSettings) { s.doc, s.chunked = big, true }, keyring.ErrTooLarge, []string{url, "4096"}},
		{"garbage", func(s *idpSettings) { s.doc = []byte("<html>login</html>") }, keyring.ErrMalformed, []string{url}},
		{"server error", func(s *idpSettings) { s.status = http.StatusInternalServerError }, nil, []string{url, "500", "upstream database exploded retry later"}},
		{"not found", func(s *idpSettings) { s.status = http.StatusNotFound }, nil, []string{url, "404"}},
		{"no allowed key", func(s *idpSettings) { s.doc = idpJWKS(t, es384) }, keyring.ErrNoKeys, []string{url, "ES256"}},
		{"HMAC secret", func(s *idpSettings) {
			s.doc = []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI","alg":"HS256"}]}`)
		}, keyring.ErrNoKeys, []string{url}},
	}
	var delays []time.Duration
	for i, tt := range tests {
		p.set(func(s *idpSettings) {
			s.doc, s.status, s.hang, s.chunked = idpJWKS(t, k1), 0, false, false
			tt.set(s)
		})
		clock.Advance(time.Minute)
		err := r.RefreshRemotes(context.Background())
		wantErr(t, err, tt.want, tt.contains...)
		rs := remoteStatus(t, r, 0)
		if rs.LastError == nil || rs.LastError.Error() != err.Error() || rs.ConsecutiveFailures != i+1 || rs.FetchErrors != uint64(i+1) || !rs.Ready {
			t.Errorf("%s: status %+v", tt.name, rs)
		}
		if !idpFind(t, r, iss, k1) || r.Snapshot().Generation() != gen || !r.Ready() {
			t.Fatalf("%s: last good keys lost", tt.name)
		}
		delays = append(delays, rs.NextRefresh.Sub(rs.LastAttempt))
	}
	// MinBackoff doubles per failure, with jitter in the upper half.
	for i, d := range delays {
		lo, hi := time.Second<<i/2, time.Second<<i
		if d < lo || d > hi {
			t.Errorf("failure %d: backoff %s outside [%s, %s]", i+1, d, lo, hi)
		}
	}

	// Recovery resets the failures.
	p.set(func(s *idpSettings) { s.doc, s.status, s.hang, s.chunked = idpJWKS(t, k1), 0, false, false })
	if err := r.RefreshRemotes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rs := remoteStatus(t, r, 0); rs.ConsecutiveFailures != 0 || rs.LastError != nil || rs.NextRefresh.Sub(rs.LastAttempt) != keyring.DefaultRefresh {
		t.Errorf("after recovery: %+v", rs)
	}
	if r.Snapshot().Generation() != gen {
		t.Error("the same document after failures changed the generation")
	}
	// Errors were logged, key material never.
	var set struct{ Keys []struct{ X, Y, K string } }
	if err := json.Unmarshal(idpJWKS(t, k1, es384), &set); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "remote key fetch failed") || !strings.Contains(out, url) {
		t.Errorf("failures not logged:\n%s", out)
	}
	for _, k := range set.Keys {
		for _, v := range []string{k.X, k.Y, "c2VjcmV0c2VjcmV0"} {
			if strings.Contains(out, v) {
				t.Errorf("key material %q in the log", v)
			}
		}
	}
}

// TestRemoteTimeoutKeepsKeys: a provider that does not answer within
// Timeout fails the fetch; the last good keys stay.
func TestRemoteTimeoutKeepsKeys(t *testing.T) {
	k1 := newIDPKey(t, "k1", elliptic.P256())
	p := newIDP(t, false, idpJWKS(t, k1))
	const iss = "https://idp.example"
	rc := p.remote(iss)
	rc.Timeout = 250 * time.Millisecond // New retries until a fetch makes it
	r := newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: rc}}})
	gen := r.Snapshot().Generation()
	p.set(func(s *idpSettings) { s.hang = true })
	start := time.Now()
	err := r.RefreshRemotes(context.Background())
	wantErr(t, err, context.DeadlineExceeded, p.srv.URL+"/jwks")
	if el := time.Since(start); el < rc.Timeout {
		t.Errorf("gave up after %s", el)
	}
	if rs := remoteStatus(t, r, 0); rs.ConsecutiveFailures != 1 || !rs.Ready || !idpFind(t, r, iss, k1) || r.Snapshot().Generation() != gen {
		t.Fatalf("keys lost after a timeout: %+v", rs)
	}
}

// TestRemoteRefetch: unknown-kid refetches are shared and rate-limited
// per remote.
func TestRemoteRefetch(t *testing.T) {
	k1, k2 := newIDPKey(t, "k1", elliptic.P256()), newIDPKey(t, "k2", elliptic.P256())
	p := newIDP(t, false, idpJWKS(t, k1))
	const iss = "https://idp.example"
	clock := newIDPClock()
	rc := p.remote(iss)
	rc.RefetchInterval = 30 * time.Second
	r := newRemoteRing(t, keyring.Config{Now: clock.Now, Sources: []keyring.Source{{Remote: rc}}})
	if n := p.count("/jwks"); n != 1 {
		t.Fatalf("%d requests after New", n)
	}
	// The provider rotates in k2; tokens signed by it arrive at once.
	p.set(func(s *idpSettings) { s.doc, s.delay = idpJWKS(t, k1, k2), 20*time.Millisecond })

	burst := func(kid string) (found int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range 100 {
			wg.Go(func() {
				if r.Refetch(context.Background(), []byte(iss), []byte(kid)) {
					mu.Lock()
					found++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return found
	}
	if found := burst(k2.kid); found == 0 {
		t.Error("no caller saw the new key")
	}
	if n := p.count("/jwks"); n != 2 {
		t.Fatalf("100 concurrent refetches made %d requests, want 1", n-1)
	}
	if !idpFind(t, r, iss, k2) {
		t.Fatal("k2 not found after the refetch")
	}
	if rs := remoteStatus(t, r, 0); rs.Refetches != 1 || rs.RefetchesSuppressed == 0 {
		t.Errorf("refetches %d, suppressed %d; want 1 and some", rs.Refetches, rs.RefetchesSuppressed)
	}

	// Within RefetchInterval: a known kid is found, an unknown one is not
	// fetched; no I/O at all.
	clock.Advance(29 * time.Second)
	if found := burst(k2.kid); found != 100 || p.count("/jwks") != 2 {
		t.Fatalf("known kid: %d found, %d requests", found, p.count("/jwks")-2)
	}
	if found := burst("k3"); found != 0 || p.count("/jwks") != 2 {
		t.Fatalf("unknown kid within the interval: %d found, %d requests", found, p.count("/jwks")-2)
	}

	// After the interval: one more (the kid is still unknown: false).
	clock.Advance(time.Second)
	if r.Refetch(context.Background(), []byte(iss), []byte("k4")) || p.count("/jwks") != 3 {
		t.Fatalf("after the interval: %d requests, want 1", p.count("/jwks")-2)
	}
	if rs := remoteStatus(t, r, 0); rs.Refetches != 2 {
		t.Errorf("refetches %d, want 2", rs.Refetches)
	}

	// A caller that gives up does not wait for the fetch.
	clock.Advance(time.Minute)
	p.set(func(s *idpSettings) { s.delay = time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r.Refetch(ctx, []byte(iss), []byte("k5")) {
		t.Error("canceled Refetch reported a change")
	}
}

// TestRemoteRefetchFallback: a token of an issuer without its own remote
// refetches the remotes without an issuer.
func TestRemoteRefetchFallback(t *testing.T) {
	k1 := newIDPKey(t, "k1", elliptic.P256())
	scoped := newIDP(t, false, idpJWKS(t, k1))
	global := newIDP(t, false, idpJWKS(t, k1))
	r := newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: scoped.remote("https://a.example")}, {Remote: global.remote("")}}})
	r.Refetch(context.Background(), []byte("https://other.example"), []byte("x"))
	if scoped.count("/jwks") != 1 || global.count("/jwks") != 2 {
		t.Errorf("requests: scoped %d, global %d; want 1, 2", scoped.count("/jwks"), global.count("/jwks"))
	}
	r.Refetch(context.Background(), []byte("https://a.example"), []byte("x"))
	if scoped.count("/jwks") != 2 || global.count("/jwks") != 2 {
		t.Errorf("requests: scoped %d, global %d; want 2, 2", scoped.count("/jwks"), global.count("/jwks"))
	}
}

// TestRemoteRotation: a provider adds a key, then retires the old one. The
// new kid is found after a refetch; once the old key is gone from the
// document, the refresh loop removes it and the generation changes, so
// results cached under the old generation are stale.
func TestRemoteRotation(t *testing.T) {
	k1, k2 := newIDPKey(t, "k1", elliptic.P256()), newIDPKey(t, "k2", elliptic.P256())
	p := newIDP(t, true, idpJWKS(t, k1))
	const iss = "https://idp.example"
	rc := p.remote(iss)
	rc.MinRefresh, rc.DefaultRefresh, rc.MaxRefresh = 20*time.Millisecond, time.Hour, time.Hour
	r := newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: rc}}})
	if !idpFind(t, r, iss, k1) || idpFind(t, r, iss, k2) {
		t.Fatal("initial keys wrong")
	}
	gen1 := r.Snapshot().Generation()

	// The provider adds k2 and asks for frequent refreshes.
	p.set(func(s *idpSettings) { s.doc, s.cacheControl = idpJWKS(t, k1, k2), "max-age=0" })
	if !r.Refetch(context.Background(), []byte(iss), []byte(k2.kid)) {
		t.Fatal("Refetch did not report the new key")
	}
	gen2 := r.Snapshot().Generation()
	if gen2 <= gen1 || !idpFind(t, r, iss, k2) || !idpFind(t, r, iss, k1) {
		t.Fatalf("after adding k2: generation %d (was %d)", gen2, gen1)
	}

	// k1 retired: the refresh loop notices.
	p.set(func(s *idpSettings) { s.doc = idpJWKS(t, k2) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Start(ctx)
	idpWait(t, "the refresh loop to remove k1", func() bool {
		_, ok := r.Snapshot().Find([]byte(iss), []byte(k1.kid), keyring.ES256)
		return !ok
	})
	if gen3 := r.Snapshot().Generation(); gen3 <= gen2 {
		t.Fatalf("generation %d did not change after k1 was removed (was %d)", gen3, gen2)
	}
	if !idpFind(t, r, iss, k2) {
		t.Fatal("k2 lost")
	}
}

// TestRemoteStartup: WaitForRemotes fails naming the URL; StartNotReady
// returns a ring that becomes ready when the provider comes up.
func TestRemoteStartup(t *testing.T) {
	t.Run("WaitForRemotes", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + ln.Addr().String() + "/jwks"
		ln.Close() // nothing listens there now
		start := time.Now()
		_, err = keyring.New(keyring.Config{
			RemoteStartupTimeout: 300 * time.Millisecond,
			Sources: []keyring.Source{{Remote: &keyring.RemoteConfig{
				JWKSURL: url, AllowHTTP: true, Algs: []keyring.Algorithm{keyring.ES256},
				MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
			}}},
		})
		wantErr(t, err, keyring.ErrRemoteNotReady, url, "300ms")
		if el := time.Since(start); el < 300*time.Millisecond {
			t.Errorf("gave up after %s", el)
		}
	})
	t.Run("StartNotReady", func(t *testing.T) {
		k1 := newIDPKey(t, "k1", elliptic.P256())
		local := newIDPKey(t, "local", elliptic.P256())
		p := newIDP(t, false, idpJWKS(t, k1))
		p.set(func(s *idpSettings) { s.status = http.StatusServiceUnavailable })
		const iss = "https://idp.example"
		r := newRemoteRing(t, keyring.Config{
			RemoteStartup: keyring.StartNotReady,
			Sources: []keyring.Source{
				{Inline: idpJWKS(t, local)},
				{Remote: p.remote(iss)},
			},
		})
		rs := remoteStatus(t, r, 0)
		if r.Ready() || rs.Ready || rs.Keys != 0 {
			t.Fatalf("ready without the remote keys: %+v", rs)
		}
		wantErr(t, rs.LastError, nil, p.srv.URL+"/jwks", "503")
		if !idpFind(t, r, "", local) || idpFind(t, r, iss, k1) {
			t.Fatal("keys before the provider is up")
		}
		if st := r.Status(); st.LastError != nil || st.Generation != 1 {
			t.Fatalf("a remote without a document is a load error: %+v", st)
		}
		p.set(func(s *idpSettings) { s.status = 0 })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r.Start(ctx)
		idpWait(t, "the ring to become ready", r.Ready)
		idpWait(t, "the remote keys", func() bool { return r.Snapshot().Generation() == 2 })
		if !idpFind(t, r, iss, k1) || !idpFind(t, r, "", local) {
			t.Fatal("keys missing once ready")
		}
		if rs := remoteStatus(t, r, 0); !rs.Ready || rs.Keys != 1 || rs.LastError != nil || rs.ConsecutiveFailures != 0 {
			t.Errorf("status once ready: %+v", rs)
		}
	})
}

// TestRemoteTLSAndUserAgent: the provider's private CA is trusted only
// through CAFile, and every request carries the User-Agent.
func TestRemoteTLSAndUserAgent(t *testing.T) {
	k1 := newIDPKey(t, "k1", elliptic.P256())
	p := newIDP(t, true, idpJWKS(t, k1))
	const iss = "https://idp.example"
	untrusted := p.remote(iss)
	untrusted.CAFile = ""
	r := newRemoteRing(t, keyring.Config{RemoteStartup: keyring.StartNotReady, Sources: []keyring.Source{{Remote: untrusted}}})
	wantErr(t, remoteStatus(t, r, 0).LastError, nil, p.srv.URL+"/jwks", "certificate")
	if r.Ready() {
		t.Fatal("untrusted server accepted")
	}

	r = newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: p.remote(iss)}}})
	if !idpFind(t, r, iss, k1) {
		t.Fatal("key not found with CAFile")
	}
	if err := r.RefreshRemotes(context.Background()); err != nil {
		t.Fatal(err)
	}
	custom := p.remote(iss)
	custom.UserAgent = "acme-gateway/2"
	r = newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: custom}}})
	r.Refetch(context.Background(), []byte(iss), []byte("unknown"))

	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.requests) < 4 {
		t.Fatalf("%d requests", len(p.requests))
	}
	// The first attempt failed in the TLS handshake: no request reached
	// the server.
	for i, req := range p.requests {
		want := keyring.DefaultUserAgent
		if i >= 2 {
			want = "acme-gateway/2"
		}
		if got := req.Header.Get("User-Agent"); got != want {
			t.Errorf("request %d: User-Agent %q, want %q", i, got, want)
		}
	}
}

// TestRemoteReconfigure: equal remotes keep their fetcher and document, new
// ones are fetched before the switch, failing ones fail it, removed ones
// stop.
func TestRemoteReconfigure(t *testing.T) {
	ka, kb := newIDPKey(t, "a1", elliptic.P256()), newIDPKey(t, "b1", elliptic.P256())
	a := newIDP(t, false, idpJWKS(t, ka))
	b := newIDP(t, false, idpJWKS(t, kb))
	down := newIDP(t, false, nil)
	down.set(func(s *idpSettings) { s.status = http.StatusBadGateway })
	const issA, issB = "https://a.example", "https://b.example"
	fast := func(rc *keyring.RemoteConfig) *keyring.RemoteConfig {
		rc.MinRefresh, rc.DefaultRefresh = 10*time.Millisecond, 10*time.Millisecond
		return rc
	}
	local := newIDPKey(t, "local", elliptic.P256())
	r := newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: fast(a.remote(issA))}}})

	// Equal config, plus a local source: no new fetch of A.
	if err := r.Reconfigure([]keyring.Source{{Inline: idpJWKS(t, local)}, {Remote: fast(a.remote(issA))}}); err != nil {
		t.Fatal(err)
	}
	if a.count("/jwks") != 1 || !idpFind(t, r, issA, ka) || !idpFind(t, r, "", local) {
		t.Fatalf("equal remote refetched (%d requests) or keys lost", a.count("/jwks"))
	}
	if rs := remoteStatus(t, r, 0); rs.Fetches != 1 || rs.URL != a.srv.URL+"/jwks" {
		t.Errorf("kept remote status %+v", rs)
	}

	// A new remote is fetched before the switch.
	if err := r.Reconfigure([]keyring.Source{{Remote: fast(a.remote(issA))}, {Remote: fast(b.remote(issB))}}); err != nil {
		t.Fatal(err)
	}
	if b.count("/jwks") != 1 || !idpFind(t, r, issB, kb) || idpFind(t, r, "", local) {
		t.Fatal("new remote not loaded")
	}
	gen := r.Snapshot().Generation()

	// A new remote that fails fails the whole change.
	err := r.Reconfigure([]keyring.Source{{Remote: fast(a.remote(issA))}, {Remote: fast(down.remote("https://down.example"))}})
	wantErr(t, err, keyring.ErrRemoteNotReady, down.srv.URL+"/jwks", "502")
	if !idpFind(t, r, issB, kb) || r.Snapshot().Generation() != gen || len(r.Status().Remotes) != 2 || !r.Ready() {
		t.Fatal("failed Reconfigure changed the ring")
	}
	// So does one whose client cannot be made; the kept remotes still work.
	bad := fast(down.remote("https://down.example"))
	bad.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	err = r.Reconfigure([]keyring.Source{{Remote: fast(a.remote(issA))}, {Remote: fast(b.remote(issB))}, {Remote: bad}})
	wantErr(t, err, os.ErrNotExist, "jwks.ca_file")
	if err := r.RefreshRemotes(context.Background()); err != nil {
		t.Fatalf("remotes stopped by a failed Reconfigure: %v", err)
	}

	// Loops run for the listed remotes; a removed remote's loop stops.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Start(ctx)
	idpWait(t, "A's loop", func() bool { return a.count("/jwks") >= 3 })
	if err := r.Reconfigure([]keyring.Source{{Remote: fast(b.remote(issB))}}); err != nil {
		t.Fatal(err)
	}
	if st := r.Status(); len(st.Remotes) != 1 || st.Remotes[0].Issuer != issB || idpFind(t, r, issA, ka) {
		t.Fatalf("removed remote still listed or its keys found: %+v", st.Remotes)
	}
	stopped, bNow := a.count("/jwks"), b.count("/jwks")
	idpWait(t, "B's loop", func() bool { return b.count("/jwks") >= bNow+5 })
	if n := a.count("/jwks"); n > stopped+1 {
		t.Errorf("removed remote fetched %d more times", n-stopped)
	}
	// New remotes get a loop while Start's context lasts.
	if err := r.Reconfigure([]keyring.Source{{Remote: fast(b.remote(issB))}, {Remote: fast(a.remote(issA))}}); err != nil {
		t.Fatal(err)
	}
	aNow := a.count("/jwks")
	idpWait(t, "the re-added remote's loop", func() bool { return a.count("/jwks") >= aNow+3 })

	// Close stops everything.
	r.Close()
	aNow, bNow = a.count("/jwks"), b.count("/jwks")
	if !idpFind(t, r, issA, ka) || r.Refetch(context.Background(), []byte(issA), []byte("unknown")) {
		t.Error("closed ring lost keys or refetched")
	}
	if a.count("/jwks") != aNow || b.count("/jwks") != bNow {
		t.Error("requests after Close")
	}
}

// TestRemoteSkipsKeysOfUnknownAlgs: a provider that adds a key of an
// algorithm tokengate does not implement (here "ES256K", and an AKP key of
// an unknown parameter set) keeps its other keys working; a file with the
// same content is refused as a whole.
func TestRemoteSkipsKeysOfUnknownAlgs(t *testing.T) {
	k := newIDPKey(t, "good", elliptic.P256())
	doc := idpJWKS(t, k)
	// Splice two keys of unknown algs in front of the good one.
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	future := map[string]any{"kty": "EC", "crv": "P-256", "alg": "ES256K", "kid": "future", "x": set.Keys[0]["x"], "y": set.Keys[0]["y"]}
	pq := map[string]any{"kty": "AKP", "alg": "ML-DSA-99", "kid": "pq-future", "pub": "AAAA"}
	set.Keys = append([]map[string]any{future, pq}, set.Keys...)
	mixed, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	p := newIDP(t, false, mixed)
	r := newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: p.remote("https://a.example")}}})
	if !idpFind(t, r, "https://a.example", k) {
		t.Fatal("the known key was not loaded next to keys of unknown algs")
	}
	if st := r.Status(); st.Keys != 1 || st.Remotes[0].LastError != nil {
		t.Fatalf("status %+v", st)
	}
	if _, err := keyring.ParseJWKS(mixed, keyring.Options{}); err == nil {
		t.Fatal("a key file with an unknown alg loaded: files are refused as a whole")
	}
}

// TestUnscopedKeyCannotSignForIssuerWithOwnKeys: an issuer with a remote
// key source owns its key scope even before the first fetch: while its
// provider is down, a global key must not stand in for its keys.
func TestUnscopedKeyCannotSignForIssuerWithOwnKeys(t *testing.T) {
	f := fixtures()
	p := newIDP(t, false, nil)
	p.set(func(s *idpSettings) { s.status = http.StatusServiceUnavailable })
	const iss = "https://idp.example"
	r := newRemoteRing(t, keyring.Config{
		RemoteStartup: keyring.StartNotReady,
		Sources: []keyring.Source{
			{Inline: mustJSON(kidJWK(&f.p256.PublicKey, "static"))},
			{Remote: p.remote(iss)},
		},
	})
	s := r.Snapshot()
	if k, ok := s.Find([]byte(iss), []byte("static"), keyring.ES256); ok {
		t.Fatalf("global key %s verifies tokens of %s, whose provider has not answered", keyName(k), iss)
	}
	if k, ok := s.Find([]byte(iss), nil, keyring.ES256); ok {
		t.Fatalf("global key %s verifies kid-less tokens of %s", keyName(k), iss)
	}
	if _, ok := s.Find([]byte("https://service.example"), []byte("static"), keyring.ES256); !ok {
		t.Fatal("the global key no longer verifies an issuer without keys of its own")
	}
}

// TestReorderedKeySetKeepsGeneration: providers (Ory Hydra among them)
// serve their JWK Set in a different order from one answer to the next.
// The generation, which the cache binds results to, must change only when
// the keys or their bindings change; a reordered or reformatted set is the
// same set, not a "keys swapped" event that flushes the cache.
func TestReorderedKeySetKeepsGeneration(t *testing.T) {
	k1, k2, k3 := newIDPKey(t, "k1", elliptic.P256()), newIDPKey(t, "k2", elliptic.P256()), newIDPKey(t, "k3", elliptic.P256())
	p := newIDP(t, false, idpJWKS(t, k1, k2, k3))
	const iss = "https://idp.example"
	var logs testenv.SyncBuffer
	r := newRemoteRing(t, keyring.Config{
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		Sources: []keyring.Source{{Remote: p.remote(iss)}},
	})
	gen := r.Snapshot().Generation()
	before := len(logs.String())
	reformatted := bytes.ReplaceAll(idpJWKS(t, k3, k1, k2), []byte("\n"), []byte("\r\n"))
	for _, doc := range [][]byte{idpJWKS(t, k2, k3, k1), idpJWKS(t, k3, k2, k1), reformatted} {
		p.set(func(s *idpSettings) { s.doc = doc })
		if err := r.RefreshRemotes(context.Background()); err != nil {
			t.Fatal(err)
		}
		if g := r.Snapshot().Generation(); g != gen {
			t.Fatalf("reordered key set: generation %d, want %d", g, gen)
		}
	}
	if out := logs.String()[before:]; strings.Contains(out, "keys swapped") {
		t.Errorf("a reordered set was logged as a key change:\n%s", out)
	}
	// A real change still starts a new generation.
	p.set(func(s *idpSettings) { s.doc = idpJWKS(t, k2, k3) })
	if err := r.RefreshRemotes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if g := r.Snapshot().Generation(); g == gen || idpFind(t, r, iss, k1) {
		t.Fatalf("k1 removed: generation %d (was %d)", g, gen)
	}
}
