package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestUsageErrors: a command line that cannot run says what is wrong (not
// only the usage) and exits 2.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"keygen alg in the wrong case", []string{"keygen", "--alg", "es256", "--kid", "k", "--out", dir},
			[]string{`--alg "es256": unknown algorithm (did you mean ES256?`, "ES384, ES512, EdDSA", "ML-DSA-87"}},
		{"keygen alg without dashes", []string{"keygen", "--alg", "mldsa65", "--kid", "k", "--out", dir},
			[]string{"did you mean ML-DSA-65?"}},
		{"keygen alg nothing like any", []string{"keygen", "--alg", "rot13", "--kid", "k", "--out", dir},
			[]string{`--alg "rot13": unknown algorithm; the algorithms are HS256`}},
		{"mint alg in the wrong case", []string{"mint", "--key", "k.pem", "--alg", "rs256"},
			[]string{"did you mean RS256?"}},
		{"keygen without kid", []string{"keygen", "--alg", "ES256", "--out", dir}, []string{"--kid is required"}},
		{"mint without key", []string{"mint", "--claims", "{}"}, []string{"--key is required"}},
		{"argument to a flag-only command", []string{"keygen", "es256"},
			[]string{`unexpected argument "es256": keygen takes flags only`}},
		{"flags after a stray argument", []string{"mint", "--key", "k.pem", "extra", "--ttl", "5m"},
			[]string{`unexpected argument "extra"`, "--ttl after it was not read"}},
		{"serve with a file but no --config", []string{"serve", "config.yaml"},
			[]string{`unexpected argument "config.yaml": serve takes flags only (the configuration file goes after --config)`}},
		{"check with a file but no --config", []string{"check", "config.yaml"},
			[]string{`unexpected argument "config.yaml"`}},
		{"version with an argument", []string{"version", "now"}, []string{`unexpected argument "now"`}},
		{"verify flag after the token", []string{"verify", "a.b.c", "--config", "x.yaml"},
			[]string{"flag --config after TOKEN: flags go before TOKEN"}},
		{"verify flag=value after the token", []string{"verify", "a.b.c", "--config=x.yaml"},
			[]string{"flag --config=x.yaml after TOKEN"}},
		{"verify two tokens", []string{"verify", "a.b.c", "d.e.f"}, []string{`unexpected argument "d.e.f" after TOKEN`}},
		{"verify no token", []string{"verify"}, []string{"missing TOKEN"}},
		{"unknown command", []string{"serv"}, []string{`unknown command "serv" (did you mean serve?)`}},
		{"flag before the command", []string{"--config", "x.yaml", "serve"}, []string{"--config before the command: flags go after it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
	// A token that starts with "-" is still a token after the flags.
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	cfg := writeConfig(t, dir, "keys:\n  - {file: k1.jwks.json}\n")
	if code, out, stderr := runCLI("verify", "--config", cfg, "--", "-x.y.z"); code != 1 || !strings.Contains(out, "invalid") {
		t.Errorf("verify -- -x.y.z: exit %d, %s %s", code, out, stderr)
	}
}

func TestCheckCountsKeys(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI("keygen", "--alg", "ES256", "--kid", "k1", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	cfg := writeConfig(t, dir, "keys:\n  - {file: k1.jwks.json}\n")
	if code, out, stderr := runCLI("check", "--config", cfg); code != 0 || !strings.Contains(out, "configuration OK: 1 key,") {
		t.Errorf("check: exit %d, %q %s", code, out, stderr)
	}
}

// TestVersion: `tokengate version` and `tokengate --version` print the
// build information of the binary; a version and revision given at link
// time (the Dockerfile's build arguments) are printed.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, stderr := runCLI(args...)
		if code != 0 || !strings.HasPrefix(out, "tokengate ") || !strings.Contains(out, "go: "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("%v: exit %d, %q %s", args, code, out, stderr)
		}
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "tokengate")
	const pkg = "github.com/tokengate/tokengate/internal/buildinfo"
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X "+pkg+".version=v9.8.7-test -X "+pkg+".revision=0123456789abcdef0123456789abcdef01234567", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "tokengate v9.8.7-test\nrevision: 0123456789abcdef0123456789abcdef01234567\ncommit time: unknown\ngo: " +
		runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if string(out) != want {
		t.Errorf("--version printed\n%s\nwant\n%s", out, want)
	}
}
