package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/jwe"
)

// loadDecryptionKeys reads decryption.keys: each file a private JWK, JWK
// Set or PKCS#8 PEM bound to its alg. Errors name the entry.
func loadDecryptionKeys(cfg *config.Config) (*jwe.KeySet, error) {
	var keys []*jwe.Key
	for i, k := range cfg.Decryption.Keys {
		field := fmt.Sprintf("decryption.keys[%d]", i)
		alg, ok := jwe.ParseKeyAlgorithm(k.Alg)
		if !ok {
			return nil, fmt.Errorf("config: %s.alg: unsupported %q", field, k.Alg)
		}
		ks, err := readDecryptionKey(k.File, k.KID, alg)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %s: %w", field, k.File, err)
		}
		keys = append(keys, ks...)
	}
	return jwe.NewKeySet(keys...)
}

func readDecryptionKey(path, kid string, alg jwe.KeyAlgorithm) ([]*jwe.Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		k, err := jwe.ParsePEM(trimmed, kid, alg)
		if err != nil {
			return nil, err
		}
		return []*jwe.Key{k}, nil
	case bytes.Contains(trimmed, []byte(`"keys"`)):
		ks, err := jwe.ParseJWKSet(trimmed, alg)
		if err != nil {
			return nil, err
		}
		return ks.Keys(), nil
	case len(trimmed) > 0 && trimmed[0] == '{':
		k, err := jwe.ParseJWK(trimmed, alg)
		if err != nil {
			return nil, err
		}
		return []*jwe.Key{k}, nil
	}
	return nil, errors.New("not a JWK, JWK Set or PEM private key")
}

// newDecrypter builds the sidecar's decrypter, or nil without keys. The
// outer (encrypted) token may be larger than the signed one inside it,
// which limits.max_token_size bounds: twice that bounds the outer one.
func newDecrypter(cfg *config.Config) (*jwe.Decrypter, error) {
	if len(cfg.Decryption.Keys) == 0 {
		return nil, nil
	}
	ks, err := loadDecryptionKeys(cfg)
	if err != nil {
		return nil, err
	}
	var encs []jwe.ContentEncryption
	for _, e := range cfg.Decryption.Encs {
		enc, _ := jwe.ParseContentEncryption(e)
		encs = append(encs, enc)
	}
	limit := 2 * int(cfg.Limits.MaxTokenSize)
	return jwe.NewDecrypter(ks, jwe.Options{MaxTokenBytes: limit, MaxCiphertextBytes: limit, Encs: encs})
}
