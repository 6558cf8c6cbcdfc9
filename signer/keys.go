package signer

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/cloudflare/circl/sign/ed448"

	"github.com/tokengate/tokengate/keyring"
)

// GenerateKey makes a fresh private key for alg: RSA 2048 for RS*/PS*, the
// matching curve for ES*, Ed25519 for EdDSA and Ed25519 (for an EdDSA key on
// Ed448 use GenerateEd448), Ed448 for Ed448, the parameter set's circl key
// for ML-DSA-44/65/87, or a random secret of twice the hash size for HS*.
func GenerateKey(alg keyring.Algorithm) (any, error) {
	switch alg.Family() {
	case keyring.FamilyHMAC:
		secret := make([]byte, 2*alg.Hash().Size())
		_, err := rand.Read(secret)
		return secret, err
	case keyring.FamilyRSA, keyring.FamilyRSAPSS:
		return rsa.GenerateKey(rand.Reader, 2048)
	case keyring.FamilyECDSA:
		c := map[keyring.Algorithm]elliptic.Curve{keyring.ES256: elliptic.P256(), keyring.ES384: elliptic.P384(), keyring.ES512: elliptic.P521()}[alg]
		return ecdsa.GenerateKey(c, rand.Reader)
	case keyring.FamilyEdDSA:
		if alg == keyring.Ed448 {
			return GenerateEd448()
		}
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case keyring.FamilyMLDSA:
		return generateMLDSA(alg)
	}
	return nil, fmt.Errorf("signer: cannot generate a key for %q", alg)
}

// GenerateEd448 makes a fresh Ed448 private key (alg EdDSA, RFC 8037, or
// Ed448, RFC 9864).
func GenerateEd448() (ed448.PrivateKey, error) {
	_, priv, err := ed448.GenerateKey(rand.Reader)
	return priv, err
}

// RFC 8410 §3: id-Ed448.
var oidEd448 = asn1.ObjectIdentifier{1, 3, 101, 113}

type pkcs8 struct {
	Version    int
	Algo       pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// MarshalPrivateKeyPEM encodes a private key as a PKCS#8 "PRIVATE KEY" PEM
// block (RFC 5208; Ed448 per RFC 8410 §7 and ML-DSA per RFC 9881 §6, which
// crypto/x509 lacks; an ML-DSA key is written as its 32-byte seed).
func MarshalPrivateKeyPEM(private any) ([]byte, error) {
	var der []byte
	var err error
	switch k := private.(type) {
	case ed448.PrivateKey:
		inner, err := asn1.Marshal(k.Seed())
		if err != nil {
			return nil, err
		}
		der, err = asn1.Marshal(pkcs8{Algo: pkix.AlgorithmIdentifier{Algorithm: oidEd448}, PrivateKey: inner})
		if err != nil {
			return nil, err
		}
	case []byte:
		return nil, errors.New("signer: an HMAC secret is not written as PEM")
	default:
		if d, ok, err := marshalMLDSAPKCS8(private); ok {
			if err != nil {
				return nil, err
			}
			der = d
			break
		}
		der, err = x509.MarshalPKCS8PrivateKey(private)
		if err != nil {
			return nil, err
		}
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM reads the first private key PEM block: PKCS#8
// ("PRIVATE KEY", including Ed448 and ML-DSA in any RFC 9881 §6 form),
// PKCS#1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY").
func ParsePrivateKeyPEM(data []byte) (any, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("signer: no private key PEM block found")
		}
		switch block.Type {
		case "PRIVATE KEY":
			var p pkcs8
			if _, err := asn1.Unmarshal(block.Bytes, &p); err == nil {
				if p.Algo.Algorithm.Equal(oidEd448) {
					var seed []byte
					if _, err := asn1.Unmarshal(p.PrivateKey, &seed); err != nil || len(seed) != ed448.SeedSize {
						return nil, errors.New("signer: malformed Ed448 private key")
					}
					return ed448.NewKeyFromSeed(seed), nil
				}
				if k, ok, err := parseMLDSAPKCS8(&p); ok {
					return k, err
				}
			}
			return x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			return x509.ParseECPrivateKey(block.Bytes)
		}
	}
}
