package keyring

import (
	"errors"
	"slices"

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
	set, err := parseJWKSValue(root, o)
	keys, _, err := set.strict(err)
	return keys, err
}

// keySet is what a key document yields: the keys loaded, the members
// skipped as not for signature verification, and the keys refused (each
// with its reason). A key source applies the keys and reports the refused
// ones; the public parsers refuse the whole document instead (strict).
type keySet struct {
	keys    []*Key
	skipped []Skipped
	refused []*KeyError
}

// strict is the all-or-nothing form of a parse: docErr, else every refused
// key as one error, else the keys.
func (ks keySet) strict(docErr error) ([]*Key, []Skipped, error) {
	if docErr != nil {
		return nil, ks.skipped, docErr
	}
	if len(ks.refused) > 0 {
		return nil, ks.skipped, joinKeyErrors(ks.refused)
	}
	return ks.keys, ks.skipped, nil
}

func joinKeyErrors(errs []*KeyError) error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// noKeys is the error of a document that yields no usable key: ErrNoKeys,
// with the reason of every refused key, so the message names them.
func noKeys(o Options, ks keySet, format string, args ...any) error {
	errs := []error{docError(o, errf(ErrNoKeys, format, args...))}
	for _, e := range ks.refused {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// parseJWKSValue reads a JWK Set. Bad members are refused one by one (a
// provider's set with one key tokengate cannot use must not stop its other
// keys from rotating); the error is for a document that is not a JWK Set,
// mixes secrets and public keys, or has no usable key.
func parseJWKSValue(root jsonx.Value, o Options) (keySet, error) {
	var ks keySet
	set := root.Get("keys")
	if !set.Exists() {
		return ks, docError(o, errf(ErrMalformed, `not a JWK Set: no "keys" member`))
	}
	if set.Kind() != jsonx.Array {
		return ks, docError(o, errf(ErrMalformed, `"keys" is not an array`))
	}
	if o.ID != "" {
		return ks, docError(o, errf(ErrMalformed, "an id is configured but the document is a JWK Set: set kids in the JWKs"))
	}
	type member struct {
		i   int
		kid string
		key *Key
	}
	var (
		members []member
		byKID   = map[string][]int{} // kid -> positions of the members that carry it
	)
	i := 0
	for m := set.First(); m.Exists(); m, i = m.Next(), i+1 {
		k, kid, err := parseJWKValue(m, o)
		if skip := (*skipError)(nil); errors.As(err, &skip) {
			ks.skipped = append(ks.skipped, Skipped{Source: o.Source, Index: i, KID: kid, Reason: skip.reason})
			continue
		}
		if o.published && errors.Is(err, ErrUnsupportedAlg) {
			ks.skipped = append(ks.skipped, Skipped{Source: o.Source, Index: i, KID: kid, Reason: err.Error()})
			continue
		}
		if err != nil {
			ks.refused = append(ks.refused, &KeyError{Source: o.Source, Index: i, KID: kid, Err: err})
		} else {
			kid = k.ID()
		}
		if kid != "" {
			byKID[kid] = append(byKID[kid], i)
		}
		if k != nil {
			members = append(members, member{i, kid, k})
		}
	}
	for _, m := range members {
		// RFC 7517 §4.5: keys in a set SHOULD have distinct kids. A
		// verifier picks the key by kid, so two members with one kid
		// make the choice ambiguous: neither is loaded.
		if at := byKID[m.kid]; len(at) > 1 {
			ks.refused = append(ks.refused, &KeyError{Source: o.Source, Index: m.i, KID: m.kid,
				Err: errf(ErrDuplicateKID, "members %v of the set share this kid: none of them is used", at)})
			continue
		}
		ks.keys = append(ks.keys, m.key)
	}
	slices.SortFunc(ks.refused, func(a, b *KeyError) int { return a.Index - b.Index })
	// A set with both secrets and public keys is a publication accident
	// waiting to happen (secrets in a public document) or a confusion of
	// two documents; either way refuse it (Wycheproof MixedKeySet).
	var hmacKeys, pubKeys int
	for _, k := range ks.keys {
		if k.Alg().Family() == FamilyHMAC {
			hmacKeys++
		} else {
			pubKeys++
		}
	}
	if hmacKeys > 0 && pubKeys > 0 {
		return ks, docError(o, errf(ErrMixedKeySet, "%d HMAC secrets and %d public keys in one set", hmacKeys, pubKeys))
	}
	if len(ks.keys) == 0 {
		return ks, noKeys(o, ks, "JWK Set has no key usable for signature verification (%d skipped, %d refused)", len(ks.skipped), len(ks.refused))
	}
	return ks, nil
}
