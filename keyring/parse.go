package keyring

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// MaxDocumentSize bounds a JWK, JWK Set, PEM or secret document. Key files
// are small; a bigger input is a mistake or an attack on the loader.
const MaxDocumentSize = 1 << 20

// newKey calls NewKey and turns its error into a detail matching
// ErrInvalidKey. NewKey prefixes its message with the source and kid; the
// caller's KeyError names those, so only the cause (the error NewKey
// wrapped) is kept.
func newKey(material any, o Options) (*Key, error) {
	if pub, ok := material.(*rsa.PublicKey); ok {
		if pub.N != nil && rocaFingerprint(pub.N) {
			// CVE-2017-15361 (ROCA): moduli from Infineon's RSALib can be
			// factored; their structure is detectable from n alone.
			return nil, errf(ErrInvalidKey, "RSA modulus has the ROCA fingerprint (CVE-2017-15361): the private key can be recovered")
		}
		if o.Alg == "" {
			alg, err := o.rsaAlg()
			if err != nil {
				return nil, err
			}
			o.Alg = alg
		}
	}
	k, err := NewKey(material, o)
	if err != nil {
		cause := err
		if inner := errors.Unwrap(err); inner != nil {
			cause = inner
		}
		return nil, &detail{kind: ErrInvalidKey, msg: "key refused", err: cause}
	}
	return k, nil
}

// rsaAlg binds an RSA key that has no alg: to the one RSA algorithm the
// source's allow-list admits. RS256 and PS256 keys look alike, so with none
// or several the key is refused, and the error names the setting that
// binds it (a provider's key whose type the allow-list does not admit at
// all is skipped like any key of another alg).
func (o Options) rsaAlg() (Algorithm, error) {
	var rsaAlgs []Algorithm
	for _, a := range o.algs {
		if f := a.Family(); f == FamilyRSA || f == FamilyRSAPSS {
			rsaAlgs = append(rsaAlgs, a)
		}
	}
	switch {
	case len(rsaAlgs) == 1:
		return rsaAlgs[0], nil
	case o.published && len(rsaAlgs) == 0:
		return "", &skipError{reason: fmt.Sprintf("RSA key without \"alg\", and issuers[].algs %v admits no RSA algorithm", o.algs)}
	case o.published:
		return "", errf(ErrInvalidKey, "RSA key without \"alg\", and issuers[].algs admits %v: set issuers[].alg to the one this provider signs with (RS256 and PS256 keys look alike)", rsaAlgs)
	}
	return "", errf(ErrInvalidKey, "RSA key without \"alg\": set keys[].alg, or list exactly one RSA algorithm in keys[].algs (RS256 and PS256 keys look alike; tokengate does not guess)")
}

// jsonLimits bound a key document: a JWK Set of a few thousand keys, each
// with a certificate chain, fits. A JWK needs depth 4 ({"keys":[{"x5c":[
// ...]}]}); the rest is room for unknown members, which are ignored.
var jsonLimits = jsonx.Limits{MaxDepth: 8, MaxNodes: 1 << 16, MaxMembers: 1 << 12}

// ParseKeys loads the keys in data, detecting the format: a JSON object
// with a "keys" member is a JWK Set, another JSON object a single JWK, and
// "-----BEGIN" starts PEM. See ParseJWK, ParseJWKS and ParsePEM.
func ParseKeys(data []byte, o Options) ([]*Key, error) {
	keys, _, err := ParseKeysReport(data, o)
	return keys, err
}

// ParseKeysReport is ParseKeys that also returns the JWK Set members that
// were skipped because they are not for signature verification, so the
// caller can log them.
func ParseKeysReport(data []byte, o Options) ([]*Key, []Skipped, error) {
	return parseDocument(data, o).strict()
}

// parsed is a key document read leniently: its keys, skipped and refused
// members, and the error that makes the document unusable as a whole.
type parsed struct {
	keySet
	err error
}

func (p parsed) strict() ([]*Key, []Skipped, error) { return p.keySet.strict(p.err) }

// parseDocument reads a JWK, JWK Set or PEM document (see ParseKeys),
// refusing bad keys one by one.
func parseDocument(data []byte, o Options) parsed {
	if len(data) > MaxDocumentSize {
		return parsed{err: docError(o, errf(ErrTooLarge, "%d bytes, at most %d", len(data), MaxDocumentSize))}
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		var d jsonx.Doc
		root, err := parseJSON(&d, data, o)
		if err != nil {
			return parsed{err: err}
		}
		if root.Get("keys").Exists() {
			ks, err := parseJWKSValue(root, o)
			return parsed{ks, err}
		}
		k, err := parseSingleJWK(root, o)
		if err != nil {
			return parsed{err: err}
		}
		return parsed{keySet: keySet{keys: []*Key{k}}}
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		ks, err := parsePEM(data, o)
		return parsed{ks, err}
	}
	return parsed{err: docError(o, errf(ErrMalformed, "not a JWK, JWK Set or PEM document"))}
}

func docError(o Options, err error) error {
	return &KeyError{Source: o.Source, Index: -1, Err: err}
}

func parseJSON(d *jsonx.Doc, data []byte, o Options) (jsonx.Value, error) {
	if len(data) > MaxDocumentSize {
		return jsonx.Value{}, docError(o, errf(ErrTooLarge, "%d bytes, at most %d", len(data), MaxDocumentSize))
	}
	// jsonx rejects duplicate member names (one name, one meaning: a JWK
	// with two "alg" or two "n" members is ambiguous), bad UTF-8 and
	// trailing data.
	if err := d.Parse(data, jsonLimits); err != nil {
		return jsonx.Value{}, docError(o, &detail{kind: ErrMalformed, msg: "invalid JSON", err: err})
	}
	root := d.Root()
	if root.Kind() != jsonx.Object {
		return jsonx.Value{}, docError(o, errf(ErrMalformed, "JSON document is not an object"))
	}
	return root, nil
}
