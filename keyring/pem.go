package keyring

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cloudflare/circl/sign/ed448"
)

// ParsePEM loads every block of a PEM document: "PUBLIC KEY" (X.509
// SubjectPublicKeyInfo, including Ed448 per RFC 8410 and ML-DSA per RFC
// 9881), "RSA PUBLIC KEY" (PKCS #1) and "CERTIFICATE" (its public key; the
// certificate itself is not validated). Private key blocks are refused
// (ErrPrivateKey). Anything but whitespace outside the blocks is an error.
// o.ID, if set, needs exactly one block; RSA keys need o.Alg. Every bad
// block is reported at once and refuses the document.
func ParsePEM(data []byte, o Options) ([]*Key, error) {
	set, err := parsePEM(data, o)
	keys, _, err := set.strict(err)
	return keys, err
}

// parsePEM reads a PEM document block by block: a block that does not hold
// a usable key is refused on its own; the error is for a document that is
// not PEM or has no usable key.
func parsePEM(data []byte, o Options) (keySet, error) {
	var ks keySet
	if len(data) > MaxDocumentSize {
		return ks, docError(o, errf(ErrTooLarge, "%d bytes, at most %d", len(data), MaxDocumentSize))
	}
	begin := []byte("-----BEGIN")
	type block struct {
		i   int
		key *Key
	}
	var (
		blocks []block
		byKID  = map[string][]int{}
	)
	rest := data
	for i := 0; ; i++ {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(rest) == 0 {
			break
		}
		if !bytes.HasPrefix(rest, begin) {
			return keySet{}, docError(o, errf(ErrMalformed, "data outside PEM blocks (after block %d)", i))
		}
		if i > 0 && o.ID != "" {
			return keySet{}, docError(o, errf(ErrMalformed, "an id is configured but the PEM document has several blocks"))
		}
		pb, next := pem.Decode(rest)
		// pem.Decode silently skips a malformed block and returns the next
		// one: insist that exactly the block at the front was consumed.
		if pb == nil || bytes.Count(rest[:len(rest)-len(next)], begin) != 1 {
			return keySet{}, &KeyError{Source: o.Source, Index: i, Err: errf(ErrMalformed, "malformed PEM block")}
		}
		rest = next
		material, err := pemMaterial(pb)
		if err != nil {
			ks.refused = append(ks.refused, &KeyError{Source: o.Source, Index: i, Err: err})
			continue
		}
		k, err := newKey(material, o)
		if err != nil {
			ks.refused = append(ks.refused, &KeyError{Source: o.Source, Index: i, KID: o.ID, Err: err})
			continue
		}
		byKID[k.ID()] = append(byKID[k.ID()], i)
		blocks = append(blocks, block{i, k})
	}
	for _, b := range blocks {
		if at := byKID[b.key.ID()]; len(at) > 1 && b.key.ID() != "" {
			ks.refused = append(ks.refused, &KeyError{Source: o.Source, Index: b.i, KID: b.key.ID(),
				Err: errf(ErrDuplicateKID, "blocks %v hold keys with this kid: none of them is used", at)})
			continue
		}
		ks.keys = append(ks.keys, b.key)
	}
	slices.SortFunc(ks.refused, func(a, b *KeyError) int { return a.Index - b.Index })
	if len(ks.keys) == 0 {
		if len(ks.refused) == 0 {
			return ks, docError(o, errf(ErrNoKeys, "no PEM blocks"))
		}
		return ks, noKeys(o, ks, "no usable key in the PEM document (%d blocks refused)", len(ks.refused))
	}
	return ks, nil
}

func pemMaterial(block *pem.Block) (any, error) {
	if len(block.Headers) > 0 {
		// RFC 7468 §2 forbids headers; the legacy ones mean encryption.
		return nil, errf(ErrMalformed, "PEM block %q has headers", clip([]byte(block.Type)))
	}
	switch block.Type {
	case "PUBLIC KEY":
		return parseSPKI(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, &detail{kind: ErrMalformed, msg: "invalid PKCS #1 RSA public key", err: err}
		}
		return pub, nil
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, &detail{kind: ErrMalformed, msg: "invalid certificate", err: err}
		}
		if cert.PublicKey == nil {
			return parseSPKI(cert.RawSubjectPublicKeyInfo)
		}
		return signingKey(cert.PublicKey)
	}
	if strings.HasSuffix(block.Type, "PRIVATE KEY") {
		return nil, errf(ErrPrivateKey, "PEM block %q holds a private key; a public key (PUBLIC KEY or CERTIFICATE) is needed", clip([]byte(block.Type)))
	}
	return nil, errf(ErrMalformed, "unsupported PEM block %q (want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)", clip([]byte(block.Type)))
}

// parseSPKI parses an X.509 SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
func parseSPKI(der []byte) (any, error) {
	pub, isEd448, err := parseEd448SPKI(der)
	if isEd448 {
		if err != nil {
			return nil, &detail{kind: ErrMalformed, msg: "invalid Ed448 public key", err: err}
		}
		return pub, nil
	}
	mpub, isMLDSA, err := parseMLDSASPKI(der)
	if isMLDSA {
		if err != nil {
			return nil, &detail{kind: ErrMalformed, msg: "invalid ML-DSA public key", err: err}
		}
		return mpub, nil
	}
	p, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, &detail{kind: ErrMalformed, msg: "invalid public key", err: err}
	}
	return signingKey(p)
}

func signingKey(p any) (any, error) {
	switch p := p.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return p, nil
	case *ecdh.PublicKey:
		return nil, &skipError{reason: "X25519 keys are for key agreement, not signatures"}
	}
	return nil, errf(ErrInvalidKey, "unsupported public key type %T", p)
}

var oidEd448 = asn1.ObjectIdentifier{1, 3, 101, 113}

// parseEd448SPKI parses an Ed448 SubjectPublicKeyInfo (RFC 8410 §4), which
// crypto/x509 does not know. isEd448 reports whether der names Ed448 at
// all; err is set when it does but is malformed.
func parseEd448SPKI(der []byte) (pub ed448.PublicKey, isEd448 bool, err error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil || !spki.Algorithm.Algorithm.Equal(oidEd448) {
		return nil, false, nil
	}
	if len(rest) != 0 {
		return nil, true, errors.New("trailing data after SubjectPublicKeyInfo")
	}
	// RFC 8410 §3: "the parameters MUST be absent".
	if len(spki.Algorithm.Parameters.FullBytes) != 0 {
		return nil, true, errors.New("Ed448 algorithm parameters must be absent")
	}
	if spki.PublicKey.BitLength != 8*ed448.PublicKeySize {
		return nil, true, fmt.Errorf("Ed448 public key is %d bits, must be %d", spki.PublicKey.BitLength, 8*ed448.PublicKeySize)
	}
	return ed448.PublicKey(bytes.Clone(spki.PublicKey.Bytes)), true, nil
}
