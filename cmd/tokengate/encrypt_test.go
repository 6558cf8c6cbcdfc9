package main

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeEncryptedTokens runs the binary with a decryption key and
// decryption.require: mint --encrypt produces a nested token it accepts,
// and a plain token is refused.
func TestServeEncryptedTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildWithKey(t, dir)
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	encKey := filepath.Join(dir, "enc.key.pem")
	os.WriteFile(encKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	verifyAddr, adminAddr := freePort(t), freePort(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`listen: {verify: %q, admin: %q}
keys: [{file: k1.jwks.json}]
decryption:
  keys: [{file: enc.key.pem, alg: ECDH-ES+A256KW, kid: enc-1}]
  require: true
`, verifyAddr, adminAddr))
	startServe(t, bin, cfg, adminAddr)
	key := filepath.Join(dir, "k1.key.pem")
	code, nested, errOut := runCLI("mint", "--key", key, "--claims", `{"sub":"alice"}`, "--encrypt", encKey, "--encrypt-kid", "enc-1")
	if code != 0 {
		t.Fatal(errOut)
	}
	nested = strings.TrimSpace(nested)
	if strings.Count(nested, ".") != 4 {
		t.Fatalf("mint --encrypt did not produce a compact JWE: %.60s", nested)
	}
	_, plain, _ := runCLI("mint", "--key", key, "--claims", `{"sub":"alice"}`)
	verify := func(tok string) (int, string, string) {
		req, _ := http.NewRequest("GET", "http://"+verifyAddr+"/verify", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode, r.Header.Get("X-Auth-Subject"), r.Header.Get("WWW-Authenticate")
	}
	if c, sub, _ := verify(nested); c != 200 || sub != "alice" {
		t.Fatalf("nested token: %d %q", c, sub)
	}
	if c, _, why := verify(plain); c != 401 || !strings.Contains(why, "must be encrypted") {
		t.Fatalf("plain token with decryption.require: %d %q", c, why)
	}
}
