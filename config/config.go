// Package config loads tokengate's configuration: a YAML file (the
// reference is config.yaml at the repository root, embedded here as
// default.yaml), overridden by TOKENGATE_* environment variables, decoded
// strictly into a typed Config and checked by Validate before anything is
// applied. It is the only package that knows viper; everything else gets
// plain structs from the conversion methods (Keyring, VerifierOptions,
// Sidecar, Logger).
//
// Security properties:
//   - Unknown keys are errors, never ignored: a misspelt "polcy" must not
//     silently leave the default policy in force.
//   - Validate reports every problem at once and fails closed: a Config
//     that did not validate must not be used.
//   - HMAC secrets never appear inline in the configuration; they live in a
//     file or an environment variable (the "jwks" member is checked to hold
//     public keys only).
//
// # Load order
//
// Defaults come from the embedded reference file without its "dev"
// section (absent means development mode is off). The file given to Load
// overrides them key by key (a list replaces the whole default list); then
// environment variables override single keys. Every leaf key that is not
// inside a list of objects has a variable: "TOKENGATE_" followed by the key
// path in upper case with "." replaced by "_", for example
// TOKENGATE_LISTEN_VERIFY, TOKENGATE_POLICY_LEEWAY, TOKENGATE_LIMITS_MAX_TOKEN_SIZE,
// TOKENGATE_LOG_LEVEL. String lists are comma-separated
// (TOKENGATE_POLICY_AUDIENCES=api,admin); a variable that is set but empty
// sets the empty value. The lists of objects (keys, headers.claims, routes)
// come from the file only.
//
// A variable under TOKENGATE_ that is no key's (TOKENGATE_LISTEN_VERIFYY)
// is an error, as an unknown key in the file is, except the few the
// repository's tests and load test read (NonConfigEnv: TOKENGATE_INTEGRATION,
// TOKENGATE_CHAOS, TOKENGATE_REDIS_URL, TOKENGATE_PG_DSN) and those the
// configuration itself names for a secret (keys[].secret_env,
// admin.token_env, revocation.redis.password_env). An error about a value
// an environment variable set names the variable (*FieldError.Env).
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// defaultYAML is a byte-identical copy of the repository's config.yaml (a
// test keeps them equal): go:embed cannot reach the parent directory.
//
//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded reference configuration.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// MaxFileSize bounds a configuration file; a bigger one is a mistake.
const MaxFileSize = 1 << 20

// EnvPrefix starts every environment variable that overrides a key.
const EnvPrefix = "TOKENGATE_"

// ErrUnknownKey reports a key in the configuration that tokengate does not
// know (wrapped, with the key's path).
var ErrUnknownKey = errors.New("config: unknown key")

// FieldError is a problem with one configuration value. Field is the key
// path as written in YAML: "policy.leeway", "keys[2].alg", "routes[0].prefix".
// Env is the environment variable the value came from ("" when it came
// from the file or the defaults).
type FieldError struct {
	Field string
	Env   string
	Err   error
}

func (e *FieldError) Error() string {
	if e.Env != "" {
		return "config: " + e.Field + " (from the environment: " + e.Env + "): " + e.Err.Error()
	}
	return "config: " + e.Field + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// Config is the whole configuration, one field per key of config.yaml.
// Load returns a new Config for every call; it is a plain value that
// nothing else references, safe to read from any number of goroutines as
// long as nobody modifies it. The conversion methods copy what they return.
//
// The zero Config is not a useful configuration (RequireExp false, no
// listen addresses): start from Load("").
type Config struct {
	Listen     Listen     `mapstructure:"listen"`
	Realm      string     `mapstructure:"realm"`
	Token      Token      `mapstructure:"token"`
	Limits     Limits     `mapstructure:"limits"`
	Keys       []Key      `mapstructure:"keys"`
	WatchKeys  bool       `mapstructure:"watch_keys"`
	Policy     Policy     `mapstructure:"policy"`
	Issuers    []Issuer   `mapstructure:"issuers"`
	JWKS       JWKS       `mapstructure:"jwks"`
	Headers    Headers    `mapstructure:"headers"`
	Routes     []Route    `mapstructure:"routes"`
	Paths      Paths      `mapstructure:"paths"`
	Cache      Cache      `mapstructure:"cache"`
	Decryption Decryption `mapstructure:"decryption"`
	Admin      Admin      `mapstructure:"admin"`
	Revocation Revocation `mapstructure:"revocation"`
	Log        Log        `mapstructure:"log"`
	Dev        Dev        `mapstructure:"dev"`

	// env maps the keys environment variables set to the variables'
	// names, so that Validate's errors can name them.
	env map[string]string
}

// Decryption configures encrypted tokens (compact JWE wrapping a signed
// JWT).
type Decryption struct {
	Keys    []DecryptionKey `mapstructure:"keys"`
	Require bool            `mapstructure:"require"`
	Encs    []string        `mapstructure:"encs"`
}

// DecryptionKey is a private key file: a JWK, a JWK Set or PKCS#8 PEM.
type DecryptionKey struct {
	File string `mapstructure:"file"`
	Alg  string `mapstructure:"alg"`
	KID  string `mapstructure:"kid"`
}

// Admin secures the admin listener's write endpoints (/revocations).
type Admin struct {
	// TokenFile or TokenEnv holds the bearer secret /revocations
	// requires. With neither, /revocations answers loopback requests only.
	TokenFile string `mapstructure:"token_file"`
	TokenEnv  string `mapstructure:"token_env"`
}

// Revocation configures the revocation rules.
type Revocation struct {
	// File is a JSON revocation file, reloaded when it changes.
	File string `mapstructure:"file"`
	// MaxTokenLifetime is the longest lifetime (exp − iat) of any accepted
	// token; longer-lived tokens are refused. A subject cutoff is kept
	// until before + MaxTokenLifetime + the largest leeway, a jti rule
	// without exp until its addition + MaxTokenLifetime + twice the
	// leeway: after that no token they match can verify.
	MaxTokenLifetime time.Duration `mapstructure:"max_token_lifetime"`
	// MaxRules bounds the number of rules in memory.
	MaxRules int             `mapstructure:"max_rules"`
	Redis    RevocationRedis `mapstructure:"redis"`
}

// RevocationRedis is the Redis every replica shares revocations through.
type RevocationRedis struct {
	Addr           string        `mapstructure:"addr"`
	Username       string        `mapstructure:"username"`
	PasswordEnv    string        `mapstructure:"password_env"`
	DB             int           `mapstructure:"db"`
	TLS            bool          `mapstructure:"tls"`
	Prefix         string        `mapstructure:"prefix"`
	ResyncInterval time.Duration `mapstructure:"resync_interval"`
	Timeout        time.Duration `mapstructure:"timeout"`
	StartupWait    time.Duration `mapstructure:"startup_wait"`
}

// Listen holds the listen addresses (host:port) and how the /verify
// listener reads the request line.
type Listen struct {
	Verify string `mapstructure:"verify"`
	Admin  string `mapstructure:"admin"`
	// ExtAuthzGRPC is the address of the Envoy ext_authz gRPC service
	// (envoy.service.auth.v3.Authorization); "" does not serve it.
	ExtAuthzGRPC string `mapstructure:"ext_authz_grpc"`
	// VerifyPathPrefix is stripped from /verify's own request target when
	// the original path comes from the request line (Envoy's ext_authz
	// HTTP service appends the original path to its path_prefix); a
	// target outside it is refused. "" judges the request line as it is.
	VerifyPathPrefix string `mapstructure:"verify_path_prefix"`
}

// Token says where /verify looks for the token.
type Token struct {
	Header bool   `mapstructure:"header"`
	Cookie string `mapstructure:"cookie"`
	Query  string `mapstructure:"query"`
}

// Limits bound what clients control.
type Limits struct {
	MaxTokenSize  Size          `mapstructure:"max_token_size"`
	MaxHeaderSize Size          `mapstructure:"max_header_size"`
	ReadTimeout   time.Duration `mapstructure:"read_timeout"`
	WriteTimeout  time.Duration `mapstructure:"write_timeout"`
	IdleTimeout   time.Duration `mapstructure:"idle_timeout"`
	MaxConnsPerIP int           `mapstructure:"max_conns_per_ip"`
	Concurrency   int           `mapstructure:"concurrency"`
	MaxInFlight   int           `mapstructure:"max_in_flight"`
	MaxQueueTime  time.Duration `mapstructure:"max_queue_time"`
}

// Key is one key source: exactly one of File, SecretFile, SecretEnv and
// JWKS is set.
type Key struct {
	// File holds a JWK, JWK Set, PEM public keys or certificates. Load
	// resolves a relative path against the configuration file's directory.
	File string `mapstructure:"file"`
	// SecretFile and SecretEnv hold an HMAC secret in Encoding.
	SecretFile string `mapstructure:"secret_file"`
	SecretEnv  string `mapstructure:"secret_env"`
	Encoding   string `mapstructure:"encoding"`
	// JWKS is an inline JWK, JWK Set or PEM document of public keys.
	JWKS string `mapstructure:"jwks"`

	Alg    string   `mapstructure:"alg"`
	Algs   []string `mapstructure:"algs"`
	KID    string   `mapstructure:"kid"`
	Issuer string   `mapstructure:"issuer"`
	Client string   `mapstructure:"client"`
}

// Policy is the claims policy.
type Policy struct {
	Issuers        []string      `mapstructure:"issuers"`
	Audiences      []string      `mapstructure:"audiences"`
	Leeway         time.Duration `mapstructure:"leeway"`
	RequireExp     bool          `mapstructure:"require_exp"`
	Type           string        `mapstructure:"type"`
	RequiredClaims []string      `mapstructure:"required_claims"`
	// RefuseIDTokens refuses tokens carrying nonce, at_hash or c_hash
	// (ID-token claims), so ID tokens cannot pass as access tokens where
	// the provider types both "JWT".
	RefuseIDTokens bool `mapstructure:"refuse_id_tokens"`
}

// Issuer gives one issuer its own claim rules, overriding policy for
// tokens whose "iss" equals Issuer. An empty list or unset field inherits
// the policy section's value.
type Issuer struct {
	Issuer          string         `mapstructure:"issuer"`
	Audiences       []string       `mapstructure:"audiences"`
	Leeway          *time.Duration `mapstructure:"leeway"`
	AllowMissingExp bool           `mapstructure:"allow_missing_exp"`
	// JWKSURL or Discovery fetch the issuer's keys from its identity
	// provider: a JWK Set URL, or OIDC discovery from the issuer URL.
	JWKSURL   string   `mapstructure:"jwks_url"`
	Discovery bool     `mapstructure:"discovery"`
	Algs      []string `mapstructure:"algs"`
	Alg       string   `mapstructure:"alg"`
	Client    string   `mapstructure:"client"`
	// AllowMissingAud accepts this issuer's tokens that have no "aud" at
	// all (some providers omit it); a present "aud" must still match.
	AllowMissingAud bool `mapstructure:"allow_missing_aud"`
	// CheckAudience false switches the audience check off for this
	// issuer even when policy.audiences lists audiences (unset: on).
	CheckAudience  *bool    `mapstructure:"check_audience"`
	Type           string   `mapstructure:"type"`
	RequiredClaims []string `mapstructure:"required_claims"`
	// RefuseIDTokens overrides policy.refuse_id_tokens for this issuer.
	RefuseIDTokens *bool `mapstructure:"refuse_id_tokens"`
}

// JWKS configures fetching keys from identity providers (issuers[] with
// jwks_url or discovery).
type JWKS struct {
	MinRefresh      time.Duration `mapstructure:"min_refresh"`
	MaxRefresh      time.Duration `mapstructure:"max_refresh"`
	DefaultRefresh  time.Duration `mapstructure:"default_refresh"`
	RefetchInterval time.Duration `mapstructure:"refetch_interval"`
	Timeout         time.Duration `mapstructure:"timeout"`
	MaxSize         Size          `mapstructure:"max_size"`
	MinBackoff      time.Duration `mapstructure:"min_backoff"`
	MaxBackoff      time.Duration `mapstructure:"max_backoff"`
	AllowHTTP       bool          `mapstructure:"allow_http"`
	CAFile          string        `mapstructure:"ca_file"`
	UserAgent       string        `mapstructure:"user_agent"`
	Startup         string        `mapstructure:"startup"`
	StartupTimeout  time.Duration `mapstructure:"startup_timeout"`
}

// Headers maps claims to response headers.
type Headers struct {
	Claims         []ClaimHeader `mapstructure:"claims"`
	Client         string        `mapstructure:"client"`
	KeyID          string        `mapstructure:"key_id"`
	Payload        string        `mapstructure:"payload"`
	MaxValueLength Size          `mapstructure:"max_value_length"`
}

// ClaimHeader copies one claim into one response header.
type ClaimHeader struct {
	Claim  string `mapstructure:"claim"`
	Header string `mapstructure:"header"`
	Format string `mapstructure:"format"`
}

// Route is an authorisation rule for a path prefix.
type Route struct {
	Prefix  string              `mapstructure:"prefix"`
	Methods []string            `mapstructure:"methods"`
	Scopes  []string            `mapstructure:"scopes"`
	Claims  map[string][]string `mapstructure:"claims"`
	Public  bool                `mapstructure:"public"`
}

// Paths says how request paths are read before routes are matched.
type Paths struct {
	// AllowASCIILookalikes accepts non-ASCII characters whose NFKC form
	// holds ASCII (full-width letters, circled digits); refused by default.
	AllowASCIILookalikes bool `mapstructure:"allow_ascii_lookalikes"`
}

// Cache sizes the verified-token cache.
type Cache struct {
	MaxSize       Size          `mapstructure:"max_size"`
	NegativeTTL   time.Duration `mapstructure:"negative_ttl"`
	AdmitFirstUse bool          `mapstructure:"admit_first_use"`
}

// Log configures the process logger.
type Log struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
	// Access is the access log: off, denied (refusals only) or all.
	Access string `mapstructure:"access"`
	// AccessPerSecond bounds the access log records written per second.
	AccessPerSecond int `mapstructure:"access_per_second"`
	// AccessSubject is how a token's subject appears in access log
	// records: hash, plain or off.
	AccessSubject string `mapstructure:"access_subject"`
}

// Dev is development mode. It is off when KeysDir is empty, which is the
// default for every file but the embedded reference.
type Dev struct {
	KeysDir string `mapstructure:"keys_dir"`
}

// DevKeysDir returns the development keys directory, "" when development
// mode is off. The serve command generates an ES256 key pair there on
// first start and trusts <dir>/dev.jwks.json (issuer-less). Production
// configurations leave the dev section out.
func (c *Config) DevKeysDir() string { return c.Dev.KeysDir }

// Load reads the configuration file at path ("" means the embedded
// reference configuration), applies the TOKENGATE_* environment variables
// and decodes the result strictly: unknown keys and values of the wrong
// type or format are errors naming the key. Relative key file paths and
// dev.keys_dir are resolved against the file's directory (for the embedded
// configuration: left relative to the current directory). Load does not
// call Validate. It is safe to call concurrently: every call uses its own
// viper instance.
func Load(path string) (*Config, error) {
	if path == "" {
		return load(defaultYAML, "", "embedded default configuration")
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return load(data, dir, path)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("config: %s: larger than %d bytes", path, MaxFileSize)
	}
	return data, nil
}

var configType = reflect.TypeFor[Config]()

func load(data []byte, dir, name string) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := setDefaults(v); err != nil {
		return nil, err
	}
	v.AllowEmptyEnv(true)
	for _, key := range envKeys(configType, "") {
		if err := v.BindEnv(key, EnvName(key)); err != nil {
			return nil, err
		}
	}
	// Parse once without expanding aliases to bound the document, then
	// let viper read it.
	root, err := parseYAML(data)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", name, err)
	}
	if err := parseGuard(func() error { return v.ReadConfig(bytes.NewReader(data)) }); err != nil {
		return nil, fmt.Errorf("config: %s: %w", name, err)
	}

	settings := v.AllSettings()
	var errs []error
	for _, k := range unknownKeys(settings, configType, "") {
		errs = append(errs, fmt.Errorf("%w %q", ErrUnknownKey, k))
	}
	referenced := map[string]bool{}
	referencedEnv(settings, "", referenced)
	errs = append(errs, unknownEnv(os.Environ(), referenced)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	cfg := &Config{env: envSettings(os.Environ())}
	if err := v.UnmarshalExact(cfg, viper.DecodeHook(decodeHook()), func(dc *mapstructure.DecoderConfig) {
		// Type conversions are the hooks' job, done strictly: no
		// "weak" guessing such as a float silently truncated to an int.
		dc.WeaklyTypedInput = false
	}); err != nil {
		return nil, fromEnv(decodeErrors(err), cfg.env)
	}
	if err := restoreClaimCase(cfg, root); err != nil {
		return nil, err
	}
	cfg.resolvePaths(dir)
	return cfg, nil
}

// MaxNodes bounds the number of YAML nodes in a configuration after alias
// expansion: a few kilobytes of anchors and aliases can otherwise stand for
// millions of values ("billion laughs").
const MaxNodes = 100_000

// parseYAML parses data into a node tree (aliases unexpanded) and checks
// its expanded size against MaxNodes.
func parseYAML(data []byte) (*yaml.Node, error) {
	var root yaml.Node
	if err := parseGuard(func() error { return yaml.Unmarshal(data, &root) }); err != nil {
		return nil, err
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		if c := root.Content[0]; c.Kind != yaml.MappingNode && c.ShortTag() != "!!null" {
			return nil, fmt.Errorf("line %d: the document is not a mapping of keys to values", c.Line)
		}
	}
	if n := expandedNodes(&root, map[*yaml.Node]int{}, map[*yaml.Node]bool{}); n > MaxNodes {
		return nil, fmt.Errorf("more than %d YAML values once aliases are expanded", MaxNodes)
	}
	return &root, nil
}

// expandedNodes counts the nodes under n with every alias replaced by what
// it refers to. It stops counting past MaxNodes; a cycle counts as too many.
func expandedNodes(n *yaml.Node, memo map[*yaml.Node]int, active map[*yaml.Node]bool) int {
	if n == nil {
		return 0
	}
	if c, ok := memo[n]; ok {
		return c
	}
	if active[n] {
		return MaxNodes + 1
	}
	active[n] = true
	defer delete(active, n)
	total := 1
	if n.Kind == yaml.AliasNode {
		total += expandedNodes(n.Alias, memo, active)
	}
	for _, c := range n.Content {
		if total > MaxNodes {
			break
		}
		total += expandedNodes(c, memo, active)
	}
	total = min(total, MaxNodes+1)
	memo[n] = total
	return total
}

// parseGuard runs a YAML parse. The parser is third-party code fed with
// operator input: whatever it does, Load reports an error, not a crash.
func parseGuard(parse func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("YAML parser failure: %v", r)
		}
	}()
	return parse()
}

// setDefaults installs the embedded reference configuration, without its
// dev section, as viper defaults.
func setDefaults(v *viper.Viper) error {
	d := viper.New()
	d.SetConfigType("yaml")
	if err := d.ReadConfig(bytes.NewReader(defaultYAML)); err != nil {
		return fmt.Errorf("config: embedded default configuration: %w", err)
	}
	for _, k := range d.AllKeys() {
		if k == "dev" || strings.HasPrefix(k, "dev.") {
			continue
		}
		v.SetDefault(k, d.Get(k))
	}
	return nil
}

// EnvName returns the environment variable that overrides a key path:
// EnvName("policy.leeway") == "TOKENGATE_POLICY_LEEWAY".
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// EnvKeys lists the key paths that environment variables can override, in
// the order of the Config struct.
func EnvKeys() []string { return envKeys(configType, "") }

// envKeys lists the leaf keys of t outside lists of objects and maps.
func envKeys(t reflect.Type, prefix string) []string {
	var keys []string
	walkKeys(t, prefix, func(key string, fileOnly bool) {
		if !fileOnly {
			keys = append(keys, key)
		}
	})
	return keys
}

// fieldByKey finds the struct field of t tagged name. viper lower-cases
// keys, so the match ignores case like mapstructure's does.
func fieldByKey(t reflect.Type, name string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if tag := f.Tag.Get("mapstructure"); tag != "" && f.IsExported() && strings.EqualFold(tag, name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// unknownKeys walks the settings against the struct type t and returns
// the paths of the keys t does not have, sorted.
func unknownKeys(m map[string]any, t reflect.Type, prefix string) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		f, ok := fieldByKey(t, k)
		if !ok {
			out = append(out, leaves(m[k], prefix+k)...)
			continue
		}
		switch ft := f.Type; {
		case ft.Kind() == reflect.Struct:
			if sub, ok := m[k].(map[string]any); ok {
				out = append(out, unknownKeys(sub, ft, prefix+k+".")...)
			}
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			if list, ok := m[k].([]any); ok {
				for i, e := range list {
					if sub, ok := e.(map[string]any); ok {
						out = append(out, unknownKeys(sub, ft.Elem(), fmt.Sprintf("%s%s[%d].", prefix, k, i))...)
					}
				}
			}
		}
		// Anything else is a leaf or a free-form map; the decoder checks
		// its type.
	}
	return out
}

// leaves lists the paths of the leaves under an unknown key, so that a
// misspelt section names what it would have set ("polcy.leeway").
func leaves(v any, path string) []string {
	sub, ok := v.(map[string]any)
	if !ok || len(sub) == 0 {
		return []string{path}
	}
	var out []string
	for _, k := range sortedKeys(sub) {
		out = append(out, leaves(sub[k], path+"."+k)...)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// decodeErrors turns mapstructure's errors into FieldErrors, one per field.
func decodeErrors(err error) error {
	var errs []error
	var walk func(error)
	walk = func(err error) {
		if de, ok := err.(*mapstructure.DecodeError); ok {
			inner := de.Unwrap()
			var nested *mapstructure.DecodeError
			if isJoin(inner) || errors.As(inner, &nested) {
				walk(inner)
			} else {
				errs = append(errs, &FieldError{Field: de.Name(), Err: inner})
			}
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var de *mapstructure.DecodeError
		if errors.As(err, &de) {
			walk(errors.Unwrap(err))
			return
		}
		errs = append(errs, fmt.Errorf("config: %w", err))
	}
	walk(err)
	return errors.Join(errs...)
}

func isJoin(err error) bool {
	_, ok := err.(interface{ Unwrap() []error })
	return ok
}

// restoreClaimCase gives routes[i].claims their names back. viper lower-cases
// every map key it reads, but claim names are case-sensitive (RFC 7519 §4),
// so the names are taken from a second, case-preserving parse of the same
// YAML (viper's own parser). Environment variables cannot set routes, so
// the file is the only source of route claims.
func restoreClaimCase(cfg *Config, root *yaml.Node) error {
	var doc map[string]any
	if parseGuard(func() error { return root.Decode(&doc) }) != nil {
		return nil // viper parsed it; whatever this parser makes of it, keep viper's result
	}
	routes, _ := lookupFold(doc, "routes").([]any)
	if len(routes) != len(cfg.Routes) {
		return nil
	}
	var errs []error
	for i, r := range routes {
		rm, _ := r.(map[string]any)
		claims, _ := lookupFold(rm, "claims").(map[string]any)
		if len(claims) == 0 || len(claims) != len(cfg.Routes[i].Claims) {
			continue
		}
		restored := make(map[string][]string, len(claims))
		for _, name := range sortedKeys(claims) {
			vals, ok := cfg.Routes[i].Claims[strings.ToLower(name)]
			if !ok {
				restored = nil
				break
			}
			restored[name] = vals
		}
		if restored != nil {
			cfg.Routes[i].Claims = restored
		}
	}
	for i, r := range routes {
		rm, _ := r.(map[string]any)
		claims, _ := lookupFold(rm, "claims").(map[string]any)
		seen := map[string]string{}
		for _, name := range sortedKeys(claims) {
			if prev, ok := seen[strings.ToLower(name)]; ok {
				errs = append(errs, &FieldError{Field: fmt.Sprintf("routes[%d].claims", i),
					Err: fmt.Errorf("claims %q and %q differ only in case (keys are read case-insensitively)", prev, name)})
			}
			seen[strings.ToLower(name)] = name
		}
	}
	return errors.Join(errs...)
}

func lookupFold(m map[string]any, key string) any {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// resolvePaths makes relative key paths and dev.keys_dir relative to dir.
func (c *Config) resolvePaths(dir string) {
	if dir == "" {
		return
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for i := range c.Keys {
		c.Keys[i].File = abs(c.Keys[i].File)
		c.Keys[i].SecretFile = abs(c.Keys[i].SecretFile)
	}
	c.Dev.KeysDir = abs(c.Dev.KeysDir)
	c.Revocation.File = abs(c.Revocation.File)
	c.JWKS.CAFile = abs(c.JWKS.CAFile)
	for i := range c.Decryption.Keys {
		c.Decryption.Keys[i].File = abs(c.Decryption.Keys[i].File)
	}
	c.Admin.TokenFile = abs(c.Admin.TokenFile)
}
