package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/verifier"
)

func jwksMember(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("%s: %v", path, err)
	}
	return set.Keys[0]
}

func tokenHeader(t *testing.T, tok string) map[string]any { return tokenSegment(t, tok, 0) }

// tokenClaims decodes a compact token's payload.
func tokenClaims(t *testing.T, tok string) map[string]any { return tokenSegment(t, tok, 1) }

// tokenSegment decodes the JSON of segment i of a compact JWS.
func tokenSegment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestKeygenEdDSANames: keygen names Ed25519 and Ed448 keys with the fully
// specified algs of RFC 9864 unless --alg EdDSA asks for the RFC 8037 name,
// and mint signs under the name the key's JWKS carries.
func TestKeygenEdDSANames(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args     []string
		kid      string
		alg, crv string
	}{
		{[]string{"--crv", "Ed448"}, "c448", "Ed448", "Ed448"},
		{[]string{"--crv", "Ed25519"}, "c25519", "Ed25519", "Ed25519"},
		{[]string{"--alg", "Ed25519"}, "a25519", "Ed25519", "Ed25519"},
		{[]string{"--alg", "Ed448"}, "a448", "Ed448", "Ed448"},
		{[]string{"--alg", "Ed448", "--crv", "Ed448"}, "a448c", "Ed448", "Ed448"},
		{[]string{"--alg", "EdDSA"}, "eddsa", "EdDSA", "Ed25519"},
		{[]string{"--alg", "EdDSA", "--crv", "Ed448"}, "eddsa448", "EdDSA", "Ed448"},
	}
	for _, c := range cases {
		args := append([]string{"keygen", "--kid", c.kid, "--out", dir}, c.args...)
		if code, _, stderr := runCLI(args...); code != 0 {
			t.Fatalf("%v: %d %s", c.args, code, stderr)
		}
		m := jwksMember(t, filepath.Join(dir, c.kid+".jwks.json"))
		if m["alg"] != c.alg || m["crv"] != c.crv || m["kty"] != "OKP" {
			t.Errorf("keygen %v wrote %v", c.args, m)
		}
		code, tok, stderr := runCLI("mint", "--key", filepath.Join(dir, c.kid+".key.pem"))
		if code != 0 {
			t.Fatalf("mint %s: %s", c.kid, stderr)
		}
		if h := tokenHeader(t, tok); h["alg"] != c.alg {
			t.Errorf("mint with %s (registered %s) wrote alg %v", c.kid, c.alg, h["alg"])
		}
	}
	for _, bad := range [][]string{
		{"--alg", "Ed25519", "--crv", "Ed448"},
		{"--alg", "Ed448", "--crv", "Ed25519"},
		{"--crv", "X25519"},
		{"--alg", "EdDSA", "--crv", "P-256"},
	} {
		if code, _, _ := runCLI(append([]string{"keygen", "--kid", "bad", "--out", t.TempDir()}, bad...)...); code == 0 {
			t.Errorf("keygen %v succeeded", bad)
		}
	}
	// --alg chooses between the two names an OKP key has, and only those.
	key := filepath.Join(dir, "a25519.key.pem")
	if _, tok, _ := runCLI("mint", "--key", key, "--alg", "EdDSA"); tokenHeader(t, tok)["alg"] != "EdDSA" {
		t.Error("mint --alg EdDSA with an Ed25519 key")
	}
	if code, _, _ := runCLI("mint", "--key", key, "--alg", "Ed448"); code == 0 {
		t.Error("mint --alg Ed448 with an Ed25519 key succeeded")
	}
	// Without its JWKS next to it, a key signs under its curve's own name.
	data, err := os.ReadFile(filepath.Join(dir, "eddsa.key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	lone := filepath.Join(t.TempDir(), "lone.key.pem")
	if err := os.WriteFile(lone, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, tok, _ := runCLI("mint", "--key", lone); tokenHeader(t, tok)["alg"] != "Ed25519" {
		t.Error("mint with a lone Ed25519 key did not default to Ed25519")
	}
}

// TestKeygenMLDSA: keygen --alg ML-DSA-xx writes an AKP JWKS (RFC 9964 §3)
// and a PKCS #8 key; mint signs with the parameter set's alg and refuses
// another; a token with typical claims fits the verifier's default size
// limit for every parameter set.
func TestKeygenMLDSA(t *testing.T) {
	dir := t.TempDir()
	for _, alg := range []string{"ML-DSA-44", "ML-DSA-65", "ML-DSA-87"} {
		kid := strings.ToLower(strings.ReplaceAll(alg, "-", ""))
		if code, _, stderr := runCLI("keygen", "--alg", alg, "--kid", kid, "--out", dir); code != 0 {
			t.Fatalf("keygen %s: %s", alg, stderr)
		}
		m := jwksMember(t, filepath.Join(dir, kid+".jwks.json"))
		if m["kty"] != "AKP" || m["alg"] != alg || m["pub"] == nil || m["priv"] != nil || m["kid"] != kid {
			t.Errorf("%s JWKS: %v", alg, m)
		}
		pemBytes, err := os.ReadFile(filepath.Join(dir, kid+".key.pem"))
		if err != nil || !strings.HasPrefix(string(pemBytes), "-----BEGIN PRIVATE KEY-----") {
			t.Fatalf("%s key file: %v", alg, err)
		}
		key := filepath.Join(dir, kid+".key.pem")
		claims := `{"iss":"https://issuer.example.com","sub":"user-1234567890","aud":"api.example.com","scope":"read write","jti":"0123456789abcdef"}`
		code, tok, stderr := runCLI("mint", "--key", key, "--claims", claims)
		if code != 0 {
			t.Fatalf("mint %s: %s", alg, stderr)
		}
		tok = strings.TrimSpace(tok)
		if h := tokenHeader(t, tok); h["alg"] != alg || h["kid"] != kid {
			t.Errorf("%s header %v", alg, h)
		}
		if len(tok) > verifier.DefaultMaxTokenSize {
			t.Errorf("%s token is %d bytes, over the default limit %d", alg, len(tok), verifier.DefaultMaxTokenSize)
		}
		t.Logf("%s: token %d bytes (default limit %d)", alg, len(tok), verifier.DefaultMaxTokenSize)
		other := "ML-DSA-44"
		if alg == other {
			other = "ML-DSA-87"
		}
		if code, _, _ := runCLI("mint", "--key", key, "--alg", other); code == 0 {
			t.Errorf("mint --alg %s with an %s key succeeded", other, alg)
		}
	}
}
