package keyring_test

// ML-DSA keys (FIPS 204; JOSE per RFC 9964). Vectors are in testdata/mldsa
// (see its README.md for sources and for why circl's ACVP sigVer vectors,
// which exercise the internal interface, do not apply to JWS).

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"

	"github.com/tokengate/tokengate/keyring"
)

var mldsaAlgs = []keyring.Algorithm{keyring.MLDSA44, keyring.MLDSA65, keyring.MLDSA87}

// mldsaTestKey is one generated ML-DSA key pair with circl's signing
// functions bound to it.
type mldsaTestKey struct {
	alg     keyring.Algorithm
	pub     any    // *mldsaXX.PublicKey
	raw     []byte // pkEncode
	sigSize int
	// sign is pure ML-DSA with the given context (nil: the empty one);
	// deterministic uses rnd = 0 (FIPS 204 Algorithm 2, deterministic variant).
	sign func(msg, ctx []byte, deterministic bool) []byte
}

func mldsaFromSeed(t testing.TB, alg keyring.Algorithm, seed []byte) mldsaTestKey {
	t.Helper()
	if len(seed) != 32 {
		t.Fatalf("seed is %d bytes", len(seed))
	}
	s := (*[32]byte)(seed)
	k := mldsaTestKey{alg: alg}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	switch alg {
	case keyring.MLDSA44:
		pk, sk := mldsa44.NewKeyFromSeed(s)
		k.pub, k.raw, k.sigSize = pk, pk.Bytes(), mldsa44.SignatureSize
		k.sign = func(m, ctx []byte, det bool) []byte {
			sig := make([]byte, mldsa44.SignatureSize)
			must(mldsa44.SignTo(sk, m, ctx, !det, sig))
			return sig
		}
	case keyring.MLDSA65:
		pk, sk := mldsa65.NewKeyFromSeed(s)
		k.pub, k.raw, k.sigSize = pk, pk.Bytes(), mldsa65.SignatureSize
		k.sign = func(m, ctx []byte, det bool) []byte {
			sig := make([]byte, mldsa65.SignatureSize)
			must(mldsa65.SignTo(sk, m, ctx, !det, sig))
			return sig
		}
	case keyring.MLDSA87:
		pk, sk := mldsa87.NewKeyFromSeed(s)
		k.pub, k.raw, k.sigSize = pk, pk.Bytes(), mldsa87.SignatureSize
		k.sign = func(m, ctx []byte, det bool) []byte {
			sig := make([]byte, mldsa87.SignatureSize)
			must(mldsa87.SignTo(sk, m, ctx, !det, sig))
			return sig
		}
	default:
		t.Fatalf("not ML-DSA: %s", alg)
	}
	return k
}

func newMLDSATestKey(t testing.TB, alg keyring.Algorithm) mldsaTestKey {
	t.Helper()
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	return mldsaFromSeed(t, alg, seed)
}

func akpJWK(alg keyring.Algorithm, raw []byte, extra map[string]any) []byte {
	m := map[string]any{"kty": "AKP", "alg": string(alg), "pub": base64.RawURLEncoding.EncodeToString(raw)}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func readMLDSAFile(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mldsa", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// splitJWS returns the signing input and decoded signature of a compact JWS.
func splitJWS(t *testing.T, jws string) ([]byte, []byte) {
	t.Helper()
	dot := strings.LastIndexByte(jws, '.')
	if dot < 0 || strings.Count(jws, ".") != 2 {
		t.Fatalf("not a compact JWS")
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(jws[dot+1:])
	if err != nil {
		t.Fatal(err)
	}
	return []byte(jws[:dot]), sig
}

// checkTamper: a verifying signature stops verifying when one bit of it
// or of the input changes, and when it is cut or extended.
func checkTamper(t *testing.T, k *keyring.Key, input, sig []byte) {
	t.Helper()
	for _, i := range []int{0, 1, len(sig) / 2, len(sig) - 1} {
		bad := bytes.Clone(sig)
		bad[i] ^= 0x01
		if k.Verify(input, bad) {
			t.Errorf("%s: signature with bit 0 of byte %d flipped verifies", k.Alg(), i)
		}
	}
	badIn := bytes.Clone(input)
	badIn[len(badIn)-1] ^= 0x01
	if k.Verify(badIn, sig) {
		t.Errorf("%s: signature verifies a changed signing input", k.Alg())
	}
	for _, s := range [][]byte{nil, {}, sig[:len(sig)-1], append(bytes.Clone(sig), 0), append(bytes.Clone(sig), sig...)} {
		if k.Verify(input, s) {
			t.Errorf("%s: a %d-byte signature verifies", k.Alg(), len(s))
		}
	}
}

// TestMLDSARFC9964Example: RFC 9964 Appendix A.1 (as in
// draft-ietf-cose-dilithium-11; testdata/mldsa/README.md). The all-zero
// seed (§4: "priv" is the seed) derives the key; its RFC 7638 thumbprint
// over alg, kty, pub (§6) is the published kid; the JWS verifies through
// the AKP JWK parser; deterministic signing re-creates the signature.
func TestMLDSARFC9964Example(t *testing.T) {
	var ex struct {
		Alg  string `json:"alg"`
		KID  string `json:"kid"`
		Seed string `json:"priv_seed_hex"`
		JWS  string `json:"jws"`
	}
	readMLDSAFile(t, "rfc9964-a1.json", &ex)
	seed, err := hex.DecodeString(ex.Seed)
	if err != nil {
		t.Fatal(err)
	}
	tk := mldsaFromSeed(t, keyring.Algorithm(ex.Alg), seed)

	// §6: the thumbprint input, by hand.
	in := `{"alg":"` + ex.Alg + `","kty":"AKP","pub":"` + base64.RawURLEncoding.EncodeToString(tk.raw) + `"}`
	sum := sha256.Sum256([]byte(in))
	if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != ex.KID {
		t.Fatalf("hand-made thumbprint %s, published kid %s", got, ex.KID)
	}
	k, err := keyring.ParseJWK(akpJWK(tk.alg, tk.raw, map[string]any{"kid": ex.KID}), keyring.Options{Source: "RFC 9964 A.1"})
	if err != nil {
		t.Fatal(err)
	}
	if k.Alg() != keyring.MLDSA44 || k.ID() != ex.KID || k.Thumbprint() != ex.KID {
		t.Fatalf("alg %s, id %s, thumbprint %s", k.Alg(), k.ID(), k.Thumbprint())
	}
	// Without a kid the key is named by the same thumbprint.
	if k2, err := keyring.NewKey(tk.pub, keyring.Options{}); err != nil || k2.ID() != ex.KID {
		t.Fatalf("NewKey: %v, id %v", err, k2)
	}

	input, sig := splitJWS(t, ex.JWS)
	var hdr struct{ Alg, Kid string }
	h, _ := base64.RawURLEncoding.DecodeString(strings.SplitN(ex.JWS, ".", 2)[0])
	if err := json.Unmarshal(h, &hdr); err != nil || hdr.Alg != ex.Alg || hdr.Kid != ex.KID {
		t.Fatalf("header %s: %v", h, err)
	}
	if len(sig) != mldsa44.SignatureSize {
		t.Fatalf("signature is %d bytes", len(sig))
	}
	if !k.Verify(input, sig) {
		t.Fatal("RFC 9964 A.1 JWS does not verify")
	}
	checkTamper(t, k, input, sig)
	if got := tk.sign(input, nil, true); !bytes.Equal(got, sig) {
		t.Error("deterministic ML-DSA-44 signing with the A.1 key does not re-create the published signature")
	}
}

// TestMLDSAACVPKeyGen: NIST ACVP ML-DSA keyGen (vsId 42, via circl v1.6.5;
// testdata/mldsa/acvp-keygen-subset.json): the seed ξ derives exactly the
// expected pk, and that pk loads as an AKP JWK, a PEM SubjectPublicKeyInfo
// and a circl key, all three the same key of the right alg.
func TestMLDSAACVPKeyGen(t *testing.T) {
	var f struct {
		TestGroups []struct {
			TgID         int    `json:"tgId"`
			ParameterSet string `json:"parameterSet"`
			Tests        []struct {
				TcID int    `json:"tcId"`
				Seed string `json:"seed"`
				PK   string `json:"pk"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	readMLDSAFile(t, "acvp-keygen-subset.json", &f)
	n := 0
	for _, g := range f.TestGroups {
		alg, err := keyring.ParseAlgorithm(g.ParameterSet)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range g.Tests {
			seed, err1 := hex.DecodeString(tc.Seed)
			pk, err2 := hex.DecodeString(tc.PK)
			if err := errors.Join(err1, err2); err != nil {
				t.Fatalf("tcId %d: %v", tc.TcID, err)
			}
			tk := mldsaFromSeed(t, alg, seed)
			if !bytes.Equal(tk.raw, pk) {
				t.Errorf("tcId %d (%s): seed derives another public key", tc.TcID, alg)
				continue
			}
			fromJWK, err := keyring.ParseJWK(akpJWK(alg, pk, nil), keyring.Options{})
			if err != nil {
				t.Fatalf("tcId %d: %v", tc.TcID, err)
			}
			fromPEM, err := keyring.ParsePEM(mldsaSPKIPEM(t, alg, pk), keyring.Options{})
			if err != nil {
				t.Fatalf("tcId %d: %v", tc.TcID, err)
			}
			fromKey, err := keyring.NewKey(tk.pub, keyring.Options{})
			if err != nil {
				t.Fatalf("tcId %d: %v", tc.TcID, err)
			}
			for _, k := range []*keyring.Key{fromJWK, fromPEM[0], fromKey} {
				if k.Alg() != alg || k.Thumbprint() != fromJWK.Thumbprint() {
					t.Errorf("tcId %d: %s key, thumbprint %s", tc.TcID, k.Alg(), k.Thumbprint())
				}
			}
			msg := []byte("tcId-bound message")
			if !fromPEM[0].Verify(msg, tk.sign(msg, nil, false)) {
				t.Errorf("tcId %d: signature by the seed's key does not verify", tc.TcID)
			}
			n++
		}
	}
	if n != 6 {
		t.Fatalf("ran %d ACVP cases, want 6", n)
	}
}

// TestMLDSANobleInterop: JWS signed by @noble/post-quantum (an independent
// implementation; testdata/mldsa/noble-interop.json) verify under the AKP
// JWK it published, and noble's key generation from the seed agrees with
// circl's.
func TestMLDSANobleInterop(t *testing.T) {
	var f struct {
		Vectors []struct {
			Alg  string          `json:"alg"`
			Seed string          `json:"seed"`
			JWK  json.RawMessage `json:"jwk"`
			JWS  string          `json:"jws"`
		} `json:"vectors"`
	}
	readMLDSAFile(t, "noble-interop.json", &f)
	if len(f.Vectors) != 3 {
		t.Fatalf("%d vectors", len(f.Vectors))
	}
	for _, v := range f.Vectors {
		t.Run(v.Alg, func(t *testing.T) {
			k, err := keyring.ParseJWK(v.JWK, keyring.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if string(k.Alg()) != v.Alg {
				t.Fatalf("key alg %s", k.Alg())
			}
			seed, _ := hex.DecodeString(v.Seed)
			if tk := mldsaFromSeed(t, k.Alg(), seed); !bytes.Equal(mldsaRaw(t, k), tk.raw) {
				t.Error("noble and circl derive different public keys from one seed")
			}
			input, sig := splitJWS(t, v.JWS)
			if !k.Verify(input, sig) {
				t.Fatal("noble's JWS does not verify")
			}
			checkTamper(t, k, input, sig)
		})
	}
}

func mldsaRaw(t *testing.T, k *keyring.Key) []byte {
	t.Helper()
	m, ok := k.Public().(interface{ Bytes() []byte })
	if !ok {
		t.Fatalf("%T has no Bytes", k.Public())
	}
	return m.Bytes()
}

// TestMLDSARoundTrip: for each parameter set, a signature over the
// signing input with the empty context verifies; the same signature under
// a context, a signature by another key, and one of another parameter set
// do not.
func TestMLDSARoundTrip(t *testing.T) {
	keys := map[keyring.Algorithm]mldsaTestKey{}
	for _, alg := range mldsaAlgs {
		keys[alg] = newMLDSATestKey(t, alg)
	}
	input := []byte("eyJhbGciOiJNTC1EU0EtNjUifQ.eyJzdWIiOiJhIn0")
	for _, alg := range mldsaAlgs {
		t.Run(string(alg), func(t *testing.T) {
			tk := keys[alg]
			k, err := keyring.NewKey(tk.pub, keyring.Options{ID: "pq"})
			if err != nil {
				t.Fatal(err)
			}
			if k.Alg() != alg {
				t.Fatalf("alg %s", k.Alg())
			}
			for _, det := range []bool{false, true} {
				sig := tk.sign(input, nil, det)
				if !k.Verify(input, sig) {
					t.Fatalf("signature (deterministic %v) does not verify", det)
				}
				checkTamper(t, k, input, sig)
			}
			// RFC 9964 §5: ctx is the empty string. A signature made under
			// any other context is for another message (FIPS 204 M').
			if k.Verify(input, tk.sign(input, []byte("jose"), false)) {
				t.Error("a signature with a non-empty context verifies")
			}
			other := newMLDSATestKey(t, alg)
			if k.Verify(input, other.sign(input, nil, false)) {
				t.Error("another key's signature verifies")
			}
			for _, a := range mldsaAlgs {
				if a != alg && k.Verify(input, keys[a].sign(input, nil, false)) {
					t.Errorf("an %s signature verifies", a)
				}
			}
		})
	}
}

// TestMLDSAAlgBinding: an ML-DSA key is bound to its parameter set's alg
// and no other (the verifier compares Key.Alg with the header's "alg").
func TestMLDSAAlgBinding(t *testing.T) {
	tk := newMLDSATestKey(t, keyring.MLDSA44)
	k, err := keyring.NewKey(tk.pub, keyring.Options{Alg: keyring.MLDSA44})
	if err != nil || k.Alg() != keyring.MLDSA44 {
		t.Fatalf("%v %v", err, k)
	}
	for _, a := range keyring.Algorithms {
		if a == keyring.MLDSA44 {
			continue
		}
		if _, err := keyring.NewKey(tk.pub, keyring.Options{Alg: a}); err == nil {
			t.Errorf("an ML-DSA-44 key was bound to %s", a)
		}
	}
	// A JWK that says ML-DSA-65 for an ML-DSA-44 "pub" is refused, and so
	// is a configured alg that differs from the JWK's.
	if _, err := keyring.ParseJWK(akpJWK(keyring.MLDSA65, tk.raw, nil), keyring.Options{}); !errors.Is(err, keyring.ErrInvalidKey) {
		t.Errorf("ML-DSA-44 pub under alg ML-DSA-65: %v", err)
	}
	if _, err := keyring.ParseJWK(akpJWK(keyring.MLDSA44, tk.raw, nil), keyring.Options{Alg: keyring.MLDSA65}); !errors.Is(err, keyring.ErrAlgMismatch) {
		t.Errorf("configured ML-DSA-65, JWK ML-DSA-44: %v", err)
	}
	if alg := keyring.MLDSA65; alg.Family() != keyring.FamilyMLDSA || alg.Hash() != 0 {
		t.Errorf("ML-DSA-65: family %v, hash %v", alg.Family(), alg.Hash())
	}
	for _, s := range []string{"ML-DSA-44", "ML-DSA-65", "ML-DSA-87"} {
		if a, ok := keyring.LookupAlgorithm([]byte(s)); !ok || string(a) != s {
			t.Errorf("LookupAlgorithm(%s) = %s, %v", s, a, ok)
		}
	}
	for _, s := range []string{"ml-dsa-44", "ML-DSA", "MLDSA44", "ML-DSA-44 ", "HashML-DSA-44", "ML-DSA-128"} {
		if _, ok := keyring.LookupAlgorithm([]byte(s)); ok {
			t.Errorf("LookupAlgorithm(%q) succeeds", s)
		}
	}
}

// TestMLDSARefusals: private keys, nil keys and the all-zero t1 (anyone
// can forge for it) are refused when the key is made.
func TestMLDSARefusals(t *testing.T) {
	_, sk, err := mldsa65.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.NewKey(sk, keyring.Options{}); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("private key: %v", err)
	}
	if _, err := keyring.NewKey((*mldsa87.PublicKey)(nil), keyring.Options{}); err == nil {
		t.Error("nil public key accepted")
	}
	zero := make([]byte, mldsa44.PublicKeySize)
	copy(zero, "rho may be anything, t1 is zero!")
	var pk mldsa44.PublicKey
	if err := pk.UnmarshalBinary(zero); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.NewKey(&pk, keyring.Options{}); err == nil {
		t.Error("public key with t1 = 0 accepted")
	}
	if _, err := keyring.ParseJWK(akpJWK(keyring.MLDSA44, zero, nil), keyring.Options{}); !errors.Is(err, keyring.ErrInvalidKey) {
		t.Errorf("JWK with t1 = 0: %v", err)
	}
}

// TestMLDSAThumbprintStable: RFC 9964 §6 / RFC 7638 §3: the thumbprint
// covers alg, kty and pub only, so kid, use, key_ops and member order do
// not change it; MarshalJWK writes a JWK that loads as the same key.
func TestMLDSAThumbprintStable(t *testing.T) {
	for _, alg := range mldsaAlgs {
		tk := newMLDSATestKey(t, alg)
		pub := base64.RawURLEncoding.EncodeToString(tk.raw)
		sum := sha256.Sum256([]byte(`{"alg":"` + string(alg) + `","kty":"AKP","pub":"` + pub + `"}`))
		want := base64.RawURLEncoding.EncodeToString(sum[:])
		docs := [][]byte{
			akpJWK(alg, tk.raw, nil),
			akpJWK(alg, tk.raw, map[string]any{"kid": "k1", "use": "sig", "key_ops": []string{"verify"}}),
			[]byte(`{"pub":"` + pub + `","alg":"` + string(alg) + `","kty":"AKP"}`),
		}
		for i, d := range docs {
			k, err := keyring.ParseJWK(d, keyring.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if k.Thumbprint() != want {
				t.Errorf("%s doc %d: thumbprint %s, want %s", alg, i, k.Thumbprint(), want)
			}
			out, err := k.MarshalJWK()
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil || m["kty"] != "AKP" || m["alg"] != string(alg) || m["pub"] != pub || m["use"] != "sig" {
				t.Errorf("%s MarshalJWK: %s", alg, out)
			}
			k2, err := keyring.ParseJWK(out, keyring.Options{})
			if err != nil || k2.Thumbprint() != want || k2.ID() != k.ID() || k2.Alg() != alg {
				t.Errorf("%s: MarshalJWK output does not load as the same key: %v", alg, err)
			}
		}
	}
}

// TestMLDSAJWKSAndSPKI: AKP keys mix with other public keys in a JWK Set;
// MarshalJWKS writes them; an SPKI with the wrong size or parameters is
// refused (RFC 9881 §2, §4).
func TestMLDSAJWKSAndSPKI(t *testing.T) {
	a, b := newMLDSATestKey(t, keyring.MLDSA44), newMLDSATestKey(t, keyring.MLDSA87)
	ka, _ := keyring.NewKey(a.pub, keyring.Options{ID: "a"})
	kb, _ := keyring.NewKey(b.pub, keyring.Options{ID: "b"})
	set, err := keyring.MarshalJWKS(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.ParseJWKS(set, keyring.Options{})
	if err != nil || len(keys) != 2 || keys[0].Alg() != keyring.MLDSA44 || keys[1].Alg() != keyring.MLDSA87 {
		t.Fatalf("%v %v", err, keys)
	}
	// The DER header of an ML-DSA-44 SubjectPublicKeyInfo, as Wycheproof's
	// mldsa_44_verify_test.json "publicKeyDer" begins: SEQUENCE, the
	// AlgorithmIdentifier with id-ml-dsa-44 and no parameters, BIT STRING
	// with 0 unused bits.
	hdr, _ := hex.DecodeString("30820532300b060960864801650304031103820521" + "00")
	keysPEM, err := keyring.ParsePEM(pemOf("PUBLIC KEY", append(hdr, a.raw...)), keyring.Options{})
	if err != nil || keysPEM[0].Thumbprint() != ka.Thumbprint() {
		t.Fatalf("Wycheproof-shaped SPKI: %v", err)
	}
	if !bytes.Equal(mldsaSPKI(t, keyring.MLDSA44, a.raw), append(hdr, a.raw...)) {
		t.Error("test SPKI builder disagrees with the Wycheproof header")
	}
	bad := map[string][]byte{
		"short key":  mldsaSPKI(t, keyring.MLDSA44, a.raw[:len(a.raw)-1]),
		"other size": mldsaSPKI(t, keyring.MLDSA65, a.raw),
		"parameters": mldsaSPKIParams(t, keyring.MLDSA44, a.raw),
		"trailing":   append(append(hdr, a.raw...), 0),
	}
	for name, der := range bad {
		if _, err := keyring.ParsePEM(pemOf("PUBLIC KEY", der), keyring.Options{}); !errors.Is(err, keyring.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
