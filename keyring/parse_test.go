package keyring_test

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/ed448"

	"github.com/tokengate/tokengate/internal/jsonx"
	"github.com/tokengate/tokengate/keyring"
)

// --- fixtures -------------------------------------------------------------

// testKeys are fresh keys, generated once per test binary.
type testKeys struct {
	rsa, rsa2 *rsa.PrivateKey // 2048-bit
	rsa1024   *rsa.PrivateKey
	p256      *ecdsa.PrivateKey
	p256b     *ecdsa.PrivateKey
	p384      *ecdsa.PrivateKey
	p521      *ecdsa.PrivateKey
	ed25519   ed25519.PrivateKey
	ed448     ed448.PrivateKey
	hs256     []byte // 32 bytes
	hs512     []byte // 64 bytes
}

var fixtures = sync.OnceValue(func() *testKeys {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	k := &testKeys{}
	var err error
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	for _, c := range []struct {
		dst   **ecdsa.PrivateKey
		curve elliptic.Curve
	}{{&k.p256, elliptic.P256()}, {&k.p256b, elliptic.P256()}, {&k.p384, elliptic.P384()}, {&k.p521, elliptic.P521()}} {
		*c.dst, err = ecdsa.GenerateKey(c.curve, rand.Reader)
		must(err)
	}
	_, k.ed25519, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	_, k.ed448, err = ed448.GenerateKey(rand.Reader)
	must(err)
	k.hs256 = make([]byte, 32)
	k.hs512 = make([]byte, 64)
	rand.Read(k.hs256)
	rand.Read(k.hs512)
	return k
})

var enc64 = base64.RawURLEncoding

// publicOf returns the public half of a private key.
func publicOf(priv any) crypto.PublicKey {
	if s, ok := priv.(crypto.Signer); ok {
		return s.Public()
	}
	panic(fmt.Sprintf("no public key for %T", priv))
}

// jwkMembers returns the public JWK members of a key (RFC 7518 §6, RFC 8037
// §2), written by the test rather than by the package.
func jwkMembers(pub any) map[string]any {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "n": enc64.EncodeToString(p.N.Bytes()), "e": enc64.EncodeToString(big.NewInt(int64(p.E)).Bytes())}
	case *ecdsa.PublicKey:
		raw, err := p.Bytes()
		if err != nil {
			panic(err)
		}
		n := (len(raw) - 1) / 2
		return map[string]any{"kty": "EC", "crv": p.Curve.Params().Name, "x": enc64.EncodeToString(raw[1 : 1+n]), "y": enc64.EncodeToString(raw[1+n:])}
	case ed25519.PublicKey:
		return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc64.EncodeToString(p)}
	case ed448.PublicKey:
		return map[string]any{"kty": "OKP", "crv": "Ed448", "x": enc64.EncodeToString(p)}
	case []byte:
		return map[string]any{"kty": "oct", "k": enc64.EncodeToString(p)}
	}
	panic(fmt.Sprintf("jwkMembers: %T", pub))
}

// jwkWith returns the JWK of pub with extra members set (a nil value
// deletes one).
func jwkWith(pub any, extra map[string]any) map[string]any {
	m := jwkMembers(pub)
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func jwksOf(jwks ...map[string]any) []byte {
	return mustJSON(map[string]any{"keys": jwks})
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

var oidEd448 = asn1.ObjectIdentifier{1, 3, 101, 113}

// ed448SPKI marshals an Ed448 SubjectPublicKeyInfo (RFC 8410 §4).
func ed448SPKI(pub ed448.PublicKey) []byte {
	der, err := asn1.Marshal(struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}{pkix.AlgorithmIdentifier{Algorithm: oidEd448}, asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}})
	if err != nil {
		panic(err)
	}
	return der
}

// spkiDER returns the SubjectPublicKeyInfo of any test public key.
func spkiDER(pub any) []byte {
	if p, ok := pub.(ed448.PublicKey); ok {
		return ed448SPKI(p)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return der
}

// selfSigned returns a self-signed DER certificate for priv. crypto/x509
// cannot make Ed448 certificates, so those are assembled by hand (RFC 5280
// §4.1 with the RFC 8410 Ed448 identifiers) and signed with Ed448.
func selfSigned(priv any) []byte {
	serial := big.NewInt(1)
	notBefore := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter := notBefore.AddDate(10, 0, 0)
	if p, ok := priv.(ed448.PrivateKey); ok {
		name, err := asn1.Marshal(pkix.Name{CommonName: "tokengate test"}.ToRDNSequence())
		if err != nil {
			panic(err)
		}
		algo := pkix.AlgorithmIdentifier{Algorithm: oidEd448}
		tbs, err := asn1.Marshal(struct {
			Version      int `asn1:"optional,explicit,default:0,tag:0"`
			SerialNumber *big.Int
			Signature    pkix.AlgorithmIdentifier
			Issuer       asn1.RawValue
			Validity     struct{ NotBefore, NotAfter time.Time }
			Subject      asn1.RawValue
			PublicKey    asn1.RawValue
		}{2, serial, algo, asn1.RawValue{FullBytes: name}, struct{ NotBefore, NotAfter time.Time }{notBefore, notAfter},
			asn1.RawValue{FullBytes: name}, asn1.RawValue{FullBytes: ed448SPKI(p.Public().(ed448.PublicKey))}})
		if err != nil {
			panic(err)
		}
		sig := ed448.Sign(p, tbs, "")
		der, err := asn1.Marshal(struct {
			TBS       asn1.RawValue
			Algorithm pkix.AlgorithmIdentifier
			Signature asn1.BitString
		}{asn1.RawValue{FullBytes: tbs}, algo, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
		if err != nil {
			panic(err)
		}
		return der
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "tokengate test"}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, publicOf(priv), priv)
	if err != nil {
		panic(err)
	}
	return der
}

// signFor makes a JWS signature (RFC 7518 §3, RFC 8037 §3.1) of input.
func signFor(t testing.TB, alg keyring.Algorithm, priv any, input []byte) []byte {
	t.Helper()
	digest := func() []byte {
		h := alg.Hash().New()
		h.Write(input)
		return h.Sum(nil)
	}
	switch p := priv.(type) {
	case []byte:
		var m = hmac.New(sha256.New, p)
		switch alg {
		case keyring.HS384:
			m = hmac.New(sha512.New384, p)
		case keyring.HS512:
			m = hmac.New(sha512.New, p)
		}
		m.Write(input)
		return m.Sum(nil)
	case *rsa.PrivateKey:
		var sig []byte
		var err error
		if alg.Family() == keyring.FamilyRSAPSS {
			sig, err = rsa.SignPSS(rand.Reader, p, alg.Hash(), digest(), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, p, alg.Hash(), digest())
		}
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, p, digest())
		if err != nil {
			t.Fatal(err)
		}
		n := (p.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*n)
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
		return sig
	case ed25519.PrivateKey:
		return ed25519.Sign(p, input)
	case ed448.PrivateKey:
		return ed448.Sign(p, input, "")
	}
	t.Fatalf("signFor: %T", priv)
	return nil
}

// checkSigns asserts that k verifies a fresh signature by priv and not a
// modified one.
func checkSigns(t *testing.T, k *keyring.Key, priv any) {
	t.Helper()
	input := []byte("eyJhbGciOiJ0ZXN0In0.eyJzdWIiOiJyb3VuZC10cmlwIn0")
	sig := signFor(t, k.Alg(), priv, input)
	if !k.Verify(input, sig) {
		t.Fatalf("key %s (%s) does not verify its own signature", k.ID(), k.Alg())
	}
	sig[len(sig)/2] ^= 1
	if k.Verify(input, sig) {
		t.Fatalf("key %s (%s) verifies a modified signature", k.ID(), k.Alg())
	}
}

func samePublicKey(a, b any) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// --- accepted forms -------------------------------------------------------

func TestParseKeysRoundTrip(t *testing.T) {
	f := fixtures()
	rsaPub := &f.rsa.PublicKey
	type want struct {
		priv any
		alg  keyring.Algorithm
		kid  string // "" means: the thumbprint
	}
	tests := []struct {
		name string
		data []byte
		o    keyring.Options
		want []want
	}{
		{"JWK RSA with alg", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256", "kid": "r1", "use": "sig"})), keyring.Options{}, []want{{f.rsa, keyring.RS256, "r1"}}},
		{"JWK RSA alg from options", mustJSON(jwkMembers(rsaPub)), keyring.Options{Alg: keyring.PS384}, []want{{f.rsa, keyring.PS384, ""}}},
		{"JWK RSA alg in both", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS512"})), keyring.Options{Alg: keyring.RS512}, []want{{f.rsa, keyring.RS512, ""}}},
		{"JWK RSA id from options", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "PS256"})), keyring.Options{ID: "cfg"}, []want{{f.rsa, keyring.PS256, "cfg"}}},
		{"JWK P-256", mustJSON(jwkMembers(&f.p256.PublicKey)), keyring.Options{}, []want{{f.p256, keyring.ES256, ""}}},
		{"JWK P-384 with alg", mustJSON(jwkWith(&f.p384.PublicKey, map[string]any{"alg": "ES384", "kid": "e384"})), keyring.Options{}, []want{{f.p384, keyring.ES384, "e384"}}},
		{"JWK P-521", mustJSON(jwkMembers(&f.p521.PublicKey)), keyring.Options{}, []want{{f.p521, keyring.ES512, ""}}},
		{"JWK Ed25519", mustJSON(jwkWith(f.ed25519.Public(), map[string]any{"alg": "EdDSA", "key_ops": []string{"verify"}})), keyring.Options{}, []want{{f.ed25519, keyring.EdDSA, ""}}},
		{"JWK Ed448", mustJSON(jwkMembers(f.ed448.Public())), keyring.Options{}, []want{{f.ed448, keyring.EdDSA, ""}}},
		{"JWK oct", mustJSON(jwkWith(f.hs256, map[string]any{"alg": "HS256", "kid": "h"})), keyring.Options{}, []want{{f.hs256, keyring.HS256, "h"}}},
		{"JWK oct alg from options", mustJSON(jwkMembers(f.hs512)), keyring.Options{Alg: keyring.HS512}, []want{{f.hs512, keyring.HS512, ""}}},
		{"JWK unknown members ignored", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"ext": true, "x5u": "https://example.com/c", "nested": map[string]any{"a": []int{1}}})), keyring.Options{}, []want{{f.p256, keyring.ES256, ""}}},
		{"JWK RSA x5c", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256", "x5c": []string{base64.StdEncoding.EncodeToString(selfSigned(f.rsa)), base64.StdEncoding.EncodeToString(selfSigned(f.p256))}})), keyring.Options{}, []want{{f.rsa, keyring.RS256, ""}}},
		{"JWK EC x5c and x5t", func() []byte {
			der := selfSigned(f.p384)
			s1, s256 := sha1.Sum(der), sha256.Sum256(der)
			return mustJSON(jwkWith(&f.p384.PublicKey, map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(der)}, "x5t": enc64.EncodeToString(s1[:]), "x5t#S256": enc64.EncodeToString(s256[:])}))
		}(), keyring.Options{}, []want{{f.p384, keyring.ES384, ""}}},
		{"JWK Ed25519 x5c", mustJSON(jwkWith(f.ed25519.Public(), map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(selfSigned(f.ed25519))}})), keyring.Options{}, []want{{f.ed25519, keyring.EdDSA, ""}}},
		{"JWK Ed448 x5c", mustJSON(jwkWith(f.ed448.Public(), map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(selfSigned(f.ed448))}})), keyring.Options{}, []want{{f.ed448, keyring.EdDSA, ""}}},
		{"JWKS mixed public keys", jwksOf(
			jwkWith(rsaPub, map[string]any{"alg": "RS256", "kid": "a"}),
			jwkWith(&f.p256.PublicKey, map[string]any{"kid": "b"}),
			jwkWith(f.ed25519.Public(), map[string]any{"kid": "c"}),
			jwkWith(f.ed448.Public(), map[string]any{"kid": "d"}),
		), keyring.Options{}, []want{{f.rsa, keyring.RS256, "a"}, {f.p256, keyring.ES256, "b"}, {f.ed25519, keyring.EdDSA, "c"}, {f.ed448, keyring.EdDSA, "d"}}},
		{"JWKS of secrets", jwksOf(jwkWith(f.hs256, map[string]any{"kid": "one", "alg": "HS256"}), jwkWith(f.hs512, map[string]any{"kid": "two", "alg": "HS512"})),
			keyring.Options{}, []want{{f.hs256, keyring.HS256, "one"}, {f.hs512, keyring.HS512, "two"}}},
		{"JWKS of secrets, alg from options", jwksOf(jwkWith(f.hs256, map[string]any{"kid": "one"}), jwkWith(f.hs512, map[string]any{"kid": "two", "alg": "HS256"})),
			keyring.Options{Alg: keyring.HS256}, []want{{f.hs256, keyring.HS256, "one"}, {f.hs512, keyring.HS256, "two"}}},
		{"JWKS with other top-level members", mustJSON(map[string]any{"keys": []any{jwkMembers(&f.p521.PublicKey)}, "issuer": "x"}), keyring.Options{}, []want{{f.p521, keyring.ES512, ""}}},
		{"PEM SPKI RSA", pemBlock("PUBLIC KEY", spkiDER(rsaPub)), keyring.Options{Alg: keyring.RS384}, []want{{f.rsa, keyring.RS384, ""}}},
		{"PEM PKCS1 RSA", pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(rsaPub)), keyring.Options{Alg: keyring.PS512, ID: "pk1"}, []want{{f.rsa, keyring.PS512, "pk1"}}},
		{"PEM SPKI P-256", pemBlock("PUBLIC KEY", spkiDER(&f.p256.PublicKey)), keyring.Options{}, []want{{f.p256, keyring.ES256, ""}}},
		{"PEM SPKI P-521", pemBlock("PUBLIC KEY", spkiDER(&f.p521.PublicKey)), keyring.Options{}, []want{{f.p521, keyring.ES512, ""}}},
		{"PEM SPKI Ed25519", pemBlock("PUBLIC KEY", spkiDER(f.ed25519.Public())), keyring.Options{}, []want{{f.ed25519, keyring.EdDSA, ""}}},
		{"PEM SPKI Ed448", pemBlock("PUBLIC KEY", spkiDER(f.ed448.Public())), keyring.Options{}, []want{{f.ed448, keyring.EdDSA, ""}}},
		{"PEM certificate RSA", pemBlock("CERTIFICATE", selfSigned(f.rsa)), keyring.Options{Alg: keyring.RS256}, []want{{f.rsa, keyring.RS256, ""}}},
		{"PEM certificate P-384", pemBlock("CERTIFICATE", selfSigned(f.p384)), keyring.Options{}, []want{{f.p384, keyring.ES384, ""}}},
		{"PEM certificate Ed25519", pemBlock("CERTIFICATE", selfSigned(f.ed25519)), keyring.Options{}, []want{{f.ed25519, keyring.EdDSA, ""}}},
		{"PEM certificate Ed448", pemBlock("CERTIFICATE", selfSigned(f.ed448)), keyring.Options{}, []want{{f.ed448, keyring.EdDSA, ""}}},
		{"PEM several blocks", bytes.Join([][]byte{
			[]byte("\n"),
			pemBlock("PUBLIC KEY", spkiDER(&f.p256.PublicKey)),
			pemBlock("CERTIFICATE", selfSigned(f.ed25519)),
			[]byte("\r\n"),
			pemBlock("PUBLIC KEY", spkiDER(f.ed448.Public())),
		}, nil), keyring.Options{}, []want{{f.p256, keyring.ES256, ""}, {f.ed25519, keyring.EdDSA, ""}, {f.ed448, keyring.EdDSA, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Source, tt.o.Issuer, tt.o.Client = "test.src", "https://issuer.example", "client-1"
			keys, err := keyring.ParseKeys(tt.data, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(tt.want) {
				t.Fatalf("got %d keys, want %d", len(keys), len(tt.want))
			}
			for i, w := range tt.want {
				k := keys[i]
				if k.Alg() != w.alg {
					t.Errorf("key %d: alg %s, want %s", i, k.Alg(), w.alg)
				}
				wantKID := w.kid
				if wantKID == "" {
					wantKID = k.Thumbprint()
				}
				if k.ID() != wantKID {
					t.Errorf("key %d: kid %q, want %q", i, k.ID(), wantKID)
				}
				if k.Issuer() != tt.o.Issuer || k.Client() != tt.o.Client || k.Source() != tt.o.Source {
					t.Errorf("key %d: issuer/client/source %q %q %q not from options", i, k.Issuer(), k.Client(), k.Source())
				}
				if _, secret := w.priv.([]byte); !secret && !samePublicKey(k.Public(), publicOf(w.priv)) {
					t.Errorf("key %d: public key differs from the one marshalled", i)
				}
				checkSigns(t, k, w.priv)
				// Re-encode public keys with MarshalJWK and load them
				// again: same key, same binding.
				if k.Public() != nil {
					b, err := k.MarshalJWK()
					if err != nil {
						t.Fatal(err)
					}
					k2, err := keyring.ParseJWK(b, keyring.Options{})
					if err != nil {
						t.Fatalf("reload of MarshalJWK output: %v", err)
					}
					if k2.ID() != k.ID() || k2.Alg() != k.Alg() || k2.Thumbprint() != k.Thumbprint() {
						t.Errorf("MarshalJWK round trip: got %s/%s/%s, want %s/%s/%s", k2.ID(), k2.Alg(), k2.Thumbprint(), k.ID(), k.Alg(), k.Thumbprint())
					}
				}
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	f := fixtures()
	secret := f.hs256
	tests := []struct {
		name string
		data []byte
		enc  keyring.SecretEncoding
	}{
		{"raw", secret, keyring.SecretRaw},
		{"raw with LF", append(bytes.Clone(secret), '\n'), keyring.SecretRaw},
		{"raw with CRLF", append(bytes.Clone(secret), '\r', '\n'), keyring.SecretRaw},
		{"base64", []byte(base64.StdEncoding.EncodeToString(secret) + "\n"), keyring.SecretBase64},
		{"base64 unpadded", []byte(base64.RawStdEncoding.EncodeToString(secret)), keyring.SecretBase64},
		{"base64url", []byte(base64.URLEncoding.EncodeToString(secret)), keyring.SecretBase64URL},
		{"base64url unpadded", []byte(base64.RawURLEncoding.EncodeToString(secret) + "\r\n"), keyring.SecretBase64URL},
		{"hex", []byte(hex.EncodeToString(secret) + "\n"), keyring.SecretHex},
		{"hex upper case", []byte(strings.ToUpper(hex.EncodeToString(secret))), keyring.SecretHex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := keyring.ParseSecret(tt.data, tt.enc, keyring.Options{Alg: keyring.HS256, ID: "s", Source: "secret.txt"})
			if err != nil {
				t.Fatal(err)
			}
			if k.ID() != "s" || k.Alg() != keyring.HS256 || k.Public() != nil {
				t.Fatalf("got kid %q alg %s public %v", k.ID(), k.Alg(), k.Public())
			}
			checkSigns(t, k, secret)
		})
	}
	for _, name := range []string{"raw", "base64", "base64url", "hex", ""} {
		e, err := keyring.ParseSecretEncoding(name)
		if err != nil {
			t.Fatal(err)
		}
		if want := name; want != "" && e.String() != want {
			t.Errorf("ParseSecretEncoding(%q).String() = %q", name, e.String())
		}
	}
	if _, err := keyring.ParseSecretEncoding("base32"); err == nil {
		t.Error("ParseSecretEncoding(base32) succeeded")
	}
}

// TestParseSecretErrorsHideSecret checks that no error message carries the
// secret's bytes, whatever went wrong with it.
func TestParseSecretErrorsHideSecret(t *testing.T) {
	const secret = "correct-horse-battery-staple-zz" // 31 bytes: too short for HS256
	tests := []struct {
		name string
		data string
		enc  keyring.SecretEncoding
		alg  keyring.Algorithm
		want error
	}{
		{"one byte short (RFC 7518 §3.2)", secret, keyring.SecretRaw, keyring.HS256, keyring.ErrInvalidKey},
		{"short for HS512", secret + secret, keyring.SecretRaw, keyring.HS512, keyring.ErrInvalidKey},
		{"no alg", secret + "x", keyring.SecretRaw, "", keyring.ErrInvalidKey},
		{"not an HMAC alg", secret + "x", keyring.SecretRaw, keyring.RS256, keyring.ErrInvalidKey},
		{"bad hex", secret + "x", keyring.SecretHex, keyring.HS256, keyring.ErrMalformed},
		{"odd hex", "abc", keyring.SecretHex, keyring.HS256, keyring.ErrMalformed},
		{"bad base64", secret + "!", keyring.SecretBase64, keyring.HS256, keyring.ErrMalformed},
		{"base64url in base64", "-_-_" + secret[:4], keyring.SecretBase64, keyring.HS256, keyring.ErrMalformed},
		{"empty", "\n", keyring.SecretRaw, keyring.HS256, keyring.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keyring.ParseSecret([]byte(tt.data), tt.enc, keyring.Options{Alg: tt.alg, Source: "env:TG_SECRET"})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, "env:TG_SECRET") {
				t.Errorf("error does not name the source: %s", msg)
			}
			for _, part := range []string{secret[:8], secret[8:16], secret[16:24], "correct", "staple"} {
				if strings.Contains(msg, part) {
					t.Errorf("error leaks secret bytes %q: %s", part, msg)
				}
			}
		})
	}
}

// --- rejections -----------------------------------------------------------

// invalidEd25519 is a 32-byte string that does not decode to a point of
// edwards25519 (y = 2 has no x): found by trying small y values.
const invalidEd25519 = "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func TestParseKeysRejects(t *testing.T) {
	f := fixtures()
	rsaPub := &f.rsa.PublicKey
	p256 := jwkMembers(&f.p256.PublicKey)
	x := p256["x"].(string)
	y := p256["y"].(string)
	xb, _ := enc64.DecodeString(x)
	yb, _ := enc64.DecodeString(y)
	offCurveY := bytes.Clone(yb)
	offCurveY[len(offCurveY)-1] ^= 1
	n := jwkMembers(rsaPub)["n"].(string)
	nb, _ := enc64.DecodeString(n)
	d := enc64.EncodeToString(f.rsa.D.Bytes())
	cert := func(priv any) string { return base64.StdEncoding.EncodeToString(selfSigned(priv)) }
	pkcs8, err := x509.MarshalPKCS8PrivateKey(f.p256)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, err := x509.MarshalECPrivateKey(f.p256)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519DER, err := x509.MarshalPKIXPublicKey(x25519.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	spkiP256 := pemBlock("PUBLIC KEY", spkiDER(&f.p256.PublicKey))
	// A base64url string whose last character carries non-zero unused bits
	// (RFC 4648 §3.5): 32 bytes encode to 43 characters, the last of which
	// holds 2 unused bits; flipping its lowest bit keeps the decoded bytes.
	ex := []byte(jwkMembers(f.ed25519.Public())["x"].(string))
	ex[len(ex)-1] = enc64Next(ex[len(ex)-1])
	nonCanonicalX := string(ex)

	tests := []struct {
		name string
		data []byte
		o    keyring.Options
		want error
	}{
		// JWK members and encodings.
		{"private member d (RSA)", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256", "d": d})), keyring.Options{}, keyring.ErrPrivateKey},
		{"private member d (EC)", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"d": enc64.EncodeToString(privBytes(f.p256))})), keyring.Options{}, keyring.ErrPrivateKey},
		{"private member p", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256", "p": "AQAB"})), keyring.Options{}, keyring.ErrPrivateKey},
		{"private member oth", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256", "oth": []any{}})), keyring.Options{}, keyring.ErrPrivateKey},
		{"private member d (Ed25519)", mustJSON(jwkWith(f.ed25519.Public(), map[string]any{"d": enc64.EncodeToString(f.ed25519.Seed())})), keyring.Options{}, keyring.ErrPrivateKey},
		{"use enc", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"use": "enc"})), keyring.Options{}, keyring.ErrUnusable},
		{"key_ops without verify", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"key_ops": []string{"sign", "encrypt"}})), keyring.Options{}, keyring.ErrUnusable},
		{"key_ops duplicate (RFC 7517 §4.3)", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"key_ops": []string{"verify", "verify"}})), keyring.Options{}, keyring.ErrMalformed},
		{"key_ops not an array", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"key_ops": "verify"})), keyring.Options{}, keyring.ErrMalformed},
		{"OKP X25519", mustJSON(map[string]any{"kty": "OKP", "crv": "X25519", "x": enc64.EncodeToString(x25519.PublicKey().Bytes())}), keyring.Options{}, keyring.ErrUnusable},
		{"unknown kty", mustJSON(map[string]any{"kty": "XYZ", "alg": "ML-DSA-44", "pub": "AAAA"}), keyring.Options{}, keyring.ErrUnusable},
		{"encryption alg", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RSA-OAEP"})), keyring.Options{}, keyring.ErrUnusable},
		{"kty missing", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"kty": nil})), keyring.Options{}, keyring.ErrMalformed},
		{"kid not a string", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"kid": 7})), keyring.Options{}, keyring.ErrMalformed},
		{"kid empty", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"kid": ""})), keyring.Options{}, keyring.ErrMalformed},
		{"short EC coordinate (RFC 7518 §6.2.1.2)", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"x": enc64.EncodeToString(xb[1:])})), keyring.Options{}, keyring.ErrMalformed},
		{"long EC coordinate", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"y": enc64.EncodeToString(append([]byte{0}, yb...))})), keyring.Options{}, keyring.ErrMalformed},
		{"P-256 coordinates under crv P-384", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"crv": "P-384"})), keyring.Options{}, keyring.ErrMalformed},
		{"EC y missing", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"y": nil})), keyring.Options{}, keyring.ErrMalformed},
		{"EC unknown curve", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"crv": "P-224"})), keyring.Options{}, keyring.ErrInvalidKey},
		{"padded base64url", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256", "n": n + "=="})), keyring.Options{}, keyring.ErrMalformed},
		{"standard base64 alphabet", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"x": strings.NewReplacer("-", "+", "_", "/").Replace(x) + "+"})), keyring.Options{}, keyring.ErrMalformed},
		{"non-canonical trailing bits (RFC 4648 §3.5)", mustJSON(map[string]any{"kty": "OKP", "crv": "Ed25519", "x": nonCanonicalX}), keyring.Options{}, keyring.ErrMalformed},
		{"line break inside base64url", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"x": x[:10] + "\n" + x[10:]})), keyring.Options{}, keyring.ErrMalformed},
		{"RSA n with leading zero (RFC 7518 §6.3.1.1)", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256", "n": enc64.EncodeToString(append([]byte{0}, nb...))})), keyring.Options{}, keyring.ErrMalformed},
		{"RSA key without alg", mustJSON(jwkMembers(rsaPub)), keyring.Options{}, keyring.ErrInvalidKey},
		{"oct key without alg", mustJSON(jwkMembers(f.hs256)), keyring.Options{}, keyring.ErrInvalidKey},
		{"alg mismatch with config", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256"})), keyring.Options{Alg: keyring.PS256}, keyring.ErrAlgMismatch},
		{"kid mismatch with config", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"kid": "a"})), keyring.Options{ID: "b"}, keyring.ErrAlgMismatch},
		{"alg ES521", mustJSON(jwkWith(&f.p521.PublicKey, map[string]any{"alg": "ES521"})), keyring.Options{}, keyring.ErrUnsupportedAlg},
		{"alg none", mustJSON(jwkWith(f.hs256, map[string]any{"alg": "none"})), keyring.Options{}, keyring.ErrUnsupportedAlg},
		{"alg lower case", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"alg": "es256"})), keyring.Options{}, keyring.ErrUnsupportedAlg},
		{"alg does not fit curve", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"alg": "ES384"})), keyring.Options{}, keyring.ErrInvalidKey},
		{"alg does not fit kty", mustJSON(jwkWith(f.ed25519.Public(), map[string]any{"alg": "RS256"})), keyring.Options{}, keyring.ErrInvalidKey},
		{"RSA 1024", mustJSON(jwkWith(&f.rsa1024.PublicKey, map[string]any{"alg": "RS256"})), keyring.Options{}, keyring.ErrInvalidKey},
		{"RSA e=3", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256", "e": "Aw"})), keyring.Options{}, keyring.ErrInvalidKey},
		{"RSA e=65536 (even)", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256", "e": "AQAA"})), keyring.Options{}, keyring.ErrInvalidKey},
		{"RSA e too long", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256", "e": "AQAAAAAB"})), keyring.Options{}, keyring.ErrInvalidKey},
		{"off-curve EC point", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"y": enc64.EncodeToString(offCurveY)})), keyring.Options{}, keyring.ErrInvalidKey},
		{"EC point at coordinates 0,0", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"x": enc64.EncodeToString(make([]byte, 32)), "y": enc64.EncodeToString(make([]byte, 32))})), keyring.Options{}, keyring.ErrInvalidKey},
		{"Ed25519 point not on curve", mustJSON(map[string]any{"kty": "OKP", "crv": "Ed25519", "x": invalidEd25519}), keyring.Options{}, keyring.ErrInvalidKey},
		{"Ed25519 x too short", mustJSON(map[string]any{"kty": "OKP", "crv": "Ed25519", "x": invalidEd25519[:40]}), keyring.Options{}, keyring.ErrMalformed},
		{"Ed448 x of Ed25519 length", mustJSON(jwkWith(f.ed25519.Public(), map[string]any{"crv": "Ed448"})), keyring.Options{}, keyring.ErrMalformed},
		{"HMAC secret one byte short", mustJSON(jwkWith(f.hs256[:31], map[string]any{"alg": "HS256"})), keyring.Options{}, keyring.ErrInvalidKey},
		{"HMAC secret empty", mustJSON(jwkWith([]byte{}, map[string]any{"alg": "HS256"})), keyring.Options{}, keyring.ErrInvalidKey},
		{"x5c mismatch", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"x5c": []string{cert(f.p256b)}})), keyring.Options{}, keyring.ErrCertMismatch},
		{"x5c of another key type", mustJSON(jwkWith(rsaPub, map[string]any{"alg": "RS256", "x5c": []string{cert(f.ed25519)}})), keyring.Options{}, keyring.ErrCertMismatch},
		{"x5c url-safe base64", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"x5c": []string{urlSafeCert(f.p256)}})), keyring.Options{}, keyring.ErrMalformed},
		{"x5c not a certificate", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString([]byte("not a cert"))}})), keyring.Options{}, keyring.ErrMalformed},
		{"x5c empty", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"x5c": []string{}})), keyring.Options{}, keyring.ErrMalformed},
		{"x5c on an oct key", mustJSON(jwkWith(f.hs256, map[string]any{"alg": "HS256", "x5c": []string{cert(f.p256)}})), keyring.Options{}, keyring.ErrMalformed},
		{"x5t#S256 mismatch", mustJSON(jwkWith(&f.p256.PublicKey, map[string]any{"x5c": []string{cert(f.p256)}, "x5t#S256": enc64.EncodeToString(make([]byte, 32))})), keyring.Options{}, keyring.ErrCertMismatch},
		{"duplicate member names", []byte(`{"kty":"OKP","crv":"Ed25519","x":"` + jwkMembers(f.ed25519.Public())["x"].(string) + `","x":"` + invalidEd25519 + `"}`), keyring.Options{}, keyring.ErrMalformed},
		{"duplicate alg member", []byte(`{"kty":"EC","alg":"ES256","crv":"P-256","x":"` + x + `","y":"` + y + `","alg":"ES384"}`), keyring.Options{}, jsonx.ErrDuplicateName},
		{"trailing data after JSON", []byte(`{"keys":[]}` + "x"), keyring.Options{}, keyring.ErrMalformed},
		{"JSON array", []byte(`[` + string(mustJSON(p256)) + `]`), keyring.Options{}, keyring.ErrMalformed},

		// JWK Sets.
		{"duplicate kid", jwksOf(jwkWith(&f.p256.PublicKey, map[string]any{"kid": "k"}), jwkWith(&f.p384.PublicKey, map[string]any{"kid": "k"})), keyring.Options{}, keyring.ErrDuplicateKID},
		{"same key twice without kid", jwksOf(p256, p256), keyring.Options{}, keyring.ErrDuplicateKID},
		{"secrets and public keys mixed", jwksOf(jwkWith(f.hs256, map[string]any{"alg": "HS256", "kid": "h"}), jwkWith(&f.p256.PublicKey, map[string]any{"kid": "e"})), keyring.Options{}, keyring.ErrMixedKeySet},
		{"no usable keys", jwksOf(jwkWith(&f.p256.PublicKey, map[string]any{"use": "enc"})), keyring.Options{}, keyring.ErrNoKeys},
		{"empty set", []byte(`{"keys":[]}`), keyring.Options{}, keyring.ErrNoKeys},
		{"keys not an array", []byte(`{"keys":{}}`), keyring.Options{}, keyring.ErrMalformed},
		{"set member not an object", []byte(`{"keys":["x"]}`), keyring.Options{}, keyring.ErrMalformed},
		{"configured id with a set", jwksOf(p256), keyring.Options{ID: "one"}, keyring.ErrMalformed},
		{"configured alg differs from a key", jwksOf(jwkWith(f.hs256, map[string]any{"kid": "one"}), jwkWith(f.hs512, map[string]any{"kid": "two", "alg": "HS512"})), keyring.Options{Alg: keyring.HS256}, keyring.ErrAlgMismatch},

		// PEM.
		{"PEM PKCS8 private key", pemBlock("PRIVATE KEY", pkcs8), keyring.Options{}, keyring.ErrPrivateKey},
		{"PEM EC private key", pemBlock("EC PRIVATE KEY", ecPriv), keyring.Options{}, keyring.ErrPrivateKey},
		{"PEM RSA private key", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(f.rsa)), keyring.Options{Alg: keyring.RS256}, keyring.ErrPrivateKey},
		{"PEM RSA without alg", pemBlock("PUBLIC KEY", spkiDER(rsaPub)), keyring.Options{}, keyring.ErrInvalidKey},
		{"PEM RSA 1024", pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&f.rsa1024.PublicKey)), keyring.Options{Alg: keyring.RS256}, keyring.ErrInvalidKey},
		{"PEM X25519", pemBlock("PUBLIC KEY", x25519DER), keyring.Options{}, keyring.ErrUnusable},
		{"PEM unknown type", pemBlock("OPENSSH PUBLIC KEY", []byte{1}), keyring.Options{}, keyring.ErrMalformed},
		{"PEM garbage before", append([]byte("hello\n"), spkiP256...), keyring.Options{}, keyring.ErrMalformed},
		{"PEM garbage between", bytes.Join([][]byte{spkiP256, []byte("junk\n"), pemBlock("PUBLIC KEY", spkiDER(&f.p384.PublicKey))}, nil), keyring.Options{}, keyring.ErrMalformed},
		{"PEM garbage after", append(bytes.Clone(spkiP256), "trailer"...), keyring.Options{}, keyring.ErrMalformed},
		{"PEM truncated", spkiP256[:len(spkiP256)-20], keyring.Options{}, keyring.ErrMalformed},
		{"PEM malformed block hides the next", append([]byte("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n"), spkiP256...), keyring.Options{}, keyring.ErrMalformed},
		{"PEM with headers", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: spkiDER(&f.p256.PublicKey)}), keyring.Options{}, keyring.ErrMalformed},
		{"PEM bad DER", pemBlock("PUBLIC KEY", []byte{0x30, 0x03, 1, 2, 3}), keyring.Options{}, keyring.ErrMalformed},
		{"PEM Ed448 with parameters", pemBlock("PUBLIC KEY", func() []byte {
			der, _ := asn1.Marshal(struct {
				Algorithm pkix.AlgorithmIdentifier
				PublicKey asn1.BitString
			}{pkix.AlgorithmIdentifier{Algorithm: oidEd448, Parameters: asn1.NullRawValue}, asn1.BitString{Bytes: make([]byte, 57), BitLength: 456}})
			return der
		}()), keyring.Options{}, keyring.ErrMalformed},
		{"PEM same key twice", bytes.Join([][]byte{spkiP256, spkiP256}, nil), keyring.Options{}, keyring.ErrDuplicateKID},
		{"PEM several keys with one id", bytes.Join([][]byte{spkiP256, pemBlock("PUBLIC KEY", spkiDER(&f.p384.PublicKey))}, nil), keyring.Options{ID: "one"}, keyring.ErrMalformed},

		// Whole documents.
		{"empty", nil, keyring.Options{}, keyring.ErrMalformed},
		{"not a key format", []byte("ssh-ed25519 AAAAC3Nza"), keyring.Options{}, keyring.ErrMalformed},
		{"too large", append([]byte(`{"keys":[`), bytes.Repeat([]byte(" "), keyring.MaxDocumentSize)...), keyring.Options{}, keyring.ErrTooLarge},
		{"truncated JSON", mustJSON(p256)[:40], keyring.Options{}, keyring.ErrMalformed},
		{"UTF-8 BOM", append([]byte("\xef\xbb\xbf"), mustJSON(p256)...), keyring.Options{}, keyring.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Source = "keys/test.jwk"
			keys, err := keyring.ParseKeys(tt.data, tt.o)
			if err == nil {
				t.Fatalf("loaded %d keys; want %v", len(keys), tt.want)
			}
			if keys != nil {
				t.Errorf("returned keys with the error")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v\nwant %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), "keys/test.jwk") {
				t.Errorf("error does not name the source: %v", err)
			}
		})
	}
}

// enc64Next flips the lowest bit of a base64url character's value.
func enc64Next(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return alphabet[i^1]
}

func TestParseSpecificFormats(t *testing.T) {
	f := fixtures()
	jwk := mustJSON(jwkMembers(&f.p256.PublicKey))
	set := jwksOf(jwkMembers(&f.p256.PublicKey))
	pemDoc := pemBlock("PUBLIC KEY", spkiDER(&f.p256.PublicKey))
	if _, err := keyring.ParseJWK(set, keyring.Options{}); !errors.Is(err, keyring.ErrMalformed) {
		t.Errorf("ParseJWK(JWKS) = %v, want ErrMalformed", err)
	}
	if _, err := keyring.ParseJWKS(jwk, keyring.Options{}); !errors.Is(err, keyring.ErrMalformed) {
		t.Errorf("ParseJWKS(JWK) = %v, want ErrMalformed", err)
	}
	if _, err := keyring.ParsePEM(jwk, keyring.Options{}); !errors.Is(err, keyring.ErrMalformed) {
		t.Errorf("ParsePEM(JWK) = %v, want ErrMalformed", err)
	}
	if _, err := keyring.ParseJWK(pemDoc, keyring.Options{}); !errors.Is(err, keyring.ErrMalformed) {
		t.Errorf("ParseJWK(PEM) = %v, want ErrMalformed", err)
	}
	if _, err := keyring.ParsePEM(nil, keyring.Options{}); !errors.Is(err, keyring.ErrNoKeys) {
		t.Errorf("ParsePEM(nil) = %v, want ErrNoKeys", err)
	}
	k, err := keyring.ParseJWK(jwk, keyring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keyring.ParseJWKS(set, keyring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kp, err := keyring.ParsePEM(pemDoc, keyring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k.ID() != ks[0].ID() || k.ID() != kp[0].ID() {
		t.Errorf("one key, three kids: %s %s %s", k.ID(), ks[0].ID(), kp[0].ID())
	}
}

// TestParseJWKSSkips checks that keys not for signature verification are
// left out of a set and reported, not treated as errors.
func TestParseJWKSSkips(t *testing.T) {
	f := fixtures()
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set := jwksOf(
		jwkWith(&f.p256.PublicKey, map[string]any{"kid": "sig"}),
		jwkWith(&f.p384.PublicKey, map[string]any{"kid": "enc", "use": "enc"}),
		jwkWith(&f.rsa.PublicKey, map[string]any{"kid": "oaep", "alg": "RSA-OAEP-256"}),
		jwkWith(&f.p521.PublicKey, map[string]any{"kid": "ops", "key_ops": []string{"deriveKey"}}),
		map[string]any{"kty": "OKP", "crv": "X25519", "kid": "ecdh", "x": enc64.EncodeToString(x25519.PublicKey().Bytes())},
		map[string]any{"kty": "XYZ", "alg": "ML-DSA-65", "kid": "pq", "pub": "AAAA"}, // an unknown kty (AKP is known since RFC 9964)
		map[string]any{"kty": "EC", "crv": "secp256k1", "kid": "k1", "x": "AAAA", "y": "AAAA"},
		// Same kid as "sig", but skipped: not a duplicate.
		jwkWith(&f.p256b.PublicKey, map[string]any{"kid": "sig", "use": "enc"}),
	)
	keys, skipped, err := keyring.ParseKeysReport(set, keyring.Options{Source: "idp.json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].ID() != "sig" {
		t.Fatalf("got %d keys, want only kid sig", len(keys))
	}
	wantSkipped := []struct {
		index int
		kid   string
	}{{1, "enc"}, {2, "oaep"}, {3, "ops"}, {4, "ecdh"}, {5, "pq"}, {6, "k1"}, {7, "sig"}}
	if len(skipped) != len(wantSkipped) {
		t.Fatalf("skipped %v, want %d entries", skipped, len(wantSkipped))
	}
	for i, w := range wantSkipped {
		s := skipped[i]
		if s.Index != w.index || s.KID != w.kid || s.Source != "idp.json" || s.Reason == "" {
			t.Errorf("skipped[%d] = %+v, want index %d kid %s", i, s, w.index, w.kid)
		}
		if !strings.Contains(s.String(), "idp.json") || !strings.Contains(s.String(), w.kid) {
			t.Errorf("skipped[%d].String() = %q", i, s.String())
		}
	}
}

// TestParseJWKSReportsEveryBadKey checks that one load reports all bad keys,
// each named by source and kid or position.
func TestParseJWKSReportsEveryBadKey(t *testing.T) {
	f := fixtures()
	set := jwksOf(
		jwkWith(&f.p256.PublicKey, map[string]any{"kid": "good"}),
		jwkWith(&f.rsa1024.PublicKey, map[string]any{"kid": "weak", "alg": "RS256"}),
		jwkWith(&f.p384.PublicKey, map[string]any{"alg": "ES521"}),
		jwkWith(&f.rsa.PublicKey, map[string]any{"kid": "secret", "alg": "RS256", "d": "AQAB"}),
	)
	_, err := keyring.ParseJWKS(set, keyring.Options{Source: "/etc/tokengate/jwks.json"})
	if err == nil {
		t.Fatal("loaded")
	}
	for _, want := range []error{keyring.ErrInvalidKey, keyring.ErrUnsupportedAlg, keyring.ErrPrivateKey} {
		if !errors.Is(err, want) {
			t.Errorf("error does not match %v: %v", want, err)
		}
	}
	msg := err.Error()
	for _, want := range []string{`key #1 (kid "weak")`, "key #2:", `key #3 (kid "secret")`, "/etc/tokengate/jwks.json"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, `"good"`) {
		t.Errorf("error names the good key:\n%s", msg)
	}
	if strings.Count(msg, "\n") != 2 {
		t.Errorf("want three joined errors, one per line:\n%s", msg)
	}
	var ke *keyring.KeyError
	if !errors.As(err, &ke) || ke.Source != "/etc/tokengate/jwks.json" {
		t.Errorf("errors.As(*KeyError) = %v", ke)
	}
}

// --- RFC vectors ----------------------------------------------------------

// TestThumbprintRFC7638 uses the example of RFC 7638 §3.1: the RSA key of
// RFC 7517 Appendix A.1 and its SHA-256 thumbprint.
func TestThumbprintRFC7638(t *testing.T) {
	const jwk = `{
  "kty": "RSA",
  "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  "e": "AQAB",
  "alg": "RS256",
  "kid": "2011-04-29"
}`
	const want = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	k, err := keyring.ParseJWK([]byte(jwk), keyring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k.Thumbprint() != want || k.ID() != "2011-04-29" || k.Alg() != keyring.RS256 {
		t.Fatalf("thumbprint %s kid %s alg %s; want %s 2011-04-29 RS256", k.Thumbprint(), k.ID(), k.Alg(), want)
	}
	// Without "kid", the thumbprint is the kid.
	noKID := strings.Replace(jwk, `,
  "kid": "2011-04-29"`, "", 1)
	k, err = keyring.ParseJWK([]byte(noKID), keyring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k.ID() != want {
		t.Fatalf("kid %s, want the thumbprint %s", k.ID(), want)
	}
}

// TestThumbprintRFC8037 uses RFC 8037 Appendix A.3 (thumbprint of the
// Ed25519 key of A.2) and A.4 (its EdDSA JWS), from testdata/rfc8037.json.
func TestThumbprintRFC8037(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "rfc8037.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Public     json.RawMessage `json:"public_key_jwk"`
		Private    json.RawMessage `json:"private_key_jwk"`
		Thumbprint string          `json:"jwk_thumbprint_sha256"`
		JWS        struct {
			Compact string `json:"compact"`
		} `json:"jws"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	k, err := keyring.ParseJWK(v.Public, keyring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k.Thumbprint() != v.Thumbprint || k.ID() != v.Thumbprint || k.Alg() != keyring.EdDSA {
		t.Fatalf("thumbprint %s kid %s alg %s, want %s (RFC 8037 A.3) and EdDSA", k.Thumbprint(), k.ID(), k.Alg(), v.Thumbprint)
	}
	parts := strings.Split(v.JWS.Compact, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	if !k.Verify([]byte(parts[0]+"."+parts[1]), sig) {
		t.Fatal("RFC 8037 A.4 JWS does not verify")
	}
	// A.1 is the private JWK: a verification keyring refuses it.
	if _, err := keyring.ParseJWK(v.Private, keyring.Options{}); !errors.Is(err, keyring.ErrPrivateKey) {
		t.Fatalf("private JWK: err = %v, want ErrPrivateKey", err)
	}
}

// --- Wycheproof -----------------------------------------------------------

// jwkVectorFile is the part of Wycheproof's json_web_key_test.json the test
// reads (testdata/wycheproof-jwk/README.md).
type jwkVectorFile struct {
	NumberOfTests int `json:"numberOfTests"`
	TestGroups    []struct {
		Comment string          `json:"comment"`
		Public  json.RawMessage `json:"public"`
		Private json.RawMessage `json:"private"`
		Tests   []struct {
			TcID    int      `json:"tcId"`
			Comment string   `json:"comment"`
			JWS     string   `json:"jws"`
			Result  string   `json:"result"`
			Flags   []string `json:"flags"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// TestWycheproofJSONWebKey runs Wycheproof json_web_key_test.json
// (testdata/wycheproof-jwk): each group's key set is loaded with ParseJWKS,
// each JWS is verified with the key its header names. A valid test must
// load and verify; an invalid one must fail to load or fail to verify, and
// where tokengate refuses the set, the reason is pinned below.
func TestWycheproofJSONWebKey(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "wycheproof-jwk", "json_web_key_test.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file jwkVectorFile
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	// Why each refused set is refused, by tcId.
	refused := map[int]error{
		1:  keyring.ErrMixedKeySet,    // HMAC secret and EC public key in one set
		4:  keyring.ErrDuplicateKID,   // two keys, one kid
		6:  keyring.ErrNoKeys,         // only key has use "enc" (skipped)
		7:  keyring.ErrInvalidKey,     // ROCA modulus (CVE-2017-15361)
		8:  keyring.ErrInvalidKey,     // 1024-bit RSA
		9:  keyring.ErrInvalidKey,     // e = 1
		10: keyring.ErrInvalidKey,     // HS256 key of 31 bytes
		11: keyring.ErrInvalidKey,     // HS384 key of 47 bytes
		12: keyring.ErrInvalidKey,     // HS512 key of 63 bytes
		16: keyring.ErrInvalidKey,     // empty HMAC key
		17: keyring.ErrInvalidKey,     // empty HMAC key
		18: keyring.ErrInvalidKey,     // empty HMAC key
		19: keyring.ErrUnsupportedAlg, // "ES521"
		20: keyring.ErrUnsupportedAlg, // "ES224"
		21: keyring.ErrNoKeys,         // use "enc"
		22: keyring.ErrInvalidKey,     // point not on the curve
		23: keyring.ErrMalformed,      // P-256 coordinates with crv P-384
		24: keyring.ErrMalformed,      // kty RSA without n and e
		25: keyring.ErrNoKeys,         // alg A256GCM: an encryption key (skipped)
		26: keyring.ErrNoKeys,         // alg A256KW: an encryption key (skipped)
	}
	ran := 0
	for _, g := range file.TestGroups {
		set := g.Public
		if len(set) == 0 {
			set = g.Private // HMAC sets: a secret is all there is
		}
		keys, loadErr := keyring.ParseJWKS(set, keyring.Options{Source: "wycheproof:" + g.Comment})
		for _, tc := range g.Tests {
			ran++
			t.Run(fmt.Sprintf("tcId%d_%s", tc.TcID, tc.Comment), func(t *testing.T) {
				if want, ok := refused[tc.TcID]; ok {
					if !errors.Is(loadErr, want) {
						t.Fatalf("load error = %v, want %v", loadErr, want)
					}
				} else if loadErr != nil {
					t.Fatalf("set refused: %v", loadErr)
				}
				verified := loadErr == nil && verifyCompact(t, keys, tc.JWS)
				switch tc.Result {
				case "valid":
					if !verified {
						t.Fatalf("valid JWS does not verify (flags %v)", tc.Flags)
					}
				case "invalid":
					if verified {
						t.Fatalf("invalid JWS verifies (flags %v)", tc.Flags)
					}
				default:
					t.Fatalf("unexpected result %q", tc.Result)
				}
			})
		}
	}
	if ran != file.NumberOfTests {
		t.Fatalf("ran %d tests, file has %d", ran, file.NumberOfTests)
	}
}

// verifyCompact verifies a compact JWS at the JWS layer: split, decode,
// find the key by kid and alg, require the key's alg to be the header's,
// check the signature.
func verifyCompact(t *testing.T, keys []*keyring.Key, jws string) bool {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return false
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if json.Unmarshal(hb, &h) != nil {
		return false
	}
	alg, ok := keyring.LookupAlgorithm([]byte(h.Alg))
	if !ok {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	snap, err := keyring.NewSnapshot(1, keys...)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := snap.Find(nil, []byte(h.Kid), alg)
	if !ok || k.Alg() != alg {
		return false
	}
	return k.Verify([]byte(parts[0]+"."+parts[1]), sig)
}

// privBytes is the private scalar of k, fixed width (a "d" member).
func privBytes(k *ecdsa.PrivateKey) []byte {
	b, err := k.Bytes()
	if err != nil {
		panic(err)
	}
	return b
}

// urlSafeCert is a certificate of k in URL-safe base64 that really differs
// from the standard alphabet (holds a '-' or '_'): a certificate whose
// base64 happens to have no '+' or '/' would otherwise be valid either way.
func urlSafeCert(k any) string {
	for {
		s := base64.URLEncoding.EncodeToString(selfSigned(k))
		if strings.ContainsAny(s, "-_") {
			return s
		}
	}
}
