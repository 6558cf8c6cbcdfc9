package jwe

import (
	"bytes"
	"crypto/aes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// Default size limits, used for Options fields that are zero.
const (
	DefaultMaxTokenBytes        = 16 << 10 // the whole compact token
	DefaultMaxHeaderBytes       = 2 << 10  // decoded protected header
	DefaultMaxEncryptedKeyBytes = 1 << 10  // decoded; RSA-8192 needs 1024
	DefaultMaxCiphertextBytes   = 12 << 10 // decoded
)

// headerLimits bounds the protected header's JSON: an epk object is the
// only nesting a valid header needs.
var headerLimits = jsonx.Limits{MaxDepth: 4, MaxNodes: 128, MaxMembers: 32}

// Options configures a Decrypter. The zero value is safe: default limits,
// every supported enc, and a nested JWT (cty "JWT") required.
type Options struct {
	// Size limits, checked on the encoded lengths before anything is
	// decoded or decrypted. 0 means the default; negative is an error.
	MaxTokenBytes        int
	MaxHeaderBytes       int
	MaxEncryptedKeyBytes int
	MaxCiphertextBytes   int

	// Encs is the allow-list of content encryption algorithms; nil means
	// ContentEncryptions.
	Encs []ContentEncryption

	// AllowAnyContentType accepts a token whose "cty" is not "JWT". By
	// default a nested JWT is required (RFC 7519 §5.2: "cty" MUST be
	// present and "JWT" when nested).
	AllowAnyContentType bool
}

// Decrypter decrypts compact JWE (RFC 7516 §7.1) with keys from a KeySet.
// It is safe for concurrent use; SetKeySet swaps the keys atomically and a
// Decrypt in flight finishes with the set it started with.
type Decrypter struct {
	keys       atomic.Pointer[KeySet]
	maxToken   int
	maxHeader  int
	maxEncKey  int
	maxCipher  int
	encAllowed [4]bool // indexed like ContentEncryptions
	anyCty     bool
}

// NewDecrypter returns a Decrypter for ks (which may be nil until
// SetKeySet is called: every token then fails with ErrKeyNotFound).
func NewDecrypter(ks *KeySet, opts Options) (*Decrypter, error) {
	d := &Decrypter{anyCty: opts.AllowAnyContentType}
	for _, l := range []struct {
		dst *int
		v   int
		def int
	}{
		{&d.maxToken, opts.MaxTokenBytes, DefaultMaxTokenBytes},
		{&d.maxHeader, opts.MaxHeaderBytes, DefaultMaxHeaderBytes},
		{&d.maxEncKey, opts.MaxEncryptedKeyBytes, DefaultMaxEncryptedKeyBytes},
		{&d.maxCipher, opts.MaxCiphertextBytes, DefaultMaxCiphertextBytes},
	} {
		switch {
		case l.v < 0:
			return nil, errors.New("jwe: negative size limit")
		case l.v == 0:
			*l.dst = l.def
		default:
			*l.dst = l.v
		}
	}
	encs := opts.Encs
	if encs == nil {
		encs = ContentEncryptions
	}
	if len(encs) == 0 {
		return nil, errors.New("jwe: empty content encryption allow-list")
	}
	for _, e := range encs {
		i := encIndex(e)
		if i < 0 {
			return nil, errors.New("jwe: unsupported content encryption in allow-list: " + string(e))
		}
		d.encAllowed[i] = true
	}
	if ks != nil {
		d.keys.Store(ks)
	}
	return d, nil
}

func encIndex(e ContentEncryption) int {
	for i, c := range ContentEncryptions {
		if c == e {
			return i
		}
	}
	return -1
}

// SetKeySet replaces the key set; a nil set makes every token fail.
func (d *Decrypter) SetKeySet(ks *KeySet) { d.keys.Store(ks) }

// KeySet returns the key set in use.
func (d *Decrypter) KeySet() *KeySet { return d.keys.Load() }

// Header is what Decrypt reports about a decrypted token. Its strings do
// not alias the token.
type Header struct {
	Alg KeyAlgorithm
	Enc ContentEncryption
	// Kid is the kid of the key that decrypted the token (the header's kid
	// when it had one).
	Kid string
	// Cty is the header's "cty": "JWT" when it names a JWT in any spelling
	// RFC 7515 §4.1.10 allows, "" when absent, else a copy.
	Cty string
}

// IsJWE reports whether token has the shape of a compact JWE: five
// segments (RFC 7516 §7.1), where a JWS has three. It does not validate.
func IsJWE(token []byte) bool { return bytes.Count(token, dot) == 4 }

var dot = []byte{'.'}

// scratch holds the per-call buffers; pooled, so steady-state decryption
// allocates only inside the standard library's crypto.
type scratch struct {
	doc  jsonx.Doc
	hdr  []byte
	ek   []byte
	iv   []byte
	body []byte // ciphertext || tag
	cek  []byte
	kek  []byte
	kdf  []byte
	apu  []byte
	apv  []byte
	epk  []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (s *scratch) release() {
	clear(s.cek[:cap(s.cek)]) // key material does not outlive the call
	clear(s.kek[:cap(s.kek)])
	s.doc.Reset()
	scratchPool.Put(s)
}

// parsed is the protected header, as slices of the scratch document.
type parsed struct {
	alg      KeyAlgorithm
	enc      ContentEncryption
	kid      []byte
	hasKid   bool
	cty      []byte
	hasCty   bool
	epk      jsonx.Value
	apu, apv []byte
	hasApu   bool
	hasApv   bool
}

// Decrypt decrypts a compact JWE and returns its plaintext (for a nested
// JWT, the inner JWS, which the caller verifies as any other token) in a
// new slice. See AppendDecrypt.
func (d *Decrypter) Decrypt(token []byte) (inner []byte, hdr Header, err error) {
	return d.AppendDecrypt(nil, token)
}

// AppendDecrypt decrypts a compact JWE and appends the plaintext to dst.
// The error is always an *Error, safe to show to a client. On any error
// nothing is appended to dst, and no plaintext was released: the
// authentication tag is verified before any plaintext exists.
//
// Order of checks, all before any key is used: size limits on the encoded
// segments; strict base64url; header JSON (duplicate names rejected);
// alg/enc/zip/crit/cty; key lookup by (kid, alg); segment lengths for the
// algorithms.
func (d *Decrypter) AppendDecrypt(dst, token []byte) ([]byte, Header, error) {
	// Size limits first, on encoded lengths: nothing is decoded, parsed or
	// decrypted for an oversized token.
	if len(token) > d.maxToken {
		return dst, Header{}, ErrTokenTooLarge
	}
	var seg [5][]byte
	rest := token
	for i := range 4 {
		j := bytes.IndexByte(rest, '.')
		if j < 0 {
			return dst, Header{}, errSegments
		}
		seg[i], rest = rest[:j], rest[j+1:]
	}
	if bytes.IndexByte(rest, '.') >= 0 {
		return dst, Header{}, errSegments
	}
	seg[4] = rest
	hdrB64, ekB64, ivB64, ctB64, tagB64 := seg[0], seg[1], seg[2], seg[3], seg[4]
	switch {
	case decodedLen(len(hdrB64)) > d.maxHeader:
		return dst, Header{}, ErrHeaderTooLarge
	case decodedLen(len(ekB64)) > d.maxEncKey:
		return dst, Header{}, ErrEncryptedKeyTooLarge
	case decodedLen(len(ctB64)) > d.maxCipher:
		return dst, Header{}, ErrCiphertextTooLarge
	case len(hdrB64) == 0 || len(ivB64) == 0 || len(tagB64) == 0:
		return dst, Header{}, errSegments
	}

	s := scratchPool.Get().(*scratch)
	defer s.release()

	var ok bool
	if s.hdr, ok = appendDecode(s.hdr[:0], hdrB64); !ok {
		return dst, Header{}, errBase64
	}
	h, err := parseHeader(&s.doc, s.hdr)
	if err != nil {
		return dst, Header{}, err
	}
	if !d.encAllowed[encIndex(h.enc)] {
		return dst, Header{}, ErrEncNotAllow
	}
	// RFC 7519 §5.2 / RFC 7515 §4.1.10: a nested JWT says cty "JWT".
	ctyJWT := h.hasCty && isJWTContentType(h.cty)
	if !d.anyCty && !ctyJWT {
		return dst, Header{}, ErrContentType
	}

	ks := d.keys.Load()
	if ks == nil {
		return dst, Header{}, ErrKeyNotFound
	}
	key, err := ks.Lookup(h.kid, h.hasKid, h.alg)
	if err != nil {
		return dst, Header{}, err
	}
	if !key.acceptsEnc(h.enc) {
		return dst, Header{}, errKeyEnc
	}
	cekLen := h.enc.keyLen()

	// Segment lengths the algorithms fix, checked on the encoded form.
	if decodedLen(len(ivB64)) != h.enc.ivLen() {
		return dst, Header{}, errIV
	}
	if decodedLen(len(tagB64)) != h.enc.tagLen() {
		return dst, Header{}, errTag
	}
	// RFC 7518 §5.2.2.1: CBC with PKCS #7 padding yields whole blocks, at
	// least one.
	if n := decodedLen(len(ctB64)); !h.enc.isGCM() && (n == 0 || n%aes.BlockSize != 0) {
		return dst, Header{}, errCipherLen
	}
	switch h.alg {
	case Direct, ECDHES:
		// RFC 7518 §4.5, §4.6: the Encrypted Key MUST be empty.
		if len(ekB64) != 0 {
			return dst, Header{}, errEncKeyLen
		}
		if h.alg == Direct && len(key.sym) != cekLen {
			return dst, Header{}, errDirKeyLen
		}
	case A128KW, A256KW, ECDHESA128KW, ECDHESA256KW:
		// RFC 3394: the wrapped CEK is one 64-bit block longer.
		if decodedLen(len(ekB64)) != cekLen+8 {
			return dst, Header{}, errEncKeyLen
		}
	case RSAOAEP256:
		// RFC 8017 §7.1.2 step 1b: exactly k bytes.
		if decodedLen(len(ekB64)) != key.rsa.Size() {
			return dst, Header{}, errEncKeyLen
		}
	}

	if s.ek, ok = appendDecode(s.ek[:0], ekB64); !ok {
		return dst, Header{}, errBase64
	}
	if s.iv, ok = appendDecode(s.iv[:0], ivB64); !ok {
		return dst, Header{}, errBase64
	}
	if s.body, ok = appendDecode(s.body[:0], ctB64); !ok {
		return dst, Header{}, errBase64
	}
	if s.body, ok = appendDecode(s.body, tagB64); !ok {
		return dst, Header{}, errBase64
	}
	if h.hasApu {
		if s.apu, ok = appendDecode(s.apu[:0], h.apu); !ok {
			return dst, Header{}, errBase64
		}
	}
	if h.hasApv {
		if s.apv, ok = appendDecode(s.apv[:0], h.apv); !ok {
			return dst, Header{}, errBase64
		}
	}

	// Determine the CEK (RFC 7516 §5.2 steps 10-11).
	aead := key.aead
	var cek []byte
	switch h.alg {
	case Direct:
		cek = key.sym
	case A128KW, A256KW:
		aead = nil
		s.cek, ok = keyUnwrap(key.kek, s.cek[:0], s.ek)
		cek = s.randomOnFailure(ok, cekLen)
	case RSAOAEP256:
		aead = nil
		// The label is empty (RFC 7518 §4.3); DecryptOAEP compares the
		// label hash and the 0x01 separator in constant time.
		pt, err := rsa.DecryptOAEP(sha256.New(), nil, key.rsa, s.ek, nil)
		ok = err == nil && len(pt) == cekLen
		if ok {
			s.cek = append(s.cek[:0], pt...)
			clear(pt)
		}
		cek = s.randomOnFailure(ok, cekLen)
	case ECDHES, ECDHESA128KW, ECDHESA256KW:
		aead = nil
		z, err := s.agree(key.ec, h.epk)
		if err != nil {
			return dst, Header{}, err
		}
		if h.alg == ECDHES {
			// AlgorithmID is the enc; keydatalen is the CEK length.
			s.cek, s.kdf = concatKDF(s.cek[:0], s.kdf, z, string(h.enc), s.apuIf(h.hasApu), s.apvIf(h.hasApv), cekLen)
			cek = s.cek
		} else {
			kwLen := h.alg.kwKeyLen()
			s.kek, s.kdf = concatKDF(s.kek[:0], s.kdf, z, string(h.alg), s.apuIf(h.hasApu), s.apvIf(h.hasApv), kwLen)
			block, err := aes.NewCipher(s.kek)
			if err != nil {
				return dst, Header{}, ErrDecrypt
			}
			s.cek, ok = keyUnwrap(block, s.cek[:0], s.ek)
			cek = s.randomOnFailure(ok, cekLen)
		}
		clear(z)
	}

	out, ok := openContent(dst, h.enc, cek, aead, s.iv, s.body, hdrB64)
	if !ok {
		return dst, Header{}, ErrDecrypt
	}
	hdr := Header{Alg: h.alg, Enc: h.enc, Kid: key.kid}
	switch {
	case ctyJWT:
		hdr.Cty = "JWT"
	case h.hasCty:
		hdr.Cty = string(h.cty)
	}
	return out, hdr, nil
}

func (s *scratch) apuIf(has bool) []byte {
	if has {
		return s.apu
	}
	return nil
}

func (s *scratch) apvIf(has bool) []byte {
	if has {
		return s.apv
	}
	return nil
}

// randomOnFailure returns the unwrapped CEK when ok, else a random CEK of
// the right length in its place. Decryption then goes on and fails at the
// authentication tag exactly as a wrong CEK would, so the time and the
// error do not tell a failed unwrap from a failed tag: RFC 7516 §11.5
// (the defence against Bleichenbacher/Manger-style key-decryption oracles).
func (s *scratch) randomOnFailure(ok bool, n int) []byte {
	if !ok {
		s.cek = growTo(s.cek[:0], n)
		rand.Read(s.cek)
	}
	return s.cek
}

// agree performs the ECDH-ES key agreement of RFC 7518 §4.6 with the
// header's "epk": the point is decoded strictly and must lie on the
// recipient key's curve (an invalid-curve point would let an attacker learn
// the private key modulo small primes); X25519 low-order points, whose
// shared secret is all zero, are refused (RFC 7748 §6.1).
func (s *scratch) agree(priv *ecdh.PrivateKey, epk jsonx.Value) ([]byte, error) {
	if epk.Kind() != jsonx.Object {
		return nil, ErrInvalidEPK
	}
	kty, crv := epk.Get("kty"), epk.Get("crv")
	if kty.Kind() != jsonx.String || crv.Kind() != jsonx.String {
		return nil, ErrInvalidEPK
	}
	curve, size := curveByName(crv.Str())
	if curve == nil {
		return nil, ErrInvalidEPK
	}
	// RFC 8037 §2: X25519 is kty "OKP"; RFC 7518 §6.2.1: NIST curves "EC".
	wantKty := "EC"
	if curve == ecdh.X25519() {
		wantKty = "OKP"
	}
	if string(kty.Str()) != wantKty {
		return nil, ErrInvalidEPK
	}
	if curve != priv.Curve() {
		return nil, ErrEPKCurve
	}
	x := epk.Get("x")
	if x.Kind() != jsonx.String {
		return nil, ErrInvalidEPK
	}
	var ok bool
	if wantKty == "EC" {
		// SEC 1 uncompressed point 0x04 || X || Y; RFC 7518 §6.2.1.2-3:
		// each coordinate is exactly the full field length.
		y := epk.Get("y")
		if y.Kind() != jsonx.String || decodedLen(len(x.Str())) != size || decodedLen(len(y.Str())) != size {
			return nil, ErrInvalidEPK
		}
		s.epk = append(s.epk[:0], 4)
		if s.epk, ok = appendDecode(s.epk, x.Str()); !ok {
			return nil, ErrInvalidEPK
		}
		if s.epk, ok = appendDecode(s.epk, y.Str()); !ok {
			return nil, ErrInvalidEPK
		}
	} else {
		if decodedLen(len(x.Str())) != size || epk.Get("y").Exists() {
			return nil, ErrInvalidEPK
		}
		if s.epk, ok = appendDecode(s.epk[:0], x.Str()); !ok {
			return nil, ErrInvalidEPK
		}
	}
	// For NIST curves NewPublicKey rejects points not on the curve, the
	// point at infinity and compressed encodings.
	pub, err := curve.NewPublicKey(s.epk)
	if err != nil {
		return nil, ErrInvalidEPK
	}
	z, err := priv.ECDH(pub)
	if err != nil {
		// X25519: the all-zero output of a low-order point.
		return nil, ErrInvalidEPK
	}
	var zero [66]byte
	if subtle.ConstantTimeCompare(z, zero[:len(z)]) == 1 {
		return nil, ErrInvalidEPK // never reached for NIST curves; belt and braces for X25519
	}
	return z, nil
}

// isJWTContentType reports whether cty names application/jwt: media types
// are case-insensitive (RFC 7515 §4.1.10, RFC 2045 §5.1) and a value
// without '/' means "application/" + value.
func isJWTContentType(cty []byte) bool {
	const prefix = "application/"
	if len(cty) == len(prefix)+3 && bytes.EqualFold(cty[:len(prefix)], []byte(prefix)) {
		cty = cty[len(prefix):]
	}
	return bytes.EqualFold(cty, []byte("JWT"))
}

// parseHeader parses the decoded protected header into the fields this
// package uses and enforces the header policy (RFC 7516 §4.1).
func parseHeader(doc *jsonx.Doc, b []byte) (parsed, error) {
	var h parsed
	if err := doc.Parse(b, headerLimits); err != nil {
		if errors.Is(err, jsonx.ErrDuplicateName) {
			// RFC 7516 §5.2 step 4 / RFC 7515 §5.2: names must be unique.
			return h, errDuplicate
		}
		return h, errHeaderJSON
	}
	root := doc.Root()
	if root.Kind() != jsonx.Object {
		return h, errHeaderJSON
	}
	var algB, encB []byte
	var hasAlg, hasEnc, zip, crit bool
	for m := root.First(); m.Exists(); m = m.Next() {
		switch string(m.Name()) {
		case "alg":
			algB, hasAlg = m.Str(), m.Kind() == jsonx.String
		case "enc":
			encB, hasEnc = m.Str(), m.Kind() == jsonx.String
		case "zip":
			zip = true
		case "crit":
			crit = true
		case "kid":
			if m.Kind() != jsonx.String {
				return h, errHeaderType
			}
			h.kid, h.hasKid = m.Str(), true
		case "cty":
			if m.Kind() != jsonx.String {
				return h, errHeaderType
			}
			h.cty, h.hasCty = m.Str(), true
		case "epk":
			h.epk = m
		case "apu":
			if m.Kind() != jsonx.String {
				return h, errHeaderType
			}
			h.apu, h.hasApu = m.Str(), true
		case "apv":
			if m.Kind() != jsonx.String {
				return h, errHeaderType
			}
			h.apv, h.hasApv = m.Str(), true
		}
	}
	if !hasAlg || !hasEnc {
		return h, errHeaderAlgEn
	}
	var ok bool
	if h.alg, ok = lookupAlg(algB); !ok {
		switch {
		case string(algB) == "RSA1_5":
			// RFC 8725 §3.2: PKCS #1 v1.5 encryption invites padding oracles.
			return h, ErrRSA1_5
		case bytes.HasPrefix(algB, []byte("PBES2-")):
			// RFC 7518 §4.8: "p2c" is chosen by the sender; a huge count is
			// a denial of service on the recipient.
			return h, ErrPBES2
		}
		return h, ErrUnknownAlg
	}
	if h.enc, ok = lookupEnc(encB); !ok {
		return h, ErrUnknownEnc
	}
	if zip {
		// RFC 7516 §4.1.3: decompressing attacker data before anything
		// bounds its size is a zip bomb; RFC 8725 §3.6 advises against it.
		return h, ErrZip
	}
	if crit {
		// RFC 7515 §4.1.11 (via RFC 7516 §4.1.13): no extension is
		// understood here, so any "crit" must be refused.
		return h, ErrCrit
	}
	if h.alg.isECDH() && !h.epk.Exists() {
		return h, ErrInvalidEPK // RFC 7518 §4.6.1.1: epk MUST be present
	}
	return h, nil
}
