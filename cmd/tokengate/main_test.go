package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testenv"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelp(t *testing.T) {
	for _, c := range commands {
		code, _, stderr := runCLI(c.name, "--help")
		if code != 0 || !strings.Contains(stderr, "Usage: tokengate "+c.name) {
			t.Errorf("%s --help: exit %d, %q", c.name, code, stderr)
		}
	}
	if code, out, _ := runCLI("--help"); code != 0 || !strings.Contains(out, "serve") {
		t.Errorf("--help: %d %q", code, out)
	}
	if code, _, _ := runCLI("frobnicate"); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKeygenMintVerify: every kind of key keygen makes can sign with mint
// and verify with verify, through a configuration that lists the files.
func TestKeygenMintVerify(t *testing.T) {
	dir := t.TempDir()
	type kc struct{ alg, kid, crv, mintAlg string }
	kinds := []kc{{"ES256", "es", "", ""}, {"ES384", "es384", "", ""}, {"RS256", "rs", "", "RS256"}, {"PS256", "ps", "", "PS256"}, {"EdDSA", "ed", "", ""}, {"EdDSA", "ed448", "Ed448", ""}, {"HS256", "hs", "", "HS256"},
		{"Ed25519", "ed25519", "", ""}, {"", "ed448new", "Ed448", ""}, {"ML-DSA-44", "mldsa44", "", ""}, {"ML-DSA-65", "mldsa65", "", ""}, {"ML-DSA-87", "mldsa87", "", ""}}
	var keys strings.Builder
	for _, k := range kinds {
		args := []string{"keygen", "--kid", k.kid, "--out", dir}
		if k.alg != "" {
			args = append(args, "--alg", k.alg)
		}
		if k.crv != "" {
			args = append(args, "--crv", k.crv)
		}
		code, out, stderr := runCLI(args...)
		if code != 0 {
			t.Fatalf("keygen %s: %d %s", k.alg, code, stderr)
		}
		if k.alg == "HS256" {
			if !strings.Contains(out, "secret_file") {
				t.Fatalf("keygen output lacks a config hint: %s", out)
			}
			fmt.Fprintf(&keys, "  - {secret_file: %s.secret, encoding: base64url, alg: HS256, kid: %s, client: batch}\n", k.kid, k.kid)
		} else {
			fmt.Fprintf(&keys, "  - {file: %s.jwks.json}\n", k.kid)
		}
	}
	// keygen never overwrites a key.
	if code, _, _ := runCLI("keygen", "--alg", "ES256", "--kid", "es", "--out", dir); code == 0 {
		t.Fatal("keygen overwrote an existing key")
	}
	cfg := writeConfig(t, dir, "keys:\n"+keys.String()+"policy:\n  audiences: [api]\n")
	if code, out, stderr := runCLI("check", "--config", cfg); code != 0 || !strings.Contains(out, fmt.Sprintf("%d keys", len(kinds))) {
		t.Fatalf("check: %d %s %s", code, out, stderr)
	}
	for _, k := range kinds {
		t.Run(k.kid, func(t *testing.T) {
			keyFile := filepath.Join(dir, k.kid+".key.pem")
			if k.alg == "HS256" {
				keyFile = filepath.Join(dir, k.kid+".secret")
			}
			args := []string{"mint", "--key", keyFile, "--claims", `{"sub":"alice","aud":"api"}`, "--ttl", "5m"}
			if k.mintAlg != "" {
				args = append(args, "--alg", k.mintAlg)
			}
			code, tok, stderr := runCLI(args...)
			if code != 0 {
				t.Fatalf("mint: %d %s", code, stderr)
			}
			code, out, stderr := runCLI("verify", "--config", cfg, strings.TrimSpace(tok))
			if code != 0 || !strings.Contains(out, `"sub": "alice"`) || !strings.Contains(out, `kid "`+k.kid+`"`) || !strings.Contains(out, "X-Auth-Subject: alice") {
				t.Fatalf("verify: %d %s %s", code, out, stderr)
			}
			// A token for another audience names the reason.
			args[4] = `{"sub":"alice","aud":"other"}`
			_, tok, _ = runCLI(args...)
			code, out, _ = runCLI("verify", "--config", cfg, strings.TrimSpace(tok))
			if code != 1 || !strings.Contains(out, "401 denied: audience not accepted (rejected, audience)") {
				t.Fatalf("verify wrong audience: %d %s", code, out)
			}
		})
	}
	// RSA keys need an explicit alg: mint refuses to guess.
	if code, _, stderr := runCLI("mint", "--key", filepath.Join(dir, "rs.key.pem")); code == 0 || !strings.Contains(stderr, "--alg") {
		t.Errorf("mint guessed an RSA alg: %d %s", code, stderr)
	}
}

func TestCheckNamesTheBadField(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ body, want string }{
		{"polcy:\n  leeway: 1s\n", "polcy"},
		{"policy:\n  leeway: 1h\n", "policy.leeway"},
		{"keys:\n  - {file: missing.jwks.json}\n", "missing.jwks.json"},
		{"listen:\n  verify: nowhere\n", "listen.verify"},
	}
	for _, tc := range tests {
		code, _, stderr := runCLI("check", "--config", writeConfig(t, dir, tc.body))
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("check %q: exit %d, %q does not name %q", tc.body, code, stderr, tc.want)
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServe runs the real binary: it starts, answers /verify, reloads on
// SIGHUP (a bad configuration keeps the running one) and exits 0 on
// SIGTERM.
func TestServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tokengate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	verifyAddr, adminAddr := freePort(t), freePort(t)
	base := fmt.Sprintf("listen: {verify: %q, admin: %q}\nkeys:\n  - {file: k1.jwks.json}\n", verifyAddr, adminAddr)
	cfg := writeConfig(t, dir, base)
	var stdout, stderr testenv.SyncBuffer
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr.String())
		}
	})
	testenv.Eventually(t, 20*time.Second, "readyz", func() bool {
		r, err := http.Get("http://" + adminAddr + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	_, tok, _ := runCLI("mint", "--key", filepath.Join(dir, "k1.key.pem"), "--claims", `{"sub":"alice","iss":"https://a"}`)
	tok = strings.TrimSpace(tok)
	status := func() int {
		req, _ := http.NewRequest("GET", "http://"+verifyAddr+"/verify", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if s := status(); s != 200 {
		t.Fatalf("status %d", s)
	}

	// SIGHUP with a new policy: applied.
	writeConfig(t, dir, base+"policy: {issuers: [\"https://b\"]}\n")
	cmd.Process.Signal(syscall.SIGHUP)
	testenv.Eventually(t, 20*time.Second, "new policy", func() bool { return status() == 401 })
	// SIGHUP with a broken file: the running configuration stays.
	writeConfig(t, dir, base+"policy: {leeway: forever}\n")
	cmd.Process.Signal(syscall.SIGHUP)
	testenv.Eventually(t, 20*time.Second, "reload error logged", func() bool { return strings.Contains(stderr.String(), "keeping the running configuration") })
	if s := status(); s != 401 {
		t.Fatalf("broken reload changed the policy: %d", s)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

// buildWithKey builds the tokengate binary into dir, writes an ES256 key
// pair with kid k1 there (k1.key.pem, k1.jwks.json) and returns the
// binary's path.
func buildWithKey(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "tokengate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	return bin
}

// startServe runs `bin serve --config cfg` until the test ends (its stderr
// is logged if the test fails) and waits for /readyz on adminAddr.
func startServe(t *testing.T, bin, cfg, adminAddr string) {
	t.Helper()
	var stderr testenv.SyncBuffer
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr.String())
		}
	})
	testenv.Eventually(t, 20*time.Second, "readyz", func() bool {
		r, err := http.Get("http://" + adminAddr + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
}
