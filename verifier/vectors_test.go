package verifier_test

// Published test vectors run through the verifier, from
// testdata/vectors (copied unchanged; sources and licenses in the README.md
// there):
//
//   - Project Wycheproof json_web_signature_test.json, every tcId, through
//     VerifySignature: its payloads ("Zm9v" is "foo") are not JWT claim sets.
//   - RFC 7515 Appendix A.1-A.5, RFC 7520 §4.1-§4.4 and RFC 8037 Appendix A,
//     through VerifySignature and the full Verify.
//
// The loading choices below (an alg bound by the test, two key fixups, six
// skipped tcIds) are each documented in the vectors' README files; they are
// test setup, never something production code may do.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/verifier"
)

const vectorsDir = "testdata/vectors"

func readVector(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorsDir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeVector(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(readVector(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// headerAlg reads "alg" from the protected header of a compact JWS, or ""
// when tok is not one.
func headerAlg(tok string) string {
	h, _, ok := strings.Cut(tok, ".")
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &hdr) != nil {
		return ""
	}
	return hdr.Alg
}

// payloadOf decodes the payload segment of a compact JWS.
func payloadOf(t *testing.T, tok string) []byte {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d segments", len(parts))
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("payload segment: %v", err)
	}
	return p
}

// setJWKMember returns jwk with member name set to value, or deleted when
// value is nil. Test setup only: see the callers for why.
func setJWKMember(t *testing.T, jwk []byte, name string, value any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(jwk, &m); err != nil {
		t.Fatal(err)
	}
	if value == nil {
		delete(m, name)
	} else {
		m[name] = value
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func jwkHas(t *testing.T, jwk []byte, name string) (string, bool) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(jwk, &m); err != nil {
		t.Fatal(err)
	}
	raw, ok := m[name]
	if !ok {
		return "", false
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s, true
}

// --- Wycheproof ------------------------------------------------------------

type wycheproofJWSFile struct {
	NumberOfTests int `json:"numberOfTests"`
	Notes         map[string]struct {
		BugType     string `json:"bugType"`
		Description string `json:"description"`
	} `json:"notes"`
	TestGroups []struct {
		Comment string          `json:"comment"`
		Public  json.RawMessage `json:"public"`
		Private json.RawMessage `json:"private"`
		Tests   []struct {
			TcID    int      `json:"tcId"`
			Comment string   `json:"comment"`
			Flags   []string `json:"flags"`
			Result  string   `json:"result"`
			JWS     string   `json:"jws"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// wycheproofJWSUpstreamErrors are the six results of
// json_web_signature_test.json that are wrong upstream
// (testdata/wycheproof/README.md of the shared vectors, "Known problems in
// the JOSE-level files"). Each is skipped, after checking that tokengate
// does what the README says a correct, strict verifier does (the opposite
// of the upstream result): if it does not, the diagnosis does not explain
// the disagreement and the test fails instead.
var wycheproofJWSUpstreamErrors = map[int]string{
	346: "upstream error (Wycheproof README, Known problems): Figure20 is the RFC 7520 §4.2 PS384 example, but the group key says alg PS256 while the token says PS384; a verifier that binds each key to one alg rejects it. RFC 7520 §4.2 with the key bound to PS384 is checked in TestRFCExamplesThroughVerifier",
	350: "upstream error (Wycheproof README, Known problems): Figure20 (key_ops variant) is the RFC 7520 §4.2 PS384 example, but the group key says alg PS256 while the token says PS384; a verifier that binds each key to one alg rejects it. RFC 7520 §4.2 with the key bound to PS384 is checked in TestRFCExamplesThroughVerifier",
	367: "upstream error (Wycheproof README, Known problems): invalidBase64Padding is marked invalid, but its jws is byte-for-byte the valid tcId 357 (the padding was lost upstream); a correct verifier accepts it",
	370: "upstream error (Wycheproof README, Known problems): invalidBase64PaddingInPayload is marked invalid, but its jws is byte-for-byte the valid tcId 357 (the padding was lost upstream); a correct verifier accepts it",
	372: "upstream error (Wycheproof README, Known problems): InvalidCharacterInsertedInHeader is marked valid, but a '?' sits inside the base64url header and the MAC covers the text without it; tokengate requires strict base64url (RFC 7515 §2) and rejects it",
	373: "upstream error (Wycheproof README, Known problems): InvalidCharacterInsertedInPayload is marked valid, but a '?' sits inside the base64url payload and the MAC covers the text without it; tokengate requires strict base64url (RFC 7515 §2) and rejects it",
}

// wycheproofJWSEmptyPayload are the "emptyPayload" tests (result valid):
// a compact JWS whose payload segment is empty. RFC 7515 §7.1 allows it,
// but tokengate deliberately requires three non-empty segments (an empty
// payload is never a JWT, and an empty segment is a classic parser edge):
// these are rejected by policy. The test checks the signature itself is
// good, so the empty segment is the only reason.
var wycheproofJWSEmptyPayload = map[int]bool{259: true, 264: true, 268: true, 272: true, 320: true, 325: true}

// wycheproofES521Groups are the groups (by first tcId) whose key carries the
// non-standard alg "ES521" on a P-521 key: the RFC 7520 §4.3 ES512 example
// (Figure27). The README says to treat it as ES512, which the test does by
// rewriting the member; keyring refuses "ES521" by design, and that refusal
// is checked by keyring's json_web_key_test.json tests (tcId 19 there).
var wycheproofES521Groups = map[int]bool{347: true, 351: true}

// wycheproofNoAlgGroups are the groups (by first tcId) whose key has no
// "alg": tcId 353-356, the use:enc and key_ops:["encrypt"] keys the README
// says must not verify. Test setup binds the alg of the token's header to
// them, so that the only reason left to refuse the key is its use or
// key_ops. This is the test's documented choice for these four groups only;
// production code never derives a key's alg from a token header, which the
// attacker controls.
var wycheproofNoAlgGroups = map[int]bool{353: true, 354: true, 355: true, 356: true}

// loadWycheproofKey loads a group's key: the public JWK when present, else
// the private one (HMAC groups have only the secret). A JWK Set ("keys")
// loads with ParseJWKS.
func loadWycheproofKey(t *testing.T, jwk []byte, firstTc int, firstJWS string) ([]*keyring.Key, error) {
	t.Helper()
	src := fmt.Sprintf("wycheproof group tc%d", firstTc)
	if _, ok := jwkHas(t, jwk, "keys"); ok {
		return keyring.ParseJWKS(jwk, keyring.Options{Source: src})
	}
	o := keyring.Options{Source: src}
	alg, hasAlg := jwkHas(t, jwk, "alg")
	switch {
	case alg == "ES521" && wycheproofES521Groups[firstTc]:
		jwk = setJWKMember(t, jwk, "alg", "ES512")
	case !hasAlg && wycheproofNoAlgGroups[firstTc]:
		o.Alg = keyring.Algorithm(headerAlg(firstJWS))
	}
	k, err := keyring.ParseJWK(jwk, o)
	if err != nil {
		return nil, err
	}
	return []*keyring.Key{k}, nil
}

// TestWycheproofJWS runs Project Wycheproof json_web_signature_test.json
// (testdata/vectors/wycheproof) through VerifySignature: "valid" must
// verify, "invalid" must be rejected with any error. A group whose key the
// keyring refuses may only hold "invalid" tests.
func TestWycheproofJWS(t *testing.T) {
	var f wycheproofJWSFile
	decodeVector(t, "wycheproof/json_web_signature_test.json", &f)

	var total, verified, rejected, refusedKey, skipped, emptyRejected int
	for _, g := range f.TestGroups {
		if len(g.Tests) == 0 {
			continue
		}
		first := g.Tests[0]
		jwk := g.Public
		if len(jwk) == 0 || string(jwk) == "null" {
			jwk = g.Private
		}
		keys, loadErr := loadWycheproofKey(t, jwk, first.TcID, first.JWS)
		if wycheproofNoAlgGroups[first.TcID] && !errors.Is(loadErr, keyring.ErrUnusable) {
			// tcId 353-356: use "enc" (RFC 7517 §4.2) or key_ops without
			// "verify" (RFC 7517 §4.3) must make the key unusable.
			t.Errorf("group %q (tc%d): key with use/key_ops not for verification: got %v, want keyring.ErrUnusable", g.Comment, first.TcID, loadErr)
		}
		var v *verifier.Verifier
		if loadErr == nil {
			snap, err := keyring.NewSnapshot(1, keys...)
			if err != nil {
				t.Fatalf("group %q (tc%d): %v", g.Comment, first.TcID, err)
			}
			if v, err = verifier.New(snap, verifier.Options{Now: fixedClock}); err != nil {
				t.Fatal(err)
			}
		}

		for _, tc := range g.Tests {
			total++
			t.Run(fmt.Sprintf("tc%d", tc.TcID), func(t *testing.T) {
				desc := fmt.Sprintf("json_web_signature_test.json tcId %d (group %q) %q flags %v, result %s", tc.TcID, g.Comment, tc.Comment, tc.Flags, tc.Result)
				if tc.Result != "valid" && tc.Result != "invalid" {
					// The README lists none ("acceptable" occurs only in
					// the RSA primitive files).
					t.Fatalf("%s: unexpected result", desc)
				}
				if loadErr != nil {
					if tc.Result != "invalid" {
						t.Fatalf("%s: the group key was refused: %v", desc, loadErr)
					}
					refusedKey++
					return
				}
				r := verifier.AcquireResult()
				defer verifier.ReleaseResult(r)
				err := v.VerifySignature(r, []byte(tc.JWS))

				if reason, ok := wycheproofJWSUpstreamErrors[tc.TcID]; ok {
					if upstreamValid := tc.Result == "valid"; (err == nil) == upstreamValid {
						t.Fatalf("%s: listed as an upstream error, but tokengate agrees with upstream (err %v): the README's diagnosis does not apply", desc, err)
					}
					skipped++
					t.Skipf("%s: %s (tokengate: err %v)", desc, reason, err)
				}

				if wycheproofJWSEmptyPayload[tc.TcID] {
					h, rest, _ := strings.Cut(tc.JWS, ".")
					p, sig64, _ := strings.Cut(rest, ".")
					sig, derr := base64.RawURLEncoding.DecodeString(sig64)
					if p != "" || !errors.Is(err, verifier.ErrMalformed) || derr != nil || !keys[0].Verify([]byte(h+"."), sig) {
						t.Fatalf("%s: rejected with %v, and not only because of the empty payload segment", desc, err)
					}
					emptyRejected++
					return
				}

				switch tc.Result {
				case "valid":
					if err != nil {
						t.Fatalf("%s: rejected: %v", desc, err)
					}
					if want := payloadOf(t, tc.JWS); !bytes.Equal(r.Payload(), want) {
						t.Errorf("%s: Payload() = %q, want %q", desc, r.Payload(), want)
					}
					if r.Key() == nil || !slices.Contains(keys, r.Key()) {
						t.Errorf("%s: Result.Key() is not the group key", desc)
					}
					verified++
				case "invalid":
					if err == nil {
						t.Fatalf("%s: verified, must be rejected", desc)
					}
					rejected++
				}
			})
		}
	}
	if total != f.NumberOfTests {
		t.Errorf("ran %d tests, the file says numberOfTests %d", total, f.NumberOfTests)
	}
	t.Logf("json_web_signature_test.json: %d tests: %d valid verified, %d invalid rejected by the verifier, %d invalid under a refused key, %d valid empty payloads rejected by policy, %d skipped (upstream errors)",
		total, verified, rejected, refusedKey, emptyRejected, skipped)
}

// --- RFC examples ----------------------------------------------------------

type rfc7515Example struct {
	Section   string          `json:"section"`
	Alg       string          `json:"alg"`
	PublicKey json.RawMessage `json:"public_key"`
	Payload   string          `json:"payload"`
	Compact   string          `json:"compact"`
	Expected  string          `json:"expected"`
}

type rfc8037File struct {
	PublicKeyJWK json.RawMessage `json:"public_key_jwk"`
	Thumbprint   string          `json:"jwk_thumbprint_sha256"`
	JWS          struct {
		Alg     string `json:"alg"`
		Payload string `json:"payload"`
		Compact string `json:"compact"`
	} `json:"jws"`
}

// cookbookSignature is an RFC 7520 §4 example in the cookbook format.
type cookbookSignature struct {
	Title string `json:"title"`
	Input struct {
		Payload string `json:"payload"`
		Alg     string `json:"alg"`
	} `json:"input"`
	Output struct {
		Compact string `json:"compact"`
	} `json:"output"`
}

// rfc7515Exp is the "exp" of the RFC 7515 A.1-A.3 claims, 1300819380.
var rfc7515Exp = time.Date(2011, 3, 22, 18, 43, 0, 0, time.UTC)

// beforeRFC7515Exp is a clock at which the RFC 7515 A.1-A.3 JWTs are valid.
func beforeRFC7515Exp() time.Time { return rfc7515Exp.Add(-time.Hour) }

// rfcExample is one signed RFC example with the public JWK that verifies
// it and the alg the test binds to that key (the vectors' README: the RFC
// 7515 and RFC 8037 keys and the RFC 7520 RSA and EC keys have no "alg").
type rfcExample struct {
	name    string
	jwk     []byte
	alg     keyring.Algorithm
	token   string
	payload string
	jwt     bool // the payload is a JWT claim set (RFC 7515 A.1-A.3)
}

func rfcExamples(t *testing.T) (examples []rfcExample, none rfc7515Example) {
	t.Helper()
	var f7515 struct {
		Examples []rfc7515Example `json:"examples"`
	}
	decodeVector(t, "rfc7515.json", &f7515)
	bound := map[string]keyring.Algorithm{"A.1": keyring.HS256, "A.2": keyring.RS256, "A.3": keyring.ES256, "A.4": keyring.ES512}
	for _, e := range f7515.Examples {
		if e.Section == "A.5" {
			none = e
			continue
		}
		alg, ok := bound[e.Section]
		if !ok || string(alg) != e.Alg {
			t.Fatalf("RFC 7515 %s: alg %q, the test expects %q", e.Section, e.Alg, alg)
		}
		examples = append(examples, rfcExample{
			name: "RFC7515-" + e.Section, jwk: e.PublicKey, alg: alg,
			token: e.Compact, payload: e.Payload, jwt: e.Section != "A.4",
		})
	}
	if len(examples) != 4 || none.Section != "A.5" {
		t.Fatalf("rfc7515.json: %d signed examples and A.5 %q, want A.1-A.4 and A.5", len(examples), none.Section)
	}

	// RFC 7520 §4.1-§4.4 with the §3 keys. The RSA key (§3.3) signs both
	// §4.1 (RS256) and §4.2 (PS384): it is loaded once per alg, each in
	// its own key set, because a key is bound to one alg and both loads
	// share kid "bilbo.baggins@hobbiton.example" (so does the EC key).
	for _, c := range []struct{ sig, key string }{
		{"4_1.rsa_v15_signature.json", "3_3.rsa_public_key.json"},
		{"4_2.rsa-pss_signature.json", "3_3.rsa_public_key.json"},
		{"4_3.ecdsa_signature.json", "3_1.ec_public_key.json"},
		{"4_4.hmac-sha2_integrity_protection.json", "3_5.symmetric_key_mac_computation.json"},
	} {
		var s cookbookSignature
		decodeVector(t, "rfc7520/"+c.sig, &s)
		alg, err := keyring.ParseAlgorithm(s.Input.Alg)
		if err != nil {
			t.Fatalf("RFC 7520 %s: %v", c.sig, err)
		}
		examples = append(examples, rfcExample{
			name: "RFC7520-" + strings.ReplaceAll(c.sig[:3], "_", "."), jwk: readVector(t, "rfc7520/"+c.key), alg: alg,
			token: s.Output.Compact, payload: s.Input.Payload,
		})
	}

	var f8037 rfc8037File
	decodeVector(t, "rfc8037.json", &f8037)
	if f8037.JWS.Alg != string(keyring.EdDSA) {
		t.Fatalf("RFC 8037 A.4: alg %q", f8037.JWS.Alg)
	}
	examples = append(examples, rfcExample{
		name: "RFC8037-A.4", jwk: f8037.PublicKeyJWK, alg: keyring.EdDSA,
		token: f8037.JWS.Compact, payload: f8037.JWS.Payload,
	})
	return examples, none
}

func newVectorVerifier(t *testing.T, now func() time.Time, keys ...*keyring.Key) *verifier.Verifier {
	t.Helper()
	snap, err := keyring.NewSnapshot(1, keys...)
	if err != nil {
		t.Fatal(err)
	}
	// The zero Policy requires "exp" and checks nothing else.
	v, err := verifier.New(snap, verifier.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sameKeyType lists the algorithms other than alg that a key of alg's key
// type could be bound to: the rest of its family and, for RSA, the other
// padding (RS* and PS* keys look the same).
func sameKeyType(alg keyring.Algorithm) []keyring.Algorithm {
	fam := alg.Family()
	var out []keyring.Algorithm
	for _, a := range keyring.Algorithms {
		f := a.Family()
		rsa := (fam == keyring.FamilyRSA || fam == keyring.FamilyRSAPSS) && (f == keyring.FamilyRSA || f == keyring.FamilyRSAPSS)
		if a != alg && (f == fam || rsa) {
			out = append(out, a)
		}
	}
	return out
}

// TestRFCExamplesThroughVerifier checks the signed examples of RFC 7515
// Appendix A, RFC 7520 §4.1-§4.4 and RFC 8037 Appendix A.4 through the
// verifier, and that RFC 7515 A.5 (alg "none") is refused.
func TestRFCExamplesThroughVerifier(t *testing.T) {
	examples, none := rfcExamples(t)

	var a5Keys []*keyring.Key // the RFC 7515 keys, for A.5
	for _, ex := range examples {
		key, err := keyring.ParseJWK(ex.jwk, keyring.Options{Alg: ex.alg, Source: ex.name})
		if err != nil {
			t.Fatalf("%s: loading the key as %s: %v", ex.name, ex.alg, err)
		}
		if strings.HasPrefix(ex.name, "RFC7515-") {
			a5Keys = append(a5Keys, key)
		}
		t.Run(ex.name, func(t *testing.T) {
			tok := []byte(ex.token)

			// The JWS layer: split, strict base64url, header, key, alg
			// binding, signature (RFC 7515 §5.2).
			t.Run("VerifySignature", func(t *testing.T) {
				v := newVectorVerifier(t, fixedClock, key)
				r := verifier.AcquireResult()
				defer verifier.ReleaseResult(r)
				if err := v.VerifySignature(r, tok); err != nil {
					t.Fatalf("%s (%s): %v", ex.name, ex.alg, err)
				}
				if string(r.Payload()) != ex.payload {
					t.Errorf("%s: Payload() = %q, want %q", ex.name, r.Payload(), ex.payload)
				}
				if r.Alg() != ex.alg || r.Key() != key {
					t.Errorf("%s: verified as %s by %v, want %s by the example key", ex.name, r.Alg(), r.Key(), ex.alg)
				}
			})

			if ex.jwt {
				// RFC 7515 A.1-A.3 carry {"iss":"joe","exp":1300819380,...}.
				t.Run("VerifyBeforeExp", func(t *testing.T) {
					v := newVectorVerifier(t, beforeRFC7515Exp, key)
					r := verifier.AcquireResult()
					defer verifier.ReleaseResult(r)
					if err := v.Verify(r, tok); err != nil {
						t.Fatalf("%s at %s: %v", ex.name, beforeRFC7515Exp().Format(time.RFC3339), err)
					}
					if string(r.Issuer()) != "joe" {
						t.Errorf("%s: iss %q, want \"joe\"", ex.name, r.Issuer())
					}
					if exp, ok := r.Expiry(); !ok || !exp.Equal(rfc7515Exp) {
						t.Errorf("%s: exp %v (present %v), want %v", ex.name, exp, ok, rfc7515Exp)
					}
				})
				t.Run("VerifyRealClock", func(t *testing.T) {
					v := newVectorVerifier(t, nil, key) // nil: time.Now
					r := verifier.AcquireResult()
					defer verifier.ReleaseResult(r)
					// RFC 7519 §4.1.4: expired since 2011-03-22T18:43:00Z.
					if err := v.Verify(r, tok); !errors.Is(err, verifier.ErrExpired) {
						t.Fatalf("%s with the real clock: %v, want ErrExpired", ex.name, err)
					}
				})
			} else {
				// "Payload", a line of prose, "Example of Ed25519 signing":
				// not a JSON object, so not a JWT (RFC 7519 §7.2 step 10).
				t.Run("VerifyNotClaims", func(t *testing.T) {
					v := newVectorVerifier(t, beforeRFC7515Exp, key)
					r := verifier.AcquireResult()
					defer verifier.ReleaseResult(r)
					if err := v.Verify(r, tok); !errors.Is(err, verifier.ErrMalformed) {
						t.Fatalf("%s through Verify: %v, want ErrMalformed (payload is not a claim set)", ex.name, err)
					}
				})
			}

			// RFC 8725 §3.1: the key decides the alg. The same key material
			// bound to any other alg must not verify the example.
			t.Run("AlgBinding", func(t *testing.T) {
				others := sameKeyType(ex.alg)
				if len(others) == 0 {
					t.Skipf("%s: no other alg for a %s key", ex.name, ex.alg)
				}
				// Test setup: drop the JWK's own "alg" (only RFC 7520 §3.5
				// has one), which would otherwise refuse the rebinding at
				// load time and leave the verifier untested.
				jwk := setJWKMember(t, ex.jwk, "alg", nil)
				var refused, rejected []keyring.Algorithm
				defer func() {
					t.Logf("%s: other algs refused at load %v, rejected by the verifier %v", ex.name, refused, rejected)
				}()
				for _, other := range others {
					k, err := keyring.ParseJWK(jwk, keyring.Options{Alg: other, Source: ex.name})
					if err != nil {
						// EC keys take their alg from the curve; HMAC keys
						// shorter than the hash are refused (RFC 7518 §3.2).
						if !errors.Is(err, keyring.ErrInvalidKey) {
							t.Errorf("%s: key as %s refused with %v, want keyring.ErrInvalidKey", ex.name, other, err)
						}
						refused = append(refused, other)
						continue
					}
					v := newVectorVerifier(t, beforeRFC7515Exp, k)
					r := verifier.AcquireResult()
					err = v.VerifySignature(r, tok)
					verr := v.Verify(r, tok)
					verifier.ReleaseResult(r)
					if !errors.Is(err, verifier.ErrUnknownKey) {
						t.Errorf("%s: key bound to %s, VerifySignature: %v, want ErrUnknownKey", ex.name, other, err)
					}
					if verr == nil {
						t.Errorf("%s: key bound to %s, Verify accepted the token", ex.name, other)
					}
					rejected = append(rejected, other)
				}
			})
		})
	}

	// RFC 8037 A.3: the key has no kid, so the keyring names it by its
	// RFC 7638 thumbprint.
	t.Run("RFC8037-A.3", func(t *testing.T) {
		var f rfc8037File
		decodeVector(t, "rfc8037.json", &f)
		k, err := keyring.ParseJWK(f.PublicKeyJWK, keyring.Options{Alg: keyring.EdDSA})
		if err != nil {
			t.Fatal(err)
		}
		if k.Thumbprint() != f.Thumbprint || k.ID() != f.Thumbprint {
			t.Errorf("thumbprint %q, kid %q, want %q", k.Thumbprint(), k.ID(), f.Thumbprint)
		}
	})

	// RFC 7515 A.5: alg "none" with an empty signature. The vectors say it
	// must be rejected; RFC 8725 §3.1 says why. Every RFC 7515 key is in
	// the set, so nothing but the token can be the reason.
	t.Run("RFC7515-A.5", func(t *testing.T) {
		if !strings.Contains(none.Expected, "MUST be rejected") {
			t.Fatalf("A.5 expected %q", none.Expected)
		}
		v := newVectorVerifier(t, beforeRFC7515Exp, a5Keys...)
		r := verifier.AcquireResult()
		defer verifier.ReleaseResult(r)
		tok := []byte(none.Compact)
		for name, verify := range map[string]func(*verifier.Result, []byte) error{
			"VerifySignature": v.VerifySignature,
			"Verify":          v.Verify,
		} {
			err := verify(r, tok)
			if !errors.Is(err, verifier.ErrUnsupportedAlg) && !errors.Is(err, verifier.ErrMalformed) {
				t.Errorf("A.5 through %s: %v, want ErrUnsupportedAlg or ErrMalformed", name, err)
			}
		}
	})
}
