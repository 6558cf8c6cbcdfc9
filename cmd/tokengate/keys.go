package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloudflare/circl/sign/ed448"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
)

// writeKeyPair generates a key for alg (for alg EdDSA, Ed448 when crv says
// so) and writes DIR/<kid>.key.pem (0600) and DIR/<kid>.jwks.json, or
// DIR/<kid>.secret (base64url, 0600) for HMAC. It returns the files written.
func writeKeyPair(dir string, alg keyring.Algorithm, kid, crv string) ([]string, error) {
	if kid == "" || strings.ContainsAny(kid, `/\`) {
		return nil, fmt.Errorf("--kid %q: must be non-empty and contain no path separator", kid)
	}
	var priv any
	var err error
	switch {
	case crv == "Ed448" && alg == keyring.EdDSA:
		priv, err = signer.GenerateEd448()
	case crv != "" && crv != "Ed25519":
		return nil, fmt.Errorf("--crv %q: only Ed25519 and Ed448 can be chosen", crv)
	default:
		priv, err = signer.GenerateKey(alg)
	}
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if secret, ok := priv.([]byte); ok {
		path := filepath.Join(dir, kid+".secret")
		if err := writeNew(path, []byte(base64.RawURLEncoding.EncodeToString(secret)+"\n"), 0o600); err != nil {
			return nil, err
		}
		return []string{path}, nil
	}
	pemBytes, err := signer.MarshalPrivateKeyPEM(priv)
	if err != nil {
		return nil, err
	}
	pub, err := signer.Public(priv)
	if err != nil {
		return nil, err
	}
	k, err := keyring.NewKey(pub, keyring.Options{ID: kid, Alg: alg})
	if err != nil {
		return nil, err
	}
	jwks, err := keyring.MarshalJWKS(k)
	if err != nil {
		return nil, err
	}
	keyPath, jwksPath := filepath.Join(dir, kid+".key.pem"), filepath.Join(dir, kid+".jwks.json")
	if err := writeNew(keyPath, pemBytes, 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(jwksPath, append(jwks, '\n'), 0o644); err != nil {
		return nil, err
	}
	return []string{keyPath, jwksPath}, nil
}

// writeNew writes a file that must not exist yet: keygen never overwrites
// a key.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loadSigningKey reads a private key PEM or an HMAC secret file and binds
// it to an alg: the curve decides for EC keys and the parameter set for
// ML-DSA keys; RSA and HMAC need --alg (RS256 and PS256 keys look the
// same). An OKP key signs under "EdDSA" or its curve's own name (Ed25519,
// Ed448; RFC 9864): --alg chooses, else the alg of the key in the JWKS that
// keygen wrote next to it, else the curve's own name.
func loadSigningKey(path, algFlag, kid, encoding string) (*signer.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var alg keyring.Algorithm
	if algFlag != "" {
		if alg, err = keyring.ParseAlgorithm(algFlag); err != nil {
			return nil, err
		}
	}
	var priv any
	if strings.Contains(string(data), "-----BEGIN") {
		if priv, err = signer.ParsePrivateKeyPEM(data); err != nil {
			return nil, err
		}
	} else {
		enc, err := keyring.ParseSecretEncoding(encoding)
		if err != nil {
			return nil, err
		}
		secret, err := keyring.DecodeSecret(data, enc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if alg == "" {
			return nil, errors.New("--alg (HS256, HS384 or HS512) is required for an HMAC secret")
		}
		priv = secret
	}
	derived := algFor(priv)
	switch {
	case alg == "" && derived == "":
		return nil, errors.New("--alg is required for RSA keys and HMAC secrets")
	case alg == "" && derived.Family() == keyring.FamilyEdDSA:
		alg = registeredAlg(path, priv, derived)
	case alg == "":
		alg = derived
	case alg == keyring.EdDSA && derived.Family() == keyring.FamilyEdDSA:
		// The RFC 8037 name fits both curves.
	case derived != "" && alg != derived:
		return nil, fmt.Errorf("--alg %s does not fit this key (it is a %s key)", alg, derived)
	}
	if kid == "" {
		kid = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".secret"), ".pem"), ".key")
	}
	return signer.New(alg, priv, kid)
}

func algFor(priv any) keyring.Algorithm {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return keyring.ES256
		case elliptic.P384():
			return keyring.ES384
		case elliptic.P521():
			return keyring.ES512
		}
	case ed25519.PrivateKey:
		return keyring.Ed25519
	case ed448.PrivateKey:
		return keyring.Ed448
	case *mldsa44.PrivateKey:
		return keyring.MLDSA44
	case *mldsa65.PrivateKey:
		return keyring.MLDSA65
	case *mldsa87.PrivateKey:
		return keyring.MLDSA87
	}
	return ""
}

// registeredAlg is the alg an OKP key at path is published under in the
// DIR/<kid>.jwks.json keygen wrote beside DIR/<kid>.key.pem (EdDSA or
// curveAlg), so that mint matches what the verifiers hold. Without that
// file (or without this key in it) it is curveAlg.
func registeredAlg(path string, priv any, curveAlg keyring.Algorithm) keyring.Algorithm {
	base, ok := strings.CutSuffix(path, ".key.pem")
	if !ok {
		return curveAlg
	}
	data, err := os.ReadFile(base + ".jwks.json")
	if err != nil {
		return curveAlg
	}
	pub, err := signer.Public(priv)
	if err != nil {
		return curveAlg
	}
	mine, err := keyring.NewKey(pub, keyring.Options{})
	if err != nil {
		return curveAlg
	}
	keys, err := keyring.ParseKeys(data, keyring.Options{})
	if err != nil {
		return curveAlg
	}
	for _, k := range keys {
		if k.Thumbprint() == mine.Thumbprint() && (k.Alg() == keyring.EdDSA || k.Alg() == curveAlg) {
			return k.Alg()
		}
	}
	return curveAlg
}
