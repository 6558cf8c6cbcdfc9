package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartupErrorPrintedOnce: serve with a broken configuration exits 1
// and reports each problem exactly once (the keyring used to log its
// initial load failure and return it, which main printed again).
func TestStartupErrorPrintedOnce(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.jwks.json"), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free := freePort(t)
	tests := []struct {
		name, body, once string
		also             []string
		env              [2]string
	}{
		{"bad key file", fmt.Sprintf("listen: {verify: %q, admin: %q}\nkeys: [{file: bad.jwks.json}]\n", free, freePort(t)),
			"bad.jwks.json", []string{"not a JWK, JWK Set or PEM document"}, [2]string{}},
		{"verify port in use", fmt.Sprintf("listen: {verify: %q, admin: %q}\nkeys: [{file: k1.jwks.json}]\n", busy.Addr(), free),
			busy.Addr().String(), []string{"listen.verify", "already in use", "TOKENGATE_LISTEN_VERIFY"}, [2]string{}},
		{"admin port in use", fmt.Sprintf("listen: {verify: %q, admin: %q}\nkeys: [{file: k1.jwks.json}]\n", free, busy.Addr()),
			busy.Addr().String(), []string{"listen.admin", "already in use", "TOKENGATE_LISTEN_ADMIN"}, [2]string{}},
		{"unknown key", "keys: [{file: k1.jwks.json}]\npolcy: {leeway: 1s}\n", "polcy", nil, [2]string{}},
		{"unknown variable", "keys: [{file: k1.jwks.json}]\n", "TOKENGATE_LISTEN_VERIFYY",
			[]string{"did you mean TOKENGATE_LISTEN_VERIFY?"}, [2]string{"TOKENGATE_LISTEN_VERIFYY", "127.0.0.1:1"}},
		{"bad value from the environment", "keys: [{file: k1.jwks.json}]\n", "TOKENGATE_POLICY_LEEWAY",
			[]string{"policy.leeway (from the environment: TOKENGATE_POLICY_LEEWAY)", `"soon"`}, [2]string{"TOKENGATE_POLICY_LEEWAY", "soon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env[0] != "" {
				t.Setenv(tt.env[0], tt.env[1])
			}
			code, _, stderr := runCLI("serve", "--config", writeConfig(t, dir, tt.body))
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
			}
			if n := strings.Count(stderr, tt.once); n != 1 {
				t.Errorf("%q appears %d times, want once:\n%s", tt.once, n, stderr)
			}
			for _, s := range tt.also {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
}
