package config_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/config"
)

// validConfig is the embedded default with three real key sources, so
// that a test can break one thing at a time.
func validConfig(t *testing.T) *config.Config {
	t.Helper()
	clearEnv(t)
	c := loadDefault(t)
	c.Keys = []config.Key{
		{File: "keys/issuer.jwks.json", Algs: []string{"RS256", "ES256"}, Issuer: "https://issuer.example"},
		{SecretEnv: "API_HMAC_SECRET", Alg: "HS256", Encoding: "base64", Client: "billing"},
		{JWKS: jwkECPublic, KID: "ec-1", Alg: "ES256"},
	}
	c.Routes = []config.Route{
		{Prefix: "/admin", Methods: []string{"GET", "POST"}, Scopes: []string{"admin"},
			Claims: map[string][]string{"realm_access.roles": {"admin"}}},
		{Prefix: "/healthz", Public: true},
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("validConfig does not validate: %v", err)
	}
	return c
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*config.Config)
		field string
		msg   string
	}{
		// listen, realm
		{"verify not host:port", func(c *config.Config) { c.Listen.Verify = "8181" }, "listen.verify", "not host:port"},
		{"verify empty", func(c *config.Config) { c.Listen.Verify = "" }, "listen.verify", "must not be empty"},
		{"admin port out of range", func(c *config.Config) { c.Listen.Admin = "127.0.0.1:70000" }, "listen.admin", "port must be a number"},
		{"admin named port", func(c *config.Config) { c.Listen.Admin = "127.0.0.1:http" }, "listen.admin", "port must be a number"},
		{"admin bad host", func(c *config.Config) { c.Listen.Admin = "bad host:8182" }, "listen.admin", "invalid host"},
		{"admin same as verify", func(c *config.Config) { c.Listen.Admin = c.Listen.Verify }, "listen.admin", "same address"},
		{"ext_authz_grpc not host:port", func(c *config.Config) { c.Listen.ExtAuthzGRPC = "9191" }, "listen.ext_authz_grpc", "not host:port"},
		{"ext_authz_grpc same as verify", func(c *config.Config) { c.Listen.ExtAuthzGRPC = c.Listen.Verify }, "listen.ext_authz_grpc", "same address"},
		{"ext_authz_grpc same as admin", func(c *config.Config) { c.Listen.ExtAuthzGRPC = c.Listen.Admin }, "listen.ext_authz_grpc", "same address"},
		{"path prefix relative", func(c *config.Config) { c.Listen.VerifyPathPrefix = "verify" }, "listen.verify_path_prefix", "must be a path"},
		{"path prefix root", func(c *config.Config) { c.Listen.VerifyPathPrefix = "/" }, "listen.verify_path_prefix", "must be a path"},
		{"path prefix trailing slash", func(c *config.Config) { c.Listen.VerifyPathPrefix = "/verify/" }, "listen.verify_path_prefix", "must be a path"},
		{"path prefix dot segment", func(c *config.Config) { c.Listen.VerifyPathPrefix = "/a/../verify" }, "listen.verify_path_prefix", "must be a path"},
		{"path prefix encoded", func(c *config.Config) { c.Listen.VerifyPathPrefix = "/ver%69fy" }, "listen.verify_path_prefix", "must be a path"},
		{"path prefix query", func(c *config.Config) { c.Listen.VerifyPathPrefix = "/verify?x" }, "listen.verify_path_prefix", "must be a path"},
		{"realm empty", func(c *config.Config) { c.Realm = "" }, "realm", "must not be empty"},
		{"realm with quote", func(c *config.Config) { c.Realm = `a"b` }, "realm", "invalid character"},

		// token
		{"no token source", func(c *config.Config) { c.Token = config.Token{} }, "token", "no token source"},
		{"bad cookie name", func(c *config.Config) { c.Token.Cookie = "a b" }, "token.cookie", "not a valid cookie name"},
		{"bad query name", func(c *config.Config) { c.Token.Query = "a&b" }, "token.query", "not a plain parameter name"},

		// admin, revocation, payload header
		{"admin token twice", func(c *config.Config) { c.Admin.TokenFile, c.Admin.TokenEnv = "a", "B" }, "admin.token_env", "not both"},
		{"admin token env name", func(c *config.Config) { c.Admin.TokenEnv = "1-x" }, "admin.token_env", "not an environment variable"},
		{"token lifetime too short", func(c *config.Config) { c.Revocation.MaxTokenLifetime = time.Second }, "revocation.max_token_lifetime", "not between"},
		{"no rules allowed", func(c *config.Config) { c.Revocation.MaxRules = 0 }, "revocation.max_rules", "at least 1"},
		{"redis addr", func(c *config.Config) { c.Revocation.Redis.Addr = "redis" }, "revocation.redis.addr", "not host:port"},
		{"redis db", func(c *config.Config) { c.Revocation.Redis.DB = 16 }, "revocation.redis.db", "not between"},
		{"redis prefix", func(c *config.Config) { c.Revocation.Redis.Prefix = "" }, "revocation.redis.prefix", "non-empty"},
		{"redis resync", func(c *config.Config) { c.Revocation.Redis.ResyncInterval = time.Millisecond }, "revocation.redis.resync_interval", "shorter than 1s"},
		{"redis timeout", func(c *config.Config) { c.Revocation.Redis.Timeout = 0 }, "revocation.redis.timeout", "not between"},
		{"payload header name", func(c *config.Config) { c.Headers.Payload = "X Claims" }, "headers.payload", ""},

		// limits
		{"token size too small", func(c *config.Config) { c.Limits.MaxTokenSize = 512 }, "limits.max_token_size", "not between 1KiB and 1MiB"},
		{"token size too large", func(c *config.Config) { c.Limits.MaxTokenSize = 2 * config.MiB }, "limits.max_token_size", "not between"},
		{"header size below token size", func(c *config.Config) { c.Limits.MaxHeaderSize = 4 * config.KiB }, "limits.max_header_size", "less than limits.max_token_size"},
		{"header size too large", func(c *config.Config) { c.Limits.MaxHeaderSize = 32 * config.MiB }, "limits.max_header_size", "more than 16MiB"},
		{"no read timeout", func(c *config.Config) { c.Limits.ReadTimeout = 0 }, "limits.read_timeout", "must be positive"},
		{"no write timeout", func(c *config.Config) { c.Limits.WriteTimeout = 0 }, "limits.write_timeout", "must be positive"},
		{"negative idle timeout", func(c *config.Config) { c.Limits.IdleTimeout = -time.Second }, "limits.idle_timeout", "negative"},
		{"negative conns per IP", func(c *config.Config) { c.Limits.MaxConnsPerIP = -1 }, "limits.max_conns_per_ip", "negative"},
		{"negative concurrency", func(c *config.Config) { c.Limits.Concurrency = -1 }, "limits.concurrency", "negative"},
		{"negative max in flight", func(c *config.Config) { c.Limits.MaxInFlight = -1 }, "limits.max_in_flight", "negative"},
		{"max in flight above concurrency", func(c *config.Config) { c.Limits.Concurrency, c.Limits.MaxInFlight = 64, 65 }, "limits.max_in_flight", "more than limits.concurrency (64)"},

		// keys
		{"no keys and no dev", func(c *config.Config) { c.Keys = nil; c.Dev.KeysDir = "" }, "keys", "no key sources"},
		{"entry with no source", func(c *config.Config) { c.Keys[0] = config.Key{Alg: "RS256"} }, "keys[0]", "needs one of"},
		{"entry with two sources", func(c *config.Config) { c.Keys[0].SecretFile = "s.key" }, "keys[0]", "has file and secret_file"},
		{"unsupported alg", func(c *config.Config) { c.Keys[2].Alg = "RS999" }, "keys[2].alg", `unsupported algorithm "RS999"`},
		{"none is not an alg", func(c *config.Config) { c.Keys[0].Alg = "none" }, "keys[0].alg", `unsupported algorithm "none"`},
		{"unsupported alg in algs", func(c *config.Config) { c.Keys[0].Algs = []string{"RS256", "ES521"} }, "keys[0].algs[1]", `unsupported algorithm "ES521"`},
		{"alg outside algs", func(c *config.Config) { c.Keys[0].Alg = "PS256" }, "keys[0].alg", "not in keys[0].algs"},
		{"secret without alg", func(c *config.Config) { c.Keys[1].Alg = "" }, "keys[1].alg", "required for an HMAC secret"},
		{"secret with RSA alg", func(c *config.Config) { c.Keys[1].Alg = "RS256" }, "keys[1].alg", "not an HMAC algorithm"},
		{"secret with RSA in algs", func(c *config.Config) { c.Keys[1].Algs = []string{"HS256", "RS256"} }, "keys[1].algs[1]", "not an HMAC algorithm"},
		{"unknown encoding", func(c *config.Config) { c.Keys[1].Encoding = "base32" }, "keys[1].encoding", `unknown encoding "base32"`},
		{"encoding on a public key", func(c *config.Config) { c.Keys[0].Encoding = "hex" }, "keys[0].encoding", "secret_file and secret_env only"},
		{"bad env name", func(c *config.Config) { c.Keys[1].SecretEnv = "1SECRET" }, "keys[1].secret_env", "not an environment variable name"},
		{"bad client label", func(c *config.Config) { c.Keys[1].Client = "a\r\nX-Evil: 1" }, "keys[1].client", "printable ASCII"},
		{"kid with control character", func(c *config.Config) { c.Keys[0].KID = "a\x00" }, "keys[0].kid", "control character"},
		{"inline secret", func(c *config.Config) { c.Keys[2] = config.Key{JWKS: jwkOct, Alg: "HS256"} }, "keys[2].jwks", "holds an HMAC secret"},
		{"inline secret set", func(c *config.Config) {
			c.Keys[2] = config.Key{JWKS: `{"keys":[` + jwkOct + `]}`, Algs: []string{"HS256"}}
		}, "keys[2].jwks", "holds an HMAC secret"},
		{"inline private key", func(c *config.Config) { c.Keys[2] = config.Key{JWKS: jwkECPrivate, Alg: "ES256"} }, "keys[2].jwks", "private member"},
		{"inline garbage", func(c *config.Config) { c.Keys[2] = config.Key{JWKS: "{not json", Alg: "ES256"} }, "keys[2].jwks", "keyring"},
		{"inline alg mismatch", func(c *config.Config) { c.Keys[2].Alg = "ES384" }, "keys[2].jwks", "keyring"},

		// policy
		{"negative leeway", func(c *config.Config) { c.Policy.Leeway = -time.Second }, "policy.leeway", "not between 0s and 10m0s"},
		{"huge leeway", func(c *config.Config) { c.Policy.Leeway = time.Hour }, "policy.leeway", "not between"},
		{"empty issuer", func(c *config.Config) { c.Policy.Issuers = []string{"a", ""} }, "policy.issuers[1]", "must not be empty"},
		{"duplicate audience", func(c *config.Config) { c.Policy.Audiences = []string{"api", "api"} }, "policy.audiences[1]", `duplicate "api"`},
		{"bad type", func(c *config.Config) { c.Policy.Type = "at jwt" }, "policy.type", "not a media type"},
		{"bad type subtype", func(c *config.Config) { c.Policy.Type = "application/" }, "policy.type", "not a media type"},
		{"empty required claim", func(c *config.Config) { c.Policy.RequiredClaims = []string{"tenant", ""} }, "policy.required_claims[1]", "empty claim path"},
		{"bad JSON Pointer escape", func(c *config.Config) { c.Policy.RequiredClaims = []string{"/realm_access~roles"} }, "policy.required_claims[0]", `"~" must be followed by 0 or 1`},

		// headers
		{"empty claim path", func(c *config.Config) { c.Headers.Claims[1].Claim = "" }, "headers.claims[1].claim", "empty claim path"},
		{"invalid header name", func(c *config.Config) { c.Headers.Claims[0].Header = "X Auth" }, "headers.claims[0].header", "not a valid header name"},
		{"header name with colon", func(c *config.Config) { c.Headers.Claims[0].Header = "X-Auth:" }, "headers.claims[0].header", "not a valid header name"},
		{"empty header name", func(c *config.Config) { c.Headers.Claims[0].Header = "" }, "headers.claims[0].header", "not a valid header name"},
		{"duplicate header, other case", func(c *config.Config) { c.Headers.Client = "x-auth-subject" }, "headers.client", "already used by headers.claims[0].header"},
		{"duplicate claim header", func(c *config.Config) { c.Headers.Claims[3].Header = "X-AUTH-ISSUER" }, "headers.claims[3].header", "already used"},
		{"reserved header", func(c *config.Config) { c.Headers.KeyID = "Content-Length" }, "headers.key_id", "reserved header"},
		{"bad client header", func(c *config.Config) { c.Headers.Client = "X-Client\n" }, "headers.client", "not a valid header name"},
		{"zero max value length", func(c *config.Config) { c.Headers.MaxValueLength = 0 }, "headers.max_value_length", "not between 1 and 64KiB"},

		// routes
		{"relative prefix", func(c *config.Config) { c.Routes[0].Prefix = "admin" }, "routes[0].prefix", "must start with /"},
		{"empty prefix", func(c *config.Config) { c.Routes[0].Prefix = "" }, "routes[0].prefix", "must start with /"},
		{"prefix with query", func(c *config.Config) { c.Routes[0].Prefix = "/a?b" }, "routes[0].prefix", "not a plain path"},
		{"lower-case method", func(c *config.Config) { c.Routes[0].Methods = []string{"get"} }, "routes[0].methods[0]", "not an upper-case method"},
		{"method with space", func(c *config.Config) { c.Routes[0].Methods = []string{"GET", "PO ST"} }, "routes[0].methods[1]", "not an upper-case method"},
		{"duplicate method", func(c *config.Config) { c.Routes[0].Methods = []string{"GET", "GET"} }, "routes[0].methods[1]", "duplicate"},
		{"bad scope", func(c *config.Config) { c.Routes[0].Scopes = []string{"a b"} }, "routes[0].scopes[0]", "not a scope token"},
		{"empty route claim path", func(c *config.Config) { c.Routes[0].Claims = map[string][]string{"": {"x"}} }, `routes[0].claims[""]`, "empty claim path"},
		{"route claim without values", func(c *config.Config) { c.Routes[0].Claims = map[string][]string{"tenant": nil} }, `routes[0].claims["tenant"]`, "no accepted values"},
		{"public route with scopes", func(c *config.Config) { c.Routes[1].Scopes = []string{"x"} }, "routes[1].public", "cannot require scopes or claims"},

		// cache, log
		{"negative cache size", func(c *config.Config) { c.Cache.MaxSize = -1 }, "cache.max_size", "negative"},
		{"negative negative_ttl", func(c *config.Config) { c.Cache.NegativeTTL = -time.Second }, "cache.negative_ttl", "negative"},
		{"unknown log level", func(c *config.Config) { c.Log.Level = "trace" }, "log.level", `unknown level "trace"`},
		{"unknown log format", func(c *config.Config) { c.Log.Format = "xml" }, "log.format", `unknown format "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.edit(c)
			err := c.Validate()
			wantFieldError(t, err, tt.field, tt.msg)
			var fe *config.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("errors.As(%v, *FieldError) = false", err)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		edit func(*config.Config)
	}{
		{"dev keys only", func(c *config.Config) { c.Keys = nil }},
		{"keys without dev", func(c *config.Config) { c.Dev.KeysDir = "" }},
		{"all interfaces", func(c *config.Config) { c.Listen.Verify = ":8181"; c.Listen.Admin = "[::1]:8182" }},
		{"host names", func(c *config.Config) { c.Listen.Verify = "localhost:8181"; c.Listen.Admin = "admin.internal:8182" }},
		{"random ports", func(c *config.Config) { c.Listen.Verify = "127.0.0.1:0"; c.Listen.Admin = "127.0.0.1:0" }},
		{"ext_authz gRPC and a path prefix", func(c *config.Config) {
			c.Listen.ExtAuthzGRPC, c.Listen.VerifyPathPrefix = "127.0.0.1:9191", "/ext-authz/verify"
		}},
		{"all listeners on random ports", func(c *config.Config) {
			c.Listen.Verify, c.Listen.Admin, c.Listen.ExtAuthzGRPC = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		}},
		{"cookie and query only", func(c *config.Config) { c.Token = config.Token{Cookie: "__Host-token", Query: "access_token"} }},
		{"headers disabled", func(c *config.Config) { c.Headers.Client, c.Headers.KeyID, c.Headers.Claims = "", "", nil }},
		{"cache off", func(c *config.Config) { c.Cache = config.Cache{} }},
		{"shedding off", func(c *config.Config) { c.Limits.MaxInFlight = 0 }},
		{"in flight up to concurrency", func(c *config.Config) { c.Limits.Concurrency, c.Limits.MaxInFlight = 64, 64 }},
		{"in flight under fasthttp's default concurrency", func(c *config.Config) { c.Limits.Concurrency, c.Limits.MaxInFlight = 0, 100_000 }},
		{"extension method", func(c *config.Config) { c.Routes[0].Methods = []string{"PROPFIND", "M-SEARCH"} }},
		{"typed tokens", func(c *config.Config) { c.Policy.Type = "application/at+jwt" }},
		{"upper-case log level", func(c *config.Config) { c.Log.Level, c.Log.Format = "DEBUG", "JSON" }},
		{"secret file in hex", func(c *config.Config) {
			c.Keys[1] = config.Key{SecretFile: "s.key", Encoding: "hex", Alg: "HS512", Algs: []string{"HS512"}}
		}},
		{"inline JWK Set", func(c *config.Config) {
			c.Keys[2] = config.Key{JWKS: `{"keys":[` + jwkECPublic + `]}`, Algs: []string{"ES256"}}
		}},
		{"alg only", func(c *config.Config) { c.Keys[0].Algs, c.Keys[0].Alg = nil, "RS256" }},
		// Each key is still bound to the one alg it carries (or its curve
		// implies); keyring refuses RSA and HMAC keys without one. serve
		// adds the dev key this way.
		{"no allow-list", func(c *config.Config) { c.Keys[0].Algs = nil; c.Keys[2].Alg = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.edit(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := validConfig(t)
	c.Listen.Admin = "nope"
	c.Keys[2].Alg = "RS999"
	c.Routes[0].Prefix = "admin"
	c.Policy.Leeway = -time.Second
	c.Log.Format = "xml"
	err := c.Validate()
	for _, field := range []string{"listen.admin", "keys[2].alg", "routes[0].prefix", "policy.leeway", "log.format"} {
		wantFieldError(t, err, field, "")
	}
	if n := len(fieldErrors(err)); n < 5 {
		t.Errorf("%d field errors, want at least 5: %v", n, err)
	}
}

// A whole file through Load and Validate: the error names the key as
// written in YAML.
func TestValidateLoadedFile(t *testing.T) {
	clearEnv(t)
	c := loadYAML(t, `
keys:
  - file: a.pem
    alg: RS256
  - secret_env: SECRET
    alg: HS256
  - file: b.pem
    alg: RS999
routes:
  - prefix: admin
`)
	err := c.Validate()
	wantFieldError(t, err, "keys[2].alg", `config: keys[2].alg: unsupported algorithm "RS999"`)
	wantFieldError(t, err, "routes[0].prefix", "config: routes[0].prefix: must start with /")
}
