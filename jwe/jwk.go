package jwe

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// Private JWKs (RFC 7517, RFC 7518 §6, RFC 8037 §2) and PKCS #8 PEM.
// These run at load time, never per request: errors name the kid, never
// key material.

var jwkLimits = jsonx.Limits{MaxDepth: 4, MaxNodes: 1 << 14, MaxMembers: 1 << 10}

// ErrNotForEncryption is wrapped by ParseJWK for a key whose "use" or
// "key_ops" excludes decryption; ParseJWKSet skips such keys.
var ErrNotForEncryption = errors.New("jwe: key is not for encryption")

// ParseJWK parses one private JWK. alg binds the key when the JWK has no
// "alg"; when both are present they must agree. An "oct" JWK whose "alg"
// is a content encryption ("A128GCM", ...) is a dir key bound to that enc
// (as in RFC 7520 §5.6). "use", if present, must be "enc" (RFC 7517 §4.2),
// and "key_ops", if present, must allow decrypt, unwrapKey or deriveKey.
func ParseJWK(data []byte, alg KeyAlgorithm) (*Key, error) {
	var doc jsonx.Doc
	if err := doc.Parse(data, jwkLimits); err != nil {
		return nil, fmt.Errorf("jwe: JWK: %w", err)
	}
	return jwkKey(doc.Root(), alg)
}

// ParseJWKSet parses a JWK Set (RFC 7517 §5) of private keys into a
// KeySet, with alg as for ParseJWK. Keys whose "use" or "key_ops" exclude
// decryption are skipped; every other bad key is reported, all at once.
func ParseJWKSet(data []byte, alg KeyAlgorithm) (*KeySet, error) {
	var doc jsonx.Doc
	if err := doc.Parse(data, jwkLimits); err != nil {
		return nil, fmt.Errorf("jwe: JWK set: %w", err)
	}
	arr := doc.Root().Get("keys")
	if arr.Kind() != jsonx.Array {
		return nil, errors.New(`jwe: JWK set: "keys" is not an array`)
	}
	var keys []*Key
	var errs []error
	i := 0
	for v := arr.First(); v.Exists(); v = v.Next() {
		k, err := jwkKey(v, alg)
		switch {
		case errors.Is(err, ErrNotForEncryption):
		case err != nil:
			errs = append(errs, fmt.Errorf("key %d: %w", i, err))
		default:
			keys = append(keys, k)
		}
		i++
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return NewKeySet(keys...)
}

func jwkKey(v jsonx.Value, alg KeyAlgorithm) (*Key, error) {
	if v.Kind() != jsonx.Object {
		return nil, errors.New("jwe: JWK is not an object")
	}
	str := func(name string) (string, bool, error) {
		m := v.Get(name)
		if !m.Exists() {
			return "", false, nil
		}
		if m.Kind() != jsonx.String {
			return "", false, fmt.Errorf("%q is not a string", name)
		}
		return string(m.Str()), true, nil
	}
	kid, _, err := str("kid")
	if err != nil {
		return nil, fmt.Errorf("jwe: JWK: %w", err)
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("jwe: JWK %q: %s", kid, fmt.Sprintf(format, a...))
	}
	kty, _, err := str("kty")
	if err != nil {
		return nil, fail("%v", err)
	}
	if use, ok, err := str("use"); err != nil {
		return nil, fail("%v", err)
	} else if ok && use != "enc" {
		return nil, fmt.Errorf("jwe: JWK %q: use %q: %w", kid, use, ErrNotForEncryption)
	}
	if ops := v.Get("key_ops"); ops.Exists() {
		if ops.Kind() != jsonx.Array {
			return nil, fail(`"key_ops" is not an array`)
		}
		allowed := false
		for o := ops.First(); o.Exists(); o = o.Next() {
			switch string(o.Str()) {
			case "decrypt", "unwrapKey", "deriveKey", "deriveBits":
				allowed = true
			}
		}
		if !allowed {
			return nil, fmt.Errorf("jwe: JWK %q: key_ops: %w", kid, ErrNotForEncryption)
		}
	}

	// The algorithm: the JWK's own, the caller's, and never two different.
	var enc ContentEncryption
	jalg, hasAlg, err := str("alg")
	if err != nil {
		return nil, fail("%v", err)
	}
	if hasAlg {
		a, ok := lookupAlg([]byte(jalg))
		if !ok {
			e, isEnc := lookupEnc([]byte(jalg))
			if !isEnc || kty != "oct" {
				return nil, fail("unsupported alg %q", jalg)
			}
			a, enc = Direct, e
		}
		if alg != "" && alg != a {
			return nil, fail("JWK alg %q conflicts with %s", jalg, alg)
		}
		alg = a
	}
	if alg == "" {
		return nil, fail("no alg: the JWK has none and none was given")
	}

	b64 := func(name string) ([]byte, error) {
		s, ok, err := str(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("missing %q", name)
		}
		b, ok := decodeString(s)
		if !ok {
			return nil, fmt.Errorf("%q is not strict base64url", name)
		}
		return b, nil
	}
	if kty != "oct" && !v.Get("d").Exists() {
		return nil, fail("not a private key (no \"d\")")
	}

	var material any
	switch kty {
	case "oct":
		k, err := b64("k")
		if err != nil {
			return nil, fail("%v", err)
		}
		material = k
	case "RSA":
		if v.Get("oth").Exists() {
			return nil, fail("multi-prime RSA keys are not supported")
		}
		nums := map[string]*big.Int{}
		for _, name := range []string{"n", "e", "d", "p", "q"} {
			b, err := b64(name)
			if err != nil {
				return nil, fail("%v", err)
			}
			nums[name] = new(big.Int).SetBytes(b)
		}
		if !nums["e"].IsInt64() || nums["e"].Int64() > 1<<31-1 {
			return nil, fail("RSA exponent too large")
		}
		pk := &rsa.PrivateKey{
			PublicKey: rsa.PublicKey{N: nums["n"], E: int(nums["e"].Int64())},
			D:         nums["d"],
			Primes:    []*big.Int{nums["p"], nums["q"]},
		}
		if pk.N.BitLen() < MinRSABits {
			return nil, fail("RSA key has %d bits, need at least %d", pk.N.BitLen(), MinRSABits)
		}
		if err := pk.Validate(); err != nil {
			return nil, fail("invalid RSA key: %v", err)
		}
		pk.Precompute()
		// The CRT values, when given, must be the ones the primes imply.
		for name, want := range map[string]*big.Int{"dp": pk.Precomputed.Dp, "dq": pk.Precomputed.Dq, "qi": pk.Precomputed.Qinv} {
			if v.Get(name).Exists() {
				b, err := b64(name)
				if err != nil {
					return nil, fail("%v", err)
				}
				if want == nil || new(big.Int).SetBytes(b).Cmp(want) != 0 {
					return nil, fail("RSA %q does not match the primes", name)
				}
			}
		}
		material = pk
	case "EC", "OKP":
		crv, _, err := str("crv")
		if err != nil {
			return nil, fail("%v", err)
		}
		curve, size := curveByName([]byte(crv))
		if curve == nil || (kty == "OKP") != (curve == ecdh.X25519()) {
			return nil, fail("unsupported %s curve %q", kty, crv)
		}
		d, err := b64("d")
		if err != nil {
			return nil, fail("%v", err)
		}
		// RFC 7518 §6.2.2.1 / RFC 8037 §2: "d" is exactly the full length.
		if len(d) != size {
			return nil, fail("%q must be %d bytes", "d", size)
		}
		priv, err := curve.NewPrivateKey(d)
		clear(d)
		if err != nil {
			return nil, fail("invalid private key")
		}
		// The public part, when given, must be the one "d" implies.
		want, err := publicBytes(v, kty, size, b64)
		if err != nil {
			return nil, fail("%v", err)
		}
		if subtle.ConstantTimeCompare(priv.PublicKey().Bytes(), want) != 1 {
			return nil, fail("public key does not match the private key")
		}
		material = priv
	default:
		return nil, fail("unsupported kty %q", kty)
	}
	k, err := NewKey(kid, alg, enc, material)
	if b, ok := material.([]byte); ok {
		clear(b)
	}
	return k, err
}

// publicBytes assembles the encoded public key from "x" (and "y" for EC).
func publicBytes(v jsonx.Value, kty string, size int, b64 func(string) ([]byte, error)) ([]byte, error) {
	x, err := b64("x")
	if err != nil {
		return nil, err
	}
	if len(x) != size {
		return nil, fmt.Errorf(`"x" must be %d bytes`, size)
	}
	if kty == "OKP" {
		return x, nil
	}
	y, err := b64("y")
	if err != nil {
		return nil, err
	}
	if len(y) != size {
		return nil, fmt.Errorf(`"y" must be %d bytes`, size)
	}
	return append(append([]byte{4}, x...), y...), nil
}

// ParsePEM parses one PKCS #8 "PRIVATE KEY" PEM block (RSA, EC P-256/384/
// 521 or X25519) and binds it to kid and alg. Anything but whitespace
// around the block is an error.
func ParsePEM(data []byte, kid string, alg KeyAlgorithm) (*Key, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("jwe: key %q: no PEM block", kid)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("jwe: key %q: data after the PEM block", kid)
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("jwe: key %q: PEM block is %q, want PKCS #8 \"PRIVATE KEY\"", kid, block.Type)
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("jwe: key %q: %w", kid, err)
	}
	switch priv.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, *ecdh.PrivateKey:
		return NewKey(kid, alg, "", priv)
	case ed25519.PrivateKey:
		return nil, fmt.Errorf("jwe: key %q: Ed25519 is a signature key; use X25519 for encryption", kid)
	}
	return nil, fmt.Errorf("jwe: key %q: unsupported key type %T", kid, priv)
}
