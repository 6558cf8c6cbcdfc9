package keyring

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"

	"github.com/cloudflare/circl/sign/ed448"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// MaxDocumentSize bounds a JWK, JWK Set, PEM or secret document. Key files
// are small; a bigger input is a mistake or an attack on the loader.
const MaxDocumentSize = 1 << 20

// Errors returned (wrapped) by the parsers. Check them with errors.Is; the
// message around them names the source, the key and what is wrong.
var (
	// ErrMalformed reports input that is not a well-formed JWK, JWK Set,
	// PEM document or secret: bad JSON, bad base64url, missing or
	// mistyped members, wrong lengths, garbage around PEM blocks.
	ErrMalformed = errors.New("keyring: malformed key data")
	// ErrInvalidKey reports key material that is well-formed but refused:
	// too weak (RSA size or exponent, short HMAC secret), off the curve,
	// inconsistent with its alg, or a known-bad RSA modulus.
	ErrInvalidKey = errors.New("keyring: invalid key")
	// ErrPrivateKey reports private key material where a public key is
	// needed: a verification keyring holds public keys (and HMAC secrets).
	ErrPrivateKey = errors.New("keyring: private key material where a public key is needed")
	// ErrUnusable reports a key that is not for signature verification
	// ("use" other than "sig", "key_ops" without "verify", a key-agreement
	// curve, an encryption alg, an unsupported kty). In a JWK Set such
	// keys are skipped; a single key like that is an error.
	ErrUnusable = errors.New("keyring: key is not usable for signature verification")
	// ErrUnsupportedAlg reports an "alg" that is not a tokengate Algorithm.
	ErrUnsupportedAlg = errors.New("keyring: unsupported alg")
	// ErrAlgMismatch reports a JWK "alg" (or kid) that differs from the
	// configured one.
	ErrAlgMismatch = errors.New("keyring: key does not match the configuration")
	// ErrCertMismatch reports an "x5c" whose first certificate holds a
	// different key than the JWK (RFC 7517 §4.7).
	ErrCertMismatch = errors.New("keyring: x5c certificate does not match the key")
	// ErrDuplicateKID reports two keys with the same kid in one set (or,
	// for a Snapshot, the same issuer and kid).
	ErrDuplicateKID = errors.New("keyring: duplicate kid")
	// ErrMixedKeySet reports a JWK Set that holds both HMAC secrets and
	// public keys: a document is either a set of secrets or a public set.
	ErrMixedKeySet = errors.New("keyring: key set mixes secrets and public keys")
	// ErrNoKeys reports a document that yields no usable key.
	ErrNoKeys = errors.New("keyring: no usable keys")
	// ErrTooLarge reports a document larger than MaxDocumentSize.
	ErrTooLarge = errors.New("keyring: key document too large")
)

// KeyError is a failure to load one key, or a whole document when Index is
// -1 and KID is empty. Its message names the source and the kid or position
// and never contains key material.
type KeyError struct {
	Source string // file path, "env:NAME", "inline#0", URL; may be empty
	Index  int    // position in a JWK Set "keys" array or PEM block number (0-based); -1 if none
	KID    string // the key's kid, if known
	Err    error
}

func (e *KeyError) Error() string {
	var b strings.Builder
	b.WriteString("keyring: ")
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	switch {
	case e.KID != "" && e.Index >= 0:
		fmt.Fprintf(&b, "key #%d (kid %q): ", e.Index, e.KID)
	case e.KID != "":
		fmt.Fprintf(&b, "key %q: ", e.KID)
	case e.Index >= 0:
		fmt.Fprintf(&b, "key #%d: ", e.Index)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *KeyError) Unwrap() error { return e.Err }

// Skipped is a well-formed member of a JWK Set that was left out on purpose
// because it is not for signature verification. It is not an error: JWK
// Sets published by identity providers mix signing and encryption keys.
type Skipped struct {
	Source string
	Index  int
	KID    string
	Reason string
}

func (s Skipped) String() string {
	return (&KeyError{Source: s.Source, Index: s.Index, KID: s.KID, Err: errors.New("skipped: " + s.Reason)}).Error()
}

// detail is an error with a short message that also matches a sentinel.
type detail struct {
	kind error
	msg  string
	err  error // optional cause
}

func (d *detail) Error() string {
	if d.err != nil {
		return d.msg + ": " + d.err.Error()
	}
	return d.msg
}

func (d *detail) Unwrap() []error {
	if d.err != nil {
		return []error{d.kind, d.err}
	}
	return []error{d.kind}
}

func errf(kind error, format string, args ...any) error {
	return &detail{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// skipError marks a key that a JWK Set skips and a single JWK refuses.
type skipError struct{ reason string }

func (s *skipError) Error() string        { return "not for signature verification: " + s.reason }
func (s *skipError) Is(target error) bool { return target == ErrUnusable }

// newKey calls NewKey and turns its error into a detail matching
// ErrInvalidKey. NewKey prefixes its message with the source and kid; the
// caller's KeyError names those, so only the cause (the error NewKey
// wrapped) is kept.
func newKey(material any, o Options) (*Key, error) {
	if pub, ok := material.(*rsa.PublicKey); ok && pub.N != nil && rocaFingerprint(pub.N) {
		// CVE-2017-15361 (ROCA): moduli from Infineon's RSALib can be
		// factored; their structure is detectable from n alone.
		return nil, errf(ErrInvalidKey, "RSA modulus has the ROCA fingerprint (CVE-2017-15361): the private key can be recovered")
	}
	k, err := NewKey(material, o)
	if err != nil {
		cause := err
		if inner := errors.Unwrap(err); inner != nil {
			cause = inner
		}
		return nil, &detail{kind: ErrInvalidKey, msg: "key refused", err: cause}
	}
	return k, nil
}

// rocaPrimes are the small primes of the ROCA fingerprint test (Nemec et
// al., "The Return of Coppersmith's Attack", CCS 2017): the vulnerable
// library builds primes as k*M + (65537^a mod M), M a primorial, so the
// modulus is, modulo each of these primes, a power of 65537.
var rocaPrimes = [...]int{3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167}

// rocaPowers[i][r] reports whether r is a power of 65537 modulo rocaPrimes[i].
var rocaPowers = sync.OnceValue(func() [][]bool {
	sets := make([][]bool, len(rocaPrimes))
	for i, p := range rocaPrimes {
		sets[i] = make([]bool, p)
		for x := 1; !sets[i][x]; x = x * (65537 % p) % p {
			sets[i][x] = true
		}
	}
	return sets
})

// rocaFingerprint reports whether n has the ROCA structure. A random
// modulus passes every one of the 38 residue tests with negligible
// probability.
func rocaFingerprint(n *big.Int) bool {
	sets := rocaPowers()
	nb := n.Bytes()
	for i, p := range rocaPrimes {
		r := 0
		for _, b := range nb {
			r = (r<<8 | int(b)) % p
		}
		if !sets[i][r] {
			return false
		}
	}
	return true
}

// jsonLimits bound a key document: a JWK Set of a few thousand keys, each
// with a certificate chain, fits. A JWK needs depth 4 ({"keys":[{"x5c":[
// ...]}]}); the rest is room for unknown members, which are ignored.
var jsonLimits = jsonx.Limits{MaxDepth: 8, MaxNodes: 1 << 16, MaxMembers: 1 << 12}

// --- format detection -----------------------------------------------------

// ParseKeys loads the keys in data, detecting the format: a JSON object
// with a "keys" member is a JWK Set, another JSON object a single JWK, and
// "-----BEGIN" starts PEM. See ParseJWK, ParseJWKS and ParsePEM.
func ParseKeys(data []byte, o Options) ([]*Key, error) {
	keys, _, err := ParseKeysReport(data, o)
	return keys, err
}

// ParseKeysReport is ParseKeys that also returns the JWK Set members that
// were skipped because they are not for signature verification, so the
// caller can log them.
func ParseKeysReport(data []byte, o Options) ([]*Key, []Skipped, error) {
	if len(data) > MaxDocumentSize {
		return nil, nil, docError(o, errf(ErrTooLarge, "%d bytes, at most %d", len(data), MaxDocumentSize))
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		var d jsonx.Doc
		root, err := parseJSON(&d, data, o)
		if err != nil {
			return nil, nil, err
		}
		if root.Get("keys").Exists() {
			return parseJWKSValue(root, o)
		}
		k, err := parseSingleJWK(root, o)
		if err != nil {
			return nil, nil, err
		}
		return []*Key{k}, nil, nil
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		keys, err := ParsePEM(data, o)
		return keys, nil, err
	}
	return nil, nil, docError(o, errf(ErrMalformed, "not a JWK, JWK Set or PEM document"))
}

func docError(o Options, err error) error {
	return &KeyError{Source: o.Source, Index: -1, Err: err}
}

func parseJSON(d *jsonx.Doc, data []byte, o Options) (jsonx.Value, error) {
	if len(data) > MaxDocumentSize {
		return jsonx.Value{}, docError(o, errf(ErrTooLarge, "%d bytes, at most %d", len(data), MaxDocumentSize))
	}
	// jsonx rejects duplicate member names (one name, one meaning: a JWK
	// with two "alg" or two "n" members is ambiguous), bad UTF-8 and
	// trailing data.
	if err := d.Parse(data, jsonLimits); err != nil {
		return jsonx.Value{}, docError(o, &detail{kind: ErrMalformed, msg: "invalid JSON", err: err})
	}
	root := d.Root()
	if root.Kind() != jsonx.Object {
		return jsonx.Value{}, docError(o, errf(ErrMalformed, "JSON document is not an object"))
	}
	return root, nil
}

// --- JWK Set --------------------------------------------------------------

// ParseJWK loads a single JWK (RFC 7517 §4). o supplies the alg for RSA
// and oct keys that have none (and must equal the JWK's "alg" when both
// are present), the kid when the JWK has none (and must equal it when both
// are), and the issuer, client and source of the key. A JWK that is not for
// signature verification is an error matching ErrUnusable.
func ParseJWK(data []byte, o Options) (*Key, error) {
	var d jsonx.Doc
	root, err := parseJSON(&d, data, o)
	if err != nil {
		return nil, err
	}
	if root.Get("keys").Exists() {
		return nil, docError(o, errf(ErrMalformed, `document is a JWK Set ("keys"), not a single JWK`))
	}
	return parseSingleJWK(root, o)
}

func parseSingleJWK(v jsonx.Value, o Options) (*Key, error) {
	k, kid, err := parseJWKValue(v, o)
	if err != nil {
		return nil, &KeyError{Source: o.Source, Index: -1, KID: kid, Err: err}
	}
	return k, nil
}

// ParseJWKS loads a JWK Set (RFC 7517 §5). Members that are not for
// signature verification are skipped (see ParseKeysReport); every bad key is
// reported at once (errors.Join of *KeyError); two keys with one kid, a mix
// of secrets and public keys, or a set with no usable key are errors. o
// applies to every key; o.ID must be empty.
func ParseJWKS(data []byte, o Options) ([]*Key, error) {
	var d jsonx.Doc
	root, err := parseJSON(&d, data, o)
	if err != nil {
		return nil, err
	}
	keys, _, err := parseJWKSValue(root, o)
	return keys, err
}

func parseJWKSValue(root jsonx.Value, o Options) ([]*Key, []Skipped, error) {
	set := root.Get("keys")
	if !set.Exists() {
		return nil, nil, docError(o, errf(ErrMalformed, `not a JWK Set: no "keys" member`))
	}
	if set.Kind() != jsonx.Array {
		return nil, nil, docError(o, errf(ErrMalformed, `"keys" is not an array`))
	}
	if o.ID != "" {
		return nil, nil, docError(o, errf(ErrMalformed, "an id is configured but the document is a JWK Set: set kids in the JWKs"))
	}
	var (
		keys    []*Key
		skipped []Skipped
		errs    []error
		seen    = map[string]int{}
	)
	i := 0
	for m := set.First(); m.Exists(); m, i = m.Next(), i+1 {
		k, kid, err := parseJWKValue(m, o)
		if skip := (*skipError)(nil); errors.As(err, &skip) {
			skipped = append(skipped, Skipped{Source: o.Source, Index: i, KID: kid, Reason: skip.reason})
			continue
		}
		if o.skipUnsupportedAlg && errors.Is(err, ErrUnsupportedAlg) {
			skipped = append(skipped, Skipped{Source: o.Source, Index: i, KID: kid, Reason: err.Error()})
			continue
		}
		if err == nil {
			kid = k.ID()
		}
		// RFC 7517 §4.5: keys in a set SHOULD have distinct kids. A
		// verifier picks the key by kid, so two keys with one kid make the
		// choice ambiguous: refuse the set. (Checked for bad keys too, so
		// that the report is complete.)
		bad := err != nil
		if err != nil {
			errs = append(errs, &KeyError{Source: o.Source, Index: i, KID: kid, Err: err})
		}
		if j, dup := seen[kid]; dup && kid != "" {
			errs = append(errs, &KeyError{Source: o.Source, Index: i, KID: kid, Err: errf(ErrDuplicateKID, "same kid as key #%d", j)})
			bad = true
		} else if kid != "" {
			seen[kid] = i
		}
		if !bad {
			keys = append(keys, k)
		}
	}
	if len(errs) > 0 {
		return nil, skipped, errors.Join(errs...)
	}
	// A set with both secrets and public keys is a publication accident
	// waiting to happen (secrets in a public document) or a confusion of
	// two documents; either way refuse it (Wycheproof MixedKeySet).
	var hmacKeys, pubKeys int
	for _, k := range keys {
		if k.Alg().Family() == FamilyHMAC {
			hmacKeys++
		} else {
			pubKeys++
		}
	}
	if hmacKeys > 0 && pubKeys > 0 {
		return nil, skipped, docError(o, errf(ErrMixedKeySet, "%d HMAC secrets and %d public keys in one set", hmacKeys, pubKeys))
	}
	if len(keys) == 0 {
		return nil, skipped, docError(o, errf(ErrNoKeys, "JWK Set has no key usable for signature verification (%d skipped)", len(skipped)))
	}
	return keys, skipped, nil
}

// --- JWK ------------------------------------------------------------------

// Member names of private key parts (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2;
// RFC 9964 §3: the AKP "priv", which "MUST NOT be present in public keys").
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "priv"}

// Registered JWE "alg" (RFC 7518 §4.1, RFC 8037 §3.2) and "enc" (RFC 7518
// §5.1) values. A key with one of them is an encryption key: skipped in a
// set, not an error in it.
var encryptionAlgs = map[string]bool{
	"RSA1_5": true, "RSA-OAEP": true, "RSA-OAEP-256": true, "RSA-OAEP-384": true, "RSA-OAEP-512": true,
	"A128KW": true, "A192KW": true, "A256KW": true, "dir": true,
	"ECDH-ES": true, "ECDH-ES+A128KW": true, "ECDH-ES+A192KW": true, "ECDH-ES+A256KW": true,
	"A128GCMKW": true, "A192GCMKW": true, "A256GCMKW": true,
	"PBES2-HS256+A128KW": true, "PBES2-HS384+A192KW": true, "PBES2-HS512+A256KW": true,
	"A128CBC-HS256": true, "A192CBC-HS384": true, "A256CBC-HS512": true,
	"A128GCM": true, "A192GCM": true, "A256GCM": true,
}

// parseJWKValue turns one JWK object into a Key. It returns the kid it read
// (for error messages) even on failure; a *skipError means "not for
// verification".
func parseJWKValue(v jsonx.Value, o Options) (*Key, string, error) {
	if v.Kind() != jsonx.Object {
		return nil, "", errf(ErrMalformed, "JWK is not a JSON object")
	}
	// Members tokengate reads must have the type RFC 7517 §4 gives them;
	// other members are ignored (RFC 7517 §4: "MUST be ignored").
	for m := v.First(); m.Exists(); m = m.Next() {
		name := string(m.Name())
		switch name {
		case "key_ops", "x5c", "oth":
			if m.Kind() != jsonx.Array {
				return nil, "", errf(ErrMalformed, "%q is not an array", name)
			}
		case "kty", "use", "alg", "kid", "crv", "n", "e", "x", "y", "k", "pub", "x5t", "x5t#S256", "d", "p", "q", "dp", "dq", "qi", "priv":
			if m.Kind() != jsonx.String {
				return nil, "", errf(ErrMalformed, "%q is not a string", name)
			}
		}
	}
	kid := string(v.Get("kid").Str())
	if v.Get("kid").Exists() && kid == "" {
		return nil, "", errf(ErrMalformed, `"kid" is empty`)
	}
	label := kid
	kty := string(v.Get("kty").Str())
	if kty == "" {
		return nil, label, errf(ErrMalformed, `"kty" is missing`)
	}
	asymmetric := kty == "RSA" || kty == "EC" || kty == "OKP" || kty == "AKP"
	if asymmetric {
		for _, name := range privateMembers {
			if v.Get(name).Exists() {
				// A verification keyring holds public keys only: a
				// private key here means the wrong file was configured
				// (or a private key is about to be published).
				return nil, label, errf(ErrPrivateKey, "JWK has the private member %q", name)
			}
		}
	}
	// RFC 7517 §4.2: "sig" is the only use for a signature key.
	if use := v.Get("use"); use.Exists() && string(use.Str()) != "sig" {
		return nil, label, &skipError{reason: fmt.Sprintf("use is %q, not \"sig\"", clip(use.Str()))}
	}
	// RFC 7517 §4.3: key_ops lists the permitted operations, without
	// duplicates; a verification key must permit "verify".
	if ops := v.Get("key_ops"); ops.Exists() {
		verify := false
		seen := map[string]bool{}
		for op := ops.First(); op.Exists(); op = op.Next() {
			if op.Kind() != jsonx.String {
				return nil, label, errf(ErrMalformed, `"key_ops" holds a non-string`)
			}
			s := string(op.Str())
			if seen[s] {
				return nil, label, errf(ErrMalformed, `"key_ops" lists %q twice`, clip(op.Str()))
			}
			seen[s] = true
			verify = verify || s == "verify"
		}
		if !verify {
			return nil, label, &skipError{reason: `"key_ops" does not permit "verify"`}
		}
	}
	crv := string(v.Get("crv").Str())
	switch {
	case !asymmetric && kty != "oct":
		return nil, label, &skipError{reason: fmt.Sprintf("kty %q is not a signature key type tokengate verifies with", clip([]byte(kty)))}
	case kty == "OKP" && (crv == "X25519" || crv == "X448"):
		// RFC 8037 §3.2: X25519 and X448 are for ECDH-ES only.
		return nil, label, &skipError{reason: fmt.Sprintf("crv %s is a key-agreement curve", crv)}
	case kty == "EC" && crv == "secp256k1":
		return nil, label, &skipError{reason: "crv secp256k1 (ES256K) is not supported"}
	}
	// RFC 9964 §3: "The alg JSON Web Key Parameter ... is REQUIRED for all
	// AKP keys": the JWK itself must say which algorithm its bytes are for.
	if kty == "AKP" && !v.Get("alg").Exists() {
		return nil, label, errf(ErrMalformed, `"alg" is missing: it is required for kty AKP`)
	}
	alg, err := jwkAlg(v, o)
	if err != nil {
		return nil, label, err
	}
	if o.ID != "" && kid != "" && o.ID != kid {
		return nil, label, errf(ErrAlgMismatch, "kid %q differs from the configured id %q", kid, o.ID)
	}
	if kid == "" {
		kid = o.ID
	}

	var material any
	switch kty {
	case "RSA":
		material, err = jwkRSA(v)
	case "EC":
		material, err = jwkEC(v, crv)
	case "OKP":
		material, err = jwkOKP(v, crv)
	case "AKP":
		material, err = jwkAKP(v, alg)
	case "oct":
		if v.Get("x5c").Exists() {
			return nil, label, errf(ErrMalformed, `an oct key cannot carry "x5c"`)
		}
		var secret []byte
		secret, err = b64Member(v, "k")
		material = secret
	}
	if err != nil {
		return nil, label, err
	}
	if asymmetric {
		if err := checkX5C(v, material); err != nil {
			return nil, label, err
		}
	}
	k, err := newKey(material, Options{ID: kid, Alg: alg, Issuer: o.Issuer, Client: o.Client, Source: o.Source})
	if err != nil {
		return nil, label, err
	}
	return k, k.ID(), nil
}

// jwkAlg resolves the key's alg from the JWK "alg" and the configured one.
func jwkAlg(v jsonx.Value, o Options) (Algorithm, error) {
	av := v.Get("alg")
	if !av.Exists() {
		return o.Alg, nil
	}
	raw := av.Str()
	alg, ok := LookupAlgorithm(raw)
	if !ok {
		if encryptionAlgs[string(raw)] {
			return "", &skipError{reason: fmt.Sprintf("alg %s is an encryption algorithm", raw)}
		}
		// Unknown or unsupported: "none", "ES521", "ES224", "HS1"... The
		// key decides the alg, so a key with an alg we cannot honour must
		// not be loaded under another one.
		return "", errf(ErrUnsupportedAlg, "alg %q is not supported", clip(raw))
	}
	if o.Alg != "" && o.Alg != alg {
		return "", errf(ErrAlgMismatch, "JWK alg %s differs from the configured alg %s", alg, o.Alg)
	}
	return alg, nil
}

// clip bounds a value echoed in a message (they come from files, not
// requests, but keep log lines sane).
func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

var strictB64URL = base64.RawURLEncoding.Strict()

// b64Member decodes a required base64url member. RFC 7518 §6 and RFC 7515
// §2: base64url without padding; Strict also refuses non-zero trailing
// bits, so each key has exactly one encoding. encoding/base64 skips CR and
// LF, which are not base64url characters: refuse them explicitly.
func b64Member(v jsonx.Value, name string) ([]byte, error) {
	m := v.Get(name)
	if !m.Exists() {
		return nil, errf(ErrMalformed, "%q is missing", name)
	}
	s := m.Str()
	if bytes.ContainsAny(s, "\r\n") {
		return nil, errf(ErrMalformed, "%q is not base64url: contains a line break", name)
	}
	out := make([]byte, strictB64URL.DecodedLen(len(s)))
	n, err := strictB64URL.Decode(out, s)
	if err != nil {
		return nil, errf(ErrMalformed, "%q is not unpadded base64url", name)
	}
	return out[:n], nil
}

func jwkRSA(v jsonx.Value) (*rsa.PublicKey, error) {
	n, err := b64Member(v, "n")
	if err != nil {
		return nil, err
	}
	e, err := b64Member(v, "e")
	if err != nil {
		return nil, err
	}
	// RFC 7518 §6.3.1.1/§6.3.1.2: both are unsigned big-endian integers
	// in the minimum number of octets.
	if len(n) == 0 || n[0] == 0 {
		return nil, errf(ErrMalformed, `"n" is empty or has a leading zero octet`)
	}
	if len(e) == 0 || e[0] == 0 {
		return nil, errf(ErrMalformed, `"e" is empty or has a leading zero octet`)
	}
	if len(n) > MaxRSABits/8 {
		return nil, errf(ErrInvalidKey, "RSA modulus is %d bytes, at most %d bits are accepted", len(n), MaxRSABits)
	}
	if len(e) > 4 {
		return nil, errf(ErrInvalidKey, "RSA public exponent is %d bytes, at most 4 are accepted", len(e))
	}
	var ev int64
	for _, b := range e {
		ev = ev<<8 | int64(b)
	}
	if ev > 1<<31-1 {
		return nil, errf(ErrInvalidKey, "RSA public exponent is too large")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ev)}, nil
}

// ecCurve maps a JWK "crv" (RFC 7518 §6.2.1.1) to the curve and the octet
// length of its coordinates.
func ecCurve(crv string) (elliptic.Curve, int, bool) {
	switch crv {
	case "P-256":
		return elliptic.P256(), 32, true
	case "P-384":
		return elliptic.P384(), 48, true
	case "P-521":
		return elliptic.P521(), 66, true
	}
	return nil, 0, false
}

func jwkEC(v jsonx.Value, crv string) (*ecdsa.PublicKey, error) {
	curve, size, ok := ecCurve(crv)
	if !ok {
		if crv == "" {
			return nil, errf(ErrMalformed, `"crv" is missing`)
		}
		return nil, errf(ErrInvalidKey, "EC curve %q is not supported (P-256, P-384, P-521)", clip([]byte(crv)))
	}
	x, err := b64Member(v, "x")
	if err != nil {
		return nil, err
	}
	y, err := b64Member(v, "y")
	if err != nil {
		return nil, err
	}
	// RFC 7518 §6.2.1.2/§6.2.1.3: "The length of this octet string MUST
	// be the full size of a coordinate for the curve".
	if len(x) != size || len(y) != size {
		return nil, errf(ErrMalformed, "%s coordinates must be %d bytes each, got x %d and y %d", crv, size, len(x), len(y))
	}
	raw := make([]byte, 0, 1+2*size)
	raw = append(append(append(raw, 4), x...), y...)
	// Validate the point here too (NewKey does again): reject invalid-curve
	// points (not on the curve, or infinity) before anything else.
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
	if err != nil {
		return nil, errf(ErrInvalidKey, "EC point is not on curve %s", crv)
	}
	return pub, nil
}

func jwkOKP(v jsonx.Value, crv string) (any, error) {
	var size int
	switch crv {
	case "Ed25519":
		size = ed25519.PublicKeySize
	case "Ed448":
		size = ed448.PublicKeySize
	case "":
		return nil, errf(ErrMalformed, `"crv" is missing`)
	default:
		return nil, errf(ErrInvalidKey, "OKP curve %q is not supported (Ed25519, Ed448)", clip([]byte(crv)))
	}
	x, err := b64Member(v, "x")
	if err != nil {
		return nil, err
	}
	// RFC 8037 §2: "x" is the public key in the RFC 8032 encoding, of a
	// fixed length for each curve.
	if len(x) != size {
		return nil, errf(ErrMalformed, "%s \"x\" must be %d bytes, got %d", crv, size, len(x))
	}
	if crv == "Ed25519" {
		return ed25519.PublicKey(x), nil
	}
	return ed448.PublicKey(x), nil
}

var strictStd = base64.StdEncoding.Strict()

// checkX5C enforces RFC 7517 §4.7: "x5c" is a non-empty array of standard
// (padded, not url-safe) base64 DER certificates, and "The key in the first
// certificate MUST match the public key represented by other members of the
// JWK". The chain is not validated: keys are trusted because they are
// configured, not because of who signed a certificate. "x5t" and
// "x5t#S256" (RFC 7517 §4.8, §4.9), when present with "x5c", must be the
// first certificate's digests.
func checkX5C(v jsonx.Value, material any) error {
	chain := v.Get("x5c")
	if !chain.Exists() {
		return nil
	}
	if chain.Len() == 0 {
		return errf(ErrMalformed, `"x5c" is empty`)
	}
	var first []byte
	i := 0
	for c := chain.First(); c.Exists(); c, i = c.Next(), i+1 {
		if c.Kind() != jsonx.String {
			return errf(ErrMalformed, `"x5c"[%d] is not a string`, i)
		}
		s := c.Str()
		if bytes.ContainsAny(s, "\r\n") {
			return errf(ErrMalformed, `"x5c"[%d] is not base64: contains a line break`, i)
		}
		der := make([]byte, strictStd.DecodedLen(len(s)))
		n, err := strictStd.Decode(der, s)
		if err != nil {
			return errf(ErrMalformed, `"x5c"[%d] is not standard padded base64`, i)
		}
		if _, err := x509.ParseCertificate(der[:n]); err != nil {
			return &detail{kind: ErrMalformed, msg: fmt.Sprintf(`"x5c"[%d] is not a certificate`, i), err: err}
		}
		if i == 0 {
			first = der[:n]
		}
	}
	cert, _ := x509.ParseCertificate(first)
	certPub, err := certPublicKey(cert)
	if err != nil {
		return &detail{kind: ErrCertMismatch, msg: `"x5c"[0] has no usable public key`, err: err}
	}
	eq, ok := material.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(certPub) {
		return errf(ErrCertMismatch, `the key in "x5c"[0] is not the JWK's key`)
	}
	for _, t := range []struct {
		name string
		sum  func([]byte) []byte
	}{
		{"x5t", func(b []byte) []byte { s := sha1.Sum(b); return s[:] }},
		{"x5t#S256", func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
	} {
		if !v.Get(t.name).Exists() {
			continue
		}
		got, err := b64Member(v, t.name)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, t.sum(first)) {
			return errf(ErrCertMismatch, "%q is not the digest of \"x5c\"[0]", t.name)
		}
	}
	return nil
}

// certPublicKey returns a certificate's public key, including Ed448 and
// ML-DSA keys, which crypto/x509 leaves unparsed.
func certPublicKey(cert *x509.Certificate) (any, error) {
	if cert.PublicKey != nil {
		return cert.PublicKey, nil
	}
	pub, isEd448, err := parseEd448SPKI(cert.RawSubjectPublicKeyInfo)
	if isEd448 {
		return pub, err
	}
	mpub, isMLDSA, err := parseMLDSASPKI(cert.RawSubjectPublicKeyInfo)
	if isMLDSA {
		return mpub, err
	}
	return nil, errors.New("unsupported public key algorithm")
}

// --- PEM ------------------------------------------------------------------

// ParsePEM loads every block of a PEM document: "PUBLIC KEY" (X.509
// SubjectPublicKeyInfo, including Ed448 per RFC 8410 and ML-DSA per RFC
// 9881), "RSA PUBLIC KEY" (PKCS #1) and "CERTIFICATE" (its public key; the
// certificate itself is not validated). Private key blocks are refused (ErrPrivateKey). Anything but
// whitespace outside the blocks is an error. o.ID, if set, needs exactly one
// block; RSA keys need o.Alg.
func ParsePEM(data []byte, o Options) ([]*Key, error) {
	if len(data) > MaxDocumentSize {
		return nil, docError(o, errf(ErrTooLarge, "%d bytes, at most %d", len(data), MaxDocumentSize))
	}
	begin := []byte("-----BEGIN")
	var (
		keys []*Key
		errs []error
		seen = map[string]int{}
	)
	rest := data
	for i := 0; ; i++ {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(rest) == 0 {
			break
		}
		if !bytes.HasPrefix(rest, begin) {
			return nil, docError(o, errf(ErrMalformed, "data outside PEM blocks (after block %d)", i))
		}
		if i > 0 && o.ID != "" {
			return nil, docError(o, errf(ErrMalformed, "an id is configured but the PEM document has several blocks"))
		}
		block, next := pem.Decode(rest)
		// pem.Decode silently skips a malformed block and returns the next
		// one: insist that exactly the block at the front was consumed.
		if block == nil || bytes.Count(rest[:len(rest)-len(next)], begin) != 1 {
			return nil, &KeyError{Source: o.Source, Index: i, Err: errf(ErrMalformed, "malformed PEM block")}
		}
		rest = next
		material, err := pemMaterial(block)
		if err != nil {
			errs = append(errs, &KeyError{Source: o.Source, Index: i, Err: err})
			continue
		}
		k, err := newKey(material, o)
		if err != nil {
			errs = append(errs, &KeyError{Source: o.Source, Index: i, KID: o.ID, Err: err})
			continue
		}
		if j, dup := seen[k.ID()]; dup {
			errs = append(errs, &KeyError{Source: o.Source, Index: i, KID: k.ID(), Err: errf(ErrDuplicateKID, "same kid as block #%d", j)})
			continue
		}
		seen[k.ID()] = i
		keys = append(keys, k)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(keys) == 0 {
		return nil, docError(o, errf(ErrNoKeys, "no PEM blocks"))
	}
	if o.ID != "" && len(keys) > 1 {
		return nil, docError(o, errf(ErrMalformed, "an id is configured but the PEM document has %d keys", len(keys)))
	}
	return keys, nil
}

func pemMaterial(block *pem.Block) (any, error) {
	if len(block.Headers) > 0 {
		// RFC 7468 §2 forbids headers; the legacy ones mean encryption.
		return nil, errf(ErrMalformed, "PEM block %q has headers", clip([]byte(block.Type)))
	}
	switch block.Type {
	case "PUBLIC KEY":
		return parseSPKI(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, &detail{kind: ErrMalformed, msg: "invalid PKCS #1 RSA public key", err: err}
		}
		return pub, nil
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, &detail{kind: ErrMalformed, msg: "invalid certificate", err: err}
		}
		if cert.PublicKey == nil {
			return parseSPKI(cert.RawSubjectPublicKeyInfo)
		}
		return signingKey(cert.PublicKey)
	}
	if strings.HasSuffix(block.Type, "PRIVATE KEY") {
		return nil, errf(ErrPrivateKey, "PEM block %q holds a private key; a public key (PUBLIC KEY or CERTIFICATE) is needed", clip([]byte(block.Type)))
	}
	return nil, errf(ErrMalformed, "unsupported PEM block %q (want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)", clip([]byte(block.Type)))
}

// parseSPKI parses an X.509 SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
func parseSPKI(der []byte) (any, error) {
	pub, isEd448, err := parseEd448SPKI(der)
	if isEd448 {
		if err != nil {
			return nil, &detail{kind: ErrMalformed, msg: "invalid Ed448 public key", err: err}
		}
		return pub, nil
	}
	mpub, isMLDSA, err := parseMLDSASPKI(der)
	if isMLDSA {
		if err != nil {
			return nil, &detail{kind: ErrMalformed, msg: "invalid ML-DSA public key", err: err}
		}
		return mpub, nil
	}
	p, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, &detail{kind: ErrMalformed, msg: "invalid public key", err: err}
	}
	return signingKey(p)
}

func signingKey(p any) (any, error) {
	switch p := p.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return p, nil
	case *ecdh.PublicKey:
		return nil, &skipError{reason: "X25519 keys are for key agreement, not signatures"}
	}
	return nil, errf(ErrInvalidKey, "unsupported public key type %T", p)
}

var oidEd448 = asn1.ObjectIdentifier{1, 3, 101, 113}

// parseEd448SPKI parses an Ed448 SubjectPublicKeyInfo (RFC 8410 §4), which
// crypto/x509 does not know. isEd448 reports whether der names Ed448 at
// all; err is set when it does but is malformed.
func parseEd448SPKI(der []byte) (pub ed448.PublicKey, isEd448 bool, err error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil || !spki.Algorithm.Algorithm.Equal(oidEd448) {
		return nil, false, nil
	}
	if len(rest) != 0 {
		return nil, true, errors.New("trailing data after SubjectPublicKeyInfo")
	}
	// RFC 8410 §3: "the parameters MUST be absent".
	if len(spki.Algorithm.Parameters.FullBytes) != 0 {
		return nil, true, errors.New("Ed448 algorithm parameters must be absent")
	}
	if spki.PublicKey.BitLength != 8*ed448.PublicKeySize {
		return nil, true, fmt.Errorf("Ed448 public key is %d bits, must be %d", spki.PublicKey.BitLength, 8*ed448.PublicKeySize)
	}
	return ed448.PublicKey(bytes.Clone(spki.PublicKey.Bytes)), true, nil
}

// --- HMAC secrets ---------------------------------------------------------

// SecretEncoding is how an HMAC secret is written in its file or
// environment variable.
type SecretEncoding uint8

// Secret encodings.
const (
	// SecretRaw uses the bytes as they are, minus one trailing "\n" or
	// "\r\n" (what editors and `echo` add).
	SecretRaw SecretEncoding = iota
	// SecretBase64 is standard base64 (RFC 4648 §4), padded or not; line
	// breaks (as `openssl rand -base64` writes) are ignored.
	SecretBase64
	// SecretBase64URL is base64url (RFC 4648 §5), padded or not.
	SecretBase64URL
	// SecretHex is hexadecimal, either case.
	SecretHex
)

var secretEncodingNames = [...]string{"raw", "base64", "base64url", "hex"}

func (e SecretEncoding) String() string {
	if int(e) < len(secretEncodingNames) {
		return secretEncodingNames[e]
	}
	return "SecretEncoding(" + strconv.Itoa(int(e)) + ")"
}

// ParseSecretEncoding maps "raw" (or ""), "base64", "base64url" and "hex"
// to a SecretEncoding.
func ParseSecretEncoding(s string) (SecretEncoding, error) {
	if s == "" {
		return SecretRaw, nil
	}
	for i, n := range secretEncodingNames {
		if s == n {
			return SecretEncoding(i), nil
		}
	}
	return 0, fmt.Errorf("keyring: unknown secret encoding %q (raw, base64, base64url, hex)", s)
}

// UnmarshalText implements encoding.TextUnmarshaler for configuration.
func (e *SecretEncoding) UnmarshalText(b []byte) error {
	v, err := ParseSecretEncoding(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (e SecretEncoding) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// ParseSecret makes an HMAC key from a secret in the given encoding. o.Alg
// (HS256, HS384 or HS512) is required and the decoded secret must be at
// least as long as its hash (RFC 7518 §3.2). Errors never contain the
// secret's bytes.
func ParseSecret(data []byte, enc SecretEncoding, o Options) (*Key, error) {
	fail := func(err error) (*Key, error) {
		return nil, &KeyError{Source: o.Source, Index: -1, KID: o.ID, Err: err}
	}
	if len(data) > MaxDocumentSize {
		return fail(errf(ErrTooLarge, "%d bytes, at most %d", len(data), MaxDocumentSize))
	}
	secret, err := DecodeSecret(data, enc)
	if err != nil {
		return fail(err)
	}
	if len(secret) == 0 {
		return fail(errf(ErrInvalidKey, "secret is empty"))
	}
	if o.Alg == "" {
		return fail(errf(ErrInvalidKey, "an HMAC secret needs an explicit alg (HS256, HS384 or HS512)"))
	}
	k, err := newKey(secret, o)
	clear(secret)
	if err != nil {
		return fail(err)
	}
	return k, nil
}

// DecodeSecret decodes an HMAC secret's bytes as stored in a file or an
// environment variable: one trailing newline is dropped, then the encoding
// applies (base64 forms padded or not, strictly). Errors never contain the
// secret's bytes.
func DecodeSecret(data []byte, enc SecretEncoding) ([]byte, error) {
	s := trimNewline(data)
	var (
		secret []byte
		err    error
	)
	switch enc {
	case SecretRaw:
		secret = bytes.Clone(s)
	case SecretBase64:
		secret, err = decodeB64Secret(base64.StdEncoding, s)
	case SecretBase64URL:
		secret, err = decodeB64Secret(base64.URLEncoding, s)
	case SecretHex:
		secret = make([]byte, hex.DecodedLen(len(s)))
		// hex errors quote the offending byte: report only that it failed.
		if _, herr := hex.Decode(secret, s); herr != nil || len(s)%2 != 0 {
			err = errf(ErrMalformed, "secret is not valid hex")
		}
	default:
		err = errf(ErrMalformed, "unknown secret encoding %d", enc)
	}
	return secret, err
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// decodeB64Secret decodes padded or unpadded base64 (the alphabet of enc),
// strictly. The error carries no offsets or bytes.
func decodeB64Secret(enc *base64.Encoding, s []byte) ([]byte, error) {
	if !bytes.ContainsRune(s, '=') {
		enc = enc.WithPadding(base64.NoPadding)
	}
	enc = enc.Strict()
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, s)
	if err != nil {
		clear(out)
		return nil, errf(ErrMalformed, "secret is not valid base64")
	}
	return out[:n], nil
}
