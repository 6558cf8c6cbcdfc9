package main

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMintTTL: a negative --ttl mints an expired token (verify says so),
// 0 leaves exp out, and an exp in --claims wins over --ttl.
func TestMintTTL(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	cfg := writeConfig(t, dir, "keys:\n  - {file: k1.jwks.json}\npolicy: {require_exp: false}\n")
	key := filepath.Join(dir, "k1.key.pem")
	soon := time.Now().Add(10 * time.Minute).Unix() // within revocation.max_token_lifetime
	tests := []struct {
		name, ttl, claims string
		exp               func(iat float64) (float64, bool) // want exp, present
		verify            string
	}{
		{"default 15m", "", "{}", func(iat float64) (float64, bool) { return iat + 900, true }, "200 allowed"},
		{"negative: already expired", "-1h", "{}", func(iat float64) (float64, bool) { return iat - 3600, true }, "401 denied: token expired"},
		{"zero: no exp", "0", "{}", func(float64) (float64, bool) { return 0, false }, "200 allowed"},
		{"claims exp wins", "-1h", fmt.Sprintf(`{"exp":%d}`, soon), func(float64) (float64, bool) { return float64(soon), true }, "200 allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"mint", "--key", key, "--claims", tt.claims}
			if tt.ttl != "" {
				args = append(args, "--ttl", tt.ttl)
			}
			code, tok, stderr := runCLI(args...)
			if code != 0 {
				t.Fatalf("mint: exit %d: %s", code, stderr)
			}
			c := tokenClaims(t, tok)
			iat, _ := c["iat"].(float64)
			if d := time.Since(time.Unix(int64(iat), 0)); d < -time.Minute || d > time.Minute {
				t.Errorf("iat %v is not now", c["iat"])
			}
			wantExp, present := tt.exp(iat)
			exp, ok := c["exp"].(float64)
			if ok != present || exp != wantExp {
				t.Errorf("exp %v (present %v), want %v (present %v)", c["exp"], ok, wantExp, present)
			}
			_, out, _ := runCLI("verify", "--config", cfg, strings.TrimSpace(tok))
			if !strings.Contains(out, tt.verify) {
				t.Errorf("verify: %s, want %q", out, tt.verify)
			}
		})
	}
}

// TestMintRefusesClaimsTheVerifierRefuses: --claims is read as strictly
// as the verifier reads a token's claims.
func TestMintRefusesClaimsTheVerifierRefuses(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	key := filepath.Join(dir, "k1.key.pem")
	tests := []struct{ name, claims, want string }{
		{"duplicate member", `{"sub":"alice","sub":"mallory"}`, "duplicate member name"},
		{"duplicate through an escape", `{"sub":"alice","s\u0075b":"mallory"}`, "duplicate member name"},
		{"duplicate nested", `{"roles":{"a":1,"a":2}}`, "duplicate member name"},
		{"not an object", `["sub"]`, "--claims must be a JSON object"},
		{"trailing data", `{"sub":"a"} {}`, "--claims"},
		{"syntax", `{"sub":}`, "--claims"},
		{"NaN", `{"n":NaN}`, "--claims"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCLI("mint", "--key", key, "--claims", tt.claims)
			if code != 1 || out != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, stderr, tt.want)
			}
		})
	}
}

// TestMintKeyErrors: a --key file mint cannot sign with is refused with
// an error that says what the file holds and what mint expects.
func TestMintKeyErrors(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pemFile := func(name, typ string, der []byte) string {
		return write(name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	xk, _ := ecdh.X25519().GenerateKey(rand.Reader)
	xDER, err := x509.MarshalPKCS8PrivateKey(xk)
	if err != nil {
		t.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p224DER, err := x509.MarshalECPrivateKey(p224)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "k"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ec.PublicKey, ec)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file string
		alg        string
		want       []string
	}{
		{"garbage PEM", write("garbage.pem", []byte("-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n")), "",
			[]string{"not a valid PEM document"}},
		{"malformed private key", pemFile("bad.key.pem", "PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01, 0x00}), "",
			[]string{"malformed private key"}},
		{"public key PEM", pemFile("pub.pem", "PUBLIC KEY", pubDER), "", []string{"a public key", "not the private key"}},
		{"certificate", pemFile("cert.pem", "CERTIFICATE", certDER), "", []string{"a certificate"}},
		{"encrypted private key", pemFile("enc.pem", "ENCRYPTED PRIVATE KEY", []byte{0x30, 0x00}), "", []string{"password-protected", "openssl pkey"}},
		{"public JWK Set", filepath.Join(dir, "k1.jwks.json"), "", []string{"a JWK Set of public keys", ".key.pem"}},
		{"private JWK", write("k.jwk", []byte(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2Vj"}`)), "HS256",
			[]string{"a private JWK, which mint does not read"}},
		{"X25519 key", pemFile("x25519.pem", "PRIVATE KEY", xDER), "", []string{"an X25519 key", "key agreement"}},
		{"X25519 key with --alg RS256", filepath.Join(dir, "x25519.pem"), "RS256", []string{"an X25519 key"}},
		{"EC key on P-224", pemFile("p224.pem", "EC PRIVATE KEY", p224DER), "", []string{"an EC key on curve P-224"}},
		{"empty file", write("empty", nil), "HS256", []string{"the file is empty"}},
		{"secret that is not base64url", write("s.secret", []byte("not*base64\n")), "HS256",
			[]string{"not PEM, so read as an HMAC secret in base64url (--encoding)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"mint", "--key", tt.file}
			if tt.alg != "" {
				args = append(args, "--alg", tt.alg)
			}
			code, out, stderr := runCLI(args...)
			if code != 1 || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
			}
			for _, w := range append(tt.want, filepath.Base(tt.file)) {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "not valid base64") && !strings.Contains(tt.name, "secret") {
				t.Errorf("a key file was read as an HMAC secret:\n%s", stderr)
			}
		})
	}
}
