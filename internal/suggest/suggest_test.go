package suggest_test

import (
	"testing"

	"github.com/tokengate/tokengate/internal/suggest"
)

func TestClosest(t *testing.T) {
	algs := []string{"HS256", "HS384", "HS512", "RS256", "ES256", "ES384", "EdDSA", "Ed25519", "ML-DSA-44", "ML-DSA-65"}
	envs := []string{"TOKENGATE_LISTEN_VERIFY", "TOKENGATE_LISTEN_ADMIN", "TOKENGATE_POLICY_LEEWAY", "TOKENGATE_LOG_LEVEL", "TOKENGATE_LOG_FORMAT"}
	cmds := []string{"serve", "keygen", "mint", "verify", "check", "version"}
	tests := []struct {
		name, in   string
		candidates []string
		want       string // "" for no suggestion
	}{
		{"wrong case", "es256", algs, "ES256"},
		{"wrong case and dashes", "mldsa44", algs, "ML-DSA-44"},
		{"underscores for dashes", "ml_dsa_65", algs, "ML-DSA-65"},
		{"lower-case EdDSA", "eddsa", algs, "EdDSA"},
		{"one typo", "HS265", algs, "HS256"},
		{"extra letter", "TOKENGATE_LISTEN_VERIFYY", envs, "TOKENGATE_LISTEN_VERIFY"},
		{"missing letter", "TOKENGATE_POLICY_LEWAY", envs, "TOKENGATE_POLICY_LEEWAY"},
		{"command", "serv", cmds, "serve"},
		{"nothing close", "TOKENGATE_INTEGRATION", envs, ""},
		{"too short to guess", "ab", cmds, ""},
		{"tie", "HS000", []string{"HS100", "HS010"}, ""},
		{"none", "x", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := suggest.Closest(tt.in, tt.candidates)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("Closest(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
		})
	}
}
