package jwe_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/jwe"
)

func TestParseJWK(t *testing.T) {
	p256 := string(loadVector(t, "5_5.ecdh-es_a128cbc-hs256.json").Input.Key)
	rsaJWK := string(loadVector(t, "5_1.rsa_v15.json").Input.Key)
	edit := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("%q not in JWK", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	x25519 := string(x25519JWK(t, "x"))
	good := []struct {
		name string
		jwk  string
		alg  jwe.KeyAlgorithm
		want jwe.KeyAlgorithm
		enc  jwe.ContentEncryption
	}{
		{"RFC 7520 §5.5 P-256", p256, jwe.ECDHES, jwe.ECDHES, ""},
		{"RFC 7520 §5.1 RSA as RSA-OAEP-256", rsaJWK, jwe.RSAOAEP256, jwe.RSAOAEP256, ""},
		{"RFC 7748 X25519 (RFC 8037 OKP)", x25519, jwe.ECDHESA256KW, jwe.ECDHESA256KW, ""},
		{"oct alg A128KW", `{"kty":"oct","alg":"A128KW","k":"GZy6sIZ6wl9NJOKB-jnmVQ"}`, "", jwe.A128KW, ""},
		{"oct alg = enc → dir", `{"kty":"oct","use":"enc","alg":"A128GCM","k":"XctOhJAkA-pD9Lh7ZgW_2A"}`, "", jwe.Direct, jwe.A128GCM},
		{"oct alg dir", `{"kty":"oct","alg":"dir","k":"XctOhJAkA-pD9Lh7ZgW_2A"}`, jwe.Direct, jwe.Direct, ""},
		{"key_ops unwrapKey", `{"kty":"oct","key_ops":["unwrapKey"],"k":"GZy6sIZ6wl9NJOKB-jnmVQ"}`, jwe.A128KW, jwe.A128KW, ""},
	}
	for _, tt := range good {
		k, err := jwe.ParseJWK([]byte(tt.jwk), tt.alg)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if k.Alg() != tt.want || k.Enc() != tt.enc {
			t.Errorf("%s: alg %s enc %s", tt.name, k.Alg(), k.Enc())
		}
	}

	bad := []struct {
		name string
		jwk  string
		alg  jwe.KeyAlgorithm
	}{
		{"no alg anywhere", p256, ""},
		{"alg conflict", `{"kty":"oct","alg":"A128KW","k":"GZy6sIZ6wl9NJOKB-jnmVQ"}`, jwe.A256KW},
		{"alg RSA1_5", edit(rsaJWK, `"use"`, `"alg":"RSA1_5","use"`), ""},
		{"use sig", edit(p256, `"use":"enc"`, `"use":"sig"`), jwe.ECDHES},
		{"key_ops sign", `{"kty":"oct","key_ops":["sign"],"k":"GZy6sIZ6wl9NJOKB-jnmVQ"}`, jwe.A128KW},
		{"public only", edit(p256, `"d"`, `"not_d"`), jwe.ECDHES},
		{"x does not match d", edit(p256, `"x":"Ze`, `"x":"Zf`), jwe.ECDHES},
		{"d short", edit(p256, `"d":"r_kHyZ-a`, `"d":"`), jwe.ECDHES},
		{"padded base64", edit(p256, `"d":"r_kHyZ-a06rmxM3yESK84r1otSg-aQcVStkRhA-iCM8"`, `"d":"r_kHyZ-a06rmxM3yESK84r1otSg-aQcVStkRhA-iCM8="`), jwe.ECDHES},
		{"P-256 key as RSA-OAEP-256", p256, jwe.RSAOAEP256},
		{"X25519 as kty EC", strings.Replace(x25519, `"OKP"`, `"EC"`, 1), jwe.ECDHES},
		{"Ed25519", `{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, jwe.ECDHES},
		{"oct wrong size", `{"kty":"oct","k":"GZy6sIZ6wl9NJOKB-jnmVQ"}`, jwe.A256KW},
		{"RSA dp wrong", edit(rsaJWK, `"dp":"Uf`, `"dp":"Ug`), jwe.RSAOAEP256},
		{"RSA oth", edit(rsaJWK, `"e"`, `"oth":[],"e"`), jwe.RSAOAEP256},
		{"duplicate member", `{"kty":"oct","k":"GZy6sIZ6wl9NJOKB-jnmVQ","k":"GZy6sIZ6wl9NJOKB-jnmVQ"}`, jwe.A128KW},
		{"unknown kty", `{"kty":"XYZ","k":"GZy6sIZ6wl9NJOKB-jnmVQ"}`, jwe.A128KW},
		{"not JSON", `kty=oct`, jwe.A128KW},
	}
	for _, tt := range bad {
		if _, err := jwe.ParseJWK([]byte(tt.jwk), tt.alg); err == nil {
			t.Errorf("%s: accepted", tt.name)
		} else if strings.Contains(err.Error(), "r_kHyZ") || strings.Contains(err.Error(), "GZy6sIZ6") {
			t.Errorf("%s: error carries key material: %v", tt.name, err)
		}
	}
	if _, err := jwe.ParseJWK([]byte(edit(p256, `"use":"enc"`, `"use":"sig"`)), jwe.ECDHES); !errors.Is(err, jwe.ErrNotForEncryption) {
		t.Errorf("use sig: %v", err)
	}
}

func TestParseJWKSet(t *testing.T) {
	set := `{"keys":[
		{"kty":"oct","kid":"a","alg":"A128KW","k":"GZy6sIZ6wl9NJOKB-jnmVQ"},
		{"kty":"oct","kid":"d","use":"enc","alg":"A128GCM","k":"XctOhJAkA-pD9Lh7ZgW_2A"},
		{"kty":"oct","kid":"s","use":"sig","alg":"HS256","k":"GZy6sIZ6wl9NJOKB-jnmVQ"}
	]}`
	ks, err := jwe.ParseJWKSet([]byte(set), "")
	if err != nil {
		t.Fatal(err)
	}
	if ks.Len() != 2 {
		t.Fatalf("%d keys, want 2 (the signing key skipped)", ks.Len())
	}
	// Every bad key is reported at once.
	_, err = jwe.ParseJWKSet([]byte(`{"keys":[{"kty":"oct","kid":"x","alg":"A128KW","k":"AA"},{"kty":"oct","kid":"y","alg":"A256KW","k":"AA"}]}`), "")
	if err == nil || !strings.Contains(err.Error(), `"x"`) || !strings.Contains(err.Error(), `"y"`) {
		t.Fatalf("errors: %v", err)
	}
	for _, s := range []string{`{"keys":{}}`, `{}`, `{"keys":[]}`} {
		if _, err := jwe.ParseJWKSet([]byte(s), jwe.A128KW); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}

func TestParsePEM(t *testing.T) {
	pemOf := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	xKey, _ := ecdh.X25519().GenerateKey(rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tt := range []struct {
		name string
		pem  []byte
		alg  jwe.KeyAlgorithm
	}{
		{"RSA", pemOf(rsaKey), jwe.RSAOAEP256},
		{"EC P-384", pemOf(ecKey), jwe.ECDHESA128KW},
		{"X25519", pemOf(xKey), jwe.ECDHES},
	} {
		k, err := jwe.ParsePEM(tt.pem, "kid-"+tt.name, tt.alg)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		// The parsed key decrypts what is encrypted to its public half.
		ks, _ := jwe.NewKeySet(k)
		tok, err := jwe.Encrypt([]byte(innerJWT), tt.alg, jwe.A256GCM, k.Public(), &jwe.EncryptOptions{Kid: k.Kid()})
		if err != nil {
			t.Fatal(err)
		}
		if pt, _, err := newDecrypter(t, ks, jwe.Options{}).Decrypt(tok); err != nil || string(pt) != innerJWT {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	der, _ := x509.MarshalECPrivateKey(ecKey)
	for _, tt := range []struct {
		name string
		pem  []byte
		alg  jwe.KeyAlgorithm
	}{
		{"Ed25519", pemOf(edKey), jwe.ECDHES},
		{"SEC 1, not PKCS #8", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), jwe.ECDHES},
		{"trailing data", append(pemOf(ecKey), "junk"...), jwe.ECDHES},
		{"EC as RSA-OAEP-256", pemOf(ecKey), jwe.RSAOAEP256},
		{"not PEM", []byte("hello"), jwe.ECDHES},
	} {
		if _, err := jwe.ParsePEM(tt.pem, "k", tt.alg); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}
