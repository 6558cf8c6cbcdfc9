package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/keyring"
)

func TestPerIssuerPolicies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	dir := filepath.Dir(path)
	if err := os.WriteFile(filepath.Join(dir, "s.secret"), []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	body := `keys: [{secret_file: s.secret, alg: HS256}]
policy: {audiences: [api://default], type: at+jwt}
issuers:
  - issuer: https://a.example
    audiences: [api://a]
    leeway: 1m
  - issuer: https://b.example
    allow_missing_exp: true
    allow_missing_aud: true
`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p := c.VerifierOptions().Policy
	a, b := p.PerIssuer["https://a.example"], p.PerIssuer["https://b.example"]
	if len(a.Audiences) != 1 || a.Audiences[0] != "api://a" || a.Leeway != time.Minute || a.Type != "at+jwt" {
		t.Errorf("issuer a: %+v", a)
	}
	if a.AllowMissingAudience || !b.AllowMissingAudience || p.AllowMissingAudience {
		t.Errorf("allow_missing_aud must be per issuer: a %v, b %v, policy %v", a.AllowMissingAudience, b.AllowMissingAudience, p.AllowMissingAudience)
	}
	if len(b.Audiences) != 1 || b.Audiences[0] != "api://default" || b.Leeway != 30*time.Second || !b.AllowMissingExp {
		t.Errorf("issuer b does not inherit: %+v", b)
	}

	bad := `issuers:
  - {audiences: [x]}
  - {issuer: https://a, leeway: 1h}
  - {issuer: https://a}
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	for _, want := range []string{"issuers[0].issuer", "issuers[1].leeway", "issuers[2].issuer"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v does not name %s", err, want)
		}
	}
}

// TestIssuerAudienceAndIDTokenOptions: issuers[].check_audience: false
// switches the audience check off for one issuer under a global list
// (issue 14 item 5; its contradictions are in the table of
// TestIssuerIdentityProviderConfig); refuse_id_tokens is global and per
// issuer (item 6).
func TestIssuerAudienceAndIDTokenOptions(t *testing.T) {
	c := loadYAML(t, `keys: [{file: k.pem}]
policy: {audiences: [api://orders], refuse_id_tokens: true}
issuers:
  - {issuer: https://no-aud.example, check_audience: false}
  - {issuer: https://hydra.example/, allow_missing_aud: true, refuse_id_tokens: false}
  - {issuer: https://checked.example, check_audience: true}
`)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p := c.VerifierOptions().Policy
	noAud, hydra, checked := p.PerIssuer["https://no-aud.example"], p.PerIssuer["https://hydra.example/"], p.PerIssuer["https://checked.example"]
	if len(noAud.Audiences) != 0 || !noAud.RefuseIDTokens {
		t.Errorf("check_audience: false: %+v", noAud)
	}
	if len(hydra.Audiences) != 1 || !hydra.AllowMissingAudience || hydra.RefuseIDTokens {
		t.Errorf("hydra: %+v", hydra)
	}
	if len(checked.Audiences) != 1 || !checked.RefuseIDTokens || !p.RefuseIDTokens {
		t.Errorf("checked: %+v, policy %v", checked, p.RefuseIDTokens)
	}
}

func TestIssuerIdentityProviderConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	body := `issuers:
  - issuer: https://login.example.com/realms/main
    discovery: true
    algs: [RS256, ES256]
    audiences: [api://orders]
  - issuer: https://tenant.example.net/
    jwks_url: https://tenant.example.net/keys
    algs: [RS256]
    alg: RS256
    client: partner
jwks: {refetch_interval: 1m, startup: not_ready, user_agent: "acme-gateway/1.0"}
`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("an issuer with discovery is a key source of its own: %v", err)
	}
	kc := c.Keyring()
	var remotes []*keyring.RemoteConfig
	for _, s := range kc.Sources {
		if s.Remote != nil {
			remotes = append(remotes, s.Remote)
		}
	}
	if len(remotes) != 2 {
		t.Fatalf("want 2 remote sources, got %d", len(remotes))
	}
	a, b := remotes[0], remotes[1]
	if !a.Discover || a.Issuer != "https://login.example.com/realms/main" || len(a.Algs) != 2 || a.RefetchInterval != time.Minute || a.UserAgent != "acme-gateway/1.0" {
		t.Errorf("discovery source: %+v", a)
	}
	if b.Discover || b.JWKSURL != "https://tenant.example.net/keys" || b.Alg != keyring.RS256 || b.Client != "partner" || b.Issuer != "https://tenant.example.net/" {
		t.Errorf("jwks_url source: %+v", b)
	}
	if kc.RemoteStartup != keyring.StartNotReady {
		t.Error("jwks.startup: not_ready not applied")
	}

	for _, tc := range []struct{ yaml, field, msg string }{
		{"issuers: [{issuer: https://a, discovery: true, jwks_url: https://a/k, algs: [RS256]}]", "issuers[0].jwks_url", "not both"},
		{"issuers: [{issuer: https://a, discovery: true}]", "issuers[0].algs", "required"},
		{"issuers: [{issuer: https://a, jwks_url: https://a/k, algs: [HS256]}]", "issuers[0].algs[0]", "public keys only"},
		{"issuers: [{issuer: https://a, jwks_url: http://idp.example/k, algs: [RS256]}]", "issuers[0]", "http"},
		{"issuers: [{issuer: https://a, jwks_url: https://a/k, algs: [RS257]}]", "issuers[0].algs[0]", "unsupported"},
		{"issuers: [{issuer: https://a, algs: [RS256]}]\nkeys: [{file: x.pem}]", "issuers[0].algs", "discovery or jwks_url"},
		{"jwks: {startup: maybe}\nkeys: [{file: x.pem}]", "jwks.startup", "wait or not_ready"},
		{"jwks: {min_refresh: 2h, max_refresh: 1h}\nkeys: [{file: x.pem}]", "jwks.max_refresh", "less than"},
		{"keys: [{file: k.pem}]\nissuers: [{issuer: https://a, check_audience: false, audiences: [x]}]", "issuers[0].check_audience", "audiences"},
		{"keys: [{file: k.pem}]\nissuers: [{issuer: https://a, check_audience: false, allow_missing_aud: true}]", "issuers[0].allow_missing_aud", "no effect"},
		{"keys: [{file: k.pem}]\nissuers: [{issuer: https://a, check_audience: maybe}]", "check_audience", ""},
	} {
		if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(path)
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s\n  err = %v; want %s … %s", tc.yaml, err, tc.field, tc.msg)
		}
	}
}
