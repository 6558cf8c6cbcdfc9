package main

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFailsWhereServeWould (issue 13): check said "configuration OK"
// for configurations serve then refused to start with. Both now build
// through build.New, so each of these fails in check with the same error
// serve gives, naming the field.
func TestCheckFailsWhereServeWould(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	os.WriteFile(filepath.Join(dir, "short.token"), []byte("too-short\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "bad-revocations.json"), []byte(`{"revocations":[{"jti":`), 0o600)
	base := "listen: {verify: 127.0.0.1:0, admin: 127.0.0.1:0}\nkeys: [{file: k1.jwks.json}]\n"
	t.Setenv("TOKENGATE_TEST_UNSET_ADMIN_TOKEN", "")
	os.Unsetenv("TOKENGATE_TEST_UNSET_ADMIN_TOKEN")
	for _, tc := range []struct{ name, body, want string }{
		{"admin token file missing", "admin: {token_file: missing.token}\n", "admin.token_file"},
		{"admin token too short", "admin: {token_file: short.token}\n", "admin.token_file: the admin token is shorter than 16 bytes"},
		{"admin token variable unset", "admin: {token_env: TOKENGATE_TEST_UNSET_ADMIN_TOKEN}\n", "admin.token_env: variable TOKENGATE_TEST_UNSET_ADMIN_TOKEN is not set"},
		{"revocation file missing", "revocation: {file: missing.json}\n", "revocation.file"},
		{"revocation file malformed", "revocation: {file: bad-revocations.json}\n", "revocation.file"},
		{"decryption key file missing", "decryption: {keys: [{file: missing.pem, alg: ECDH-ES+A256KW, kid: e}]}\n", "decryption.keys[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, dir, base+tc.body)
			code, out, checkErr := runCLI("check", "--config", cfg)
			if code == 0 || !strings.Contains(checkErr, tc.want) {
				t.Errorf("check: exit %d, stdout %q, stderr %q; want a failure naming %q", code, out, checkErr, tc.want)
			}
			code, _, serveErr := runCLI("serve", "--config", cfg)
			if code == 0 {
				t.Fatalf("serve started with a configuration check refuses")
			}
			if lastLine(serveErr, "tokengate serve: ") != lastLine(checkErr, "tokengate check: ") {
				t.Errorf("check and serve disagree:\ncheck: %q\nserve: %q", checkErr, serveErr)
			}
		})
	}
	cfg := writeConfig(t, dir, base)
	if code, out, stderr := runCLI("check", "--config", cfg); code != 0 || !strings.Contains(out, "configuration OK: 1 key,") {
		t.Errorf("a good configuration: exit %d %q %q", code, out, stderr)
	}
}

// lastLine is the command's error line, without its prefix.
func lastLine(stderr, prefix string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	return strings.TrimPrefix(lines[len(lines)-1], prefix)
}

// TestCheckOffline: --offline checks the local parts without fetching the
// identity providers, and says so.
func TestCheckOffline(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	cfg := writeConfig(t, dir, `keys: [{file: k1.jwks.json}]
issuers:
  - issuer: https://idp.invalid
    discovery: true
    algs: [RS256]
jwks: {startup_timeout: 1s}
`)
	if code, _, _ := runCLI("check", "--config", cfg); code == 0 {
		t.Errorf("check fetched an unreachable identity provider and passed")
	}
	code, out, stderr := runCLI("check", "--offline", "--config", cfg)
	if code != 0 || !strings.Contains(out, "1 identity provider NOT fetched") {
		t.Errorf("check --offline: exit %d %q %q", code, out, stderr)
	}
}

// TestVerifyIsTheDecisionOfServe (issue 13 item 3): the CLI decrypted no
// JWE ("token must have three non-empty segments") and consulted no
// revocation file, where /verify did both. It now asks the same gate:
// encrypted tokens, revocation, route rules by --method and --path, the
// headers /verify would set; the token from an argument, standard input
// or a file.
func TestVerifyIsTheDecisionOfServe(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	encKey := filepath.Join(dir, "enc.key.pem")
	os.WriteFile(encKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "revoked.json"), []byte(`{"revocations":[{"jti":"stolen"}]}`), 0o600)
	cfg := writeConfig(t, dir, `keys: [{file: k1.jwks.json}]
decryption:
  keys: [{file: enc.key.pem, alg: ECDH-ES+A256KW, kid: enc-1}]
revocation: {file: revoked.json}
routes:
  - {prefix: /reports, methods: [DELETE], scopes: [admin]}
`)
	key := filepath.Join(dir, "k1.key.pem")
	mint := func(claims string, extra ...string) string {
		code, tok, stderr := runCLI(append([]string{"mint", "--key", key, "--claims", claims}, extra...)...)
		if code != 0 {
			t.Fatal(stderr)
		}
		return strings.TrimSpace(tok)
	}
	encrypted := mint(`{"sub":"alice"}`, "--encrypt", encKey, "--encrypt-kid", "enc-1")
	revoked := mint(`{"sub":"mallory","jti":"stolen"}`)
	user := mint(`{"sub":"bob","scope":"read"}`)

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"encrypted token", []string{encrypted}, 0, []string{"200 allowed", "X-Auth-Subject: alice"}},
		{"revoked jti", []string{revoked}, 1, []string{"401 denied: token revoked", `error="invalid_token"`}},
		{"route rule, lower-case method", []string{"--method", "delete", "--path", "/reports/7", user}, 1,
			[]string{"403 denied: insufficient scope", `scope="admin"`}},
		{"route rule, other method", []string{"--method", "GET", "--path", "/reports/7", user}, 0, []string{"200 allowed", "X-Auth-Scope: read"}},
		{"bad path", []string{"--path", "/admin%2e", user}, 1, []string{"403 denied: request path cannot be normalised"}},
		{"token from a file", []string{"@" + writeConfig(t, t.TempDir(), encrypted+"\n")}, 0, []string{"X-Auth-Subject: alice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCLI(append([]string{"verify", "--config", cfg}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s %s", code, tc.code, out, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}

	// Standard input, and --json.
	r, w, _ := os.Pipe()
	stdin := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = stdin })
	fmt.Fprintln(w, user)
	w.Close()
	code, out, stderr := runCLI("verify", "--config", cfg, "--json", "-")
	var got struct {
		Allow   bool              `json:"allow"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Claims  map[string]any    `json:"claims"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || !got.Allow || got.Headers["X-Auth-Subject"] != "bob" || got.Claims["sub"] != "bob" {
		t.Errorf("verify --json -: exit %d %v %+v %s", code, err, got, stderr)
	}
}
