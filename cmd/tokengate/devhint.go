package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tokengate/tokengate/config"
)

// printDevHint prints the development-mode banner: a token minted with
// the development key and the commands to send it and mint more, each of
// which pastes into a POSIX shell and runs as printed.
func printDevHint(w io.Writer, cfg *config.Config, addr string) {
	dir := cfg.DevKeysDir()
	keyFile := filepath.Join(dir, devKeyFile)
	s, err := loadSigningKey(keyFile, "", devKID, "")
	if err != nil {
		fmt.Fprintf(w, "development mode: cannot mint a sample token: %v\n", err)
		return
	}
	payload, _ := buildClaims([]byte(`{"iss":"tokengate-dev","sub":"dev-user","scope":"read write"}`), time.Now(), 15*time.Minute)
	tok, err := s.Sign(payload)
	if err != nil {
		fmt.Fprintf(w, "development mode: cannot mint a sample token: %v\n", err)
		return
	}
	pkg, mod := mainPackage()
	self := selfCommand(os.Args[0], executable(), workingDir(), pkg, mod)
	url := "http://" + addr + "/verify"
	curl := "curl -i"
	if strings.Contains(addr, "[") {
		curl += " -g" // an IPv6 literal is not a curl URL glob
	}
	fmt.Fprintf(w, `
DEVELOPMENT MODE: trusting %s (ES256, kid %q), generated on first start.
Remove the dev section from your configuration in production.

Try it (the token is valid for 15 minutes):

  %s -H 'Authorization: Bearer %s' %s

Mint more:

  %s mint --key %s --claims '{"sub":"alice"}'

`, filepath.Join(dir, devJWKS), devKID, curl, tok, shellQuote(url), self, shellQuote(keyFile))
}

// selfCommand is how to run this program again from a shell in the
// current directory: for a binary `go run` built in its temporary
// directory (gone once it exits), `go run` of the main package, by its
// directory when the current directory holds it (./cmd/tokengate) or else
// by its import path pkg (mod is its module's); otherwise args0 as typed when it names this
// executable, directly or through PATH; otherwise the executable's path.
// The result is quoted for a POSIX shell.
func selfCommand(args0, exe, cwd, pkg, mod string) string {
	if isGoRunBinary(exe) && pkg != "" {
		if rel, ok := strings.CutPrefix(pkg, mod+"/"); ok && mod != "" {
			if fi, err := os.Stat(filepath.Join(cwd, filepath.FromSlash(rel))); err == nil && fi.IsDir() {
				return "go run " + shellQuote("./"+rel)
			}
		}
		return "go run " + shellQuote(pkg)
	}
	if args0 != "" && exe != "" {
		p := args0
		if !strings.Contains(args0, "/") {
			p, _ = exec.LookPath(args0)
		} else if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		if sameFile(p, exe) {
			return shellQuote(args0)
		}
	}
	if exe != "" {
		return shellQuote(exe)
	}
	return "tokengate"
}

// isGoRunBinary reports whether exe is a binary `go run` built: in a
// go-build* directory of $GOTMPDIR (go-build123/b001/exe/NAME) or, since
// Go 1.24, in the build cache ($GOCACHE, by default .../go-build).
func isGoRunBinary(exe string) bool {
	for d := filepath.Dir(exe); d != filepath.Dir(d); d = filepath.Dir(d) {
		if strings.HasPrefix(filepath.Base(d), "go-build") {
			return true
		}
	}
	return false
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

func executable() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return exe
}

func workingDir() string {
	wd, _ := os.Getwd()
	return wd
}

// mainPackage returns the import path of the main package
// (github.com/tokengate/tokengate/cmd/tokengate) and of its module, ""
// when unknown.
func mainPackage() (pkg, mod string) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Path, bi.Main.Path
	}
	return "", ""
}

// shellQuote quotes s for a POSIX shell when it holds anything beyond
// letters, digits and -_./:@%+=, : in single quotes, each single quote
// inside closing the quotes, escaped, and reopening them.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
