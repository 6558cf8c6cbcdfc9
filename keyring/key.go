package keyring

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"sync"

	"github.com/cloudflare/circl/ecc/goldilocks"
	"github.com/cloudflare/circl/sign/ed448"
)

// Key-size rules enforced when a key is made (never on the request path).
const (
	// MinRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3 and
	// §3.5: "A key of size 2048 bits or larger MUST be used").
	MinRSABits = 2048
	// MaxRSABits bounds the verification cost a configured key can cause.
	MaxRSABits = 8192
	// MinRSAExponent is the smallest public exponent accepted (FIPS 186-5
	// §5.4 requires 2^16 < e < 2^256; small exponents only ever helped
	// forgeries against lax PKCS#1 parsers).
	MinRSAExponent = 65537
)

// Options describe what a key is bound to when it is made.
type Options struct {
	// ID is the key id ("kid"). Empty means: derive the RFC 7638 thumbprint.
	ID string
	// Alg is the one algorithm the key verifies. It is required for RSA
	// (RS* and PS* use the same keys and tokengate refuses to guess) and
	// HMAC keys; for EC keys the curve decides it, and a given Alg must
	// agree with the curve. An OKP key is bound to EdDSA unless Alg names
	// its curve's fully specified algorithm (Ed25519 or Ed448, RFC 9864).
	// An ML-DSA key's parameter set decides (ML-DSA-44, -65 or -87).
	Alg Algorithm
	// Issuer, when set, restricts the key to tokens whose "iss" equals it.
	Issuer string
	// Client is an optional label for the party holding the key (API
	// clients with their own secrets); the sidecar forwards it.
	Client string
	// Source names where the key came from (file path, "env:NAME", URL),
	// for errors, logs and the admin /keys listing.
	Source string

	// published marks a JWK Set an identity provider publishes (remote
	// sources). A key whose "alg" this package does not implement is
	// skipped and reported instead of refused (a provider that adds a key
	// of a newer algorithm must not look broken), and an oct (HMAC) member
	// is refused: a published set holds public keys only. Files are
	// written by the operator: there an unknown alg is refused.
	published bool
	// algs is the source's allow-list. An RSA key without an alg is
	// bound to its one RSA algorithm when it admits exactly one (RS256
	// and PS256 keys look alike, so two would be a guess).
	algs []Algorithm
}

// Key is a public key or HMAC secret bound to exactly one algorithm. It is
// immutable after creation and safe for concurrent use by any number of
// goroutines. Key material was validated when the key was made, so Verify
// can never reach a standard-library panic on a bad key length.
type Key struct {
	id         string
	alg        Algorithm
	issuer     string
	client     string
	source     string
	thumbprint string // RFC 7638; of the secret for an HMAC key: never shown
	bits       int
	public     crypto.PublicKey // nil for HMAC keys: a secret is never handed out
	verify     func(signingInput, sig []byte) bool
}

// ID returns the key id ("kid").
func (k *Key) ID() string { return k.id }

// Alg returns the one algorithm the key verifies.
func (k *Key) Alg() Algorithm { return k.alg }

// Issuer returns the issuer the key is restricted to, or "".
func (k *Key) Issuer() string { return k.issuer }

// Client returns the client label, or "".
func (k *Key) Client() string { return k.client }

// Source returns where the key was loaded from.
func (k *Key) Source() string { return k.source }

// Thumbprint returns the RFC 7638 SHA-256 JWK thumbprint, base64url, of a
// public key, and "" for an HMAC key: the thumbprint of a secret is an
// unsalted hash of it, with which guesses of a weak secret can be tested
// offline, so nothing derived from a secret is ever handed out.
func (k *Key) Thumbprint() string {
	if k.public == nil {
		return ""
	}
	return k.thumbprint
}

// Fingerprint is a short identifier of a public key, safe for logs and
// metrics: the first 12 characters of its thumbprint; "" for an HMAC key
// (see Thumbprint; name it by kid, alg, source and Bits).
func (k *Key) Fingerprint() string {
	tp := k.Thumbprint()
	if len(tp) > 12 {
		return tp[:12]
	}
	return tp
}

// Bits returns the key's size in bits: the RSA modulus, the curve's field
// for EC keys, 256 for Ed25519, 448 for Ed448, the encoded public key for
// ML-DSA, and the secret's length for an HMAC key.
func (k *Key) Bits() int { return k.bits }

// Public returns the public key (*rsa.PublicKey, *ecdsa.PublicKey,
// ed25519.PublicKey, ed448.PublicKey, or *mldsa44.PublicKey,
// *mldsa65.PublicKey, *mldsa87.PublicKey from circl), or nil for an HMAC key.
func (k *Key) Public() crypto.PublicKey { return k.public }

// Verify reports whether sig is a valid signature of signingInput under this
// key and its algorithm. It is the raw primitive: no header or claims are
// looked at. It allocates nothing for HMAC and Ed25519 keys; RSA, ES256 and
// ES512 allocate only inside the standard library; ES384 (about 30 times,
// mostly inside circl's CombinedMult), Ed448 and ML-DSA inside circl.
func (k *Key) Verify(signingInput, sig []byte) bool { return k.verify(signingInput, sig) }

// NewKey makes a Key from a public key (*rsa.PublicKey, *ecdsa.PublicKey,
// ed25519.PublicKey, ed448.PublicKey, circl's *mldsa44.PublicKey,
// *mldsa65.PublicKey or *mldsa87.PublicKey) or an HMAC secret ([]byte),
// checking that the material is strong enough for and consistent with the
// algorithm.
func NewKey(material any, o Options) (*Key, error) {
	k := &Key{id: o.ID, alg: o.Alg, issuer: o.Issuer, client: o.Client, source: o.Source}
	var err error
	switch m := material.(type) {
	case []byte:
		err = k.initHMAC(m)
	case *rsa.PublicKey:
		err = k.initRSA(m)
	case *ecdsa.PublicKey:
		err = k.initECDSA(m)
	case ed25519.PublicKey:
		err = k.initEd25519(m)
	case ed448.PublicKey:
		err = k.initEd448(m)
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, ed448.PrivateKey:
		err = errors.New("private key given where a public key is needed")
	default:
		// ML-DSA keys (RFC 9964) live in mldsa.go.
		var handled bool
		if handled, err = k.initMLDSAMaterial(material); !handled {
			err = fmt.Errorf("unsupported key type %T", material)
		}
	}
	if err != nil {
		return nil, k.errorf(err)
	}
	if k.id == "" && k.public != nil {
		// RFC 7638 §1: a thumbprint names a public key. An HMAC secret
		// without a kid stays without one (found by its alg): a kid
		// derived from it would publish a hash of the secret.
		k.id = k.thumbprint
	}
	return k, nil
}

func (k *Key) errorf(err error) error {
	name := k.id
	if name == "" {
		name = "(no kid)"
	}
	if k.source != "" {
		return fmt.Errorf("keyring: %s: key %s: %w", k.source, name, err)
	}
	return fmt.Errorf("keyring: key %s: %w", name, err)
}

var b64 = base64.RawURLEncoding

// thumbprint computes RFC 7638 §3: SHA-256 over the required members in
// lexicographic order, no whitespace.
func thumbprint(members ...string) string {
	// members are name, value pairs already in lexicographic order.
	var buf []byte
	buf = append(buf, '{')
	for i := 0; i < len(members); i += 2 {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = append(buf, members[i]...)
		buf = append(buf, `":"`...)
		buf = append(buf, members[i+1]...)
		buf = append(buf, '"')
	}
	buf = append(buf, '}')
	sum := sha256.Sum256(buf)
	return b64.EncodeToString(sum[:])
}

// --- HMAC ---------------------------------------------------------------

type hmacState struct {
	h   hash.Hash
	sum [sha512.Size]byte
}

func (k *Key) initHMAC(secret []byte) error {
	if k.alg == "" {
		return errors.New("an HMAC secret needs an explicit alg (HS256, HS384 or HS512)")
	}
	if k.alg.Family() != FamilyHMAC {
		return fmt.Errorf("alg %s cannot be used with an HMAC secret", k.alg)
	}
	newHash := hashFunc(k.alg)
	size := k.alg.Hash().Size()
	// RFC 7518 §3.2: "A key of the same size as the hash output ... or
	// larger MUST be used with this algorithm."
	if len(secret) < size {
		return fmt.Errorf("%s secret is %d bytes, at least %d are required", k.alg, len(secret), size)
	}
	secret = append([]byte(nil), secret...) // own the bytes: the caller may wipe or reuse theirs
	pool := &sync.Pool{New: func() any { return &hmacState{h: hmac.New(newHash, secret)} }}
	k.thumbprint = thumbprint("k", b64.EncodeToString(secret), "kty", "oct")
	k.bits = 8 * len(secret)
	k.verify = func(in, sig []byte) bool {
		// JWS carries the full, untruncated tag (RFC 7518 §3.2).
		if len(sig) != size {
			return false
		}
		st := pool.Get().(*hmacState)
		st.h.Reset()
		st.h.Write(in)
		sum := st.h.Sum(st.sum[:0])
		ok := hmac.Equal(sum, sig) // constant time (RFC 7515 §10.7 timing attacks)
		pool.Put(st)
		return ok
	}
	return nil
}

func hashFunc(a Algorithm) func() hash.Hash {
	switch a.Hash() {
	case crypto.SHA256:
		return sha256.New
	case crypto.SHA384:
		return sha512.New384
	default:
		return sha512.New
	}
}

// digest hashes in with the algorithm's hash into dst and returns the digest.
func digest(a Algorithm, in []byte, dst *[sha512.Size]byte) []byte {
	switch a.Hash() {
	case crypto.SHA256:
		s := sha256.Sum256(in)
		return dst[:copy(dst[:], s[:])]
	case crypto.SHA384:
		s := sha512.Sum384(in)
		return dst[:copy(dst[:], s[:])]
	default:
		s := sha512.Sum512(in)
		return dst[:copy(dst[:], s[:])]
	}
}

// --- RSA ----------------------------------------------------------------

var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

func (k *Key) initRSA(pub *rsa.PublicKey) error {
	if k.alg == "" {
		// RS256 and PS256 keys look the same: refuse to guess.
		return errors.New("an RSA key needs an explicit alg (RS256/384/512 or PS256/384/512)")
	}
	fam := k.alg.Family()
	if fam != FamilyRSA && fam != FamilyRSAPSS {
		return fmt.Errorf("alg %s cannot be used with an RSA key", k.alg)
	}
	if pub.N == nil || pub.N.Sign() <= 0 {
		return errors.New("RSA modulus missing")
	}
	if bits := pub.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
		return fmt.Errorf("RSA key is %d bits, must be %d to %d", bits, MinRSABits, MaxRSABits)
	}
	if pub.N.Bit(0) == 0 {
		return errors.New("RSA modulus is even")
	}
	if pub.E < MinRSAExponent || pub.E&1 == 0 {
		return fmt.Errorf("RSA public exponent %d refused: must be odd and at least %d", pub.E, MinRSAExponent)
	}
	cp := &rsa.PublicKey{N: new(big.Int).Set(pub.N), E: pub.E}
	k.public, k.bits = cp, cp.N.BitLen()
	k.thumbprint = thumbprint("e", b64.EncodeToString(big.NewInt(int64(cp.E)).Bytes()), "kty", "RSA", "n", b64.EncodeToString(cp.N.Bytes()))
	alg, h, size := k.alg, k.alg.Hash(), cp.Size()
	if fam == FamilyRSA {
		k.verify = func(in, sig []byte) bool {
			if len(sig) != size {
				return false
			}
			var buf [sha512.Size]byte
			return rsa.VerifyPKCS1v15(cp, h, digest(alg, in, &buf), sig) == nil
		}
		return nil
	}
	k.verify = func(in, sig []byte) bool {
		if len(sig) != size {
			return false
		}
		var buf [sha512.Size]byte
		// RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
		return rsa.VerifyPSS(cp, h, digest(alg, in, &buf), sig, pssOptions) == nil
	}
	return nil
}

// --- ECDSA --------------------------------------------------------------

// curveAlg is the one ECDSA algorithm each curve pairs with (RFC 7518 §3.4).
func curveAlg(c elliptic.Curve) (Algorithm, int, bool) {
	switch c {
	case elliptic.P256():
		return ES256, 32, true
	case elliptic.P384():
		return ES384, 48, true
	case elliptic.P521():
		return ES512, 66, true
	}
	return "", 0, false
}

// CurveName returns the JWK "crv" name of an ECDSA curve.
func CurveName(c elliptic.Curve) string { return c.Params().Name }

// derPool holds scratch buffers for re-encoding JWS r‖s signatures as the
// ASN.1 DER that crypto/ecdsa verifies. 2*(2+67)+3 bytes covers P-521.
var derPool = sync.Pool{New: func() any { return new([160]byte) }}

func (k *Key) initECDSA(pub *ecdsa.PublicKey) error {
	if pub.Curve == nil {
		return errors.New("EC key without a curve")
	}
	alg, n, ok := curveAlg(pub.Curve)
	if !ok {
		return fmt.Errorf("EC curve %s is not supported (P-256, P-384, P-521)", pub.Curve.Params().Name)
	}
	if k.alg == "" {
		k.alg = alg
	}
	// RFC 7518 §3.4: ES256 is P-256, ES384 is P-384, ES512 is P-521; a
	// key on another curve must not verify this alg.
	if k.alg != alg {
		return fmt.Errorf("alg %s does not match curve %s (needs %s)", k.alg, pub.Curve.Params().Name, alg)
	}
	// Validate the point once: it must be on the curve and not the point
	// at infinity (invalid-curve attacks). ParseUncompressedPublicKey does
	// both checks.
	raw, err := pub.Bytes()
	if err != nil || len(raw) != 1+2*n {
		return errors.New("EC point coordinates out of range")
	}
	cp, err := ecdsa.ParseUncompressedPublicKey(pub.Curve, raw)
	if err != nil {
		return fmt.Errorf("EC point is not valid: %w", err)
	}
	k.public, k.bits = cp, cp.Curve.Params().BitSize
	k.thumbprint = thumbprint("crv", CurveName(cp.Curve), "kty", "EC", "x", b64.EncodeToString(raw[1:1+n]), "y", b64.EncodeToString(raw[1+n:]))
	if alg == ES384 {
		// crypto/ecdsa has no P-384 assembly: ES384 runs on circl (p384.go).
		k.verify = newES384Verifier(raw).verify
		return nil
	}
	k.verify = func(in, sig []byte) bool {
		// RFC 7518 §3.4: the signature is R‖S, each exactly the curve's
		// octet length. Any other length (including DER) is rejected.
		if len(sig) != 2*n {
			return false
		}
		var buf [sha512.Size]byte
		d := digest(alg, in, &buf)
		der := derPool.Get().(*[160]byte)
		ok := ecdsa.VerifyASN1(cp, d, appendDERSignature(der[:0], sig[:n], sig[n:]))
		derPool.Put(der)
		return ok
	}
	return nil
}

// appendDERSignature appends ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s
// INTEGER } (SEC 1 §C.5) for the big-endian unsigned r and s. Zero values
// encode as INTEGER 0, which VerifyASN1 rejects (r, s must be in [1, n-1]).
func appendDERSignature(dst, r, s []byte) []byte {
	r, rl := derIntLen(r)
	s, sl := derIntLen(s)
	body := 2 + rl + 2 + sl
	dst = append(dst, 0x30)
	if body >= 0x80 {
		dst = append(dst, 0x81)
	}
	dst = append(dst, byte(body))
	dst = appendDERInt(dst, r, rl)
	return appendDERInt(dst, s, sl)
}

// derIntLen strips leading zeros and reports the DER content length of the
// unsigned integer (one extra 0x00 when the top bit is set).
func derIntLen(b []byte) ([]byte, int) {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	if b[0]&0x80 != 0 {
		return b, len(b) + 1
	}
	return b, len(b)
}

func appendDERInt(dst, b []byte, l int) []byte {
	dst = append(dst, 0x02, byte(l))
	if l > len(b) {
		dst = append(dst, 0)
	}
	return append(dst, b...)
}

// --- EdDSA --------------------------------------------------------------

// initEdDSA binds an OKP key on the curve whose fully specified algorithm
// is curveAlg (Ed25519 or Ed448). Without an alg the key stays "EdDSA".
func (k *Key) initEdDSA(curveAlg Algorithm) error {
	if k.alg == "" {
		k.alg = EdDSA
	}
	// RFC 8037 §3.1: OKP signature keys verify "EdDSA"; RFC 9864 §2.2 adds
	// "Ed25519" and "Ed448", each for its own curve only. A key verifies
	// exactly one of the two names its curve allows.
	if k.alg != EdDSA && k.alg != curveAlg {
		return fmt.Errorf("alg %s cannot be used with an %s key (needs EdDSA or %s)", k.alg, curveAlg, curveAlg)
	}
	return nil
}

func (k *Key) initEd25519(pub ed25519.PublicKey) error {
	if err := k.initEdDSA(Ed25519); err != nil {
		return err
	}
	// crypto/ed25519 panics on a bad key length: check it here, once.
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("Ed25519 public key is %d bytes, must be %d", len(pub), ed25519.PublicKeySize)
	}
	cp := append(ed25519.PublicKey(nil), pub...)
	// Decode the point once so a key that is not a curve point fails at
	// load time, not as a silent "bad signature" on every request. The
	// message is the only way crypto/ed25519 reports it; a test pins it.
	if err := ed25519.VerifyWithOptions(cp, nil, make([]byte, ed25519.SignatureSize), &ed25519.Options{}); err != nil && err.Error() == "ed25519: bad public key" {
		return errors.New("Ed25519 public key is not a valid curve point")
	}
	k.public, k.bits = cp, 256
	k.thumbprint = thumbprint("crv", "Ed25519", "kty", "OKP", "x", b64.EncodeToString(cp))
	k.verify = func(in, sig []byte) bool {
		// Verify checks the length and S < L (RFC 8032 §5.1.7).
		return ed25519.Verify(cp, in, sig)
	}
	return nil
}

func (k *Key) initEd448(pub ed448.PublicKey) error {
	if err := k.initEdDSA(Ed448); err != nil {
		return err
	}
	if len(pub) != ed448.PublicKeySize {
		return fmt.Errorf("Ed448 public key is %d bytes, must be %d", len(pub), ed448.PublicKeySize)
	}
	cp := append(ed448.PublicKey(nil), pub...)
	// Decode the point once (RFC 8032 §5.2.3) so a bad key fails at load.
	if _, err := goldilocks.FromBytes(cp); err != nil {
		return errors.New("Ed448 public key is not a valid curve point")
	}
	k.public, k.bits = cp, 448
	k.thumbprint = thumbprint("crv", "Ed448", "kty", "OKP", "x", b64.EncodeToString(cp))
	k.verify = func(in, sig []byte) bool {
		if len(sig) != ed448.SignatureSize {
			return false
		}
		// Pure Ed448 with an empty context (RFC 8037 §3.1, RFC 8032 §5.2).
		return ed448.Verify(cp, in, sig, "")
	}
	return nil
}
