package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testenv"
)

// TestServeRevocation runs the binary with a revocation file, an admin
// token and the machine's Redis: file rules, API rules and the payload
// header work end to end, and a bad admin token is refused.
func TestServeRevocation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	redisAddr := testenv.RedisAddr(t)
	dir := t.TempDir()
	bin := buildWithKey(t, dir)
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte("a-long-admin-secret-0123\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "revoked.json"), []byte(`{"revocations":[{"jti":"from-file"}]}`), 0o600)
	var rnd [6]byte
	rand.Read(rnd[:])
	verifyAddr, adminAddr := freePort(t), freePort(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`listen: {verify: %q, admin: %q}
keys:
  - {file: k1.jwks.json}
headers:
  payload: X-Auth-Claims
admin:
  token_file: admin.token
revocation:
  file: revoked.json
  redis: {addr: %q, prefix: "tokengate-test:%s:"}
`, verifyAddr, adminAddr, redisAddr, hex.EncodeToString(rnd[:])))
	startServe(t, bin, cfg, adminAddr)
	mint := func(jti string) string {
		_, tok, _ := runCLI("mint", "--key", filepath.Join(dir, "k1.key.pem"), "--claims", `{"sub":"alice","jti":"`+jti+`"}`)
		return strings.TrimSpace(tok)
	}
	verify := func(tok string) *http.Response {
		req, _ := http.NewRequest("GET", "http://"+verifyAddr+"/verify", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	adminReq := func(method, path, body, token string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+adminAddr+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		return r.StatusCode, string(b)
	}

	good, fromFile, fromAPI := mint("ok"), mint("from-file"), mint("from-api")
	r := verify(good)
	if r.StatusCode != 200 {
		t.Fatalf("good token: %d", r.StatusCode)
	}
	if payload := good[strings.IndexByte(good, '.')+1 : strings.LastIndexByte(good, '.')]; r.Header.Get("X-Auth-Claims") != payload {
		t.Fatalf("X-Auth-Claims = %q, want the payload segment %q", r.Header.Get("X-Auth-Claims"), payload)
	}
	if r := verify(fromFile); r.StatusCode != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), "token revoked") {
		t.Fatalf("token revoked in the file: %d %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
	}
	if code, _ := adminReq("POST", "/revocations", `{"jti":"from-api"}`, "wrong"); code != 401 {
		t.Fatalf("POST with a wrong admin token: %d", code)
	}
	if r := verify(fromAPI); r.StatusCode != 200 {
		t.Fatalf("before the API revocation: %d", r.StatusCode)
	}
	if code, body := adminReq("POST", "/revocations", `{"jti":"from-api"}`, "a-long-admin-secret-0123"); code != 201 {
		t.Fatalf("POST /revocations: %d %s", code, body)
	}
	if r := verify(fromAPI); r.StatusCode != 401 {
		t.Fatalf("after the API revocation: %d", r.StatusCode)
	}
	code, body := adminReq("GET", "/revocations", "", "a-long-admin-secret-0123")
	if code != 200 || !strings.Contains(body, `"from-file"`) || !strings.Contains(body, `"from-api"`) || !strings.Contains(body, `"connected": true`) {
		t.Fatalf("GET /revocations: %d %s", code, body)
	}
	if code, _ := adminReq("DELETE", "/revocations?jti=from-file", "", "a-long-admin-secret-0123"); code != 409 {
		t.Fatalf("DELETE of a file rule: %d, want 409", code)
	}
	// Editing the file applies without a restart.
	os.WriteFile(filepath.Join(dir, "revoked.json"), []byte(`[]`), 0o600)
	testenv.Eventually(t, 20*time.Second, "file change applied", func() bool { return verify(fromFile).StatusCode == 200 })
	adminReq("DELETE", "/revocations?jti=from-api", "", "a-long-admin-secret-0123")
}

func TestServeRefusesShortAdminToken(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte("short\n"), 0o600)
	cfg := writeConfig(t, dir, fmt.Sprintf("listen: {verify: %q, admin: %q}\nkeys: [{file: k1.jwks.json}]\nadmin: {token_file: admin.token}\n", freePort(t), freePort(t)))
	code, _, stderr := runCLI("serve", "--config", cfg)
	if code == 0 || !strings.Contains(stderr, "admin.token_file") {
		t.Fatalf("serve with a 5-byte admin token: exit %d, %s", code, stderr)
	}
}
