package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDevHintPastesAndRuns starts the binary in development mode, takes
// the curl and mint lines of its banner and runs them in a shell exactly
// as printed: the binary started by an absolute path with a space and a
// quote in it, and by its name through PATH.
func TestDevHintPastesAndRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	binDir := filepath.Join(t.TempDir(), "it's a dir")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, "tokengate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, tt := range []struct{ name, argv0, wantSelf string }{
		{"absolute path", bin, shellQuote(bin)},
		{"name on PATH", "tokengate", "tokengate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			env := append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
				"TOKENGATE_LISTEN_VERIFY="+freePort(t), "TOKENGATE_LISTEN_ADMIN="+freePort(t))
			ctx, cancel := context.WithCancel(context.Background())
			cmd := exec.CommandContext(ctx, bin, "serve")
			cmd.Args[0] = tt.argv0
			cmd.Dir, cmd.Env = work, env
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cancel(); cmd.Wait() })
			curl, mint := bannerLines(t, out)
			if !strings.HasPrefix(mint, tt.wantSelf+" mint ") {
				t.Errorf("mint line %q does not start with %q", mint, tt.wantSelf)
			}
			sh := func(line string) string {
				c := exec.Command("/bin/sh", "-c", line)
				c.Dir, c.Env = work, env
				b, err := c.Output()
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				return string(b)
			}
			tok := strings.TrimSpace(sh(mint))
			if sub := tokenClaims(t, tok)["sub"]; sub != "alice" {
				t.Errorf("minted sub %v", sub)
			}
			// The curl line, with the freshly minted token, answers 200.
			curlNew := strings.Replace(curl, curl[strings.Index(curl, "Bearer ")+7:strings.Index(curl, "' ")], tok, 1)
			for _, line := range []string{curl, curlNew} {
				if _, err := exec.LookPath("curl"); err == nil {
					if got := sh(line); !strings.HasPrefix(got, "HTTP/1.1 200") {
						t.Errorf("%s:\n%s", line, got)
					}
					continue
				}
				// No curl here: send what it would.
				fields := strings.Fields(line)
				req, _ := http.NewRequest("GET", strings.Trim(fields[len(fields)-1], "'"), nil)
				req.Header.Set("Authorization", "Bearer "+strings.Trim(fields[len(fields)-2], "'"))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s: status %d", line, resp.StatusCode)
				}
			}
		})
	}
}

// bannerLines reads the development banner up to its mint line and
// returns the curl and mint command lines.
func bannerLines(t *testing.T, r interface{ Read([]byte) (int, error) }) (curl, mint string) {
	t.Helper()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(30 * time.Second)
	for mint == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve exited before printing the banner")
			}
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "curl "):
				curl = l
			case strings.Contains(l, " mint --key "):
				mint = l
			}
		case <-timeout:
			t.Fatal("no banner within 30s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	return curl, mint
}

func TestSelfCommand(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "cmd", "tokengate"), 0o755); err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(t.TempDir(), "my bin")
	exe := filepath.Join(binDir, "tokengate")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", binDir)
	const pkg, mod = "github.com/tokengate/tokengate/cmd/tokengate", "github.com/tokengate/tokengate"
	tests := []struct{ name, args0, exe, cwd, want string }{
		{"go run in the repository root", "/tmp/go-build1234/b001/exe/tokengate", "/tmp/go-build1234/b001/exe/tokengate", repo, "go run ./cmd/tokengate"},
		{"go run from the build cache", "/home/u/.cache/go-build/7c/7c90-d/tokengate", "/home/u/.cache/go-build/7c/7c90-d/tokengate", repo, "go run ./cmd/tokengate"},
		{"go run elsewhere in the module", "/tmp/go-build1234/b001/exe/tokengate", "/tmp/go-build1234/b001/exe/tokengate", t.TempDir(), "go run " + pkg},
		{"the path typed", exe, exe, repo, "'" + exe + "'"},
		{"a relative path typed", "./tokengate", exe, binDir, "./tokengate"},
		{"the name on PATH", "tokengate", exe, repo, "tokengate"},
		{"a name not on PATH", "no-such-tokengate", exe, repo, "'" + exe + "'"},
		{"another file", "/bin/sh", exe, repo, "'" + exe + "'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := selfCommand(tt.args0, tt.exe, tt.cwd, pkg, mod); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestShellQuote: what the shell reads back is the string quoted.
func TestShellQuote(t *testing.T) {
	for _, s := range []string{"plain/path-1.pem", "with space", "it's", `"$HOME"`, "a;b", "*", "", "ü", "a\\b", "'"} {
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("shellQuote(%q) = %s: shell read %q (%v)", s, shellQuote(s), out, err)
		}
	}
}
