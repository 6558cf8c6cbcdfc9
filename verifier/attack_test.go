package verifier_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

var enc = base64.RawURLEncoding

func join(parts ...string) []byte { return []byte(strings.Join(parts, ".")) }

// reencode replaces the signature segment of tok with sig.
func withSignature(tok []byte, sig []byte) []byte {
	i := strings.LastIndexByte(string(tok), '.')
	return append(append([]byte{}, tok[:i+1]...), enc.EncodeToString(sig)...)
}

func signature(t *testing.T, tok []byte) []byte {
	i := strings.LastIndexByte(string(tok), '.')
	sig, err := enc.DecodeString(string(tok[i+1:]))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// ed25519Order is L, the order of the Ed25519 base point (RFC 8032 §5.1).
var ed25519Order, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// attackCase is a forged or malformed token and the class of error that
// names the attack.
type attackCase struct {
	name  string
	token []byte
	want  error
}

// TestAttacks sends every known class of forged or malformed token and
// checks each is rejected with the class of error that names the attack.
func TestAttacks(t *testing.T) {
	v, tests := attackCases(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			err := v.Verify(r, tc.token)
			if err == nil {
				t.Fatalf("accepted")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want class %v", err, tc.want)
			}
			var ve *verifier.Error
			if !errors.As(err, &ve) || ve.Reason() == "" || verifier.Code(err) != verifier.CodeInvalidToken {
				t.Fatalf("error %v: not a verifier error with a reason and invalid_token", err)
			}
		})
	}
}

// attackCases builds TestAttacks' table and the verifier it runs against
// (TestErrorsNeverContainSecrets reuses both).
func attackCases(t *testing.T) (*verifier.Verifier, []attackCase) {
	t.Helper()
	hs := caseFor(t, "HS256")
	rs := caseFor(t, "RS256")
	es := caseFor(t, "ES256")
	ed := caseFor(t, "EdDSA")
	v := newVerifier(t, allKeys(t), verifier.DefaultPolicy())
	good := claims(nil)
	p64 := enc.EncodeToString(good)

	// The RSA public key as PEM, which a confused verifier would use as an
	// HMAC secret (CVE-2015-9235 and its many descendants).
	spki, err := x509.MarshalPKIXPublicKey(rs.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})
	confusedInput := enc.EncodeToString([]byte(header("HS256", rs.key.ID(), ""))) + "." + p64
	confusedSig, err := signer.Signature(keyring.HS256, rsaPEM, []byte(confusedInput))
	if err != nil {
		t.Fatal(err)
	}

	// An attacker's own EC key, embedded in the header as "jwk".
	attacker, err := signer.GenerateKey(keyring.ES256)
	if err != nil {
		t.Fatal(err)
	}
	attackerPub, _ := signer.Public(attacker)
	attackerKey, err := keyring.NewKey(attackerPub, keyring.Options{ID: "attacker"})
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK, err := attackerKey.MarshalJWK()
	if err != nil {
		t.Fatal(err)
	}
	attackerSigner, err := signer.New(keyring.ES256, attacker, es.key.ID())
	if err != nil {
		t.Fatal(err)
	}
	embedded := func(kid, param string) []byte {
		tok, err := attackerSigner.SignRaw([]byte(header("ES256", kid, param)), good)
		if err != nil {
			t.Fatal(err)
		}
		return []byte(tok)
	}

	// ECDSA signature in ASN.1 DER instead of JWS R‖S (RFC 7518 §3.4).
	esTok := mint(t, es, good)
	esInput := esTok[:strings.LastIndexByte(string(esTok), '.')]
	digest := sha256.Sum256(esInput)
	esPriv := esPrivate(t)
	derGood, err := ecdsa.SignASN1(rand.Reader, esPriv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	esSig := signature(t, esTok)
	zeroR := append(make([]byte, 32), esSig[32:]...)
	zeroS := append(append([]byte{}, esSig[:32]...), make([]byte, 32)...)

	// Ed25519 with S replaced by S + L: the same point equation holds, so
	// only the S < L check (RFC 8032 §5.1.7) stops it.
	edTok := mint(t, ed, good)
	edSig := signature(t, edTok)
	sLE := edSig[32:]
	sBE := make([]byte, 32)
	for i := range sLE {
		sBE[31-i] = sLE[i]
	}
	s := new(big.Int).SetBytes(sBE)
	s.Add(s, ed25519Order)
	sPlusL := s.FillBytes(make([]byte, 32))
	malleable := append([]byte{}, edSig[:32]...)
	for i := 31; i >= 0; i-- {
		malleable = append(malleable, sPlusL[i])
	}

	hsTok := mint(t, hs, good)
	hsParts := strings.Split(string(hsTok), ".")

	deep := `{"exp":` + jsonInt(testNow.Unix()+60) + `,"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`
	wide := `{"exp":` + jsonInt(testNow.Unix()+60) + strings.Repeat(`,"x":1`, 1) + `,` + manyMembers(2000) + `}`

	return v, []attackCase{
		{"alg none lower case, empty signature", join(enc.EncodeToString([]byte(`{"alg":"none"}`)), p64, ""), verifier.ErrMalformed},
		{"alg none", join(enc.EncodeToString([]byte(`{"alg":"none"}`)), p64, "AAAA"), verifier.ErrUnsupportedAlg},
		{"alg None", join(enc.EncodeToString([]byte(`{"alg":"None"}`)), p64, "AAAA"), verifier.ErrUnsupportedAlg},
		{"alg NONE", join(enc.EncodeToString([]byte(`{"alg":"NONE"}`)), p64, "AAAA"), verifier.ErrUnsupportedAlg},
		{"alg nOnE with a kid of a real key", join(enc.EncodeToString([]byte(header("nOnE", hs.key.ID(), ""))), p64, hsParts[2]), verifier.ErrUnsupportedAlg},
		{"alg missing", mintRaw(t, hs, `{"kid":"kid-HS256"}`, good), verifier.ErrMalformed},
		{"alg not a string", mintRaw(t, hs, `{"alg":["HS256"],"kid":"kid-HS256"}`, good), verifier.ErrMalformed},
		{"alg lower-case hs256", mintRaw(t, hs, header("hs256", hs.key.ID(), ""), good), verifier.ErrUnsupportedAlg},
		{"HS256 signed with the RSA public key as secret", join(confusedInput, enc.EncodeToString(confusedSig)), verifier.ErrUnknownKey},
		{"alg ES256 claimed for an RS256 key", withSignature(mintRaw(t, rs, header("ES256", rs.key.ID(), ""), good), make([]byte, 64)), verifier.ErrUnknownKey},
		{"alg RS256 header on an RS256 key but PS256 signature", mintRaw(t, caseFor(t, "PS256"), header("RS256", rs.key.ID(), ""), good), verifier.ErrSignature},
		{"unknown kid", mintRaw(t, hs, header("HS256", "no-such-key", ""), good), verifier.ErrUnknownKey},
		{"embedded jwk with attacker kid", embedded("attacker", `"jwk":`+string(attackerJWK)), verifier.ErrUnknownKey},
		{"embedded jwk with our kid", embedded(es.key.ID(), `"jwk":`+string(attackerJWK)), verifier.ErrSignature},
		{"jku pointing elsewhere", embedded(es.key.ID(), `"jku":"https://attacker.example/jwks.json"`), verifier.ErrSignature},
		{"x5u pointing elsewhere", embedded(es.key.ID(), `"x5u":"https://attacker.example/cert.pem"`), verifier.ErrSignature},
		{"x5c with attacker certificate data", embedded(es.key.ID(), `"x5c":["MIIB"]`), verifier.ErrSignature},
		{"unknown crit member", mintRaw(t, hs, header("HS256", hs.key.ID(), `"crit":["exp"],"exp":1`), good), verifier.ErrMalformed},
		{"empty crit", mintRaw(t, hs, header("HS256", hs.key.ID(), `"crit":[]`), good), verifier.ErrMalformed},
		{"b64 false", mintRaw(t, hs, header("HS256", hs.key.ID(), `"b64":false,"crit":["b64"]`), good), verifier.ErrMalformed},
		{"b64 without crit", mintRaw(t, hs, header("HS256", hs.key.ID(), `"b64":false`), good), verifier.ErrMalformed},
		{"padded header", join(hsParts[0]+"=", hsParts[1], hsParts[2]), verifier.ErrMalformed},
		{"padded signature", join(hsParts[0], hsParts[1], hsParts[2]+"="), verifier.ErrMalformed},
		{"standard alphabet in signature", join(hsParts[0], hsParts[1], strings.NewReplacer("-", "+", "_", "/").Replace(hsParts[2])+"+/"), verifier.ErrMalformed},
		{"newline inside payload", join(hsParts[0], hsParts[1][:10]+"\n"+hsParts[1][10:], hsParts[2]), verifier.ErrMalformed},
		{"space inside header", join(hsParts[0][:5]+" "+hsParts[0][5:], hsParts[1], hsParts[2]), verifier.ErrMalformed},
		{"non-canonical trailing bits in signature", join(hsParts[0], hsParts[1], flipLastBits(hsParts[2])), verifier.ErrMalformed},
		{"two segments", join(hsParts[0], hsParts[1]), verifier.ErrMalformed},
		{"four segments", join(hsParts[0], hsParts[1], hsParts[2], hsParts[2]), verifier.ErrMalformed},
		{"five segments (JWE)", join(hsParts[0], "", hsParts[1], hsParts[2], hsParts[2]), verifier.ErrMalformed},
		{"empty header", join("", hsParts[1], hsParts[2]), verifier.ErrMalformed},
		{"empty payload", join(hsParts[0], "", hsParts[2]), verifier.ErrMalformed},
		{"empty signature", join(hsParts[0], hsParts[1], ""), verifier.ErrMalformed},
		{"empty token", []byte{}, verifier.ErrMalformed},
		{"DER ECDSA signature", withSignature(esTok, derGood), verifier.ErrSignature},
		{"ECDSA r = 0", withSignature(esTok, zeroR), verifier.ErrSignature},
		{"ECDSA s = 0", withSignature(esTok, zeroS), verifier.ErrSignature},
		{"ECDSA r = s = 0", withSignature(esTok, make([]byte, 64)), verifier.ErrSignature},
		{"Ed25519 with S >= L", withSignature(edTok, malleable), verifier.ErrSignature},
		{"truncated HMAC tag", withSignature(hsTok, signature(t, hsTok)[:16]), verifier.ErrSignature},
		{"duplicate exp", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), []byte(`{"exp":`+jsonInt(testNow.Unix()-3600)+`,"exp":`+jsonInt(testNow.Unix()+3600)+`}`)), verifier.ErrMalformed},
		{"duplicate exp spelled with an escape", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), []byte(`{"exp":`+jsonInt(testNow.Unix()-3600)+`,"\u0065xp":`+jsonInt(testNow.Unix()+3600)+`}`)), verifier.ErrMalformed},
		{"duplicate alg in header", mintRaw(t, hs, `{"alg":"HS256","alg":"none","kid":"kid-HS256"}`, good), verifier.ErrMalformed},
		{"header is an array", mintRaw(t, hs, `["HS256"]`, good), verifier.ErrMalformed},
		{"header is a string", mintRaw(t, hs, `"HS256"`, good), verifier.ErrMalformed},
		{"header is not JSON", mintRaw(t, hs, `alg=HS256`, good), verifier.ErrMalformed},
		{"payload is an array", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), []byte(`[1,2]`)), verifier.ErrMalformed},
		{"payload is a number", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), []byte(`1`)), verifier.ErrMalformed},
		{"payload is text", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), []byte(`Payload`)), verifier.ErrMalformed},
		{"payload with trailing data", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), append(claims(nil), []byte(`{}`)...)), verifier.ErrMalformed},
		{"deeply nested claims", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), []byte(deep)), verifier.ErrMalformed},
		{"too many claims", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), []byte(wide)), verifier.ErrMalformed},
		{"huge token", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), claims(map[string]any{"pad": strings.Repeat("x", 9000)})), verifier.ErrMalformed},
		{"invalid UTF-8 in a claim", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), []byte(`{"exp":`+jsonInt(testNow.Unix()+60)+`,"sub":"`+"\xff\xfe"+`"}`)), verifier.ErrMalformed},
		{"NUL in a claim name", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), []byte("{\"exp\":"+jsonInt(testNow.Unix()+60)+",\"s\x00b\":1}")), verifier.ErrMalformed},
		{"NaN exp", mintRaw(t, hs, header("HS256", hs.key.ID(), ""), []byte(`{"exp":NaN}`)), verifier.ErrMalformed},
		{"signature of another token", join(hsParts[0], enc.EncodeToString(claims(map[string]any{"sub": "admin"})), hsParts[2]), verifier.ErrSignature},
		{"signature bit flipped", withSignature(hsTok, flipBit(signature(t, hsTok))), verifier.ErrSignature},
	}
}

func esPrivate(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	priv, ok := fixturePrivate["ES256"].(*ecdsa.PrivateKey)
	if !ok {
		t.Fatal("no ES256 private key")
	}
	return priv
}

func flipBit(b []byte) []byte {
	c := append([]byte{}, b...)
	c[len(c)/2] ^= 1
	return c
}

// flipLastBits sets the unused low bits of the last base64url character,
// which a lenient decoder ignores.
func flipLastBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last|1])
}

func jsonInt(n int64) string { return big.NewInt(n).String() }

func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"m`)
		b.WriteString(big.NewInt(int64(i)).String())
		b.WriteString(`":0`)
	}
	return b.String()
}
