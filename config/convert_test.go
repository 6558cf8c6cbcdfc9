package config_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/build"
	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/verifier"
)

const fullYAML = `
listen: {verify: 0.0.0.0:9181, admin: 127.0.0.1:9182}
realm: api
token: {header: false, cookie: session, query: access_token}
limits: {max_token_size: 4KiB, max_header_size: 32KiB, read_timeout: 2s, write_timeout: 3s, idle_timeout: 0, max_conns_per_ip: 10, concurrency: 100, max_in_flight: 50}
keys:
  - file: keys/issuer.jwks.json
    algs: [RS256, ES256]
    issuer: https://issuer.example
  - file: /etc/tokengate/rsa.pem
    alg: PS256
    kid: rsa-1
  - secret_file: secrets/api.key
    encoding: base64url
    alg: HS384
    client: billing
  - secret_env: API_SECRET
    alg: HS256
  - jwks: '` + jwkECPublic + `'
    algs: [ES256]
watch_keys: false
policy: {issuers: [https://issuer.example], audiences: [api], leeway: 5s, require_exp: false, type: at+jwt, required_claims: [tenant]}
headers:
  claims: [{claim: sub, header: X-User}, {claim: realm_access.roles, header: X-Roles}]
  client: ""
  key_id: X-Kid
  max_value_length: 512
routes:
  - {prefix: /admin, methods: [GET, POST], scopes: [admin], claims: {"realm_access.roles": [admin, root]}}
  - {prefix: /public, public: true}
cache: {max_size: 1MiB, negative_ttl: 0}
log: {level: warn, format: json}
`

func loadFull(t *testing.T) (*config.Config, string) {
	t.Helper()
	clearEnv(t)
	path := writeConfig(t, fullYAML)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return c, filepath.Dir(path)
}

func TestKeyring(t *testing.T) {
	c, dir := loadFull(t)
	want := keyring.Config{Sources: []keyring.Source{
		{Path: filepath.Join(dir, "keys/issuer.jwks.json"), Algs: []keyring.Algorithm{keyring.RS256, keyring.ES256}, Issuer: "https://issuer.example"},
		{Path: "/etc/tokengate/rsa.pem", Alg: keyring.PS256, ID: "rsa-1"},
		{Path: filepath.Join(dir, "secrets/api.key"), Secret: true, Encoding: keyring.SecretBase64URL, Alg: keyring.HS384, Client: "billing"},
		{Env: "API_SECRET", Secret: true, Encoding: keyring.SecretRaw, Alg: keyring.HS256},
		{Inline: []byte(jwkECPublic), Algs: []keyring.Algorithm{keyring.ES256}},
	}, RemoteStartupTimeout: 30 * time.Second}
	if got := c.Keyring(); !reflect.DeepEqual(got, want) {
		t.Errorf("Keyring()\n got %+v\nwant %+v", got, want)
	}
}

// An inline key set that Validate accepts loads in a real keyring.
func TestKeyringLoadsInline(t *testing.T) {
	clearEnv(t)
	c := loadYAML(t, "keys:\n  - jwks: '"+jwkECPublic+"'\n    kid: ec-1\n    alg: ES256\n")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(c.Keyring())
	if err != nil {
		t.Fatalf("keyring.New: %v", err)
	}
	if n := ring.Status().Keys; n != 1 {
		t.Errorf("%d keys, want 1", n)
	}
}

// An encoding Validate would refuse is not silently read as raw.
func TestKeyringFailsClosedOnBadEncoding(t *testing.T) {
	c := &config.Config{Keys: []config.Key{{SecretEnv: "S", Alg: "HS256", Encoding: "rot13"}}}
	if _, err := keyring.New(c.Keyring()); err == nil || !strings.Contains(err.Error(), "encoding") {
		t.Fatalf("keyring.New error = %v, want it to refuse the encoding", err)
	}
}

func TestVerifierOptions(t *testing.T) {
	c, _ := loadFull(t)
	want := verifier.Options{
		Policy: verifier.Policy{
			Issuers:         []string{"https://issuer.example"},
			Audiences:       []string{"api"},
			Leeway:          5 * time.Second,
			AllowMissingExp: true, // require_exp: false
			Type:            "at+jwt",
			RequiredClaims:  []string{"tenant"},
		},
		MaxTokenSize: 4096,
	}
	if got := c.VerifierOptions(); !reflect.DeepEqual(got, want) {
		t.Errorf("VerifierOptions()\n got %+v\nwant %+v", got, want)
	}
}

func TestGateAndSidecar(t *testing.T) {
	c, _ := loadFull(t)
	want := gate.Config{
		Realm: "api",
		Token: gate.TokenSources{Header: false, Cookie: "session", Query: "access_token"},
		Headers: []gate.HeaderMapping{
			{Claim: "sub", Header: "X-User"},
			{Claim: "realm_access.roles", Header: "X-Roles"},
		},
		ClientHeader:   "",
		KeyIDHeader:    "X-Kid",
		MaxHeaderValue: 512,
		Routes: []gate.Route{
			{Prefix: "/admin", Methods: []string{"GET", "POST"}, Scopes: []string{"admin"},
				Claims: map[string][]string{"realm_access.roles": {"admin", "root"}}},
			{Prefix: "/public", Public: true},
		},
		Cache: gate.CacheConfig{MaxBytes: 1 << 20, NegativeTTL: 0},
	}
	if got := c.Gate(); !reflect.DeepEqual(got, want) {
		t.Errorf("Gate()\n got %+v\nwant %+v", got, want)
	}
	wantSidecar := sidecar.Config{
		Limits: sidecar.Limits{
			ReadTimeout:    2 * time.Second,
			WriteTimeout:   3 * time.Second,
			IdleTimeout:    0,
			MaxHeaderBytes: 32 << 10,
			MaxConnsPerIP:  10,
			Concurrency:    100,
			MaxInFlight:    50,
			MaxQueueTime:   time.Second, // the default
		},
	}
	if got := build.SidecarConfig(c); !reflect.DeepEqual(got, wantSidecar) {
		t.Errorf("build.SidecarConfig()\n got %+v\nwant %+v", got, wantSidecar)
	}
}

// The conversions copy: changing what they return does not change the
// Config (or the next conversion).
func TestConversionsDoNotAlias(t *testing.T) {
	c, _ := loadFull(t)
	sc := c.Gate()
	sc.Routes[0].Methods[0] = "DELETE"
	sc.Routes[0].Claims["realm_access.roles"][0] = "nobody"
	sc.Routes[0].Claims["x"] = []string{"y"}
	vo := c.VerifierOptions()
	vo.Policy.Issuers[0] = "evil"
	kc := c.Keyring()
	kc.Sources[0].Algs[0] = keyring.HS256
	kc.Sources[4].Inline[0] = 'X'

	if c.Routes[0].Methods[0] != "GET" || c.Routes[0].Claims["realm_access.roles"][0] != "admin" || len(c.Routes[0].Claims) != 1 {
		t.Errorf("Gate() aliases the routes: %+v", c.Routes[0])
	}
	if c.Policy.Issuers[0] != "https://issuer.example" {
		t.Errorf("VerifierOptions() aliases the issuers")
	}
	if c.Keys[0].Algs[0] != "RS256" || c.Keys[4].JWKS[0] != '{' {
		t.Errorf("Keyring() aliases the key sources")
	}
}

func TestLogger(t *testing.T) {
	tests := []struct {
		name, level, format string
		debug, info, warn   bool // which records appear
		json                bool
	}{
		{"info text", "info", "text", false, true, true, false},
		{"debug text", "debug", "text", true, true, true, false},
		{"warn json", "warn", "json", false, false, true, true},
		{"error json", "error", "json", false, false, false, true},
		{"unknown falls back to info text", "loud", "xml", false, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &config.Config{Log: config.Log{Level: tt.level, Format: tt.format}}
			var buf bytes.Buffer
			log := c.Logger(&buf)
			log.Debug("d-msg")
			log.Info("i-msg")
			log.Warn("w-msg")
			out := buf.String()
			for _, r := range []struct {
				msg  string
				want bool
			}{{"d-msg", tt.debug}, {"i-msg", tt.info}, {"w-msg", tt.warn}} {
				if strings.Contains(out, r.msg) != r.want {
					t.Errorf("record %s present = %v, want %v; output:\n%s", r.msg, !r.want, r.want, out)
				}
			}
			if line, _, _ := strings.Cut(out, "\n"); line != "" && json.Valid([]byte(line)) != tt.json {
				t.Errorf("JSON output = %v, want %v: %s", !tt.json, tt.json, line)
			}
		})
	}
}
