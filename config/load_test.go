package config_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/build"
	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/verifier"
)

func TestDefaultLoadsAndValidates(t *testing.T) {
	clearEnv(t)
	c := loadDefault(t)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got := c.DevKeysDir(); got != ".dev-keys" {
		t.Errorf("DevKeysDir() = %q, want .dev-keys (relative to the current directory)", got)
	}
	if len(c.Keys) != 0 {
		t.Errorf("Keys = %v, want none: the dev key is added by serve", c.Keys)
	}
	if !c.WatchKeys || !c.Policy.RequireExp {
		t.Errorf("WatchKeys = %v, RequireExp = %v; want both true", c.WatchKeys, c.Policy.RequireExp)
	}
	if c.Log != (config.Log{Level: "info", Format: "text", Access: "denied", AccessPerSecond: 100, AccessSubject: "hash"}) {
		t.Errorf("Log = %+v", c.Log)
	}
}

// The reference config.yaml and the package defaults must say the same
// thing: what the documentation shows is what an empty setup does.
func TestDefaultMatchesPackageDefaults(t *testing.T) {
	clearEnv(t)
	c := loadDefault(t)
	if got, want := c.Gate(), gate.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("Gate() of the default configuration\n got %+v\nwant %+v (gate.DefaultConfig)", got, want)
	}
	if got, want := build.SidecarConfig(c), sidecar.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("build.SidecarConfig() of the default configuration\n got %+v\nwant %+v (sidecar.DefaultConfig)", got, want)
	}
	want := verifier.Options{Policy: verifier.DefaultPolicy(), MaxTokenSize: verifier.DefaultMaxTokenSize}
	if got := c.VerifierOptions(); !reflect.DeepEqual(got, want) {
		t.Errorf("VerifierOptions() of the default configuration\n got %+v\nwant %+v", got, want)
	}
}

// The go:embed directive cannot reach ../config.yaml, so the package embeds a copy; this
// test keeps the two from drifting apart.
func TestRootConfigEqualsEmbeddedDefault(t *testing.T) {
	root, err := os.ReadFile(filepath.Join("..", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := os.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(root, embedded) {
		t.Fatal("config.yaml and config/default.yaml differ: copy config.yaml to config/default.yaml")
	}
	if !bytes.Equal(config.DefaultYAML(), root) {
		t.Fatal("DefaultYAML() differs from config.yaml: rebuild")
	}
}

// Every key of the Config struct appears in the reference file, so that
// it documents everything (the file must also load without unknown keys,
// which TestDefaultLoadsAndValidates checks).
func TestDefaultDocumentsEveryKey(t *testing.T) {
	text := string(config.DefaultYAML())
	var walk func(reflect.Type)
	walk = func(t2 reflect.Type) {
		for f := range t2.Fields() {
			name := f.Tag.Get("mapstructure")
			if !strings.Contains(text, name+":") {
				t.Errorf("config.yaml does not mention %q", name)
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walk(ft)
			}
		}
	}
	walk(reflect.TypeFor[config.Config]())
}

func TestPartialFileKeepsDefaults(t *testing.T) {
	clearEnv(t)
	c := loadYAML(t, `
keys:
  - file: keys/issuer.pem
    alg: RS256
policy:
  issuers: [https://issuer.example]
`)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.Policy.Leeway != 30*time.Second || !c.Policy.RequireExp {
		t.Errorf("policy = %+v; leeway and require_exp should keep their defaults", c.Policy)
	}
	if !slices.Equal(c.Policy.Issuers, []string{"https://issuer.example"}) {
		t.Errorf("issuers = %v", c.Policy.Issuers)
	}
	if c.DevKeysDir() != "" {
		t.Errorf("DevKeysDir() = %q: dev must be off unless the file sets it", c.DevKeysDir())
	}
	if len(c.Headers.Claims) != 4 || c.Limits.MaxTokenSize != 8*config.KiB {
		t.Errorf("headers/limits lost their defaults: %+v %+v", c.Headers, c.Limits)
	}
}

func TestListsReplaceDefaults(t *testing.T) {
	clearEnv(t)
	c := loadYAML(t, `
dev: {keys_dir: dev}
headers:
  claims: [{claim: tenant, header: X-Tenant}]
`)
	if want := []config.ClaimHeader{{Claim: "tenant", Header: "X-Tenant"}}; !reflect.DeepEqual(c.Headers.Claims, want) {
		t.Errorf("headers.claims = %+v, want %+v (a list replaces the default list)", c.Headers.Claims, want)
	}
	if c.Headers.Client != "X-Auth-Client" {
		t.Errorf("headers.client = %q, want the default", c.Headers.Client)
	}
}

func TestRelativePathsResolveAgainstConfigDir(t *testing.T) {
	clearEnv(t)
	path := writeConfig(t, `
keys:
  - file: keys/a.jwks.json
  - secret_file: secret.key
    alg: HS256
  - file: /abs/b.pem
dev: {keys_dir: .dev-keys}
`)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	tests := []struct{ name, got, want string }{
		{"keys[0].file", c.Keys[0].File, filepath.Join(dir, "keys/a.jwks.json")},
		{"keys[1].secret_file", c.Keys[1].SecretFile, filepath.Join(dir, "secret.key")},
		{"keys[2].file", c.Keys[2].File, "/abs/b.pem"},
		{"dev.keys_dir", c.DevKeysDir(), filepath.Join(dir, ".dev-keys")},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	tests := []struct {
		name  string
		file  string // "" loads the embedded default
		env   map[string]string
		check func(*config.Config) bool
	}{
		{"scalar", "", map[string]string{"TOKENGATE_LISTEN_VERIFY": "0.0.0.0:9000"},
			func(c *config.Config) bool { return c.Listen.Verify == "0.0.0.0:9000" }},
		{"scalar over a file value", "listen: {verify: 127.0.0.1:1}\ndev: {keys_dir: d}",
			map[string]string{"TOKENGATE_LISTEN_VERIFY": "127.0.0.1:2"},
			func(c *config.Config) bool {
				return c.Listen.Verify == "127.0.0.1:2" && c.Listen.Admin == "127.0.0.1:8182"
			}},
		{"duration", "", map[string]string{"TOKENGATE_POLICY_LEEWAY": "10s"},
			func(c *config.Config) bool { return c.Policy.Leeway == 10*time.Second }},
		{"size", "", map[string]string{"TOKENGATE_LIMITS_MAX_TOKEN_SIZE": "16KiB"},
			func(c *config.Config) bool { return c.Limits.MaxTokenSize == 16*config.KiB }},
		{"size in bytes", "", map[string]string{"TOKENGATE_CACHE_MAX_SIZE": "0"},
			func(c *config.Config) bool { return c.Cache.MaxSize == 0 }},
		{"string list", "", map[string]string{"TOKENGATE_POLICY_AUDIENCES": "api, admin,"},
			func(c *config.Config) bool { return slices.Equal(c.Policy.Audiences, []string{"api", "admin"}) }},
		{"empty list", "policy: {issuers: [a, b]}\ndev: {keys_dir: d}", map[string]string{"TOKENGATE_POLICY_ISSUERS": ""},
			func(c *config.Config) bool { return len(c.Policy.Issuers) == 0 }},
		{"bool", "", map[string]string{"TOKENGATE_POLICY_REQUIRE_EXP": "false", "TOKENGATE_WATCH_KEYS": "0"},
			func(c *config.Config) bool { return !c.Policy.RequireExp && !c.WatchKeys }},
		{"int", "", map[string]string{"TOKENGATE_LIMITS_CONCURRENCY": "8", "TOKENGATE_LIMITS_MAX_IN_FLIGHT": "4"},
			func(c *config.Config) bool { return c.Limits.Concurrency == 8 && c.Limits.MaxInFlight == 4 }},
		{"log level", "", map[string]string{"TOKENGATE_LOG_LEVEL": "debug"},
			func(c *config.Config) bool { return c.Log.Level == "debug" }},
		{"set but empty turns dev off", "", map[string]string{"TOKENGATE_DEV_KEYS_DIR": ""},
			func(c *config.Config) bool { return c.DevKeysDir() == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadWithEnv(t, tt.env, tt.file)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("override not applied: %+v", c)
			}
		})
	}
}

func TestEnvOverrideErrorsNameTheField(t *testing.T) {
	tests := []struct{ name, env, value, field, msg string }{
		{"duration", "TOKENGATE_POLICY_LEEWAY", "soon", "policy.leeway", `invalid duration "soon"`},
		{"size", "TOKENGATE_LIMITS_MAX_HEADER_SIZE", "16KB", "limits.max_header_size", `unknown unit "KB"`},
		{"bool", "TOKENGATE_TOKEN_HEADER", "maybe", "token.header", `invalid boolean "maybe"`},
		{"int", "TOKENGATE_LIMITS_MAX_CONNS_PER_IP", "many", "limits.max_conns_per_ip", `invalid integer "many"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(tt.env, tt.value)
			_, err := config.Load("")
			wantFieldError(t, err, tt.field, tt.msg)
		})
	}
}

func TestEnvNames(t *testing.T) {
	tests := []struct{ key, env string }{
		{"listen.verify", "TOKENGATE_LISTEN_VERIFY"},
		{"listen.ext_authz_grpc", "TOKENGATE_LISTEN_EXT_AUTHZ_GRPC"},
		{"listen.verify_path_prefix", "TOKENGATE_LISTEN_VERIFY_PATH_PREFIX"},
		{"policy.leeway", "TOKENGATE_POLICY_LEEWAY"},
		{"limits.max_token_size", "TOKENGATE_LIMITS_MAX_TOKEN_SIZE"},
		{"log.level", "TOKENGATE_LOG_LEVEL"},
		{"watch_keys", "TOKENGATE_WATCH_KEYS"},
	}
	keys := config.EnvKeys()
	for _, tt := range tests {
		if got := config.EnvName(tt.key); got != tt.env {
			t.Errorf("EnvName(%q) = %q, want %q", tt.key, got, tt.env)
		}
		if !slices.Contains(keys, tt.key) {
			t.Errorf("EnvKeys() lacks %q", tt.key)
		}
	}
	// Lists of objects and maps come from the file only.
	for _, key := range []string{"keys", "routes", "headers.claims"} {
		if slices.Contains(keys, key) {
			t.Errorf("EnvKeys() has %q", key)
		}
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		keys []string
	}{
		{"misspelt section", "polcy:\n  leeway: 10s\n", []string{"polcy.leeway"}},
		{"misspelt nested key", "policy:\n  leevay: 10s\n", []string{"policy.leevay"}},
		{"top-level scalar", "realms: x\n", []string{"realms"}},
		{"in a key entry", "keys:\n  - fiel: a.pem\n", []string{"keys[0].fiel"}},
		{"in a route", "routes:\n  - prefix: /a\n    scope: [x]\n", []string{"routes[0].scope"}},
		{"in a header mapping", "headers:\n  claims:\n    - {claim: sub, name: X-Sub}\n", []string{"headers.claims[0].name"}},
		{"several at once", "polcy: {leeway: 1s}\nlog: {levle: debug}\n", []string{"log.levle", "polcy.leeway"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			_, err := config.Load(writeConfig(t, tt.yaml))
			if !errors.Is(err, config.ErrUnknownKey) {
				t.Fatalf("err = %v, want ErrUnknownKey", err)
			}
			for _, k := range tt.keys {
				if want := `config: unknown key "` + k + `"`; !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	tests := []struct{ name, yaml, field, msg string }{
		{"garbage duration", "policy: {leeway: soon}", "policy.leeway", `invalid duration "soon"`},
		{"duration without unit", "limits: {read_timeout: 30}", "limits.read_timeout", "has no unit"},
		{"negative size", "limits: {max_token_size: -1}", "limits.max_token_size", "negative"},
		{"negative size string", "cache: {max_size: -1KiB}", "cache.max_size", "negative"},
		{"garbage size", "cache: {max_size: lots}", "cache.max_size", `invalid size "lots"`},
		{"decimal size unit", "headers: {max_value_length: 1KB}", "headers.max_value_length", `unknown unit "KB"`},
		{"fractional size", "limits: {max_token_size: 1.5}", "limits.max_token_size", "invalid size"},
		{"fractional int", "limits: {concurrency: 1.5}", "limits.concurrency", "invalid integer"},
		{"bool as string", "token: {header: maybe}", "token.header", "invalid boolean"},
		{"list where a map is expected", "policy: [a]", "policy", "expected a map"},
		{"map where a list is expected", "policy: {issuers: {a: b}}", "policy.issuers", ""},
		{"in a key entry", "keys: [{file: a, algs: {x: y}}]", "keys[0].algs", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			_, err := config.Load(writeConfig(t, tt.yaml))
			wantFieldError(t, err, tt.field, tt.msg)
		})
	}
}

func TestDecodeReportsEveryError(t *testing.T) {
	clearEnv(t)
	_, err := config.Load(writeConfig(t, "policy: {leeway: soon}\nlimits: {max_token_size: big}\ncache: {negative_ttl: 5}\n"))
	for _, field := range []string{"policy.leeway", "limits.max_token_size", "cache.negative_ttl"} {
		wantFieldError(t, err, field, "")
	}
}

func TestLoadConversions(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(*config.Config) bool
	}{
		{"integer string", "realm: 42\ndev: {keys_dir: d}", func(c *config.Config) bool { return c.Realm == "42" }},
		{"single string as list", "policy: {audiences: api}\ndev: {keys_dir: d}",
			func(c *config.Config) bool { return slices.Equal(c.Policy.Audiences, []string{"api"}) }},
		{"zero duration", "cache: {negative_ttl: 0}\ndev: {keys_dir: d}", func(c *config.Config) bool { return c.Cache.NegativeTTL == 0 }},
		{"size in bytes", "limits: {max_token_size: 4096}\ndev: {keys_dir: d}",
			func(c *config.Config) bool { return c.Limits.MaxTokenSize == 4096 }},
		{"size with space", "limits: {max_token_size: 4 KiB}\ndev: {keys_dir: d}",
			func(c *config.Config) bool { return c.Limits.MaxTokenSize == 4096 }},
		{"keys are case-insensitive", "Log: {Level: debug}\ndev: {keys_dir: d}",
			func(c *config.Config) bool { return c.Log.Level == "debug" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			if c := loadYAML(t, tt.yaml); !tt.want(c) {
				t.Errorf("unexpected result: %+v", c)
			}
		})
	}
}

// viper lower-cases map keys; claim names are case-sensitive (RFC 7519 §4).
func TestRouteClaimNamesKeepTheirCase(t *testing.T) {
	clearEnv(t)
	c := loadYAML(t, `
dev: {keys_dir: d}
routes:
  - prefix: /admin
    claims: {"realm_access.Roles": [admin], "https://example.com/Tenant": acme}
`)
	want := map[string][]string{"realm_access.Roles": {"admin"}, "https://example.com/Tenant": {"acme"}}
	if !reflect.DeepEqual(c.Routes[0].Claims, want) {
		t.Errorf("claims = %v, want %v", c.Routes[0].Claims, want)
	}

	_, err := config.Load(writeConfig(t, "routes:\n  - prefix: /a\n    claims: {Role: [a], role: [b]}\n"))
	wantFieldError(t, err, "routes[0].claims", "differ only in case")
}

func TestLoadFileErrors(t *testing.T) {
	clearEnv(t)
	tests := []struct{ name, path, msg string }{
		{"missing file", filepath.Join(t.TempDir(), "nope.yaml"), "no such file"},
		{"too large", writeConfig(t, "# "+strings.Repeat("x", config.MaxFileSize)), "larger than"},
		{"not YAML", writeConfig(t, "listen: [\n"), "tokengate.yaml: yaml: line"},
		{"not a mapping", writeConfig(t, "- a\n"), "tokengate.yaml: line 1: the document is not a mapping"},
		{"scalar document", writeConfig(t, "just text\n"), "not a mapping"},
		{"alias bomb", writeConfig(t, aliasBomb(6)), "aliases are expanded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.msg)
			}
		})
	}
}

func TestEmptyFileIsDefaultsWithoutDev(t *testing.T) {
	clearEnv(t)
	c := loadYAML(t, "")
	def := loadDefault(t)
	def.Dev = config.Dev{}
	if !reflect.DeepEqual(c, def) {
		t.Errorf("empty file\n got %+v\nwant %+v", c, def)
	}
	wantFieldError(t, c.Validate(), "keys", "no key sources")
}

// aliasBomb returns a small document of levels nested anchors, each
// referring ten times to the previous one: 10^levels values when expanded.
func aliasBomb(levels int) string {
	var b strings.Builder
	b.WriteString("policy:\n  issuers: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	return b.String()
}
