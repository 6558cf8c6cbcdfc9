package keyring_test

import (
	"errors"
	"testing"

	"github.com/tokengate/tokengate/keyring"
)

// FuzzParseKeys feeds JWK, JWK Set and PEM documents to ParseKeys (seeds in
// testdata/fuzz/FuzzParseKeys: valid documents of every form and each known
// class of malformed input). Properties: no panic; an error comes without
// keys; every loaded key has a kid and a supported alg, does not accept a
// random signature (a forgery), does not panic on any input, and a public
// key re-encoded with MarshalJWK loads again as the same key.
func FuzzParseKeys(f *testing.F) {
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`), []byte("sig"))
	f.Add([]byte(`{"keys":[{"kty":"oct","alg":"HS256","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]}`), make([]byte, 32))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n"), make([]byte, 64))
	f.Fuzz(func(t *testing.T, data, sig []byte) {
		if len(data) > 64<<10 {
			t.Skip("larger than any seed needs")
		}
		for _, o := range []keyring.Options{{}, {Alg: keyring.RS256}, {Alg: keyring.HS256}} {
			keys, err := keyring.ParseKeys(data, o)
			if err != nil {
				if keys != nil {
					t.Fatalf("keys returned with error %v", err)
				}
				var ke *keyring.KeyError
				if !errors.As(err, &ke) || err.Error() == "" {
					t.Fatalf("error %v is not a *KeyError", err)
				}
				continue
			}
			if len(keys) == 0 {
				t.Fatal("no keys and no error")
			}
			for _, k := range keys {
				if k.Public() != nil && (k.ID() == "" || k.Thumbprint() == "") {
					t.Fatal("public key without kid or thumbprint")
				}
				if k.Public() == nil && (k.Thumbprint() != "" || k.Fingerprint() != "") {
					t.Fatal("HMAC key with a thumbprint: a hash of its secret")
				}
				if k.Bits() <= 0 {
					t.Fatalf("key of %d bits", k.Bits())
				}
				if _, ok := keyring.LookupAlgorithm([]byte(k.Alg())); !ok {
					t.Fatalf("key bound to unsupported alg %q", k.Alg())
				}
				if k.Verify(data, sig) || k.Verify(nil, sig) || k.Verify(sig, nil) {
					t.Fatalf("key %s (%s) accepts a random signature", k.ID(), k.Alg())
				}
				if k.Public() == nil {
					continue
				}
				b, err := k.MarshalJWK()
				if err != nil {
					t.Fatal(err)
				}
				k2, err := keyring.ParseJWK(b, keyring.Options{})
				if err != nil {
					t.Fatalf("re-encoded key does not load: %v\n%s", err, b)
				}
				if k2.Thumbprint() != k.Thumbprint() || k2.Alg() != k.Alg() || k2.ID() != k.ID() {
					t.Fatalf("re-encoded key differs: %s/%s/%s vs %s/%s/%s", k2.ID(), k2.Alg(), k2.Thumbprint(), k.ID(), k.Alg(), k.Thumbprint())
				}
			}
		}
	})
}
