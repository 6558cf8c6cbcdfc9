package sidecar_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/verifier"
)

// TestEncryptedTokens: a nested JWT (JWE wrapping the signed token) is
// decrypted and verified like a plain one, cached by its encrypted form;
// tampering, refused algorithms and (when required) plain tokens are 401s
// with a reason.
func TestEncryptedTokens(t *testing.T) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwe.NewKey("enc-1", jwe.ECDHESA256KW, "", priv)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := jwe.NewKeySet(key)
	dec, err := jwe.NewDecrypter(ks, jwe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, require := range []bool{false, true} {
		f := newFixtureOpts(t, nil, func(_ *verifier.Options, o *serverOptions) {
			o.Decrypter, o.RequireEncryption = dec, require
		})
		inner := sign(t, f.es, nil)
		outer, err := jwe.Encrypt([]byte(inner), jwe.ECDHESA256KW, jwe.A256GCM, priv.PublicKey(), &jwe.EncryptOptions{Kid: "enc-1"})
		if err != nil {
			t.Fatal(err)
		}
		waitCached(t, f, func() {
			r := do(f, bearer(string(outer)))
			if r.StatusCode() != 200 || string(r.Header.Peek("X-Auth-Subject")) != "user-42" {
				t.Fatalf("encrypted token: %d %q", r.StatusCode(), r.Header.Peek("WWW-Authenticate"))
			}
		})
		parts := strings.Split(string(outer), ".")
		ct, err := base64.RawURLEncoding.DecodeString(parts[3])
		if err != nil {
			t.Fatal(err)
		}
		ct[len(ct)/2] ^= 1 // one bit of ciphertext, still canonical base64url
		tampered := strings.Join([]string{parts[0], parts[1], parts[2], base64.RawURLEncoding.EncodeToString(ct), parts[4]}, ".")
		for name, c := range map[string]struct{ tok, reason string }{
			"tampered ciphertext": {tampered, "decryption failed"},
			"RSA1_5":              {enc(`{"alg":"RSA1_5","enc":"A128GCM","cty":"JWT"}`) + ".AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA", "RSA1_5"},
			"PBES2":               {enc(`{"alg":"PBES2-HS256+A128KW","p2c":100000000,"p2s":"AAAA","enc":"A128GCM","cty":"JWT"}`) + ".AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA", "iteration count"},
			"zip":                 {enc(`{"alg":"ECDH-ES+A256KW","enc":"A256GCM","zip":"DEF","cty":"JWT"}`) + ".AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA", "compression"},
		} {
			r := do(f, bearer(c.tok))
			if r.StatusCode() != 401 || !strings.Contains(string(r.Header.Peek("WWW-Authenticate")), c.reason) {
				t.Errorf("%s: %d %q, want 401 naming %q", name, r.StatusCode(), r.Header.Peek("WWW-Authenticate"), c.reason)
			}
		}
		plain := do(f, bearer(inner))
		if require && (plain.StatusCode() != 401 || !strings.Contains(string(plain.Header.Peek("WWW-Authenticate")), "must be encrypted")) {
			t.Errorf("plain token with encryption required: %d %q", plain.StatusCode(), plain.Header.Peek("WWW-Authenticate"))
		}
		if !require && plain.StatusCode() != 200 {
			t.Errorf("plain token with encryption optional: %d", plain.StatusCode())
		}
	}
}
