package main

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	var (
		alg keyring.Algorithm
		err error
	)
	if algFlag != "" {
		if alg, err = parseAlg(algFlag); err != nil {
			return nil, err
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	priv, err := readPrivateKey(path, data, encoding)
	if err != nil {
		return nil, err
	}
	if _, ok := priv.([]byte); ok && alg == "" {
		return nil, errors.New("--alg (HS256, HS384 or HS512) is required for an HMAC secret")
	}
	derived := algFor(priv)
	switch {
	case alg == "" && derived == "":
		return nil, errors.New("--alg is required for RSA keys (RS256, RS384, RS512, PS256, PS384 or PS512: the key does not say which)")
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

// wantKey says what mint signs with; errors about a key file end with it.
const wantKey = "mint signs with a private key PEM (PKCS#8, SEC 1 or PKCS#1: keygen's <kid>.key.pem) or an HMAC secret file (keygen's <kid>.secret)"

// readPrivateKey reads what mint signs with: a private key PEM or, for a
// file that is neither PEM nor JSON, an HMAC secret in encoding. Whatever
// else the file holds (a public key, a certificate, a JWK Set, a key for
// key agreement) is refused with an error saying what it is and what mint
// expects.
func readPrivateKey(path string, data []byte, encoding string) (any, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, fmt.Errorf("%s: the file is empty; %s", path, wantKey)
	case bytes.Contains(data, []byte("-----BEGIN")):
		return readPrivatePEM(path, data)
	case trimmed[0] == '{':
		return nil, fmt.Errorf("%s: %s, which mint does not read; %s", path, describeJSONKey(trimmed), wantKey)
	}
	enc, err := keyring.ParseSecretEncoding(encoding)
	if err != nil {
		return nil, fmt.Errorf("--encoding: %w", err)
	}
	secret, err := keyring.DecodeSecret(data, enc)
	if err != nil {
		return nil, fmt.Errorf("%s: not PEM, so read as an HMAC secret in %s (--encoding): %w", path, enc, err)
	}
	return secret, nil
}

func readPrivatePEM(path string, data []byte) (any, error) {
	var types []string
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		types = append(types, b.Type)
	}
	switch {
	case len(types) == 0:
		return nil, fmt.Errorf("%s: not a valid PEM document (it has a -----BEGIN line, but no block decodes); %s", path, wantKey)
	case !slices.ContainsFunc(types, isPrivateBlock):
		return nil, fmt.Errorf("%s: %s; %s", path, describePEM(types[0]), wantKey)
	}
	priv, err := signer.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: malformed private key: %w", path, err)
	}
	if _, isRSA := priv.(*rsa.PrivateKey); !isRSA && algFor(priv) == "" {
		return nil, fmt.Errorf("%s: %s, which signs with no JOSE algorithm tokengate implements; %s", path, describeKey(priv), wantKey)
	}
	return priv, nil
}

func isPrivateBlock(typ string) bool {
	return typ == "PRIVATE KEY" || typ == "EC PRIVATE KEY" || typ == "RSA PRIVATE KEY"
}

// describePEM names what a PEM block of this type holds.
func describePEM(typ string) string {
	switch typ {
	case "PUBLIC KEY", "RSA PUBLIC KEY":
		return "a public key (what verifiers trust), not the private key"
	case "CERTIFICATE":
		return "a certificate (a public key), not the private key"
	case "ENCRYPTED PRIVATE KEY":
		return "a password-protected private key: decrypt it first (openssl pkey -in FILE -out key.pem)"
	case "OPENSSH PRIVATE KEY":
		return "an OpenSSH private key: convert it to PKCS#8 first (ssh-keygen -p -m PKCS8 -f FILE)"
	}
	return fmt.Sprintf("a PEM %q block, not a private key", typ)
}

// describeKey names a parsed private key that cannot sign.
func describeKey(priv any) string {
	switch k := priv.(type) {
	case *ecdh.PrivateKey:
		if k.Curve() == ecdh.X25519() {
			return "an X25519 key (for key agreement, such as the JWE decryption key --encrypt takes)"
		}
		return "an ECDH key (for key agreement)"
	case *ecdsa.PrivateKey:
		return "an EC key on curve " + k.Curve.Params().Name
	}
	return fmt.Sprintf("a %T key", priv)
}

// describeJSONKey names what a JSON key file holds: a JWK or JWK Set,
// public or private.
func describeJSONKey(data []byte) string {
	var doc map[string]any
	if json.Unmarshal(data, &doc) != nil {
		return "a JSON document, not a key"
	}
	private := func(jwk any) bool {
		m, _ := jwk.(map[string]any)
		return m["d"] != nil || m["k"] != nil // RFC 7518 §6.2.2.1, §6.4.1
	}
	keys, isSet := doc["keys"].([]any)
	switch {
	case isSet && slices.ContainsFunc(keys, private):
		return "a JWK Set with private keys"
	case isSet:
		return "a JWK Set of public keys (what verifiers trust: the private key is the .key.pem keygen wrote next to it)"
	case doc["kty"] != nil && private(doc):
		return "a private JWK"
	case doc["kty"] != nil:
		return "a public JWK (what verifiers trust)"
	}
	return "a JSON document, not a key"
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
