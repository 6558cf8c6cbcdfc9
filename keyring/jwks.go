package keyring

import (
	"errors"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// ParseJWK loads a single JWK (RFC 7517 §4). o supplies the alg for RSA
// and oct keys that have none (and must equal the JWK's "alg" when both
// are present), the kid when the JWK has none (and must equal it when both
// are), and the issuer, client and source of the key. A JWK that is not for
// signature verification is an error matching ErrUnusable.
func ParseJWK(data []byte, o Options) (*Key, error) {
	var d jsonx.Doc
	root, err := parseJSON(&d, data, o)
	if err != nil {
		return nil, err
	}
	if root.Get("keys").Exists() {
		return nil, docError(o, errf(ErrMalformed, `document is a JWK Set ("keys"), not a single JWK`))
	}
	return parseSingleJWK(root, o)
}

func parseSingleJWK(v jsonx.Value, o Options) (*Key, error) {
	k, kid, err := parseJWKValue(v, o)
	if err != nil {
		return nil, &KeyError{Source: o.Source, Index: -1, KID: kid, Err: err}
	}
	return k, nil
}

// ParseJWKS loads a JWK Set (RFC 7517 §5). Members that are not for
// signature verification are skipped (see ParseKeysReport); every bad key is
// reported at once (errors.Join of *KeyError); two keys with one kid, a mix
// of secrets and public keys, or a set with no usable key are errors. o
// applies to every key; o.ID must be empty.
func ParseJWKS(data []byte, o Options) ([]*Key, error) {
	var d jsonx.Doc
	root, err := parseJSON(&d, data, o)
	if err != nil {
		return nil, err
	}
	keys, _, err := parseJWKSValue(root, o)
	return keys, err
}

func parseJWKSValue(root jsonx.Value, o Options) ([]*Key, []Skipped, error) {
	set := root.Get("keys")
	if !set.Exists() {
		return nil, nil, docError(o, errf(ErrMalformed, `not a JWK Set: no "keys" member`))
	}
	if set.Kind() != jsonx.Array {
		return nil, nil, docError(o, errf(ErrMalformed, `"keys" is not an array`))
	}
	if o.ID != "" {
		return nil, nil, docError(o, errf(ErrMalformed, "an id is configured but the document is a JWK Set: set kids in the JWKs"))
	}
	var (
		keys    []*Key
		skipped []Skipped
		errs    []error
		seen    = map[string]int{}
	)
	i := 0
	for m := set.First(); m.Exists(); m, i = m.Next(), i+1 {
		k, kid, err := parseJWKValue(m, o)
		if skip := (*skipError)(nil); errors.As(err, &skip) {
			skipped = append(skipped, Skipped{Source: o.Source, Index: i, KID: kid, Reason: skip.reason})
			continue
		}
		if o.skipUnsupportedAlg && errors.Is(err, ErrUnsupportedAlg) {
			skipped = append(skipped, Skipped{Source: o.Source, Index: i, KID: kid, Reason: err.Error()})
			continue
		}
		if err == nil {
			kid = k.ID()
		}
		// RFC 7517 §4.5: keys in a set SHOULD have distinct kids. A
		// verifier picks the key by kid, so two keys with one kid make the
		// choice ambiguous: refuse the set. (Checked for bad keys too, so
		// that the report is complete.)
		bad := err != nil
		if err != nil {
			errs = append(errs, &KeyError{Source: o.Source, Index: i, KID: kid, Err: err})
		}
		if j, dup := seen[kid]; dup && kid != "" {
			errs = append(errs, &KeyError{Source: o.Source, Index: i, KID: kid, Err: errf(ErrDuplicateKID, "same kid as key #%d", j)})
			bad = true
		} else if kid != "" {
			seen[kid] = i
		}
		if !bad {
			keys = append(keys, k)
		}
	}
	if len(errs) > 0 {
		return nil, skipped, errors.Join(errs...)
	}
	// A set with both secrets and public keys is a publication accident
	// waiting to happen (secrets in a public document) or a confusion of
	// two documents; either way refuse it (Wycheproof MixedKeySet).
	var hmacKeys, pubKeys int
	for _, k := range keys {
		if k.Alg().Family() == FamilyHMAC {
			hmacKeys++
		} else {
			pubKeys++
		}
	}
	if hmacKeys > 0 && pubKeys > 0 {
		return nil, skipped, docError(o, errf(ErrMixedKeySet, "%d HMAC secrets and %d public keys in one set", hmacKeys, pubKeys))
	}
	if len(keys) == 0 {
		return nil, skipped, docError(o, errf(ErrNoKeys, "JWK Set has no key usable for signature verification (%d skipped)", len(skipped)))
	}
	return keys, skipped, nil
}
