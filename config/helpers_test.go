package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/config"
)

// Test keys. RFC 7515 Appendix A.3.1: the P-256 key of the ES256 example
// (public part, and with its private member "d"); Appendix A.1.1: the
// HMAC key of the HS256 example.
const (
	jwkECPublic  = `{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`
	jwkECPrivate = `{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cLV-HsD0cjZSTq5Wf9i_Jk"}`
	jwkOct       = `{"kty":"oct","alg":"HS256","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`
)

// clearEnv unsets every TOKENGATE_* variable that overrides a key, for
// the duration of the test, so that the caller's environment cannot leak
// into a test. (t.Setenv restores the previous values afterwards.)
func clearEnv(t testing.TB) {
	t.Helper()
	for _, key := range config.EnvKeys() {
		name := config.EnvName(key)
		if _, ok := os.LookupEnv(name); ok {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

// loadWithEnv loads a configuration file with the given contents ("": the
// embedded default) with exactly the given TOKENGATE_* key variables set.
func loadWithEnv(t *testing.T, env map[string]string, file string) (*config.Config, error) {
	t.Helper()
	clearEnv(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	path := ""
	if file != "" {
		path = writeConfig(t, file)
	}
	return config.Load(path)
}

// writeConfig writes a configuration file into a fresh directory and
// returns its path.
func writeConfig(t testing.TB, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokengate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadYAML loads a configuration file with the given contents.
func loadYAML(t *testing.T, yaml string) *config.Config {
	t.Helper()
	c, err := config.Load(writeConfig(t, yaml))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// loadDefault loads the embedded default configuration.
func loadDefault(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.Load("")
	if err != nil {
		t.Fatalf("Load(\"\"): %v", err)
	}
	return c
}

// fieldErrors flattens a joined error into its *FieldErrors.
func fieldErrors(err error) []*config.FieldError {
	var out []*config.FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*config.FieldError); ok {
			out = append(out, fe)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if e := errors.Unwrap(err); e != nil {
			walk(e)
		}
	}
	walk(err)
	return out
}

// wantFieldError checks that err holds a *FieldError for field whose
// message contains msg.
func wantFieldError(t *testing.T, err error, field, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %s: ...%s...", field, msg)
	}
	var fields []string
	for _, fe := range fieldErrors(err) {
		if fe.Field == field && strings.Contains(fe.Error(), msg) {
			return
		}
		fields = append(fields, fe.Field)
	}
	if slices.Contains(fields, field) {
		t.Fatalf("error for %s does not mention %q:\n%v", field, msg, err)
	}
	t.Fatalf("no error for field %s (fields with errors: %v):\n%v", field, fields, err)
}
