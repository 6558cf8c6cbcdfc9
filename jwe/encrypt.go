package jwe

import (
	"crypto/aes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// EncryptOptions are the optional header members Encrypt writes.
type EncryptOptions struct {
	Kid string // "kid"; omitted when empty
	// ContentType is "cty"; empty means "JWT" (a nested JWT, RFC 7519 §5.2).
	ContentType string
	// APU and APV are the ECDH-ES PartyUInfo and PartyVInfo (RFC 7518
	// §4.6.1.2-3), written as "apu"/"apv" and fed to the Concat KDF.
	APU, APV []byte
}

// Encrypt produces a compact JWE (RFC 7516 §7.1) of plaintext for the
// recipient, with a fresh random CEK (except for dir and ECDH-ES, where the
// key or the agreement determines it) and a fresh random IV. recipient is
// *rsa.PublicKey (RSA-OAEP-256), *ecdh.PublicKey or *ecdsa.PublicKey
// (ECDH-ES family), []byte (dir, A128KW, A256KW), or a *Key (its Public()).
// It is meant for the CLI, tests and benchmarks; it is not on the request
// path.
func Encrypt(plaintext []byte, alg KeyAlgorithm, enc ContentEncryption, recipient any, opts *EncryptOptions) ([]byte, error) {
	if opts == nil {
		opts = &EncryptOptions{}
	}
	if _, ok := lookupAlg([]byte(alg)); !ok {
		return nil, fmt.Errorf("jwe: unsupported key management algorithm %q", alg)
	}
	if _, ok := lookupEnc([]byte(enc)); !ok {
		return nil, fmt.Errorf("jwe: unsupported content encryption %q", enc)
	}
	if k, ok := recipient.(*Key); ok {
		if k.alg != alg {
			return nil, fmt.Errorf("jwe: key %q is for %s, not %s", k.kid, k.alg, alg)
		}
		recipient = k.Public()
	}
	if pk, ok := recipient.(*ecdsa.PublicKey); ok {
		e, err := pk.ECDH()
		if err != nil {
			return nil, fmt.Errorf("jwe: %w", err)
		}
		recipient = e
	}

	hdr := header{Alg: string(alg), Enc: string(enc), Cty: opts.ContentType, Kid: opts.Kid}
	if hdr.Cty == "" {
		hdr.Cty = "JWT"
	}
	cekLen := enc.keyLen()
	var cek, encKey []byte
	switch alg {
	case Direct:
		k, ok := recipient.([]byte)
		if !ok || len(k) != cekLen {
			return nil, fmt.Errorf("jwe: dir with %s needs a %d-byte key", enc, cekLen)
		}
		cek = k
	case A128KW, A256KW:
		k, ok := recipient.([]byte)
		if !ok || len(k) != alg.kwKeyLen() {
			return nil, fmt.Errorf("jwe: %s needs a %d-byte key", alg, alg.kwKeyLen())
		}
		cek = randomBytes(cekLen)
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		encKey = keyWrap(block, nil, cek)
	case RSAOAEP256:
		pub, ok := recipient.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("jwe: %s needs an *rsa.PublicKey, have %T", alg, recipient)
		}
		if pub.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("jwe: RSA key has %d bits, need at least %d", pub.N.BitLen(), MinRSABits)
		}
		cek = randomBytes(cekLen)
		var err error
		if encKey, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, cek, nil); err != nil {
			return nil, fmt.Errorf("jwe: %w", err)
		}
	case ECDHES, ECDHESA128KW, ECDHESA256KW:
		pub, ok := recipient.(*ecdh.PublicKey)
		if !ok {
			return nil, fmt.Errorf("jwe: %s needs an *ecdh.PublicKey or *ecdsa.PublicKey, have %T", alg, recipient)
		}
		name := curveName(pub.Curve())
		if name == "" {
			return nil, errors.New("jwe: unsupported curve")
		}
		eph, err := pub.Curve().GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("jwe: %w", err)
		}
		z, err := eph.ECDH(pub)
		if err != nil {
			return nil, fmt.Errorf("jwe: %w", err)
		}
		hdr.Epk = epkOf(name, eph.PublicKey())
		if opts.APU != nil {
			hdr.Apu = base64.RawURLEncoding.EncodeToString(opts.APU)
		}
		if opts.APV != nil {
			hdr.Apv = base64.RawURLEncoding.EncodeToString(opts.APV)
		}
		if alg == ECDHES {
			cek, _ = concatKDF(nil, nil, z, string(enc), opts.APU, opts.APV, cekLen)
		} else {
			kek, _ := concatKDF(nil, nil, z, string(alg), opts.APU, opts.APV, alg.kwKeyLen())
			block, err := aes.NewCipher(kek)
			if err != nil {
				return nil, err
			}
			cek = randomBytes(cekLen)
			encKey = keyWrap(block, nil, cek)
		}
	}

	hj, err := json.Marshal(hdr)
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding
	protected := []byte(b64.EncodeToString(hj))
	iv := randomBytes(enc.ivLen())
	ct, tag, err := sealContent(enc, cek, iv, plaintext, protected)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(protected)+4+b64.EncodedLen(len(encKey))+b64.EncodedLen(len(iv))+b64.EncodedLen(len(ct))+b64.EncodedLen(len(tag)))
	out = append(out, protected...)
	for _, part := range [][]byte{encKey, iv, ct, tag} {
		out = append(out, '.')
		out = b64.AppendEncode(out, part)
	}
	return out, nil
}

// header is the protected header Encrypt writes, in this member order.
type header struct {
	Alg string   `json:"alg"`
	Enc string   `json:"enc"`
	Cty string   `json:"cty,omitempty"`
	Kid string   `json:"kid,omitempty"`
	Epk *epkJSON `json:"epk,omitempty"`
	Apu string   `json:"apu,omitempty"`
	Apv string   `json:"apv,omitempty"`
}

type epkJSON struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
}

// epkOf is the public JWK of an ephemeral key (RFC 7518 §6.2.1, RFC 8037 §2).
func epkOf(crv string, pub *ecdh.PublicKey) *epkJSON {
	b := pub.Bytes()
	enc := base64.RawURLEncoding.EncodeToString
	if crv == "X25519" {
		return &epkJSON{Kty: "OKP", Crv: crv, X: enc(b)}
	}
	n := (len(b) - 1) / 2
	return &epkJSON{Kty: "EC", Crv: crv, X: enc(b[1 : 1+n]), Y: enc(b[1+n:])}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
