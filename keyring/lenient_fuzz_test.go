package keyring

import (
	"errors"
	"slices"
	"testing"
)

// FuzzParseDocument feeds documents to the lenient parser key sources use
// (parseDocument; seeds in testdata/fuzz/FuzzParseDocument: valid sets,
// sets with one refused member of each kind, and malformed documents), for
// a file and for a provider's published set. Properties: no panic; the
// strict parsers accept exactly the documents with no refusal and load the
// same keys; a usable document has keys, all with distinct kids and none
// named by a refusal for a duplicate kid; every refusal is a *KeyError
// naming the source; a published set never yields an HMAC key.
func FuzzParseDocument(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			t.Skip("larger than any seed needs")
		}
		for _, o := range []Options{{Source: "file"}, {Source: "idp", published: true}, {Source: "file", Alg: RS256}} {
			p := parseDocument(data, o)
			keys, _, strictErr := ParseKeysReport(data, o)
			clean := p.err == nil && len(p.refused) == 0
			if clean != (strictErr == nil) {
				t.Fatalf("lenient (err %v, %d refused) and strict (%v) disagree", p.err, len(p.refused), strictErr)
			}
			if clean && !slices.Equal(keys, p.keys) && !sameKeys(keys, p.keys) {
				t.Fatal("strict and lenient loaded different keys")
			}
			for _, e := range p.refused {
				if e == nil || e.Source != o.Source || e.Err == nil {
					t.Fatalf("refusal %#v does not name the source", e)
				}
			}
			if p.err != nil {
				var ke *KeyError
				if !errors.As(p.err, &ke) {
					t.Fatalf("document error %v is not a *KeyError", p.err)
				}
				continue
			}
			if len(p.keys) == 0 {
				t.Fatal("usable document without keys")
			}
			seen := map[string]bool{}
			for _, k := range p.keys {
				if k.ID() != "" && seen[k.ID()] {
					t.Fatalf("two keys with kid %q", k.ID())
				}
				seen[k.ID()] = true
				if o.published && k.Alg().Family() == FamilyHMAC {
					t.Fatal("HMAC key loaded from a published set")
				}
			}
			for _, e := range p.refused {
				if errors.Is(e, ErrDuplicateKID) && seen[e.KID] {
					t.Fatalf("kid %q loaded although it is refused as a duplicate", e.KID)
				}
			}
		}
	})
}

func sameKeys(a, b []*Key) bool {
	return slices.EqualFunc(a, b, func(x, y *Key) bool {
		return x.ID() == y.ID() && x.Alg() == y.Alg() && x.Thumbprint() == y.Thumbprint()
	})
}
