package build

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokengate/tokengate/config"
)

// TestRevocationsKeptForTheLargestLeeway: the revocation store keeps rules
// for the largest leeway any issuer is given, at start and across a
// reload (issue 12 item 2).
func TestRevocationsKeptForTheLargestLeeway(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TOKENGATE_TEST_SECRET", "0123456789abcdef0123456789abcdef")
	write := func(issuerLeeway string) *config.Config {
		path := filepath.Join(dir, "tokengate.yaml")
		yaml := "keys:\n  - secret_env: TOKENGATE_TEST_SECRET\n    alg: HS256\n" +
			"policy:\n  leeway: 45s\n" +
			"issuers:\n  - issuer: https://a.example\n    leeway: " + issuerLeeway + "\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	p, err := New(write("3m"), Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := p.Revocations.Leeway(); got != 3*time.Minute {
		t.Fatalf("revocation leeway = %v, want the issuer's 3m", got)
	}
	if err := p.Reload(write("5m")); err != nil {
		t.Fatal(err)
	}
	if got := p.Revocations.Leeway(); got != 5*time.Minute {
		t.Fatalf("after a reload raising it: revocation leeway = %v, want 5m", got)
	}
	if err := p.Reload(write("10s")); err != nil {
		t.Fatal(err)
	}
	if got := p.Revocations.Leeway(); got != 45*time.Second {
		t.Fatalf("after a reload lowering it: revocation leeway = %v, want policy.leeway 45s", got)
	}
}
