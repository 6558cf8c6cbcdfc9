// Package signer mints compact JWS tokens (RFC 7515 §7.1) with a private key
// or HMAC secret. tokengate itself only verifies; signing exists for the
// CLI's keygen and mint commands, for tests and for the benchmarks. A Signer
// is bound to one algorithm, like a keyring key.
package signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"

	"github.com/cloudflare/circl/sign/ed448"

	"github.com/tokengate/tokengate/keyring"
)

var b64 = base64.RawURLEncoding

// Signer signs tokens with one key and algorithm. Safe for concurrent use.
type Signer struct {
	alg keyring.Algorithm
	kid string
	key any // *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, ed448.PrivateKey, *mldsaXX.PrivateKey or []byte
}

// New binds a private key (or HMAC secret as []byte) to alg and kid. It
// checks that the key fits the algorithm, with the same size rules the
// keyring applies to the public half.
func New(alg keyring.Algorithm, private any, kid string) (*Signer, error) {
	pub, err := Public(private)
	if err != nil {
		return nil, err
	}
	// Reuse the keyring's checks on the public half so that a signer can
	// never mint tokens no tokengate would accept.
	if _, err := keyring.NewKey(pub, keyring.Options{Alg: alg, ID: kid}); err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return &Signer{alg: alg, kid: kid, key: private}, nil
}

// Public returns the public half of a private key, or the secret itself for
// an HMAC key.
func Public(private any) (any, error) {
	switch k := private.(type) {
	case []byte:
		return k, nil
	case *rsa.PrivateKey:
		return &k.PublicKey, nil
	case *ecdsa.PrivateKey:
		return &k.PublicKey, nil
	case ed25519.PrivateKey:
		return k.Public(), nil
	case ed448.PrivateKey:
		return k.Public(), nil
	}
	if pub, ok := mldsaPublic(private); ok {
		return pub, nil
	}
	return nil, fmt.Errorf("signer: unsupported private key type %T", private)
}

// Alg returns the signer's algorithm.
func (s *Signer) Alg() keyring.Algorithm { return s.alg }

// KeyID returns the kid written into headers ("" writes none).
func (s *Signer) KeyID() string { return s.kid }

// Sign returns a token with header {"alg","kid","typ":"JWT"} over claims,
// which must be a JSON object.
func (s *Signer) Sign(claims []byte) (string, error) {
	return s.SignWithType(claims, "JWT")
}

// SignWithType is Sign with another "typ" (for example "at+jwt"); an
// empty typ writes none.
func (s *Signer) SignWithType(claims []byte, typ string) (string, error) {
	if !json.Valid(claims) || len(claims) == 0 || claims[0] != '{' {
		return "", errors.New("signer: claims must be a JSON object")
	}
	h := map[string]string{"alg": string(s.alg)}
	if s.kid != "" {
		h["kid"] = s.kid
	}
	if typ != "" {
		h["typ"] = typ
	}
	header, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	return s.SignRaw(header, claims)
}

// SignRaw signs exactly the given header and payload bytes, without
// checking them. Tests use it to build hostile tokens.
func (s *Signer) SignRaw(header, payload []byte) (string, error) {
	in := make([]byte, 0, b64.EncodedLen(len(header))+1+b64.EncodedLen(len(payload)))
	in = b64.AppendEncode(in, header)
	in = append(in, '.')
	in = b64.AppendEncode(in, payload)
	sig, err := Signature(s.alg, s.key, in)
	if err != nil {
		return "", err
	}
	in = append(in, '.')
	return string(b64.AppendEncode(in, sig)), nil
}

// Signature computes the JWS signature of signingInput (RFC 7518 §3).
func Signature(alg keyring.Algorithm, private any, signingInput []byte) ([]byte, error) {
	h := alg.Hash()
	digest := func() []byte {
		hh := h.New()
		hh.Write(signingInput)
		return hh.Sum(nil)
	}
	switch k := private.(type) {
	case []byte:
		if alg.Family() != keyring.FamilyHMAC {
			break
		}
		var nh func() hash.Hash
		switch h {
		case crypto.SHA256:
			nh = sha256.New
		case crypto.SHA384:
			nh = sha512.New384
		default:
			nh = sha512.New
		}
		m := hmac.New(nh, k)
		m.Write(signingInput)
		return m.Sum(nil), nil
	case *rsa.PrivateKey:
		switch alg.Family() {
		case keyring.FamilyRSA:
			return rsa.SignPKCS1v15(rand.Reader, k, h, digest())
		case keyring.FamilyRSAPSS:
			return rsa.SignPSS(rand.Reader, k, h, digest(), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
	case *ecdsa.PrivateKey:
		if alg.Family() != keyring.FamilyECDSA {
			break
		}
		r, sv, err := ecdsa.Sign(rand.Reader, k, digest())
		if err != nil {
			return nil, err
		}
		n := curveBytes(k.Curve)
		// RFC 7518 §3.4: R and S as fixed-length big-endian octets.
		sig := make([]byte, 2*n)
		r.FillBytes(sig[:n])
		sv.FillBytes(sig[n:])
		return sig, nil
	case ed25519.PrivateKey:
		// RFC 8037 §3.1 "EdDSA" or RFC 9864 §2.2 "Ed25519": one signature.
		if alg == keyring.EdDSA || alg == keyring.Ed25519 {
			return ed25519.Sign(k, signingInput), nil
		}
	case ed448.PrivateKey:
		// Pure Ed448, empty context (RFC 8037 §3.1, RFC 9864 §2.2).
		if alg == keyring.EdDSA || alg == keyring.Ed448 {
			return ed448.Sign(k, signingInput, ""), nil
		}
	default:
		if mldsaAlg(private) != "" {
			return signMLDSA(alg, private, signingInput)
		}
		return nil, fmt.Errorf("signer: unsupported private key type %T", private)
	}
	return nil, fmt.Errorf("signer: alg %s does not fit key type %T", alg, private)
}

func curveBytes(c elliptic.Curve) int { return (c.Params().BitSize + 7) / 8 }
