package jwe_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tokengate/tokengate/jwe"
)

// fuzzSeeds are tokens that must decrypt under the fixed keys (one per
// supported alg × enc, and per curve for ECDH), followed by malformed
// ones of every known class.
func fuzzSeeds(t testing.TB) [][]byte {
	f := fixedKeys(t)
	var seeds [][]byte
	for _, c := range f.combos() {
		seeds = append(seeds, encrypt(t, f, c, innerJWT, nil))
	}
	base := encrypt(t, f, combo{"a128kw", jwe.A128KW, jwe.A128GCM}, innerJWT, nil)
	for _, h := range []string{
		`{"alg":"A128KW","enc":"A128GCM","cty":"JWT","kid":"a128kw","zip":"DEF"}`,
		`{"alg":"A128KW","enc":"A128GCM","cty":"JWT","crit":["x"],"x":1}`,
		`{"alg":"RSA1_5","enc":"A128CBC-HS256","cty":"JWT","kid":"rsa"}`,
		`{"alg":"PBES2-HS256+A128KW","enc":"A128GCM","p2s":"AAAA","p2c":1000000000}`,
		`{"alg":"A128KW","alg":"dir","enc":"A128GCM"}`,
		`{"alg":"ECDH-ES","enc":"A128GCM","cty":"JWT","kid":"ECDH-ES/P-256","epk":{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}`,
		`{"alg":"ECDH-ES","enc":"A128GCM","cty":"JWT","kid":"ECDH-ES/X25519","epk":{"kty":"OKP","crv":"X25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}`,
		`{"alg":"none","enc":"A128GCM"}`,
		`[]`,
	} {
		seeds = append(seeds, withHeader(base, h))
	}
	seeds = append(seeds,
		[]byte(innerJWT),
		[]byte("...."),
		[]byte("a.b.c.d.e"),
		append(bytes.Clone(base), '.'),
		bytes.ReplaceAll(base, []byte("."), []byte("=.")),
	)
	return seeds
}

// FuzzDecrypt: no input panics; every error is a *jwe.Error and leaves dst
// alone; and a success can only be one of our own tokens: the plaintext is
// the one we encrypted, every segment is the canonical encoding of its
// bytes, and the same plaintext encrypted again to the same key decrypts.
func FuzzDecrypt(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	fx := fixedKeys(f)
	d, err := jwe.NewDecrypter(fx.set, jwe.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok []byte) {
		if len(tok) > 64<<10 {
			return
		}
		dst := []byte("dst")
		out, hdr, err := d.AppendDecrypt(dst, tok)
		if err != nil {
			var e *jwe.Error
			if !errors.As(err, &e) || e.Label() == "" {
				t.Fatalf("error %v is not a labelled *jwe.Error", err)
			}
			if string(out) != "dst" {
				t.Fatalf("failure changed dst: %q", out)
			}
			return
		}
		if string(out) != "dst"+innerJWT {
			t.Fatalf("decrypted to %q", out)
		}
		for i, seg := range bytes.Split(tok, []byte(".")) {
			raw, err := base64.RawURLEncoding.Strict().DecodeString(string(seg))
			if err != nil || base64.RawURLEncoding.EncodeToString(raw) != string(seg) {
				t.Fatalf("segment %d is not canonical base64url", i)
			}
		}
		k := fx.key(t, hdr.Kid)
		again, err := jwe.Encrypt(out[3:], hdr.Alg, hdr.Enc, k, &jwe.EncryptOptions{Kid: k.Kid()})
		if err != nil {
			t.Fatal(err)
		}
		if pt, _, err := d.Decrypt(again); err != nil || string(pt) != innerJWT {
			t.Fatalf("re-encryption: %v", err)
		}
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzDecrypt from
// fuzzSeeds when JWE_WRITE_CORPUS=1. The committed files let
// `go test` replay the seeds (and any crashers added later) as unit tests.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("JWE_WRITE_CORPUS") != "1" {
		t.Skip("set JWE_WRITE_CORPUS=1 to regenerate testdata/fuzz/FuzzDecrypt")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecrypt")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds(t) {
		name := fmt.Sprintf("seed-%02d", i)
		body := "go test fuzz v1\n[]byte(" + fmt.Sprintf("%q", s) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
