package keyring

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/cloudflare/circl/sign/ed448"
)

// jwk is the public JWK form written by MarshalJWK (RFC 7517 §4, RFC 7518
// §6, RFC 8037 §2, RFC 9964 §3).
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	Pub string `json:"pub,omitempty"`
}

// MarshalJWK returns the public JWK of k with "use":"sig", its "alg" and
// "kid". HMAC keys have no public form and return an error: a secret is
// never written out by this package.
func (k *Key) MarshalJWK() ([]byte, error) {
	j, err := k.jwk()
	if err != nil {
		return nil, err
	}
	return json.Marshal(j)
}

// MarshalJWKS returns {"keys":[...]} with the public JWK of every key.
func MarshalJWKS(keys ...*Key) ([]byte, error) {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range keys {
		j, err := k.jwk()
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, j)
	}
	return json.MarshalIndent(set, "", "  ")
}

func (k *Key) jwk() (jwk, error) {
	j := jwk{Use: "sig", Alg: string(k.alg), Kid: k.id}
	switch p := k.public.(type) {
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64.EncodeToString(p.N.Bytes()), b64.EncodeToString(big.NewInt(int64(p.E)).Bytes())
	case *ecdsa.PublicKey:
		_, n, _ := curveAlg(p.Curve)
		raw, err := p.Bytes() // 0x04 || X || Y, fixed width
		if err != nil || len(raw) != 1+2*n {
			return jwk{}, fmt.Errorf("keyring: EC key cannot be encoded: %v", err)
		}
		x, y := raw[1:1+n], raw[1+n:]
		j.Kty, j.Crv, j.X, j.Y = "EC", CurveName(p.Curve), b64.EncodeToString(x), b64.EncodeToString(y)
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64.EncodeToString(p)
	case ed448.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed448", b64.EncodeToString(p)
	default:
		// RFC 9964 §3: kty AKP, the key's "alg" (already set) and "pub".
		if raw := mldsaPublicBytes(k.public); raw != nil {
			j.Kty, j.Pub = "AKP", b64.EncodeToString(raw)
			break
		}
		return jwk{}, errors.New("keyring: an HMAC key has no public JWK")
	}
	return j, nil
}
