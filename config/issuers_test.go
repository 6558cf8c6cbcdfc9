package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/config"
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
