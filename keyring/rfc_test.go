package keyring_test

// The JWS examples of RFC 7515 Appendix A, RFC 7520 §4.1-§4.4 and RFC 8037
// Appendix A (testdata/rfc; see the README.md there) run against Key.Verify,
// the raw signature primitive: signing input and signature in, bool out.
// Public keys are built from the JWKs by hand, with no JWK parser, and each
// key is bound to the alg the RFC uses (the RFC 7515 and RFC 8037 JWKs carry
// no "alg"). For the deterministic algorithms (HS256, RS256, Ed25519) the
// private key re-creates the published signature byte for byte, which
// proves the files hold what the RFCs print.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/tokengate/tokengate/keyring"
)

// rfcJWK holds the JWK members the examples use, as printed.
type rfcJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	K   string `json:"k"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
	D   string `json:"d"`
	P   string `json:"p"`
	Q   string `json:"q"`
}

// rfcJWS is one compact JWS example in the rfc7515.json / rfc8037.json form.
type rfcJWS struct {
	Section         string  `json:"section"`
	Alg             string  `json:"alg"`
	Key             *rfcJWK `json:"key"`
	PublicKey       *rfcJWK `json:"public_key"`
	ProtectedHeader string  `json:"protected_header"`
	ProtectedB64u   string  `json:"protected_b64u"`
	Payload         string  `json:"payload"`
	PayloadB64u     string  `json:"payload_b64u"`
	SigningInput    string  `json:"signing_input"`
	SignatureB64u   string  `json:"signature_b64u"`
	Compact         string  `json:"compact"`
}

func readRFCFile(t *testing.T, v any, elem ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata", "rfc"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", filepath.Join(elem...), err)
	}
}

// b64u decodes base64url without padding (RFC 7515 §2), strictly.
func b64u(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		t.Fatalf("base64url %q: %v", s, err)
	}
	return b
}

// rfcPublicKey builds the keyring material for a public JWK by hand:
// RFC 7518 §6.4 (oct), §6.3.1 (RSA), §6.2.1 (EC), RFC 8037 §2 (OKP).
func rfcPublicKey(t *testing.T, j *rfcJWK) any {
	t.Helper()
	switch j.Kty {
	case "oct":
		return b64u(t, j.K)
	case "RSA":
		e := new(big.Int).SetBytes(b64u(t, j.E))
		if !e.IsInt64() || e.Int64() > 1<<31-1 {
			t.Fatalf("RSA e %s out of range", j.E)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(b64u(t, j.N)), E: int(e.Int64())}
	case "EC":
		curve := rfcCurve(t, j.Crv)
		size := (curve.Params().BitSize + 7) / 8
		x, y := b64u(t, j.X), b64u(t, j.Y)
		// RFC 7518 §6.2.1.2/§6.2.1.3: x and y are the full coordinate
		// length, leading zeros kept.
		if len(x) != size || len(y) != size {
			t.Fatalf("%s x/y are %d/%d bytes, want %d", j.Crv, len(x), len(y), size)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, slices.Concat([]byte{4}, x, y))
		if err != nil {
			t.Fatalf("%s point: %v", j.Crv, err)
		}
		return pub
	case "OKP":
		if j.Crv != "Ed25519" {
			t.Fatalf("OKP crv %q: only Ed25519 examples exist", j.Crv)
		}
		x := b64u(t, j.X)
		if len(x) != ed25519.PublicKeySize {
			t.Fatalf("Ed25519 x is %d bytes", len(x))
		}
		return ed25519.PublicKey(x)
	}
	t.Fatalf("kty %q", j.Kty)
	return nil
}

// samePublic compares two results of rfcPublicKey.
func samePublic(a, b any) bool {
	if s, ok := a.([]byte); ok {
		t, ok := b.([]byte)
		return ok && bytes.Equal(s, t)
	}
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

func rfcCurve(t *testing.T, crv string) elliptic.Curve {
	t.Helper()
	switch crv {
	case "P-256":
		return elliptic.P256()
	case "P-384":
		return elliptic.P384()
	case "P-521":
		return elliptic.P521()
	}
	t.Fatalf("crv %q", crv)
	return nil
}

// rfcSign re-creates a deterministic signature (HS256, RS256, EdDSA with
// Ed25519) from the private JWK.
func rfcSign(t *testing.T, alg keyring.Algorithm, priv *rfcJWK, input []byte) []byte {
	t.Helper()
	switch alg {
	case keyring.HS256:
		m := hmac.New(sha256.New, b64u(t, priv.K))
		m.Write(input)
		return m.Sum(nil)
	case keyring.RS256:
		pub := rfcPublicKey(t, priv).(*rsa.PublicKey)
		key := &rsa.PrivateKey{
			PublicKey: *pub,
			D:         new(big.Int).SetBytes(b64u(t, priv.D)),
			Primes:    []*big.Int{new(big.Int).SetBytes(b64u(t, priv.P)), new(big.Int).SetBytes(b64u(t, priv.Q))},
		}
		if err := key.Validate(); err != nil {
			t.Fatalf("RSA private key: %v", err)
		}
		key.Precompute()
		d := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case keyring.EdDSA:
		seed := b64u(t, priv.D)
		if len(seed) != ed25519.SeedSize {
			t.Fatalf("Ed25519 d is %d bytes", len(seed))
		}
		key := ed25519.NewKeyFromSeed(seed)
		if !bytes.Equal(key.Public().(ed25519.PublicKey), b64u(t, priv.X)) {
			t.Fatal("Ed25519 d does not derive x")
		}
		return ed25519.Sign(key, input)
	}
	t.Fatalf("%s is not deterministic", alg)
	return nil
}

// checkECPrivate proves an EC private JWK belongs to the public key: d·G
// must be the published point. (ECDSA signatures are randomized, so the
// published signature cannot be re-created.)
func checkECPrivate(t *testing.T, priv *rfcJWK, pub *ecdsa.PublicKey) {
	t.Helper()
	key, err := ecdsa.ParseRawPrivateKey(pub.Curve, b64u(t, priv.D))
	if err != nil {
		t.Fatalf("EC d: %v", err)
	}
	if !key.PublicKey.Equal(pub) {
		t.Fatal("EC d does not derive the published x, y")
	}
}

// checkVerify asserts that k verifies sig over input and that one flipped
// bit anywhere in the signature or the signing input breaks it.
func checkVerify(t *testing.T, k *keyring.Key, input, sig []byte) {
	t.Helper()
	if !k.Verify(input, sig) {
		t.Fatalf("%s: published signature rejected", k.Alg())
	}
	for _, i := range []int{0, len(sig) / 2, len(sig) - 1} {
		bad := bytes.Clone(sig)
		bad[i] ^= 0x01
		if k.Verify(input, bad) {
			t.Errorf("%s: signature with bit 0 of byte %d flipped accepted", k.Alg(), i)
		}
	}
	for _, i := range []int{0, len(input) / 2, len(input) - 1} {
		bad := bytes.Clone(input)
		bad[i] ^= 0x01
		if k.Verify(bad, sig) {
			t.Errorf("%s: signing input with bit 0 of byte %d flipped accepted", k.Alg(), i)
		}
	}
	if k.Verify(input, nil) {
		t.Errorf("%s: empty signature accepted", k.Alg())
	}
}

// checkOtherAlgs binds the same key material to every other algorithm the
// keyring accepts for it and asserts none verifies the example: the key
// decides the alg (RFC 8725 §3.1), e.g. the RFC 7520 RSA key loaded for
// RS256 must reject the PS384 example and the other way round.
func checkOtherAlgs(t *testing.T, material any, alg keyring.Algorithm, input, sig []byte) {
	t.Helper()
	for _, other := range keyring.Algorithms {
		if other == alg || (other.Family() == keyring.FamilyEdDSA && alg.Family() == keyring.FamilyEdDSA) {
			// EdDSA and Ed25519 (or Ed448) are one primitive on one key
			// (RFC 9864 §2.2): only the key's alg binding tells them
			// apart, which rfc9864_test.go checks.
			continue
		}
		k, err := keyring.NewKey(material, keyring.Options{Alg: other})
		if err != nil {
			continue // material and alg do not fit: refused at load
		}
		if k.Verify(input, sig) {
			t.Errorf("the %s example verifies under the same key bound to %s", alg, other)
		}
	}
}

// checkCompact checks that an example's pieces agree with each other
// (RFC 7515 §7.1: BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(sig)).
func checkCompact(t *testing.T, ex rfcJWS) {
	t.Helper()
	if got := string(b64u(t, ex.ProtectedB64u)); got != ex.ProtectedHeader {
		t.Errorf("protected_b64u decodes to %q, want protected_header %q", got, ex.ProtectedHeader)
	}
	if got := string(b64u(t, ex.PayloadB64u)); got != ex.Payload {
		t.Errorf("payload_b64u decodes to %q, want payload %q", got, ex.Payload)
	}
	if want := ex.ProtectedB64u + "." + ex.PayloadB64u; ex.SigningInput != want {
		t.Errorf("signing_input is not protected_b64u.payload_b64u")
	}
	if want := ex.SigningInput + "." + ex.SignatureB64u; ex.Compact != want {
		t.Errorf("compact is not signing_input.signature_b64u")
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal([]byte(ex.ProtectedHeader), &h); err != nil || h.Alg != ex.Alg {
		t.Errorf("protected header alg = %q (%v), want %q", h.Alg, err, ex.Alg)
	}
}

func TestRFC7515AppendixA(t *testing.T) {
	var f struct {
		Examples []rfcJWS `json:"examples"`
	}
	readRFCFile(t, &f, "rfc7515.json")

	// The JWKs of RFC 7515 carry no "alg": bind each to the alg of its
	// example (testdata/rfc/README.md, "Keys without alg or kid").
	tests := []struct {
		section string
		alg     keyring.Algorithm
	}{
		{"A.1", keyring.HS256},
		{"A.2", keyring.RS256},
		{"A.3", keyring.ES256},
		{"A.4", keyring.ES512},
	}
	bySection := map[string]rfcJWS{}
	for _, ex := range f.Examples {
		bySection[ex.Section] = ex
	}
	if len(bySection) != 5 || len(f.Examples) != 5 {
		t.Fatalf("want sections A.1-A.5 once each, got %d examples", len(f.Examples))
	}
	for _, tt := range tests {
		ex, ok := bySection[tt.section]
		if !ok {
			t.Fatalf("section %s missing", tt.section)
		}
		t.Run(tt.section+"_"+string(tt.alg), func(t *testing.T) {
			if ex.Alg != string(tt.alg) {
				t.Fatalf("example alg %q, want %s", ex.Alg, tt.alg)
			}
			checkCompact(t, ex)
			pub := rfcPublicKey(t, ex.PublicKey)
			k, err := keyring.NewKey(pub, keyring.Options{Alg: tt.alg, Source: "RFC 7515 " + tt.section})
			if err != nil {
				t.Fatal(err)
			}
			input, sig := []byte(ex.SigningInput), b64u(t, ex.SignatureB64u)
			checkVerify(t, k, input, sig)
			checkOtherAlgs(t, pub, tt.alg, input, sig)
			switch tt.alg {
			case keyring.HS256, keyring.RS256:
				if got := rfcSign(t, tt.alg, ex.Key, input); !bytes.Equal(got, sig) {
					t.Errorf("re-signing with the private key gives %s, RFC 7515 %s prints %s",
						base64.RawURLEncoding.EncodeToString(got), tt.section, ex.SignatureB64u)
				}
			case keyring.ES256, keyring.ES512:
				checkECPrivate(t, ex.Key, pub.(*ecdsa.PublicKey))
			}
		})
	}

	// A.5 is an Unsecured JWS ("alg":"none", empty signature). tokengate
	// has no "none" algorithm (RFC 7518 §3.6 makes it optional; RFC 8725
	// §3.1 says to reject it), so no key can ever be bound to it.
	t.Run("A.5_none", func(t *testing.T) {
		ex, ok := bySection["A.5"]
		if !ok {
			t.Fatal("section A.5 missing")
		}
		checkCompact(t, ex)
		if ex.Alg != "none" || ex.SignatureB64u != "" || ex.PublicKey != nil {
			t.Fatalf("A.5: alg %q, signature %q, key %v: not the unsecured example", ex.Alg, ex.SignatureB64u, ex.PublicKey)
		}
		for _, s := range []string{"none", "None", "NONE", "nOnE"} {
			if a, ok := keyring.LookupAlgorithm([]byte(s)); ok {
				t.Errorf("LookupAlgorithm(%q) = %q, true", s, a)
			}
			if _, err := keyring.ParseAlgorithm(s); err == nil {
				t.Errorf("ParseAlgorithm(%q) succeeded", s)
			}
		}
		if slices.Contains(keyring.Algorithms, keyring.Algorithm("none")) {
			t.Error(`keyring.Algorithms lists "none"`)
		}
		for _, tt := range tests {
			m := rfcPublicKey(t, bySection[tt.section].PublicKey)
			if k, err := keyring.NewKey(m, keyring.Options{Alg: "none"}); err == nil {
				t.Errorf("NewKey(%T, alg none) = %s key, want an error", m, k.Alg())
			}
			for _, alg := range keyring.Algorithms {
				if k, err := keyring.NewKey(m, keyring.Options{Alg: alg}); err == nil && k.Verify([]byte(ex.SigningInput), nil) {
					t.Errorf("%T bound to %s accepts the empty A.5 signature", m, alg)
				}
			}
		}
	})
}

// cookbookJWS is the ietf-jose/cookbook format of RFC 7520 §4.
type cookbookJWS struct {
	Input struct {
		Payload string `json:"payload"`
		Key     rfcJWK `json:"key"`
		Alg     string `json:"alg"`
	} `json:"input"`
	Signing struct {
		Protected     map[string]any `json:"protected"`
		ProtectedB64u string         `json:"protected_b64u"`
		SigInput      string         `json:"sig-input"`
		Sig           string         `json:"sig"`
	} `json:"signing"`
	Output struct {
		Compact string `json:"compact"`
	} `json:"output"`
}

func TestRFC7520Signatures(t *testing.T) {
	// RFC 7520 §3.3/§3.4 is one RSA key used for both RS256 (§4.1) and
	// PS384 (§4.2): a keyring key has one alg, so it is loaded once per
	// example, and checkOtherAlgs shows each binding rejects the other's.
	tests := []struct {
		name    string
		file    string
		alg     keyring.Algorithm
		pubFile string // RFC 7520 §3 JWK the example verifies with
		reSign  bool   // deterministic: re-create the signature
	}{
		{"4.1_RS256", "4_1.rsa_v15_signature.json", keyring.RS256, "3_3.rsa_public_key.json", true},
		{"4.2_PS384", "4_2.rsa-pss_signature.json", keyring.PS384, "3_3.rsa_public_key.json", false},
		{"4.3_ES512", "4_3.ecdsa_signature.json", keyring.ES512, "3_1.ec_public_key.json", false},
		{"4.4_HS256", "4_4.hmac-sha2_integrity_protection.json", keyring.HS256, "3_5.symmetric_key_mac_computation.json", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ex cookbookJWS
			readRFCFile(t, &ex, "rfc7520", tt.file)
			var jwk rfcJWK
			readRFCFile(t, &jwk, "rfc7520", tt.pubFile)
			if ex.Input.Alg != string(tt.alg) || ex.Signing.Protected["alg"] != string(tt.alg) {
				t.Fatalf("example alg %q / header alg %v, want %s", ex.Input.Alg, ex.Signing.Protected["alg"], tt.alg)
			}
			// Only the §3.5 HMAC key has an "alg"; it must agree.
			if jwk.Alg != "" && jwk.Alg != string(tt.alg) {
				t.Fatalf("%s has alg %q, example uses %s", tt.pubFile, jwk.Alg, tt.alg)
			}
			var hdr map[string]any
			if err := json.Unmarshal(b64u(t, ex.Signing.ProtectedB64u), &hdr); err != nil || !reflect.DeepEqual(hdr, ex.Signing.Protected) {
				t.Fatalf("protected_b64u decodes to %v (%v), want %v", hdr, err, ex.Signing.Protected)
			}
			if want := ex.Signing.ProtectedB64u + "." + base64.RawURLEncoding.EncodeToString([]byte(ex.Input.Payload)); ex.Signing.SigInput != want {
				t.Fatal("sig-input is not protected_b64u.BASE64URL(payload)")
			}
			if want := ex.Signing.SigInput + "." + ex.Signing.Sig; ex.Output.Compact != want {
				t.Fatal("output.compact is not sig-input.sig")
			}

			pub := rfcPublicKey(t, &jwk)
			// The private key in the example is the §3 public key's pair.
			if !samePublic(rfcPublicKey(t, &ex.Input.Key), pub) {
				t.Fatalf("input.key is not the key of %s", tt.pubFile)
			}
			k, err := keyring.NewKey(pub, keyring.Options{ID: jwk.Kid, Alg: tt.alg, Source: "RFC 7520 " + tt.pubFile})
			if err != nil {
				t.Fatal(err)
			}
			if k.ID() != jwk.Kid || k.Alg() != tt.alg {
				t.Errorf("key %q/%s, want %q/%s", k.ID(), k.Alg(), jwk.Kid, tt.alg)
			}
			input, sig := []byte(ex.Signing.SigInput), b64u(t, ex.Signing.Sig)
			checkVerify(t, k, input, sig)
			checkOtherAlgs(t, pub, tt.alg, input, sig)
			switch {
			case tt.reSign:
				if got := rfcSign(t, tt.alg, &ex.Input.Key, input); !bytes.Equal(got, sig) {
					t.Errorf("re-signing with the private key gives %s, RFC 7520 prints %s", base64.RawURLEncoding.EncodeToString(got), ex.Signing.Sig)
				}
			case tt.alg.Family() == keyring.FamilyECDSA:
				checkECPrivate(t, &ex.Input.Key, pub.(*ecdsa.PublicKey))
			}
		})
	}

}

func TestRFC8037Ed25519(t *testing.T) {
	var f struct {
		PrivateKeyJWK       rfcJWK `json:"private_key_jwk"`
		PublicKeyJWK        rfcJWK `json:"public_key_jwk"`
		JWKThumbprintSHA256 string `json:"jwk_thumbprint_sha256"`
		JWKThumbprintInput  string `json:"jwk_thumbprint_input"`
		JWS                 rfcJWS `json:"jws"`
	}
	readRFCFile(t, &f, "rfc8037.json")
	checkCompact(t, f.JWS)
	if f.JWS.Alg != string(keyring.EdDSA) {
		t.Fatalf("alg %q", f.JWS.Alg)
	}

	// RFC 8037 A.3: the thumbprint is SHA-256 over the published input.
	sum := sha256.Sum256([]byte(f.JWKThumbprintInput))
	if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != f.JWKThumbprintSHA256 {
		t.Fatalf("SHA-256 of jwk_thumbprint_input is %s, file says %s", got, f.JWKThumbprintSHA256)
	}

	pub := rfcPublicKey(t, &f.PublicKeyJWK)
	// No ID: NewKey derives the RFC 7638 thumbprint, which must be the one
	// RFC 8037 A.3 publishes.
	k, err := keyring.NewKey(pub, keyring.Options{Alg: keyring.EdDSA, Source: "RFC 8037 A.2"})
	if err != nil {
		t.Fatal(err)
	}
	if k.ID() != f.JWKThumbprintSHA256 || k.Thumbprint() != f.JWKThumbprintSHA256 {
		t.Errorf("ID %q, Thumbprint %q, want RFC 8037 A.3 %q", k.ID(), k.Thumbprint(), f.JWKThumbprintSHA256)
	}
	input, sig := []byte(f.JWS.SigningInput), b64u(t, f.JWS.SignatureB64u)
	checkVerify(t, k, input, sig)
	checkOtherAlgs(t, pub, keyring.EdDSA, input, sig)
	if f.PrivateKeyJWK.X != f.PublicKeyJWK.X {
		t.Fatal("private and public JWK differ in x")
	}
	if got := rfcSign(t, keyring.EdDSA, &f.PrivateKeyJWK, input); !bytes.Equal(got, sig) {
		t.Errorf("re-signing with the private key gives %s, RFC 8037 A.4 prints %s", base64.RawURLEncoding.EncodeToString(got), f.JWS.SignatureB64u)
	}
}
