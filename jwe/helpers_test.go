package jwe_test

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/jwe"
)

// Fixed keys, so that the fuzz corpus under testdata stays decryptable.
// The EC keys are from RFC 7520 §5.4 (P-384) and §5.5 (P-256), the X25519
// key is Alice's from RFC 7748 §6.1, the RSA key is from RFC 7520 §5.1.
var (
	fixedDir16 = bytes.Repeat([]byte{0x11}, 16)
	fixedDir32 = bytes.Repeat([]byte{0x22}, 32)
	fixedDir64 = bytes.Repeat([]byte{0x33}, 64)
	fixedKW16  = bytes.Repeat([]byte{0x44}, 16)
	fixedKW32  = bytes.Repeat([]byte{0x55}, 32)
)

const x25519AlicePriv = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a" // RFC 7748 §6.1

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// vector is one file of testdata/rfc7520.
type vector struct {
	Source  string `json:"source"`
	Section string `json:"section"`
	Input   struct {
		Plaintext string          `json:"plaintext"`
		Key       json.RawMessage `json:"key"`
		Alg       string          `json:"alg"`
		Enc       string          `json:"enc"`
	} `json:"input"`
	Output struct {
		Compact string `json:"compact"`
	} `json:"output"`
	Expected string `json:"expected"`
}

func loadVector(t testing.TB, name string) vector {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "rfc7520", name))
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.Input.Key != nil {
		var c bytes.Buffer
		if err := json.Compact(&c, v.Input.Key); err != nil {
			t.Fatal(err)
		}
		v.Input.Key = c.Bytes()
	}
	return v
}

// jwkWith returns the JWK raw with its kid replaced and "use" set to
// "enc" (RFC 7520 §3 keys are signing keys; the same numbers serve here).
func jwkWith(t testing.TB, raw []byte, kid string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["kid"] = kid
	m["use"] = "enc"
	delete(m, "alg")
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// x25519JWK is the private OKP JWK (RFC 8037 §2) of RFC 7748 §6.1 Alice.
func x25519JWK(t testing.TB, kid string) []byte {
	t.Helper()
	priv, err := ecdh.X25519().NewPrivateKey(mustHex(t, x25519AlicePriv))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(`{"kty":"OKP","crv":"X25519","kid":"` + kid + `","use":"enc","d":"` +
		b64(priv.Bytes()) + `","x":"` + b64(priv.PublicKey().Bytes()) + `"}`)
}

// fixture holds fixed keys: one per algorithm, and per curve for ECDH.
type fixture struct {
	keys []*jwe.Key
	set  *jwe.KeySet
}

// curves names the fixed ECDH keys: P-256 from RFC 7520 §5.5, P-384 from
// §5.4, P-521 from §3.2, X25519 from RFC 7748 §6.1.
var curves = []string{"P-256", "P-384", "P-521", "X25519"}

func curveJWK(t testing.TB, crv, kid string) []byte {
	switch crv {
	case "P-256":
		return jwkWith(t, loadVector(t, "5_5.ecdh-es_a128cbc-hs256.json").Input.Key, kid)
	case "P-384":
		return jwkWith(t, loadVector(t, "5_4.ecdh-es_a128kw_a128gcm.json").Input.Key, kid)
	case "P-521":
		return jwkWith(t, p521JWK, kid)
	case "X25519":
		return x25519JWK(t, kid)
	}
	t.Fatalf("no curve %s", crv)
	return nil
}

// p521JWK is RFC 7520 §3.2 (the private EC P-521 key).
var p521JWK = []byte(`{"kty":"EC","kid":"bilbo.baggins@hobbiton.example","use":"sig","crv":"P-521",` +
	`"x":"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",` +
	`"y":"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1",` +
	`"d":"AAhRON2r9cqXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zbKipQrCW9CGZH3T4ubpnoTKLDYJ_fF3_rJt"}`)

var (
	fixtureOnce sync.Once
	fixtureVal  *fixture
)

func mustKey(t testing.TB) func(*jwe.Key, error) *jwe.Key {
	return func(k *jwe.Key, err error) *jwe.Key {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}

// fixedKeys returns the fixed key set. Kids: "dir-16" (A128GCM only),
// "dir-32" (A256GCM or A128CBC-HS256), "dir-64", "a128kw", "a256kw",
// "rsa", and "<alg>/<crv>" for the ECDH family.
func fixedKeys(t testing.TB) *fixture {
	t.Helper()
	fixtureOnce.Do(func() {
		must := mustKey(t)
		f := &fixture{}
		f.keys = append(f.keys,
			must(jwe.NewKey("dir-16", jwe.Direct, jwe.A128GCM, fixedDir16)),
			must(jwe.NewKey("dir-32", jwe.Direct, "", fixedDir32)),
			must(jwe.NewKey("dir-64", jwe.Direct, jwe.A256CBCHS512, fixedDir64)),
			must(jwe.NewKey("a128kw", jwe.A128KW, "", fixedKW16)),
			must(jwe.NewKey("a256kw", jwe.A256KW, "", fixedKW32)),
			must(jwe.ParseJWK(jwkWith(t, loadVector(t, "5_1.rsa_v15.json").Input.Key, "rsa"), jwe.RSAOAEP256)),
		)
		for _, alg := range []jwe.KeyAlgorithm{jwe.ECDHES, jwe.ECDHESA128KW, jwe.ECDHESA256KW} {
			for _, crv := range curves {
				kid := string(alg) + "/" + crv
				f.keys = append(f.keys, must(jwe.ParseJWK(curveJWK(t, crv, kid), alg)))
			}
		}
		var err error
		if f.set, err = jwe.NewKeySet(f.keys...); err != nil {
			t.Fatal(err)
		}
		fixtureVal = f
	})
	return fixtureVal
}

// key returns the fixed key with this kid.
func (f *fixture) key(t testing.TB, kid string) *jwe.Key {
	t.Helper()
	for _, k := range f.keys {
		if k.Kid() == kid {
			return k
		}
	}
	t.Fatalf("no fixed key %q", kid)
	return nil
}

// combo is one (key, enc) pair a round trip covers.
type combo struct {
	kid string
	alg jwe.KeyAlgorithm
	enc jwe.ContentEncryption
}

func (c combo) String() string { return c.kid + "/" + string(c.enc) }

// combos lists every supported alg × enc (× curve for ECDH).
func (f *fixture) combos() []combo {
	var out []combo
	for _, k := range f.keys {
		for _, enc := range jwe.ContentEncryptions {
			if k.Alg() == jwe.Direct {
				if (k.Enc() != "" && k.Enc() != enc) || len(k.Public().([]byte)) != encKeyLen(enc) {
					continue
				}
			}
			out = append(out, combo{k.Kid(), k.Alg(), enc})
		}
	}
	return out
}

func encKeyLen(e jwe.ContentEncryption) int {
	switch e {
	case jwe.A128GCM:
		return 16
	case jwe.A256CBCHS512:
		return 64
	}
	return 32
}

// innerJWT is a stand-in for the nested JWS.
const innerJWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXN0YW5kLWlu"

func newDecrypter(t testing.TB, set *jwe.KeySet, o jwe.Options) *jwe.Decrypter {
	t.Helper()
	d, err := jwe.NewDecrypter(set, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func encrypt(t testing.TB, f *fixture, c combo, pt string, o *jwe.EncryptOptions) []byte {
	t.Helper()
	if o == nil {
		o = &jwe.EncryptOptions{Kid: c.kid}
	}
	tok, err := jwe.Encrypt([]byte(pt), c.alg, c.enc, f.key(t, c.kid), o)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	return tok
}

// segments splits a compact token into its five segments (copies).
func segments(tok []byte) [][]byte {
	parts := bytes.Split(tok, []byte("."))
	for i := range parts {
		parts[i] = bytes.Clone(parts[i])
	}
	return parts
}

func join(parts [][]byte) []byte { return bytes.Join(parts, []byte(".")) }

// withHeader replaces the protected header of tok with the JSON hdr.
func withHeader(tok []byte, hdr string) []byte {
	p := segments(tok)
	p[0] = []byte(b64([]byte(hdr)))
	return join(p)
}

// forgeTag returns tok with one bit of its authentication tag flipped,
// still canonical base64url: only the cryptography can refuse it.
func forgeTag(tok []byte) []byte {
	p := segments(tok)
	tag, err := base64.RawURLEncoding.DecodeString(string(p[4]))
	if err != nil {
		panic(err)
	}
	tag[0] ^= 1
	p[4] = []byte(b64(tag))
	return join(p)
}
