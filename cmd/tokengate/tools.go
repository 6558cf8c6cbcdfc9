package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tokengate/tokengate/build"
	"github.com/tokengate/tokengate/internal/jsonx"
	"github.com/tokengate/tokengate/internal/suggest"
	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/keyring"
)

func runKeygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", "--alg ALG --kid KID --out DIR", stderr)
	algFlag := fs.String("alg", "ES256", "algorithm the key is for: "+algList())
	kid := fs.String("kid", "", "key id (required); files are named after it")
	out := fs.String("out", ".", "directory to write to (created 0700 if missing)")
	crv := fs.String("crv", "Ed25519", "curve of an EdDSA key: Ed25519 or Ed448; without --alg the key gets the curve's own alg (RFC 9864)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	alg, err := parseAlg(*algFlag)
	if err != nil {
		return err
	}
	if *kid == "" {
		return usagef("--kid is required: it names the key in tokens and the files keygen writes")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	alg, c, err := keygenAlg(alg, set["alg"], *crv, set["crv"])
	if err != nil {
		return err
	}
	files, err := writeKeyPair(*out, alg, *kid, c)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(stdout, "wrote", f)
	}
	if alg.Family() == keyring.FamilyHMAC {
		fmt.Fprintf(stdout, "\nconfig.yaml:\n  keys:\n    - secret_file: %s\n      encoding: base64url\n      alg: %s\n      kid: %s\n", files[0], alg, *kid)
	} else {
		fmt.Fprintf(stdout, "\nconfig.yaml:\n  keys:\n    - file: %s\n", files[1])
	}
	return nil
}

// keygenAlg settles the alg and, for an EdDSA key, the curve. --crv alone
// asks for an Ed25519 or Ed448 key under the curve's fully specified alg
// (RFC 9864 §2.2 deprecates the polymorphic "EdDSA"); --alg EdDSA keeps
// the RFC 8037 name, with --crv choosing the curve; --alg Ed25519 or Ed448
// need no --crv and refuse another one.
func keygenAlg(alg keyring.Algorithm, algSet bool, crv string, crvSet bool) (keyring.Algorithm, string, error) {
	if crvSet && !algSet {
		switch crv {
		case "Ed25519":
			return keyring.Ed25519, "", nil
		case "Ed448":
			return keyring.Ed448, "", nil
		}
		return "", "", fmt.Errorf("--crv %q: only Ed25519 and Ed448 can be chosen", crv)
	}
	switch alg {
	case keyring.EdDSA:
		return alg, crv, nil
	case keyring.Ed25519, keyring.Ed448:
		if crvSet && crv != string(alg) {
			return "", "", fmt.Errorf("--crv %s does not fit --alg %s", crv, alg)
		}
	}
	return alg, "", nil
}

func algNames() []string {
	s := make([]string, len(keyring.Algorithms))
	for i, a := range keyring.Algorithms {
		s[i] = string(a)
	}
	return s
}

func algList() string { return strings.Join(algNames(), ", ") }

// parseAlg reads an --alg value. Algorithm names are case-sensitive (RFC
// 7515 §4.1.1), so "es256" is refused, naming the one probably meant and
// listing them all.
func parseAlg(value string) (keyring.Algorithm, error) {
	if alg, err := keyring.ParseAlgorithm(value); err == nil {
		return alg, nil
	}
	hint := ""
	if s, ok := suggest.Closest(value, algNames()); ok {
		hint = fmt.Sprintf(" (did you mean %s? names are case-sensitive)", s)
	}
	return "", usagef("--alg %q: unknown algorithm%s; the algorithms are %s", value, hint, algList())
}

func runMint(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("mint", "--key FILE [--claims JSON] [--ttl 15m]", stderr)
	keyPath := fs.String("key", "", "private key PEM, or HMAC secret file (required)")
	algFlag := fs.String("alg", "", "algorithm; required for RSA keys and HMAC secrets, else taken from the key")
	kid := fs.String("kid", "", "kid header (default: the key file name without .key.pem or .secret)")
	claims := fs.String("claims", "{}", "claims as a JSON object")
	ttl := fs.Duration("ttl", 15*time.Minute, "sets exp = now + ttl unless claims has exp; negative mints an expired token (for tests); 0 leaves exp out")
	typ := fs.String("typ", "JWT", `header "typ" (for example at+jwt); "" writes none`)
	encoding := fs.String("encoding", "base64url", "encoding of an HMAC secret file: raw, base64, base64url, hex")
	encrypt := fs.String("encrypt", "", "wrap the token in a JWE for the holder of this decryption key file (JWK, JWK Set or PKCS#8 PEM: the file the sidecar decrypts with)")
	encAlg := fs.String("encrypt-alg", "ECDH-ES+A256KW", "JWE key management algorithm (must be the decryption key's)")
	encEnc := fs.String("encrypt-enc", "A256GCM", "JWE content encryption: A128GCM, A256GCM, A128CBC-HS256, A256CBC-HS512")
	encKid := fs.String("encrypt-kid", "", "JWE kid header (default: the decryption key's kid)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyPath == "" {
		return usagef("--key is required: the private key PEM or HMAC secret file to sign with")
	}
	s, err := loadSigningKey(*keyPath, *algFlag, *kid, *encoding)
	if err != nil {
		return err
	}
	payload, err := buildClaims([]byte(*claims), time.Now(), *ttl)
	if err != nil {
		return err
	}
	tok, err := s.SignWithType(payload, *typ)
	if err != nil {
		return err
	}
	if *encrypt != "" {
		if tok, err = encryptToken(tok, *encrypt, *encAlg, *encEnc, *encKid); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// encryptToken wraps a signed token in a compact JWE (cty "JWT") for the
// public half of the decryption key in keyFile.
func encryptToken(tok, keyFile, algName, encName, kid string) (string, error) {
	alg, ok := jwe.ParseKeyAlgorithm(algName)
	if !ok {
		return "", fmt.Errorf("--encrypt-alg: unsupported %q", algName)
	}
	enc, ok := jwe.ParseContentEncryption(encName)
	if !ok {
		return "", fmt.Errorf("--encrypt-enc: unsupported %q", encName)
	}
	keys, err := build.ReadDecryptionKey(keyFile, kid, alg)
	if err != nil {
		return "", fmt.Errorf("--encrypt %s: %w", keyFile, err)
	}
	if len(keys) != 1 {
		return "", fmt.Errorf("--encrypt %s: holds %d keys for %s; give a file with one", keyFile, len(keys), alg)
	}
	if kid == "" {
		kid = keys[0].Kid()
	}
	out, err := jwe.Encrypt([]byte(tok), alg, enc, keys[0].Public(), &jwe.EncryptOptions{Kid: kid})
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// buildClaims adds iat, and exp = now + ttl unless ttl is 0 (a negative
// ttl makes an already expired token), to a JSON object, keeping any
// values the caller gave. The object must be one the verifier would read:
// strict JSON, no duplicate member names (RFC 7519 §4), within its limits.
func buildClaims(in []byte, now time.Time, ttl time.Duration) ([]byte, error) {
	var strict jsonx.Doc
	if err := strict.Parse(in, jsonx.Limits{}); err != nil {
		return nil, fmt.Errorf("--claims: %w (tokengate refuses such tokens)", err)
	}
	if strict.Root().Kind() != jsonx.Object {
		return nil, errors.New("--claims must be a JSON object")
	}
	d := json.NewDecoder(bytes.NewReader(in))
	d.UseNumber()
	var c map[string]any
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("--claims: %w", err)
	}
	if _, ok := c["iat"]; !ok {
		c["iat"] = now.Unix()
	}
	if _, ok := c["exp"]; !ok && ttl != 0 {
		c["exp"] = now.Add(ttl).Unix()
	}
	return json.Marshal(c)
}
