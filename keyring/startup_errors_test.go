package keyring_test

import (
	"context"
	"crypto/elliptic"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testenv"
	"github.com/tokengate/tokengate/keyring"
)

// TestIncurableProviderErrorsFailStartupAtOnce: a discovery document naming
// another issuer, a JWK Set URL that is not https, or a certificate the
// ring does not trust never fix themselves: New reports them at once
// instead of retrying until the start-up timeout.
func TestIncurableProviderErrorsFailStartupAtOnce(t *testing.T) {
	k := newIDPKey(t, "k1", elliptic.P256())
	tests := []struct {
		name  string
		setup func(t *testing.T) *keyring.RemoteConfig
		want  error
	}{
		{"discovered issuer mismatch", func(t *testing.T) *keyring.RemoteConfig {
			p := newIDP(t, true, idpJWKS(t, k))
			p.set(func(s *idpSettings) { s.issuer = p.srv.URL + "/" }) // Hydra's trailing slash
			return p.discovery(p.srv.URL)
		}, keyring.ErrIssuerMismatch},
		{"discovered http jwks_uri", func(t *testing.T) *keyring.RemoteConfig {
			plain := newIDP(t, false, idpJWKS(t, k))
			p := newIDP(t, true, nil)
			p.set(func(s *idpSettings) { s.jwksURI = plain.srv.URL + "/jwks" })
			return p.discovery(p.srv.URL)
		}, keyring.ErrInsecureURL},
		{"untrusted certificate", func(t *testing.T) *keyring.RemoteConfig {
			p := newIDP(t, true, idpJWKS(t, k))
			rc := p.remote("https://idp.example")
			rc.CAFile = "" // the test server's certificate is not in the system roots
			return rc
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := tt.setup(t)
			rc.MinBackoff, rc.MaxBackoff = 50*time.Millisecond, 100*time.Millisecond
			start := time.Now()
			_, err := keyring.New(keyring.Config{RemoteStartupTimeout: 30 * time.Second, Sources: []keyring.Source{{Remote: rc}}})
			if err == nil {
				t.Fatal("New succeeded")
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Fatalf("New waited %s for an error retrying cannot cure: %v", el, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), "retrying cannot") {
				t.Errorf("error does not say retrying cannot help: %v", err)
			}
		})
	}
}

// TestRemoteErrorsNameConfigurationKeys: a configuration error names the
// key to change in the configuration file, not a Go field.
func TestRemoteErrorsNameConfigurationKeys(t *testing.T) {
	err := (keyring.RemoteConfig{JWKSURL: "http://127.0.0.1:1/jwks", Algs: []keyring.Algorithm{keyring.ES256}}).Validate()
	if err == nil || !strings.Contains(err.Error(), "jwks.allow_http") || strings.Contains(err.Error(), "AllowHTTP") {
		t.Errorf("plain http: %v", err)
	}
	err = (keyring.RemoteConfig{Discover: true, Algs: []keyring.Algorithm{keyring.HS256}, MinRefresh: time.Hour, MaxRefresh: time.Minute}).Validate()
	for _, want := range []string{"issuers[].issuer", "issuers[].algs", "jwks.min_refresh", "jwks.max_refresh"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	for _, goName := range []string{"Algs", "MinRefresh", "Issuer is", "Discover"} {
		if err != nil && strings.Contains(err.Error(), goName) {
			t.Errorf("error names the Go field %s: %v", goName, err)
		}
	}
}

// TestNoKeysForIssuerLoggedWithConfiguredIssuers: a token whose iss has no
// keys while other issuers do is the mark of an issuer written differently
// in the configuration (Hydra's trailing slash). The refetch path says so,
// at info, rate-limited, with the token's issuer clipped and quoted (it
// comes from the token) and the configured issuers.
func TestNoKeysForIssuerLoggedWithConfiguredIssuers(t *testing.T) {
	k := newIDPKey(t, "k1", elliptic.P256())
	p := newIDP(t, false, idpJWKS(t, k))
	var logs testenv.SyncBuffer
	r := newRemoteRing(t, keyring.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Sources: []keyring.Source{{Remote: p.remote("https://hydra.example/")}}})
	if r.Snapshot().HasKeysFor([]byte("https://hydra.example")) {
		t.Fatal("keys reported for an issuer that has none")
	}
	if !r.Snapshot().HasKeysFor([]byte("https://hydra.example/")) {
		t.Fatal("no keys reported for the configured issuer")
	}
	hostile := "https://hydra.example\n" + strings.Repeat("A", 300) + "\x1b[31m"
	for range 3 {
		r.Refetch(context.Background(), []byte("https://hydra.example"), []byte("k1"))
		r.Refetch(context.Background(), []byte(hostile), []byte("k1"))
	}
	out := logs.String()
	if n := strings.Count(out, "no keys for the token's issuer"); n != 1 {
		t.Fatalf("%d lines, want 1 (rate-limited):\n%s", n, out)
	}
	if !strings.Contains(out, `https://hydra.example/`) || !strings.Contains(out, `"https://hydra.example`) {
		t.Errorf("line lacks the token's issuer or the configured ones:\n%s", out)
	}
	if strings.Contains(out, strings.Repeat("A", 100)) || strings.Contains(out, "\x1b") {
		t.Errorf("attacker-controlled issuer not clipped and escaped:\n%s", out)
	}
	if n := p.count("/jwks"); n != 1 {
		t.Errorf("an issuer without keys caused %d fetches", n-1)
	}
}
