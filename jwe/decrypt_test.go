package jwe_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/jwe"
)

// TestRoundTrip encrypts and decrypts for every supported alg × enc (and
// every curve for ECDH-ES*), with and without kid, with apu/apv.
func TestRoundTrip(t *testing.T) {
	f := fixedKeys(t)
	d := newDecrypter(t, f.set, jwe.Options{})
	for _, c := range f.combos() {
		t.Run(c.String(), func(t *testing.T) {
			tok := encrypt(t, f, c, innerJWT, nil)
			if !jwe.IsJWE(tok) {
				t.Fatal("IsJWE false")
			}
			pt, hdr, err := d.Decrypt(tok)
			if err != nil {
				t.Fatal(err)
			}
			if string(pt) != innerJWT || hdr.Alg != c.alg || hdr.Enc != c.enc || hdr.Kid != c.kid || hdr.Cty != "JWT" {
				t.Fatalf("got %q %+v", pt, hdr)
			}
			// AppendDecrypt appends and leaves the prefix alone.
			out, _, err := d.AppendDecrypt([]byte("prefix:"), tok)
			if err != nil || string(out) != "prefix:"+innerJWT {
				t.Fatalf("append: %q %v", out, err)
			}
			// Without kid: found because the key is the only one for its alg
			// in a one-key set.
			one, err := jwe.NewKeySet(f.key(t, c.kid))
			if err != nil {
				t.Fatal(err)
			}
			tok = encrypt(t, f, c, innerJWT, &jwe.EncryptOptions{APU: []byte("Alice"), APV: []byte("Bob")})
			pt, hdr, err = newDecrypter(t, one, jwe.Options{}).Decrypt(tok)
			if err != nil || string(pt) != innerJWT || hdr.Kid != c.kid {
				t.Fatalf("no kid: %q %+v %v", pt, hdr, err)
			}
		})
	}
	// Empty and block-sized plaintexts exercise the padding edges.
	for _, pt := range []string{"", "0123456789abcdef", strings.Repeat("x", 1000)} {
		for _, c := range []combo{{"dir-32", jwe.Direct, jwe.A128CBCHS256}, {"dir-64", jwe.Direct, jwe.A256CBCHS512}, {"dir-16", jwe.Direct, jwe.A128GCM}} {
			got, _, err := d.Decrypt(encrypt(t, f, c, pt, nil))
			if err != nil || string(got) != pt {
				t.Fatalf("%v len %d: %v", c, len(pt), err)
			}
		}
	}
}

// TestTamper flips every bit of every segment, in the decoded bytes (so
// the base64url stays valid and the cryptography must catch it) and in the
// encoded text: decryption must fail and release no plaintext.
func TestTamper(t *testing.T) {
	f := fixedKeys(t)
	d := newDecrypter(t, f.set, jwe.Options{AllowAnyContentType: true})
	for _, c := range f.combos() {
		// The content layer does not depend on the curve: every enc on
		// P-256 and X25519; on the slower P-384 and P-521 (about 1 ms per
		// agreement, 20 under -race) one enc and a smaller sample.
		bits, chars := 96, 64
		if strings.HasSuffix(c.kid, "/P-384") || strings.HasSuffix(c.kid, "/P-521") {
			if c.enc != jwe.A128GCM {
				continue
			}
			bits, chars = 24, 16
		}
		t.Run(c.String(), func(t *testing.T) {
			t.Parallel() // one Decrypter, used concurrently
			tok := encrypt(t, f, c, innerJWT, nil)
			parts := segments(tok)
			for seg := range parts {
				raw, err := base64.RawURLEncoding.DecodeString(string(parts[seg]))
				if err != nil {
					t.Fatal(err)
				}
				for _, bit := range spread(len(raw)*8, bits) {
					mod := bytes.Clone(raw)
					mod[bit/8] ^= 1 << (bit % 8)
					p := segments(tok)
					p[seg] = []byte(b64(mod))
					checkRejected(t, d, join(p), seg, bit)
				}
				// Drop or add a byte.
				if len(raw) > 0 {
					p := segments(tok)
					p[seg] = []byte(b64(raw[:len(raw)-1]))
					checkRejected(t, d, join(p), seg, -1)
				}
				p := segments(tok)
				p[seg] = []byte(b64(append(bytes.Clone(raw), 0)))
				checkRejected(t, d, join(p), seg, -2)
			}
			// Encoded text: characters replaced, spread over the token.
			for _, i := range spread(len(tok), chars) {
				if tok[i] == '.' {
					continue
				}
				mod := bytes.Clone(tok)
				mod[i] ^= 0x01
				checkRejected(t, d, mod, -1, i)
			}
		})
	}
}

// spread returns every index below n when n <= max, else max indices
// spread evenly from 0 to n-1 (the first and last always included): every
// bit of IVs, tags and wrapped keys, a sample of long segments.
func spread(n, max int) []int {
	out := make([]int, 0, min(n, max))
	if n <= max {
		for i := range n {
			out = append(out, i)
		}
		return out
	}
	for i := range max {
		out = append(out, i*(n-1)/(max-1))
	}
	return out
}

func checkRejected(t *testing.T, d *jwe.Decrypter, tok []byte, seg, bit int) {
	t.Helper()
	dst := []byte("keep")
	out, _, err := d.AppendDecrypt(dst, tok)
	var e *jwe.Error
	if err == nil || !errors.As(err, &e) {
		t.Fatalf("segment %d bit %d: accepted (%v)", seg, bit, err)
	}
	if string(out) != "keep" {
		t.Fatalf("segment %d bit %d: output changed to %q", seg, bit, out)
	}
	if bytes.Contains([]byte(err.Error()), []byte(innerJWT[:10])) {
		t.Fatalf("error carries plaintext: %v", err)
	}
}

// TestInvalidCurve covers the invalid-curve attack on ECDH-ES: an epk that
// is not on the curve, on another curve, the point at infinity, compressed,
// X25519 low-order points, malformed coordinates.
func TestInvalidCurve(t *testing.T) {
	f := fixedKeys(t)
	d := newDecrypter(t, f.set, jwe.Options{})

	tok := encrypt(t, f, combo{"ECDH-ES/P-256", jwe.ECDHES, jwe.A128GCM}, innerJWT, nil)
	var hdr map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(string(segments(tok)[0]))
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatal(err)
	}
	epk := hdr["epk"].(map[string]any)
	x, _ := base64.RawURLEncoding.DecodeString(epk["x"].(string))
	y, _ := base64.RawURLEncoding.DecodeString(epk["y"].(string))
	yPlus1 := new(big.Int).Add(new(big.Int).SetBytes(y), big.NewInt(1)).FillBytes(make([]byte, 32))

	p384, _ := ecdh.P384().GenerateKey(rand.Reader)
	p384b := p384.PublicKey().Bytes()
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	zero32 := make([]byte, 32)

	tests := []struct {
		name string
		kid  string
		epk  map[string]any
		want error
	}{
		{"off curve (y+1)", "ECDH-ES/P-256", map[string]any{"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(yPlus1)}, jwe.ErrInvalidEPK},
		{"(0,0)", "ECDH-ES/P-256", map[string]any{"kty": "EC", "crv": "P-256", "x": b64(zero32), "y": b64(zero32)}, jwe.ErrInvalidEPK},
		{"x = p", "ECDH-ES/P-256", map[string]any{"kty": "EC", "crv": "P-256", "x": b64(elliptic.P256().Params().P.FillBytes(make([]byte, 32))), "y": b64(y)}, jwe.ErrInvalidEPK},
		{"short x", "ECDH-ES/P-256", map[string]any{"kty": "EC", "crv": "P-256", "x": b64(x[1:]), "y": b64(y)}, jwe.ErrInvalidEPK},
		{"missing y", "ECDH-ES/P-256", map[string]any{"kty": "EC", "crv": "P-256", "x": b64(x)}, jwe.ErrInvalidEPK},
		{"P-384 point for a P-256 key", "ECDH-ES/P-256", map[string]any{"kty": "EC", "crv": "P-384", "x": b64(p384b[1:49]), "y": b64(p384b[49:])}, jwe.ErrEPKCurve},
		{"P-256 coordinates labelled P-384", "ECDH-ES/P-384", map[string]any{"kty": "EC", "crv": "P-384", "x": b64(x), "y": b64(y)}, jwe.ErrInvalidEPK},
		{"X25519 point for a P-256 key", "ECDH-ES/P-256", map[string]any{"kty": "OKP", "crv": "X25519", "x": b64(x25519.PublicKey().Bytes())}, jwe.ErrEPKCurve},
		{"kty OKP with crv P-256", "ECDH-ES/P-256", map[string]any{"kty": "OKP", "crv": "P-256", "x": b64(x), "y": b64(y)}, jwe.ErrInvalidEPK},
		{"unknown curve", "ECDH-ES/P-256", map[string]any{"kty": "EC", "crv": "secp256k1", "x": b64(x), "y": b64(y)}, jwe.ErrInvalidEPK},
		{"epk not an object", "ECDH-ES/P-256", nil, jwe.ErrInvalidEPK},
	}
	// RFC 7748 §6.1 / the usual list of X25519 points of small order (and
	// non-canonical encodings of them): the shared secret is all zero.
	for _, h := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000", // 0
		"0100000000000000000000000000000000000000000000000000000000000000", // 1
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (= 0)
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1 (= 1)
	} {
		tests = append(tests, struct {
			name string
			kid  string
			epk  map[string]any
			want error
		}{"X25519 low order " + h[:8], "ECDH-ES/X25519", map[string]any{"kty": "OKP", "crv": "X25519", "x": b64(mustHex(t, h))}, jwe.ErrInvalidEPK})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e any = tt.epk
			if tt.epk == nil {
				e = "not an object"
			}
			h := map[string]any{"alg": "ECDH-ES", "enc": "A128GCM", "cty": "JWT", "kid": tt.kid, "epk": e}
			j, _ := json.Marshal(h)
			bad := withHeader(tok, string(j))
			pt, _, err := d.Decrypt(bad)
			if !errors.Is(err, tt.want) || pt != nil {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}

	// A valid point on the right curve but not the one used: the CEK is
	// wrong, so the tag fails (not an epk error).
	other, _ := ecdh.P256().GenerateKey(rand.Reader)
	ob := other.PublicKey().Bytes()
	h := map[string]any{"alg": "ECDH-ES", "enc": "A128GCM", "cty": "JWT", "kid": "ECDH-ES/P-256",
		"epk": map[string]any{"kty": "EC", "crv": "P-256", "x": b64(ob[1:33]), "y": b64(ob[33:])}}
	j, _ := json.Marshal(h)
	if _, _, err := d.Decrypt(withHeader(tok, string(j))); !errors.Is(err, jwe.ErrDecrypt) {
		t.Fatalf("other epk: %v", err)
	}
}

// TestHeaderPolicy: refused header members and malformed headers.
func TestHeaderPolicy(t *testing.T) {
	f := fixedKeys(t)
	d := newDecrypter(t, f.set, jwe.Options{})
	base := encrypt(t, f, combo{"a128kw", jwe.A128KW, jwe.A128GCM}, innerJWT, nil)
	tests := []struct {
		name string
		hdr  string
		want error
	}{
		{"zip", `{"alg":"A128KW","enc":"A128GCM","cty":"JWT","kid":"a128kw","zip":"DEF"}`, jwe.ErrZip},
		{"crit", `{"alg":"A128KW","enc":"A128GCM","cty":"JWT","kid":"a128kw","crit":["exp"],"exp":1}`, jwe.ErrCrit},
		{"crit empty", `{"alg":"A128KW","enc":"A128GCM","cty":"JWT","kid":"a128kw","crit":[]}`, jwe.ErrCrit},
		{"RSA1_5", `{"alg":"RSA1_5","enc":"A128GCM","cty":"JWT","kid":"rsa"}`, jwe.ErrRSA1_5},
		{"PBES2-HS256+A128KW", `{"alg":"PBES2-HS256+A128KW","enc":"A128GCM","cty":"JWT","p2s":"c2FsdA","p2c":100000000}`, jwe.ErrPBES2},
		{"RSA-OAEP (SHA-1)", `{"alg":"RSA-OAEP","enc":"A128GCM","cty":"JWT"}`, jwe.ErrUnknownAlg},
		{"A192KW", `{"alg":"A192KW","enc":"A128GCM","cty":"JWT"}`, jwe.ErrUnknownAlg},
		{"A128GCMKW", `{"alg":"A128GCMKW","enc":"A128GCM","cty":"JWT"}`, jwe.ErrUnknownAlg},
		{"none", `{"alg":"none","enc":"A128GCM","cty":"JWT"}`, jwe.ErrUnknownAlg},
		{"alg case", `{"alg":"a128kw","enc":"A128GCM","cty":"JWT"}`, jwe.ErrUnknownAlg},
		{"A192GCM", `{"alg":"A128KW","enc":"A192GCM","cty":"JWT"}`, jwe.ErrUnknownEnc},
		{"no enc", `{"alg":"A128KW","cty":"JWT"}`, jwe.ErrMalformed},
		{"no alg", `{"enc":"A128GCM","cty":"JWT"}`, jwe.ErrMalformed},
		{"alg not a string", `{"alg":1,"enc":"A128GCM","cty":"JWT"}`, jwe.ErrMalformed},
		{"kid not a string", `{"alg":"A128KW","enc":"A128GCM","cty":"JWT","kid":7}`, jwe.ErrMalformed},
		{"duplicate alg", `{"alg":"A128KW","alg":"dir","enc":"A128GCM","cty":"JWT"}`, jwe.ErrMalformed},
		{"duplicate via escape", `{"alg":"A128KW","\u0061lg":"dir","enc":"A128GCM","cty":"JWT"}`, jwe.ErrMalformed},
		{"array", `["A128KW"]`, jwe.ErrMalformed},
		{"not JSON", `alg=A128KW`, jwe.ErrMalformed},
		{"trailing data", `{"alg":"A128KW","enc":"A128GCM","cty":"JWT"} x`, jwe.ErrMalformed},
		{"no cty", `{"alg":"A128KW","enc":"A128GCM","kid":"a128kw"}`, jwe.ErrContentType},
		{"cty JSON", `{"alg":"A128KW","enc":"A128GCM","kid":"a128kw","cty":"json"}`, jwe.ErrContentType},
		{"ECDH-ES without epk", `{"alg":"ECDH-ES","enc":"A128GCM","cty":"JWT"}`, jwe.ErrInvalidEPK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, _, err := d.Decrypt(withHeader(base, tt.hdr))
			if !errors.Is(err, tt.want) || pt != nil {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}

	// Allowed spellings of the nested-JWT content type (RFC 7515 §4.1.10:
	// case-insensitive; "application/" may be omitted).
	for _, cty := range []string{"JWT", "jwt", "Jwt", "application/jwt", "APPLICATION/JWT"} {
		tok := encrypt(t, f, combo{"a128kw", jwe.A128KW, jwe.A128GCM}, innerJWT, &jwe.EncryptOptions{Kid: "a128kw", ContentType: cty})
		if _, hdr, err := d.Decrypt(tok); err != nil || hdr.Cty != "JWT" {
			t.Errorf("cty %q: %v %q", cty, err, hdr.Cty)
		}
	}
	for _, cty := range []string{"JWS", "application/jwt+x", "text/jwt", "xJWT"} {
		tok := encrypt(t, f, combo{"a128kw", jwe.A128KW, jwe.A128GCM}, innerJWT, &jwe.EncryptOptions{Kid: "a128kw", ContentType: cty})
		if _, _, err := d.Decrypt(tok); !errors.Is(err, jwe.ErrContentType) {
			t.Errorf("cty %q: %v", cty, err)
		}
		any := newDecrypter(t, f.set, jwe.Options{AllowAnyContentType: true})
		if _, hdr, err := any.Decrypt(tok); err != nil || hdr.Cty != cty {
			t.Errorf("any cty %q: %v %q", cty, err, hdr.Cty)
		}
	}

	// The enc allow-list.
	gcmOnly := newDecrypter(t, f.set, jwe.Options{Encs: []jwe.ContentEncryption{jwe.A256GCM}})
	if _, _, err := gcmOnly.Decrypt(base); !errors.Is(err, jwe.ErrEncNotAllow) {
		t.Errorf("enc allow-list: %v", err)
	}
}

// TestStructure: segment count, strict base64url, fixed lengths.
func TestStructure(t *testing.T) {
	f := fixedKeys(t)
	d := newDecrypter(t, f.set, jwe.Options{})
	gcm := encrypt(t, f, combo{"a128kw", jwe.A128KW, jwe.A128GCM}, innerJWT, nil)
	dir := encrypt(t, f, combo{"dir-16", jwe.Direct, jwe.A128GCM}, innerJWT, nil)
	cbc := encrypt(t, f, combo{"a256kw", jwe.A256KW, jwe.A256CBCHS512}, innerJWT, nil)
	rsaTok := encrypt(t, f, combo{"rsa", jwe.RSAOAEP256, jwe.A128GCM}, innerJWT, nil)
	set := func(tok []byte, i int, v string) []byte {
		p := segments(tok)
		p[i] = []byte(v)
		return join(p)
	}
	p := segments(gcm)
	tests := []struct {
		name string
		tok  []byte
		want error
	}{
		{"empty", nil, jwe.ErrMalformed},
		{"JWS", []byte(innerJWT), jwe.ErrMalformed},
		{"six segments", append(bytes.Clone(gcm), '.'), jwe.ErrMalformed},
		{"empty header", set(gcm, 0, ""), jwe.ErrMalformed},
		{"empty iv", set(gcm, 2, ""), jwe.ErrMalformed},
		{"empty tag", set(gcm, 4, ""), jwe.ErrMalformed},
		{"padded header", set(gcm, 0, string(p[0])+strings.Repeat("=", (4-len(p[0])%4)%4+4)), jwe.ErrMalformed},
		{"newline in ciphertext", set(gcm, 3, string(p[3][:4])+"\n"+string(p[3][4:])), jwe.ErrMalformed},
		{"standard alphabet", set(gcm, 3, strings.NewReplacer("-", "+", "_", "/").Replace(string(p[3]))+"+/"), jwe.ErrMalformed},
		{"non-canonical tag", set(gcm, 4, string(p[4][:len(p[4])-1])+nonCanonical(p[4][len(p[4])-1])), jwe.ErrMalformed},
		{"96-bit IV as 128", set(gcm, 2, b64(make([]byte, 16))), jwe.ErrMalformed},
		{"IV 64-bit", set(gcm, 2, b64(make([]byte, 8))), jwe.ErrMalformed},
		{"GCM tag 96-bit", set(gcm, 4, b64(make([]byte, 12))), jwe.ErrMalformed},
		{"CBC IV 96-bit", set(cbc, 2, b64(make([]byte, 12))), jwe.ErrMalformed},
		{"CBC-HS512 tag 128-bit", set(cbc, 4, b64(make([]byte, 16))), jwe.ErrMalformed},
		{"dir with encrypted key", set(dir, 1, b64(make([]byte, 24))), jwe.ErrMalformed},
		{"KW key too short", set(gcm, 1, b64(make([]byte, 16))), jwe.ErrMalformed},
		{"KW key for 256-bit CEK", set(gcm, 1, b64(make([]byte, 40))), jwe.ErrMalformed},
		{"RSA key one byte short", set(rsaTok, 1, b64(make([]byte, 255))), jwe.ErrMalformed},
		{"CBC ciphertext not whole blocks", set(cbc, 3, b64(make([]byte, 17))), jwe.ErrMalformed},
		{"CBC ciphertext empty", set(cbc, 3, ""), jwe.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := d.Decrypt(tt.tok); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if jwe.IsJWE([]byte(innerJWT)) || !jwe.IsJWE([]byte("a.b.c.d.e")) || jwe.IsJWE([]byte("a.b.c.d.e.f")) {
		t.Error("IsJWE")
	}
}

// nonCanonical returns c with its unused low bits set (valid alphabet,
// same decoded bytes under a lax decoder).
func nonCanonical(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i|3])
}

// TestSizeLimits: oversized parts are refused before anything is decoded
// or decrypted: the limits win over invalid base64 and invalid JSON.
func TestSizeLimits(t *testing.T) {
	f := fixedKeys(t)
	d := newDecrypter(t, f.set, jwe.Options{})
	tok := encrypt(t, f, combo{"a128kw", jwe.A128KW, jwe.A128GCM}, innerJWT, nil)
	set := func(i int, v string) []byte {
		p := segments(tok)
		p[i] = []byte(v)
		return join(p)
	}
	garbage := func(n int) string { return strings.Repeat("!", n) } // not base64url at all
	tests := []struct {
		name string
		tok  []byte
		want error
	}{
		{"token", []byte(strings.Repeat("A", jwe.DefaultMaxTokenBytes+1)), jwe.ErrTokenTooLarge},
		{"header", set(0, garbage(jwe.DefaultMaxHeaderBytes*4/3+4)), jwe.ErrHeaderTooLarge},
		{"encrypted key", set(1, garbage(jwe.DefaultMaxEncryptedKeyBytes*4/3+4)), jwe.ErrEncryptedKeyTooLarge},
		{"ciphertext", set(3, garbage(jwe.DefaultMaxCiphertextBytes*4/3+4)), jwe.ErrCiphertextTooLarge},
	}
	// A token limit above the others, so each part's own limit is reached.
	big := newDecrypter(t, f.set, jwe.Options{MaxTokenBytes: 1 << 20})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dd := big
			if tt.want == jwe.ErrTokenTooLarge {
				dd = d
			}
			_, _, err := dd.Decrypt(tt.tok)
			if !errors.Is(err, tt.want) || !errors.Is(err, jwe.ErrTooLarge) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}

	// Configured limits apply, and the ciphertext limit is on decoded bytes.
	small := newDecrypter(t, f.set, jwe.Options{MaxCiphertextBytes: len(innerJWT) - 1})
	if _, _, err := small.Decrypt(tok); !errors.Is(err, jwe.ErrCiphertextTooLarge) {
		t.Fatalf("small ciphertext limit: %v", err)
	}
	exact := newDecrypter(t, f.set, jwe.Options{MaxCiphertextBytes: len(innerJWT), MaxTokenBytes: len(tok)})
	if _, _, err := exact.Decrypt(tok); err != nil {
		t.Fatalf("exact limits: %v", err)
	}
	if _, err := jwe.NewDecrypter(f.set, jwe.Options{MaxTokenBytes: -1}); err == nil {
		t.Fatal("negative limit accepted")
	}
}

// TestKeys: key sizes and bindings are checked when a key is made, and
// when a token meets a key.
func TestKeys(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	bad := []struct {
		name string
		alg  jwe.KeyAlgorithm
		enc  jwe.ContentEncryption
		m    any
	}{
		{"dir 24 bytes", jwe.Direct, "", make([]byte, 24)},
		{"dir 32 bytes for A128GCM", jwe.Direct, jwe.A128GCM, make([]byte, 32)},
		{"A128KW 32 bytes", jwe.A128KW, "", make([]byte, 32)},
		{"A256KW 16 bytes", jwe.A256KW, "", make([]byte, 16)},
		{"RSA 1024", jwe.RSAOAEP256, "", rsa1024},
		{"RSA for ECDH-ES", jwe.ECDHES, "", rsa1024},
		{"EC for RSA-OAEP-256", jwe.RSAOAEP256, "", p256},
		{"bytes for ECDH-ES", jwe.ECDHES, "", make([]byte, 32)},
		{"RSA1_5", "RSA1_5", "", make([]byte, 16)},
		{"unknown enc", jwe.Direct, "A192GCM", make([]byte, 24)},
		{"nil", jwe.Direct, "", nil},
		{"public key", jwe.ECDHES, "", p256.PublicKey()},
	}
	for _, tt := range bad {
		if _, err := jwe.NewKey("k", tt.alg, tt.enc, tt.m); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	if _, err := jwe.NewKey("k", jwe.ECDHESA256KW, "", ec); err != nil {
		t.Errorf("ecdsa key: %v", err)
	}

	// A dir key meets a token whose enc needs another key length.
	k32, _ := jwe.NewKey("k", jwe.Direct, "", bytes.Repeat([]byte{1}, 32))
	k16, _ := jwe.NewKey("k", jwe.Direct, "", bytes.Repeat([]byte{1}, 16))
	tok, err := jwe.Encrypt([]byte(innerJWT), jwe.Direct, jwe.A128GCM, k16, &jwe.EncryptOptions{Kid: "k"})
	if err != nil {
		t.Fatal(err)
	}
	set32, _ := jwe.NewKeySet(k32)
	if _, _, err := newDecrypter(t, set32, jwe.Options{}).Decrypt(tok); !errors.Is(err, jwe.ErrKeyNotFound) {
		t.Errorf("dir key size mismatch: %v", err)
	}
	// A key bound to one enc refuses another.
	kb, _ := jwe.NewKey("k", jwe.A128KW, jwe.A256GCM, bytes.Repeat([]byte{1}, 16))
	setB, _ := jwe.NewKeySet(kb)
	tok, _ = jwe.Encrypt([]byte(innerJWT), jwe.A128KW, jwe.A128GCM, bytes.Repeat([]byte{1}, 16), &jwe.EncryptOptions{Kid: "k"})
	if _, _, err := newDecrypter(t, setB, jwe.Options{}).Decrypt(tok); !errors.Is(err, jwe.ErrKeyNotFound) {
		t.Errorf("enc-bound key: %v", err)
	}
	// Encrypt refuses what decryption would refuse.
	if _, err := jwe.Encrypt(nil, jwe.RSAOAEP256, jwe.A128GCM, &rsa1024.PublicKey, nil); err == nil {
		t.Error("Encrypt to RSA-1024 accepted")
	}
	if _, err := jwe.Encrypt(nil, jwe.Direct, jwe.A256GCM, make([]byte, 16), nil); err == nil {
		t.Error("Encrypt dir with a short key accepted")
	}
	if _, err := jwe.Encrypt(nil, "RSA1_5", jwe.A128GCM, &rsa1024.PublicKey, nil); err == nil {
		t.Error("Encrypt RSA1_5 accepted")
	}
}

// TestKeyLookup: (kid, alg) lookup, and kid-less lookup only when one key
// has the header's alg.
func TestKeyLookup(t *testing.T) {
	a, _ := jwe.NewKey("a", jwe.A128KW, "", bytes.Repeat([]byte{1}, 16))
	b, _ := jwe.NewKey("b", jwe.A128KW, "", bytes.Repeat([]byte{2}, 16))
	c, _ := jwe.NewKey("a", jwe.A256KW, "", bytes.Repeat([]byte{3}, 32)) // same kid, other alg
	set, err := jwe.NewKeySet(a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwe.NewKeySet(a, a); err == nil {
		t.Error("duplicate (kid, alg) accepted")
	}
	if _, err := jwe.NewKeySet(); err == nil {
		t.Error("empty set accepted")
	}
	d := newDecrypter(t, set, jwe.Options{})
	enc := func(alg jwe.KeyAlgorithm, key []byte, kid string) []byte {
		tok, err := jwe.Encrypt([]byte(innerJWT), alg, jwe.A128GCM, key, &jwe.EncryptOptions{Kid: kid})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name string
		tok  []byte
		want error
		kid  string
	}{
		{"kid a A128KW", enc(jwe.A128KW, bytes.Repeat([]byte{1}, 16), "a"), nil, "a"},
		{"kid a A256KW", enc(jwe.A256KW, bytes.Repeat([]byte{3}, 32), "a"), nil, "a"},
		{"kid b", enc(jwe.A128KW, bytes.Repeat([]byte{2}, 16), "b"), nil, "b"},
		{"kid b with a's key", enc(jwe.A128KW, bytes.Repeat([]byte{1}, 16), "b"), jwe.ErrDecrypt, ""},
		{"kid b as A256KW", enc(jwe.A256KW, bytes.Repeat([]byte{3}, 32), "b"), jwe.ErrKeyAlgMismatch, ""},
		{"unknown kid", enc(jwe.A128KW, bytes.Repeat([]byte{1}, 16), "zzz"), jwe.ErrKeyNotFound, ""},
		{"no kid, two A128KW keys", enc(jwe.A128KW, bytes.Repeat([]byte{1}, 16), ""), jwe.ErrAmbiguousKey, ""},
		{"no kid, one A256KW key", enc(jwe.A256KW, bytes.Repeat([]byte{3}, 32), ""), nil, "a"},
		{"no kid, no dir key", enc(jwe.Direct, bytes.Repeat([]byte{1}, 16), ""), jwe.ErrKeyNotFound, ""},
	}
	for _, tt := range tests {
		_, hdr, err := d.Decrypt(tt.tok)
		if !errors.Is(err, tt.want) || (tt.want == nil && hdr.Kid != tt.kid) {
			t.Errorf("%s: %v kid %q, want %v %q", tt.name, err, hdr.Kid, tt.want, tt.kid)
		}
	}
	var nilSet *jwe.Decrypter = newDecrypter(t, nil, jwe.Options{})
	if _, _, err := nilSet.Decrypt(tests[0].tok); !errors.Is(err, jwe.ErrKeyNotFound) {
		t.Errorf("nil key set: %v", err)
	}
	nilSet.SetKeySet(set)
	if _, _, err := nilSet.Decrypt(tests[0].tok); err != nil {
		t.Errorf("after SetKeySet: %v", err)
	}
}

// TestErrors: every error is a *jwe.Error with a label and a safe reason.
func TestErrors(t *testing.T) {
	all := []*jwe.Error{
		jwe.ErrMalformed, jwe.ErrTooLarge, jwe.ErrUnsupported, jwe.ErrKeyNotFound, jwe.ErrDecrypt, jwe.ErrContentType,
		jwe.ErrTokenTooLarge, jwe.ErrHeaderTooLarge, jwe.ErrEncryptedKeyTooLarge, jwe.ErrCiphertextTooLarge,
		jwe.ErrZip, jwe.ErrCrit, jwe.ErrRSA1_5, jwe.ErrPBES2, jwe.ErrUnknownAlg, jwe.ErrUnknownEnc, jwe.ErrEncNotAllow,
		jwe.ErrInvalidEPK, jwe.ErrEPKCurve, jwe.ErrKeyAlgMismatch, jwe.ErrAmbiguousKey,
	}
	labels := map[string]bool{}
	for _, e := range all {
		if e.Label() == "" || e.Reason() == "" || !strings.HasPrefix(e.Error(), "jwe: ") || e.Code() != "invalid_token" {
			t.Errorf("%v: label %q reason %q", e, e.Label(), e.Reason())
		}
		if e.Class() != e && labels[e.Label()] {
			t.Errorf("label %q reused", e.Label())
		}
		labels[e.Label()] = true
		if !errors.Is(e, e.Class()) {
			t.Errorf("%v is not its class", e)
		}
	}
	if !errors.Is(jwe.ErrZip, jwe.ErrUnsupported) || errors.Is(jwe.ErrZip, jwe.ErrMalformed) {
		t.Error("class matching")
	}
	if jwe.Reason(errors.New("secret")) != "invalid token" || jwe.Label(errors.New("x")) != "jwe_error" {
		t.Error("foreign errors")
	}
}
