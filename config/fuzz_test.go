package config_test

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/keyring"
)

// FuzzLoad feeds arbitrary bytes to Load as a configuration file. Load
// must never panic, must be deterministic, and a configuration that loads
// and validates must convert without panicking into values that keep the
// promises Validate made. Seeds: testdata/fuzz/FuzzLoad (valid files,
// unknown keys, wrong types, bad sizes and durations, YAML aliases, deep
// nesting, non-mappings, binary garbage).
func FuzzLoad(f *testing.F) {
	clearEnv(f)
	f.Add(config.DefaultYAML())
	path := filepath.Join(f.TempDir(), "tokengate.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			t.Skip("larger than any real configuration")
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(path)
		again, err2 := config.Load(path)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(c, again) {
			t.Fatalf("Load is not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		kc := c.Keyring()
		if len(kc.Sources) != len(c.Keys) {
			t.Fatalf("%d sources for %d keys", len(kc.Sources), len(c.Keys))
		}
		for i, s := range kc.Sources {
			n := 0
			for _, set := range []bool{s.Path != "", s.Env != "", s.Inline != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("source %d has %d of path, env and inline", i, n)
			}
			if s.Secret && s.Alg.Family() != keyring.FamilyHMAC {
				t.Fatalf("secret source %d has alg %q", i, s.Alg)
			}
			if s.Inline != nil && s.Secret {
				t.Fatalf("inline source %d is a secret", i)
			}
		}
		vo := c.VerifierOptions()
		if vo.MaxTokenSize < int(config.MinTokenSize) || vo.MaxTokenSize > int(config.MaxTokenSize) {
			t.Fatalf("MaxTokenSize %d out of bounds", vo.MaxTokenSize)
		}
		if vo.Policy.Leeway < 0 || vo.Policy.Leeway > config.MaxLeeway {
			t.Fatalf("leeway %s out of bounds", vo.Policy.Leeway)
		}
		sc := c.Gate()
		if sc.MaxHeaderValue < 1 || c.Limits.ReadTimeout <= 0 || sc.Cache.MaxBytes < 0 {
			t.Fatalf("limits out of bounds: %+v %+v", sc, c.Limits)
		}
		for _, r := range sc.Routes {
			if r.Prefix == "" || r.Prefix[0] != '/' {
				t.Fatalf("route prefix %q", r.Prefix)
			}
		}
		c.Logger(io.Discard).Info("fuzz")
	})
}

// The valid_* seeds must stay valid, or the fuzzer starts from nothing but
// rejected inputs; the bad_* seeds must be rejected.
func TestFuzzSeeds(t *testing.T) {
	clearEnv(t)
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzLoad", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// "go test fuzz v1\n[]byte(<Go string literal>)\n"
			_, lit, _ := strings.Cut(string(raw), "\n")
			lit = strings.TrimSuffix(strings.TrimSpace(lit), ")")
			data, err := strconv.Unquote(strings.TrimPrefix(lit, "[]byte("))
			if err != nil {
				t.Fatalf("corpus file: %v", err)
			}
			c, err := config.Load(writeConfig(t, data))
			if err == nil {
				err = c.Validate()
			}
			switch {
			case strings.HasPrefix(name, "valid_") && err != nil:
				t.Errorf("valid seed fails: %v", err)
			case strings.HasPrefix(name, "bad_") && err == nil:
				t.Errorf("bad seed loads and validates")
			}
		})
	}
}
