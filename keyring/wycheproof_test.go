package keyring_test

// Project Wycheproof vectors (github.com/C2SP/wycheproof, testvectors_v1,
// copied unchanged into testdata/wycheproof; see the README.md there) run
// against Key.Verify, the raw JWS signature primitive. Each test is named
// "<file>/tc<tcId>" so a failure points at the exact vector.
//
// Three rules from testdata/wycheproof/README.md shape the expectations:
//   - "acceptable" (only MissingNull, tcId 8 of every rsa_signature_* file) is
//     treated as must-reject: tokengate fails closed.
//   - Keys the keyring refuses at load time (RSA e = 3, HMAC secrets shorter
//     than the hash) are counted as refused: no test under them can verify.
//     A refusal not explained by a documented load rule fails the test.
//   - HMAC groups with truncated tags: JWS always carries the full tag
//     (RFC 7518 §3.2), so every truncated tag must be rejected, even those
//     Wycheproof marks valid for truncated HMAC.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudflare/circl/sign/ed448"

	"github.com/tokengate/tokengate/keyring"
)

// hexBytes is a Wycheproof byte string: lowercase hex in the JSON.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// wpTest is one Wycheproof test case. Signature files use msg/sig, MAC
// files key/msg/tag.
type wpTest struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Result  string   `json:"result"` // valid, invalid or acceptable
	Msg     hexBytes `json:"msg"`
	Sig     hexBytes `json:"sig"`
	Key     hexBytes `json:"key"`
	Tag     hexBytes `json:"tag"`
}

type wpFile[G any] struct {
	Algorithm     string `json:"algorithm"`
	NumberOfTests int    `json:"numberOfTests"`
	TestGroups    []G    `json:"testGroups"`
}

type wpECDSAGroup struct {
	Type      string `json:"type"`
	Sha       string `json:"sha"`
	PublicKey struct {
		Curve        string   `json:"curve"`
		Uncompressed hexBytes `json:"uncompressed"`
		Wx           hexBytes `json:"wx"`
		Wy           hexBytes `json:"wy"`
	} `json:"publicKey"`
	PublicKeyDer hexBytes `json:"publicKeyDer"`
	Tests        []wpTest `json:"tests"`
}

type wpEdDSAGroup struct {
	Type      string `json:"type"`
	PublicKey struct {
		Curve string   `json:"curve"`
		Pk    hexBytes `json:"pk"`
	} `json:"publicKey"`
	Tests []wpTest `json:"tests"`
}

type wpMACGroup struct {
	Type    string   `json:"type"`
	KeySize int      `json:"keySize"` // bits
	TagSize int      `json:"tagSize"` // bits
	Tests   []wpTest `json:"tests"`
}

type wpRSAGroup struct {
	Type      string `json:"type"`
	KeySize   int    `json:"keySize"`
	Sha       string `json:"sha"`
	MGF       string `json:"mgf"`    // PSS only
	MGFSha    string `json:"mgfSha"` // PSS only
	SLen      int    `json:"sLen"`   // PSS only
	PublicKey struct {
		Modulus        hexBytes `json:"modulus"`
		PublicExponent hexBytes `json:"publicExponent"`
	} `json:"publicKey"`
	PublicKeyDer hexBytes `json:"publicKeyDer"`
	Tests        []wpTest `json:"tests"`
}

func loadWycheproof[G any](t *testing.T, file string) wpFile[G] {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "wycheproof", file))
	if err != nil {
		t.Fatal(err)
	}
	var f wpFile[G]
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if f.NumberOfTests == 0 || len(f.TestGroups) == 0 {
		t.Fatalf("%s: no tests", file)
	}
	return f
}

// wpTally counts outcomes for one family; log prints them and checks that
// every test of every file was accounted for.
type wpTally struct {
	want               int // sum of numberOfTests over the files
	seen               int // tests enumerated from the files
	ran                int // tests run (not filtered out by -run) or refused
	acceptedValid      int
	rejectedInvalid    int
	rejectedAcceptable int
	rejectedTruncated  int // HMAC only: truncated tags, whatever their result
	rejectedDER        int // ECDSA only: DER re-encodings of valid signatures (extra)
	refusedKeyTests    int
	refusedGroups      int
}

func (c *wpTally) log(t *testing.T) {
	t.Helper()
	t.Logf("accepted valid: %d, rejected invalid: %d, rejected acceptable: %d, rejected truncated HMAC tags: %d, refused-key tests: %d (in %d groups); %d of %d tests run",
		c.acceptedValid, c.rejectedInvalid, c.rejectedAcceptable, c.rejectedTruncated, c.refusedKeyTests, c.refusedGroups, c.ran, c.seen)
	if c.rejectedDER > 0 {
		t.Logf("also rejected: the DER encoding of %d valid signatures", c.rejectedDER)
	}
	if c.seen != c.want {
		t.Errorf("saw %d tests, the files declare %d (numberOfTests)", c.seen, c.want)
	}
	if sum := c.acceptedValid + c.rejectedInvalid + c.rejectedAcceptable + c.rejectedTruncated + c.refusedKeyTests; !t.Failed() && sum != c.ran {
		t.Errorf("counted %d outcomes for %d tests run", sum, c.ran)
	}
}

// refused records a whole group whose key the keyring refused at load time.
// Nothing can be verified under a key that does not exist, so every test in
// the group is a rejection, whatever its result.
func (c *wpTally) refused(t *testing.T, file string, gi int, tests []wpTest, why string) {
	t.Helper()
	c.refusedGroups++
	c.refusedKeyTests += len(tests)
	c.seen += len(tests)
	c.ran += len(tests)
	ids := make([]int, len(tests))
	for i, tc := range tests {
		ids[i] = tc.TcID
	}
	t.Logf("%s group %d: key refused at load (%s); tcIds %v count as rejected", file, gi, why, ids)
}

// run verifies one test under k as a subtest named "<file>/tc<tcId>", then
// calls extra (if not nil) inside the same subtest.
func (c *wpTally) run(t *testing.T, file string, k *keyring.Key, tc wpTest, sig []byte, extra func(t *testing.T)) {
	t.Helper()
	c.seen++
	t.Run(fmt.Sprintf("%s/tc%d", file, tc.TcID), func(t *testing.T) {
		c.ran++
		got := k.Verify(tc.Msg, sig)
		switch tc.Result {
		case "valid":
			if !got {
				t.Errorf("%s tcId %d (%q, flags %v): valid signature rejected", file, tc.TcID, tc.Comment, tc.Flags)
				return
			}
			c.acceptedValid++
		case "invalid":
			if got {
				t.Errorf("%s tcId %d (%q, flags %v): invalid signature accepted", file, tc.TcID, tc.Comment, tc.Flags)
				return
			}
			c.rejectedInvalid++
		case "acceptable":
			// Fail closed: testdata/wycheproof/README.md ("The result field
			// and acceptable") says "acceptable" occurs only with flag
			// MissingNull, tcId 8 of each rsa_signature_* file: a PKCS#1 v1.5
			// DigestInfo without the ASN.1 NULL parameter. Some libraries
			// accept it for compatibility; tokengate must not.
			if got {
				t.Errorf("%s tcId %d (%q, flags %v): acceptable signature accepted; tokengate treats acceptable as invalid", file, tc.TcID, tc.Comment, tc.Flags)
				return
			}
			c.rejectedAcceptable++
		default:
			t.Fatalf("%s tcId %d: unknown result %q", file, tc.TcID, tc.Result)
		}
		if extra != nil {
			extra(t)
		}
	})
}

func TestWycheproofECDSA(t *testing.T) {
	// RFC 7518 §3.4: ES256 is P-256 with SHA-256, ES384 P-384 with SHA-384,
	// ES512 P-521 with SHA-512; the signature is R‖S (IEEE P1363).
	files := []struct {
		file  string
		alg   keyring.Algorithm
		curve elliptic.Curve
		wpCrv string
		sha   string
	}{
		{"ecdsa_secp256r1_sha256_p1363_test.json", keyring.ES256, elliptic.P256(), "secp256r1", "SHA-256"},
		{"ecdsa_secp384r1_sha384_p1363_test.json", keyring.ES384, elliptic.P384(), "secp384r1", "SHA-384"},
		{"ecdsa_secp521r1_sha512_p1363_test.json", keyring.ES512, elliptic.P521(), "secp521r1", "SHA-512"},
	}
	var c wpTally
	for _, f := range files {
		wf := loadWycheproof[wpECDSAGroup](t, f.file)
		c.want += wf.NumberOfTests
		size := (f.curve.Params().BitSize + 7) / 8
		for gi, g := range wf.TestGroups {
			if g.Type != "EcdsaP1363Verify" || g.PublicKey.Curve != f.wpCrv || g.Sha != f.sha {
				t.Fatalf("%s group %d: type %s, curve %s, sha %s: not %s", f.file, gi, g.Type, g.PublicKey.Curve, g.Sha, f.alg)
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(f.curve, g.PublicKey.Uncompressed)
			if err != nil {
				t.Fatalf("%s group %d: uncompressed point: %v", f.file, gi, err)
			}
			// Cross-check the three encodings of the group key: wx/wy are
			// integers that may carry a leading 00, the DER is an SPKI.
			raw := make([]byte, 1+2*size)
			raw[0] = 4
			new(big.Int).SetBytes(g.PublicKey.Wx).FillBytes(raw[1 : 1+size])
			new(big.Int).SetBytes(g.PublicKey.Wy).FillBytes(raw[1+size:])
			if !bytes.Equal(raw, g.PublicKey.Uncompressed) {
				t.Fatalf("%s group %d: wx/wy disagree with the uncompressed point", f.file, gi)
			}
			if der, err := x509.ParsePKIXPublicKey(g.PublicKeyDer); err != nil || !pub.Equal(der) {
				t.Fatalf("%s group %d: publicKeyDer disagrees with the uncompressed point (%v)", f.file, gi, err)
			}
			k, err := keyring.NewKey(pub, keyring.Options{ID: fmt.Sprintf("%s#%d", f.file, gi), Alg: f.alg})
			if err != nil {
				// Every Wycheproof ECDSA key is a valid point on its curve:
				// no load rule explains a refusal.
				t.Errorf("%s group %d: unexpected refusal: %v", f.file, gi, err)
				c.seen += len(g.Tests)
				continue
			}
			for _, tc := range g.Tests {
				if tc.Result != "valid" {
					c.run(t, f.file, k, tc, tc.Sig, nil)
					continue
				}
				c.run(t, f.file, k, tc, tc.Sig, func(t *testing.T) {
					// The p1363 files hold no DER signatures, but JWS must not
					// accept one (RFC 7518 §3.4): the ASN.1 form of this valid
					// R‖S is rejected.
					der, err := asn1.Marshal(struct{ R, S *big.Int }{
						new(big.Int).SetBytes(tc.Sig[:size]), new(big.Int).SetBytes(tc.Sig[size:]),
					})
					if err != nil {
						t.Fatal(err)
					}
					if k.Verify(tc.Msg, der) {
						t.Errorf("%s tcId %d (%q, flags %v): the DER encoding of a valid signature was accepted", f.file, tc.TcID, tc.Comment, tc.Flags)
						return
					}
					c.rejectedDER++
				})
			}
		}
	}
	c.log(t)
}

func TestWycheproofEd25519(t *testing.T) {
	const file = "ed25519_test.json"
	var c wpTally
	wf := loadWycheproof[wpEdDSAGroup](t, file)
	c.want = wf.NumberOfTests
	for gi, g := range wf.TestGroups {
		if g.Type != "EddsaVerify" || g.PublicKey.Curve != "edwards25519" {
			t.Fatalf("%s group %d: type %s, curve %s", file, gi, g.Type, g.PublicKey.Curve)
		}
		// RFC 8037 §3.1: an OKP key with crv Ed25519 verifies alg EdDSA,
		// pure Ed25519 (no prehash, no context).
		k, err := keyring.NewKey(ed25519.PublicKey(g.PublicKey.Pk), keyring.Options{ID: fmt.Sprintf("%s#%d", file, gi), Alg: keyring.EdDSA})
		if err != nil {
			t.Errorf("%s group %d: unexpected refusal of a %d-byte key: %v", file, gi, len(g.PublicKey.Pk), err)
			c.seen += len(g.Tests)
			continue
		}
		for _, tc := range g.Tests {
			c.run(t, file, k, tc, tc.Sig, nil)
		}
	}
	c.log(t)
}

func TestWycheproofEd448(t *testing.T) {
	const file = "ed448_test.json"
	var c wpTally
	wf := loadWycheproof[wpEdDSAGroup](t, file)
	c.want = wf.NumberOfTests
	for gi, g := range wf.TestGroups {
		if g.Type != "EddsaVerify" || g.PublicKey.Curve != "edwards448" {
			t.Fatalf("%s group %d: type %s, curve %s", file, gi, g.Type, g.PublicKey.Curve)
		}
		// RFC 8037 §3.1: crv Ed448 verifies alg EdDSA, pure Ed448 with an
		// empty context.
		k, err := keyring.NewKey(ed448.PublicKey(g.PublicKey.Pk), keyring.Options{ID: fmt.Sprintf("%s#%d", file, gi), Alg: keyring.EdDSA})
		if err != nil {
			t.Errorf("%s group %d: unexpected refusal of a %d-byte key: %v", file, gi, len(g.PublicKey.Pk), err)
			c.seen += len(g.Tests)
			continue
		}
		for _, tc := range g.Tests {
			c.run(t, file, k, tc, tc.Sig, nil)
		}
	}
	c.log(t)
}

func TestWycheproofHMAC(t *testing.T) {
	files := []struct {
		file string
		alg  keyring.Algorithm
	}{
		{"hmac_sha256_test.json", keyring.HS256},
		{"hmac_sha384_test.json", keyring.HS384},
		{"hmac_sha512_test.json", keyring.HS512},
	}
	var c wpTally
	for _, f := range files {
		wf := loadWycheproof[wpMACGroup](t, f.file)
		c.want += wf.NumberOfTests
		hashSize := f.alg.Hash().Size()
		for gi, g := range wf.TestGroups {
			if g.Type != "MacTest" {
				t.Fatalf("%s group %d: type %s", f.file, gi, g.Type)
			}
			// RFC 7518 §3.2: the JWS signature is the full HMAC output.
			truncated := g.TagSize < 8*hashSize
			if g.KeySize < 8*hashSize {
				// RFC 7518 §3.2: "A key of the same size as the hash output
				// ... or larger MUST be used": the keyring refuses the
				// secret, so no test in this group can verify (this covers
				// the short-key groups with full and with truncated tags).
				for _, tc := range g.Tests {
					k, err := keyring.NewKey([]byte(tc.Key), keyring.Options{ID: fmt.Sprintf("%s#tc%d", f.file, tc.TcID), Alg: f.alg})
					if err == nil || len(tc.Key) >= hashSize {
						t.Fatalf("%s tcId %d: %d-byte %s secret: NewKey = %v, %v; want a refusal (shorter than the %d-byte hash)", f.file, tc.TcID, len(tc.Key), f.alg, k, err, hashSize)
					}
				}
				c.refused(t, f.file, gi, g.Tests, fmt.Sprintf("%d-bit secret < %d-bit %s hash", g.KeySize, 8*hashSize, f.alg))
				continue
			}
			for _, tc := range g.Tests {
				if len(tc.Key)*8 != g.KeySize || len(tc.Tag)*8 != g.TagSize {
					t.Fatalf("%s tcId %d: %d-byte key, %d-byte tag in a group of keySize %d, tagSize %d", f.file, tc.TcID, len(tc.Key), len(tc.Tag), g.KeySize, g.TagSize)
				}
				// HMAC keys are per test, not per group.
				k, err := keyring.NewKey([]byte(tc.Key), keyring.Options{ID: fmt.Sprintf("%s#tc%d", f.file, tc.TcID), Alg: f.alg})
				if err != nil {
					t.Errorf("%s tcId %d: unexpected refusal of a %d-byte %s secret: %v", f.file, tc.TcID, len(tc.Key), f.alg, err)
					c.seen++
					continue
				}
				if !truncated {
					c.run(t, f.file, k, tc, tc.Tag, nil)
					continue
				}
				c.seen++
				t.Run(fmt.Sprintf("%s/tc%d", f.file, tc.TcID), func(t *testing.T) {
					c.ran++
					// A truncated tag is a wrong-length JWS signature: reject
					// it even when it is a valid truncated HMAC.
					if k.Verify(tc.Msg, tc.Tag) {
						t.Fatalf("%s tcId %d (%q, flags %v, result %s): %d-byte truncated tag accepted; JWS %s needs the full %d bytes", f.file, tc.TcID, tc.Comment, tc.Flags, tc.Result, len(tc.Tag), f.alg, hashSize)
					}
					c.rejectedTruncated++
					if tc.Result != "valid" {
						return
					}
					// The rejection must be about the length alone: the full
					// tag the truncated one was cut from verifies.
					m := hmac.New(f.alg.Hash().New, tc.Key)
					m.Write(tc.Msg)
					full := m.Sum(nil)
					if !bytes.HasPrefix(full, tc.Tag) {
						t.Fatalf("%s tcId %d: valid tag is not a prefix of the HMAC", f.file, tc.TcID)
					}
					if !k.Verify(tc.Msg, full) {
						t.Errorf("%s tcId %d (%q, flags %v): the full %d-byte tag of a valid truncated vector was rejected", f.file, tc.TcID, tc.Comment, tc.Flags, hashSize)
					}
				})
			}
		}
	}
	c.log(t)
}

func TestWycheproofRSAPKCS1(t *testing.T) {
	files := []struct {
		file string
		alg  keyring.Algorithm
		sha  string
		bits int
	}{
		{"rsa_signature_2048_sha256_test.json", keyring.RS256, "SHA-256", 2048},
		{"rsa_signature_3072_sha256_test.json", keyring.RS256, "SHA-256", 3072},
		{"rsa_signature_4096_sha256_test.json", keyring.RS256, "SHA-256", 4096},
		{"rsa_signature_2048_sha384_test.json", keyring.RS384, "SHA-384", 2048},
		{"rsa_signature_3072_sha384_test.json", keyring.RS384, "SHA-384", 3072},
		{"rsa_signature_4096_sha384_test.json", keyring.RS384, "SHA-384", 4096},
		{"rsa_signature_2048_sha512_test.json", keyring.RS512, "SHA-512", 2048},
		{"rsa_signature_3072_sha512_test.json", keyring.RS512, "SHA-512", 3072},
		{"rsa_signature_4096_sha512_test.json", keyring.RS512, "SHA-512", 4096},
	}
	var c wpTally
	for _, f := range files {
		wf := loadWycheproof[wpRSAGroup](t, f.file)
		c.want += wf.NumberOfTests
		for gi, g := range wf.TestGroups {
			if g.Type != "RsassaPkcs1Verify" || g.Sha != f.sha || g.KeySize != f.bits {
				t.Fatalf("%s group %d: type %s, sha %s, keySize %d: not %s with %d bits", f.file, gi, g.Type, g.Sha, g.KeySize, f.alg, f.bits)
			}
			runRSAGroup(t, &c, f.file, gi, g, f.alg)
		}
	}
	c.log(t)
}

func TestWycheproofRSAPSS(t *testing.T) {
	// RFC 7518 §3.5: PS256/384/512 use MGF1 with the message hash and a salt
	// as long as the hash; only files with exactly those parameters exist
	// in testdata (the README explains why there is no 2048/3072-bit PS512).
	files := []struct {
		file string
		alg  keyring.Algorithm
		sha  string
		bits int
	}{
		{"rsa_pss_2048_sha256_mgf1_32_test.json", keyring.PS256, "SHA-256", 2048},
		{"rsa_pss_3072_sha256_mgf1_32_test.json", keyring.PS256, "SHA-256", 3072},
		{"rsa_pss_4096_sha256_mgf1_32_test.json", keyring.PS256, "SHA-256", 4096},
		{"rsa_pss_2048_sha384_mgf1_48_test.json", keyring.PS384, "SHA-384", 2048},
		{"rsa_pss_4096_sha384_mgf1_48_test.json", keyring.PS384, "SHA-384", 4096},
		{"rsa_pss_4096_sha512_mgf1_64_test.json", keyring.PS512, "SHA-512", 4096},
	}
	var c wpTally
	for _, f := range files {
		wf := loadWycheproof[wpRSAGroup](t, f.file)
		c.want += wf.NumberOfTests
		for gi, g := range wf.TestGroups {
			if g.Type != "RsassaPssVerify" || g.Sha != f.sha || g.KeySize != f.bits ||
				g.MGF != "MGF1" || g.MGFSha != f.sha || g.SLen != f.alg.Hash().Size() {
				t.Fatalf("%s group %d: %s %s keySize %d %s(%s) sLen %d: not JOSE %s with %d bits", f.file, gi, g.Type, g.Sha, g.KeySize, g.MGF, g.MGFSha, g.SLen, f.alg, f.bits)
			}
			runRSAGroup(t, &c, f.file, gi, g, f.alg)
		}
	}
	c.log(t)
}

// runRSAGroup loads the group key for alg and runs its tests, or checks that
// a refusal follows the keyring's documented RSA load rules.
func runRSAGroup(t *testing.T, c *wpTally, file string, gi int, g wpRSAGroup, alg keyring.Algorithm) {
	t.Helper()
	parsed, err := x509.ParsePKIXPublicKey(g.PublicKeyDer)
	if err != nil {
		t.Fatalf("%s group %d: publicKeyDer: %v", file, gi, err)
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("%s group %d: publicKeyDer holds a %T", file, gi, parsed)
	}
	e := new(big.Int).SetBytes(g.PublicKey.PublicExponent)
	if pub.N.Cmp(new(big.Int).SetBytes(g.PublicKey.Modulus)) != 0 || !e.IsInt64() || int64(pub.E) != e.Int64() {
		t.Fatalf("%s group %d: publicKeyDer disagrees with modulus/publicExponent", file, gi)
	}
	// The keyring's RSA load rules (keyring.MinRSABits etc.; RFC 7518 §3.3,
	// §3.5 and FIPS 186-5 §5.4).
	var rule string
	switch bits := pub.N.BitLen(); {
	case bits < keyring.MinRSABits || bits > keyring.MaxRSABits:
		rule = fmt.Sprintf("%d-bit modulus outside %d..%d", bits, keyring.MinRSABits, keyring.MaxRSABits)
	case pub.E < keyring.MinRSAExponent:
		rule = fmt.Sprintf("public exponent %d < %d", pub.E, keyring.MinRSAExponent)
	case pub.E%2 == 0:
		rule = fmt.Sprintf("even public exponent %d", pub.E)
	}
	k, err := keyring.NewKey(pub, keyring.Options{ID: fmt.Sprintf("%s#%d", file, gi), Alg: alg})
	switch {
	case err != nil && rule != "":
		c.refused(t, file, gi, g.Tests, rule)
		return
	case err != nil:
		t.Errorf("%s group %d: unexpected refusal of a %d-bit key with e = %d: %v", file, gi, pub.N.BitLen(), pub.E, err)
		c.seen += len(g.Tests)
		return
	case rule != "":
		t.Errorf("%s group %d: key loaded although the load rules refuse it (%s)", file, gi, rule)
	}
	for _, tc := range g.Tests {
		c.run(t, file, k, tc, tc.Sig, nil)
	}
}
