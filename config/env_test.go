package config_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/config"
)

// TestUnknownEnv: a variable under TOKENGATE_ that names no key is a
// start-up error, as an unknown key in the file is.
func TestUnknownEnv(t *testing.T) {
	tests := []struct {
		name, env string
		want      string
	}{
		{"misspelt key", "TOKENGATE_LISTEN_VERIFYY", "did you mean TOKENGATE_LISTEN_VERIFY?"},
		{"lower case", "tokengate_policy_leeway", "did you mean TOKENGATE_POLICY_LEEWAY?"},
		{"mixed-case prefix", "Tokengate_Log_Level", "did you mean TOKENGATE_LOG_LEVEL?"},
		{"a section", "TOKENGATE_POLICY", "no configuration key has this name"},
		{"list of objects", "TOKENGATE_KEYS", "keys can be set in the configuration file only"},
		{"map", "TOKENGATE_HEADERS_CLAIMS", "headers.claims can be set in the configuration file only"},
		{"old test variable", "TOKENGATE_REDIS_ADDR", "TOKENGATE_REDIS_URL"},
		{"nothing alike", "TOKENGATE_WHATEVER", "TOKENGATE_INTEGRATION, TOKENGATE_CHAOS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(tt.env, "127.0.0.1:9999")
			_, err := config.Load("")
			if !errors.Is(err, config.ErrUnknownEnv) {
				t.Fatalf("Load: %v, want ErrUnknownEnv", err)
			}
			for _, w := range []string{tt.env, tt.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
	t.Run("reported with unknown file keys", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("TOKENGATE_LISTEN_VERIFYY", "x")
		_, err := config.Load(writeConfig(t, "polcy: {leeway: 1s}\n"))
		if !errors.Is(err, config.ErrUnknownEnv) || !errors.Is(err, config.ErrUnknownKey) {
			t.Errorf("Load: %v, want both the variable and the key", err)
		}
	})
}

// TestKnownEnv: the variables Load accepts under TOKENGATE_ besides the
// keys' own: the tools' documented ones, and those the configuration names
// for secrets.
func TestKnownEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		file string
	}{
		{"tools", map[string]string{"TOKENGATE_INTEGRATION": "require", "TOKENGATE_CHAOS": "full",
			"TOKENGATE_REDIS_URL": "redis://127.0.0.1:6379/0", "TOKENGATE_PG_DSN": "postgres://x@127.0.0.1/test"}, ""},
		{"keys[].secret_env", map[string]string{"TOKENGATE_HMAC_SECRET": "x"},
			"keys:\n  - {secret_env: TOKENGATE_HMAC_SECRET, alg: HS256}\n"},
		{"admin.token_env from the file", map[string]string{"TOKENGATE_ADMIN_SECRET": "x"},
			"admin: {token_env: TOKENGATE_ADMIN_SECRET}\n"},
		{"admin.token_env from the environment", map[string]string{"TOKENGATE_ADMIN_TOKEN_ENV": "TOKENGATE_ADMIN_SECRET", "TOKENGATE_ADMIN_SECRET": "x"}, ""},
		{"revocation.redis.password_env", map[string]string{"TOKENGATE_REDIS_PASSWORD": "x"},
			"revocation: {redis: {addr: 127.0.0.1:6379, password_env: TOKENGATE_REDIS_PASSWORD}}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := loadWithEnv(t, tt.env, tt.file); err != nil {
				t.Errorf("Load: %v", err)
			}
		})
	}
}

// TestNonConfigEnvIsNoKey: the tools' variables can never be mistaken for
// a key's.
func TestNonConfigEnvIsNoKey(t *testing.T) {
	for _, key := range config.EnvKeys() {
		if slices.Contains(config.NonConfigEnv(), config.EnvName(key)) || strings.HasPrefix(config.EnvName(key), "TOKENGATE_BENCH_") {
			t.Errorf("key %s has the variable %s, which the tests use for something else", key, config.EnvName(key))
		}
	}
}

// TestEnvErrorsNameTheVariable: a bad value from the environment says it
// came from there, both when it does not decode and when it does not
// validate; the same value from the file does not mention the
// environment.
func TestEnvErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name, env, value, file, field, msg string
	}{
		{"decode", "TOKENGATE_POLICY_LEEWAY", "soon", "policy: {leeway: soon}\n", "policy.leeway", `invalid duration "soon"`},
		{"validate", "TOKENGATE_POLICY_LEEWAY", "1h", "policy: {leeway: 1h}\n", "policy.leeway", "is not between 0s and 10m0s"},
		{"validate address", "TOKENGATE_LISTEN_VERIFY", "nowhere", "listen: {verify: nowhere}\n", "listen.verify", ""},
		{"validate size", "TOKENGATE_LIMITS_MAX_TOKEN_SIZE", "1", "limits: {max_token_size: 1}\n", "limits.max_token_size", ""},
	}
	load := func(t *testing.T, path string) error {
		c, err := config.Load(path)
		if err == nil {
			err = c.Validate()
		}
		return err
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(tt.env, tt.value)
			err := load(t, "")
			wantFieldError(t, err, tt.field, tt.msg)
			var fe *config.FieldError
			if errors.As(err, &fe) && fe.Env != tt.env {
				t.Errorf("FieldError.Env %q, want %q", fe.Env, tt.env)
			}
			if want := tt.field + " (from the environment: " + tt.env + ")"; !strings.Contains(err.Error(), want) {
				t.Errorf("%q lacks %q", err, want)
			}

			clearEnv(t)
			err = load(t, writeConfig(t, tt.file))
			wantFieldError(t, err, tt.field, tt.msg)
			if strings.Contains(err.Error(), "environment") {
				t.Errorf("an error about the file mentions the environment: %v", err)
			}
		})
	}
}
