package jwe

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
)

// MinRSABits is the smallest RSA modulus accepted for RSA-OAEP-256
// (RFC 7518 §4.3: "A key of size 2048 bits or larger MUST be used").
const MinRSABits = 2048

// Key is a private decryption key bound to exactly one key management
// algorithm, and optionally to one content encryption algorithm. A header
// that names another algorithm is not decrypted with it (RFC 8725 §3.1:
// "each key MUST be used with exactly one algorithm").
//
// Keys are validated when they are made (sizes, curves, RSA consistency),
// so decryption never meets a malformed key. A Key is immutable and safe
// for concurrent use.
type Key struct {
	kid string
	alg KeyAlgorithm
	enc ContentEncryption // "" when any allowed enc is accepted

	rsa *rsa.PrivateKey
	ec  *ecdh.PrivateKey
	sym []byte

	kek  cipher.Block // A128KW, A256KW: the key-encryption key
	aead cipher.AEAD  // dir with a 16- or 32-byte key: AES-GCM, ready
}

// NewKey validates material and binds it to kid and alg. material is
// *rsa.PrivateKey (RSA-OAEP-256, at least MinRSABits), *ecdh.PrivateKey or
// *ecdsa.PrivateKey (ECDH-ES family: P-256, P-384, P-521 or X25519), or
// []byte (dir: 16, 32 or 64 bytes; A128KW: 16; A256KW: 32), which is
// copied. enc, if not empty, is the only content encryption the key
// accepts; for dir it must match the key length.
func NewKey(kid string, alg KeyAlgorithm, enc ContentEncryption, material any) (*Key, error) {
	if _, ok := lookupAlg([]byte(alg)); !ok {
		return nil, fmt.Errorf("jwe: key %q: unsupported key management algorithm %q", kid, alg)
	}
	if enc != "" {
		if _, ok := lookupEnc([]byte(enc)); !ok {
			return nil, fmt.Errorf("jwe: key %q: unsupported content encryption %q", kid, enc)
		}
	}
	k := &Key{kid: kid, alg: alg, enc: enc}
	switch m := material.(type) {
	case *rsa.PrivateKey:
		if alg != RSAOAEP256 {
			return nil, fmt.Errorf("jwe: key %q: an RSA key cannot be used with %s", kid, alg)
		}
		if m == nil || m.N == nil {
			return nil, fmt.Errorf("jwe: key %q: empty RSA key", kid)
		}
		if m.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("jwe: key %q: RSA key has %d bits, need at least %d", kid, m.N.BitLen(), MinRSABits)
		}
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("jwe: key %q: invalid RSA key: %w", kid, err)
		}
		m.Precompute()
		k.rsa = m
	case *ecdsa.PrivateKey:
		if m == nil {
			return nil, fmt.Errorf("jwe: key %q: empty EC key", kid)
		}
		e, err := m.ECDH()
		if err != nil {
			return nil, fmt.Errorf("jwe: key %q: %w", kid, err)
		}
		return NewKey(kid, alg, enc, e)
	case *ecdh.PrivateKey:
		if !alg.isECDH() {
			return nil, fmt.Errorf("jwe: key %q: an EC/OKP key cannot be used with %s", kid, alg)
		}
		if m == nil || curveName(m.Curve()) == "" {
			return nil, fmt.Errorf("jwe: key %q: unsupported curve", kid)
		}
		k.ec = m
	case []byte:
		switch alg {
		case Direct:
			switch {
			case enc != "" && len(m) != enc.keyLen():
				return nil, fmt.Errorf("jwe: key %q: %s needs a %d-byte key, have %d", kid, enc, enc.keyLen(), len(m))
			case len(m) != 16 && len(m) != 32 && len(m) != 64:
				return nil, fmt.Errorf("jwe: key %q: dir key must be 16, 32 or 64 bytes, have %d", kid, len(m))
			}
		case A128KW, A256KW:
			if len(m) != alg.kwKeyLen() {
				return nil, fmt.Errorf("jwe: key %q: %s needs a %d-byte key, have %d", kid, alg, alg.kwKeyLen(), len(m))
			}
		default:
			return nil, fmt.Errorf("jwe: key %q: a symmetric key cannot be used with %s", kid, alg)
		}
		k.sym = append([]byte(nil), m...)
		var err error
		if alg == Direct && len(m) != 64 && (enc == "" || enc.isGCM()) {
			k.aead, err = newGCM(k.sym)
		} else if alg != Direct {
			k.kek, err = aes.NewCipher(k.sym)
		}
		if err != nil {
			return nil, fmt.Errorf("jwe: key %q: %w", kid, err)
		}
	case nil:
		return nil, fmt.Errorf("jwe: key %q: no key material", kid)
	default:
		return nil, fmt.Errorf("jwe: key %q: unsupported key type %T", kid, material)
	}
	return k, nil
}

// Kid is the key's "kid", possibly empty.
func (k *Key) Kid() string { return k.kid }

// Alg is the one key management algorithm the key accepts.
func (k *Key) Alg() KeyAlgorithm { return k.alg }

// Enc is the one content encryption the key accepts, or "" for any.
func (k *Key) Enc() ContentEncryption { return k.enc }

// Public returns what Encrypt needs to encrypt to this key:
// *rsa.PublicKey, *ecdh.PublicKey, or a copy of the symmetric key.
func (k *Key) Public() any {
	switch {
	case k.rsa != nil:
		return &k.rsa.PublicKey
	case k.ec != nil:
		return k.ec.PublicKey()
	default:
		return append([]byte(nil), k.sym...)
	}
}

// acceptsEnc reports whether k may decrypt content encrypted with enc.
func (k *Key) acceptsEnc(enc ContentEncryption) bool {
	return k.enc == "" || k.enc == enc
}

// curveName is the JWK "crv" of an ecdh curve, "" if unsupported.
func curveName(c ecdh.Curve) string {
	switch c {
	case ecdh.P256():
		return "P-256"
	case ecdh.P384():
		return "P-384"
	case ecdh.P521():
		return "P-521"
	case ecdh.X25519():
		return "X25519"
	}
	return ""
}

// curveByName maps a JWK "crv" to its curve and coordinate length.
func curveByName(b []byte) (ecdh.Curve, int) {
	switch string(b) {
	case "P-256":
		return ecdh.P256(), 32
	case "P-384":
		return ecdh.P384(), 48
	case "P-521":
		return ecdh.P521(), 66
	case "X25519":
		return ecdh.X25519(), 32
	}
	return nil, 0
}

// KeySet is an immutable set of decryption keys. Keys are found by the
// header's (kid, alg); a header without kid finds a key only when exactly
// one key in the set has the header's alg, and a key without kid is found
// only that way. A KeySet is safe for concurrent use.
type KeySet struct {
	keys  []*Key
	byKid map[string][]*Key
	byAlg map[KeyAlgorithm][]*Key
}

// NewKeySet builds a set from keys. Two keys with the same non-empty kid
// and the same alg are an error, as is an empty set.
func NewKeySet(keys ...*Key) (*KeySet, error) {
	s := &KeySet{byKid: map[string][]*Key{}, byAlg: map[KeyAlgorithm][]*Key{}}
	var errs []error
	for _, k := range keys {
		if k == nil {
			errs = append(errs, errors.New("jwe: nil key"))
			continue
		}
		if k.kid != "" {
			dup := false
			for _, o := range s.byKid[k.kid] {
				dup = dup || o.alg == k.alg
			}
			if dup {
				errs = append(errs, fmt.Errorf("jwe: duplicate key %q for %s", k.kid, k.alg))
				continue
			}
			s.byKid[k.kid] = append(s.byKid[k.kid], k)
		}
		s.byAlg[k.alg] = append(s.byAlg[k.alg], k)
		s.keys = append(s.keys, k)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(s.keys) == 0 {
		return nil, errors.New("jwe: empty key set")
	}
	return s, nil
}

// Keys returns the keys of the set, in the order given.
func (s *KeySet) Keys() []*Key { return append([]*Key(nil), s.keys...) }

// Len is the number of keys.
func (s *KeySet) Len() int { return len(s.keys) }

// Lookup finds the key for a header's kid (hasKid false when the header
// has none) and alg. It does not allocate.
func (s *KeySet) Lookup(kid []byte, hasKid bool, alg KeyAlgorithm) (*Key, error) {
	if !hasKid {
		// No kid: only unambiguous if exactly one key carries this alg.
		switch ks := s.byAlg[alg]; len(ks) {
		case 0:
			return nil, ErrKeyNotFound
		case 1:
			return ks[0], nil
		default:
			return nil, ErrAmbiguousKey
		}
	}
	ks, ok := s.byKid[string(kid)]
	if !ok {
		return nil, errNoKid
	}
	for _, k := range ks {
		if k.alg == alg { // the key decides the algorithm
			return k, nil
		}
	}
	return nil, ErrKeyAlgMismatch
}

// ParsePrivateKeys reads decryption keys from data: a PKCS#8 PEM private
// key (bound to kid and alg), a private JWK or a private JWK Set (each key
// bound to alg). It is what a decryption key file may hold.
func ParsePrivateKeys(data []byte, kid string, alg KeyAlgorithm) ([]*Key, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		k, err := ParsePEM(trimmed, kid, alg)
		if err != nil {
			return nil, err
		}
		return []*Key{k}, nil
	case bytes.Contains(trimmed, []byte(`"keys"`)):
		ks, err := ParseJWKSet(trimmed, alg)
		if err != nil {
			return nil, err
		}
		return ks.Keys(), nil
	case len(trimmed) > 0 && trimmed[0] == '{':
		k, err := ParseJWK(trimmed, alg)
		if err != nil {
			return nil, err
		}
		return []*Key{k}, nil
	}
	return nil, errors.New("jwe: not a JWK, JWK Set or PEM private key")
}
