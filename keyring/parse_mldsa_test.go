package keyring_test

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/keyring"
)

// RFC 9881 §2: id-ml-dsa-44/65/87.
var mldsaOIDs = map[keyring.Algorithm]asn1.ObjectIdentifier{
	keyring.MLDSA44: {2, 16, 840, 1, 101, 3, 4, 3, 17},
	keyring.MLDSA65: {2, 16, 840, 1, 101, 3, 4, 3, 18},
	keyring.MLDSA87: {2, 16, 840, 1, 101, 3, 4, 3, 19},
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func mldsaSPKIWith(t testing.TB, alg keyring.Algorithm, raw []byte, params asn1.RawValue) []byte {
	t.Helper()
	der, err := asn1.Marshal(struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}{pkix.AlgorithmIdentifier{Algorithm: mldsaOIDs[alg], Parameters: params}, asn1.BitString{Bytes: raw, BitLength: 8 * len(raw)}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// mldsaSPKI is the RFC 9881 §4 SubjectPublicKeyInfo: parameters absent,
// the raw public key in the BIT STRING.
func mldsaSPKI(t testing.TB, alg keyring.Algorithm, raw []byte) []byte {
	return mldsaSPKIWith(t, alg, raw, asn1.RawValue{})
}

func mldsaSPKIParams(t testing.TB, alg keyring.Algorithm, raw []byte) []byte {
	return mldsaSPKIWith(t, alg, raw, asn1.NullRawValue)
}

func mldsaSPKIPEM(t testing.TB, alg keyring.Algorithm, raw []byte) []byte {
	return pemOf("PUBLIC KEY", mldsaSPKI(t, alg, raw))
}

// TestAKPJWKErrors: RFC 9964 §3 (alg REQUIRED, pub REQUIRED, priv MUST NOT
// be in a public key) and §5 (pub has the parameter set's size), each
// refusal with its sentinel.
func TestAKPJWKErrors(t *testing.T) {
	k44 := newMLDSATestKey(t, keyring.MLDSA44)
	k65 := newMLDSATestKey(t, keyring.MLDSA65)
	pub44 := base64.RawURLEncoding.EncodeToString(k44.raw)
	tests := []struct {
		name string
		doc  []byte
		o    keyring.Options
		want error
	}{
		{"pub missing", akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"pub": nil}), keyring.Options{}, keyring.ErrMalformed},
		{"pub empty", akpJWK(keyring.MLDSA44, nil, nil), keyring.Options{}, keyring.ErrMalformed},
		{"pub one byte short", akpJWK(keyring.MLDSA44, k44.raw[1:], nil), keyring.Options{}, keyring.ErrMalformed},
		{"pub one byte long", akpJWK(keyring.MLDSA44, append(bytes.Clone(k44.raw), 0), nil), keyring.Options{}, keyring.ErrMalformed},
		{"pub not a string", akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"pub": 7}), keyring.Options{}, keyring.ErrMalformed},
		{"pub padded base64url", akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"pub": base64.URLEncoding.EncodeToString(k44.raw)}), keyring.Options{}, keyring.ErrMalformed},
		{"pub standard base64", akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"pub": base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, len(k44.raw)))}), keyring.Options{}, keyring.ErrMalformed},
		{"alg missing", akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"alg": nil}), keyring.Options{}, keyring.ErrMalformed},
		{"alg missing, configured", akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"alg": nil}), keyring.Options{Alg: keyring.MLDSA44}, keyring.ErrMalformed},
		{"alg unknown", akpJWK("ML-DSA-99", k44.raw, nil), keyring.Options{}, keyring.ErrUnsupportedAlg},
		{"alg lowercase", akpJWK("ml-dsa-44", k44.raw, nil), keyring.Options{}, keyring.ErrUnsupportedAlg},
		{"alg SLH-DSA", akpJWK("SLH-DSA-SHA2-128s", k44.raw, nil), keyring.Options{}, keyring.ErrUnsupportedAlg},
		{"alg none", akpJWK("none", k44.raw, nil), keyring.Options{}, keyring.ErrUnsupportedAlg},
		{"alg of another key type", akpJWK(keyring.ES256, k44.raw, nil), keyring.Options{}, keyring.ErrInvalidKey},
		{"alg EdDSA", akpJWK(keyring.EdDSA, k44.raw, nil), keyring.Options{}, keyring.ErrInvalidKey},
		{"alg HS256", akpJWK(keyring.HS256, k44.raw, nil), keyring.Options{}, keyring.ErrInvalidKey},
		{"alg names the wrong set", akpJWK(keyring.MLDSA87, k65.raw, nil), keyring.Options{}, keyring.ErrInvalidKey},
		{"configured alg differs", akpJWK(keyring.MLDSA44, k44.raw, nil), keyring.Options{Alg: keyring.MLDSA87}, keyring.ErrAlgMismatch},
		{"priv present", akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"priv": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}), keyring.Options{}, keyring.ErrPrivateKey},
		{"priv empty", akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"priv": ""}), keyring.Options{}, keyring.ErrPrivateKey},
		{"priv not a string", akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"priv": 1}), keyring.Options{}, keyring.ErrMalformed},
		{"use enc", akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"use": "enc"}), keyring.Options{}, keyring.ErrUnusable},
		{"kid differs from configured id", akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"kid": "a"}), keyring.Options{ID: "b"}, keyring.ErrAlgMismatch},
		{"oct-style k instead of pub", []byte(`{"kty":"AKP","alg":"ML-DSA-44","k":"` + pub44 + `"}`), keyring.Options{}, keyring.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := keyring.ParseJWK(tc.doc, tc.o)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if k != nil {
				t.Fatal("key returned with an error")
			}
			var ke *keyring.KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("%T is not a *KeyError", err)
			}
			// Key material never appears in the message (only its length).
			if strings.Contains(err.Error(), pub44[:32]) {
				t.Errorf("error echoes the key: %v", err)
			}
		})
	}
	// In a JWK Set a private AKP key fails the set; an encryption-use one is
	// skipped like any other.
	set := []byte(`{"keys":[` + string(akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"kid": "a"})) + `,` +
		string(akpJWK(keyring.MLDSA65, k65.raw, map[string]any{"kid": "b", "priv": "AAAA"})) + `]}`)
	if _, err := keyring.ParseJWKS(set, keyring.Options{}); !errors.Is(err, keyring.ErrPrivateKey) {
		t.Errorf("set with a private AKP key: %v", err)
	}
	set = []byte(`{"keys":[` + string(akpJWK(keyring.MLDSA44, k44.raw, map[string]any{"kid": "a"})) + `,` +
		string(akpJWK(keyring.MLDSA65, k65.raw, map[string]any{"kid": "b", "use": "enc"})) + `]}`)
	keys, skipped, err := keyring.ParseKeysReport(set, keyring.Options{})
	if err != nil || len(keys) != 1 || len(skipped) != 1 || skipped[0].KID != "b" {
		t.Errorf("set with an enc AKP key: %v %v %v", err, keys, skipped)
	}
}
