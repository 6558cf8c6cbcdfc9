package keyring_test

import (
	"errors"
	"testing"

	"github.com/tokengate/tokengate/keyring"
)

// newTestKey makes a key from a fresh fixture with the given binding.
func newTestKey(t testing.TB, material any, o keyring.Options) *keyring.Key {
	t.Helper()
	k, err := keyring.NewKey(material, o)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSnapshotFind(t *testing.T) {
	f := fixtures()
	const issA, issB, issC = "https://a.example", "https://b.example", "https://c.example"
	aES := newTestKey(t, &f.p256.PublicKey, keyring.Options{ID: "a-es", Issuer: issA})
	aRS := newTestKey(t, &f.rsa.PublicKey, keyring.Options{ID: "a-rs", Alg: keyring.RS256, Issuer: issA})
	aShared := newTestKey(t, &f.p384.PublicKey, keyring.Options{ID: "shared", Issuer: issA})
	bES := newTestKey(t, &f.p256b.PublicKey, keyring.Options{ID: "b-es", Issuer: issB})
	bES2 := newTestKey(t, &f.p256.PublicKey, keyring.Options{ID: "b-es-2", Issuer: issB})
	gEd := newTestKey(t, f.ed25519.Public(), keyring.Options{ID: "g-ed"})
	gShared := newTestKey(t, f.ed448.Public(), keyring.Options{ID: "shared"})
	gHS := newTestKey(t, f.hs256, keyring.Options{ID: "g-hs", Alg: keyring.HS256})

	s, err := keyring.NewSnapshot(7, aES, aRS, aShared, bES, bES2, gEd, gShared, gHS)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		issuer string
		kid    string
		alg    keyring.Algorithm
		want   *keyring.Key
	}{
		{"own key by kid", issA, "a-es", keyring.ES256, aES},
		{"own key by kid, alg not compared", issA, "a-es", keyring.RS256, aES},
		{"other issuer's key is never found", issB, "a-es", keyring.ES256, nil},
		{"other issuer's key is never found (reverse)", issA, "b-es", keyring.ES256, nil},
		{"unknown issuer does not see issuer keys", issC, "a-es", keyring.ES256, nil},
		{"no issuer does not see issuer keys", "", "a-es", keyring.ES256, nil},
		{"global key not for issuer A, which has keys of its own", issA, "g-ed", keyring.EdDSA, nil},
		{"global key not for issuer B, which has keys of its own", issB, "g-ed", keyring.EdDSA, nil},
		{"global key for unknown issuer", issC, "g-ed", keyring.EdDSA, gEd},
		{"global key without issuer", "", "g-hs", keyring.HS256, gHS},
		{"issuer key, global key with the same kid", issA, "shared", keyring.ES384, aShared},
		{"global kid not for another issuer with own keys", issB, "shared", keyring.EdDSA, nil},
		{"global kid for an issuer without keys", issC, "shared", keyring.EdDSA, gShared},
		{"unknown kid", issA, "nope", keyring.ES256, nil},
		{"kid-less: one ES256 key for A", issA, "", keyring.ES256, aES},
		{"kid-less: one RS256 key for A", issA, "", keyring.RS256, aRS},
		{"kid-less: global EdDSA for C", issC, "", keyring.EdDSA, nil}, // ed25519 and ed448 are both EdDSA: ambiguous
		{"kid-less: global HS256 not for A", issA, "", keyring.HS256, nil},
		{"kid-less: two ES256 keys for B", issB, "", keyring.ES256, nil},
		{"kid-less: A's RS256 not for B", issB, "", keyring.RS256, nil},
		{"kid-less: global HS256 for unknown issuer", issC, "", keyring.HS256, gHS},
		{"kid-less: no issuer", "", "", keyring.HS256, gHS},
		{"kid-less: no issuer, issuer-only alg", "", "", keyring.ES256, nil},
		{"kid-less: no key with alg", issA, "", keyring.PS512, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var iss, kid []byte
			if tt.issuer != "" {
				iss = []byte(tt.issuer)
			}
			if tt.kid != "" {
				kid = []byte(tt.kid)
			}
			got, ok := s.Find(iss, kid, tt.alg)
			if ok != (tt.want != nil) || got != tt.want {
				t.Fatalf("Find = %v, %v; want %v", keyName(got), ok, keyName(tt.want))
			}
		})
	}
	if s.Generation() != 7 || s.Len() != 8 || s.Snapshot() != s {
		t.Errorf("Generation %d Len %d Snapshot self %v", s.Generation(), s.Len(), s.Snapshot() == s)
	}
	keys := s.Keys()
	for i, want := range []*keyring.Key{aES, aRS, aShared, bES, bES2, gEd, gShared, gHS} {
		if keys[i] != want {
			t.Errorf("Keys()[%d] = %s, want %s (load order)", i, keyName(keys[i]), keyName(want))
		}
	}
	keys[0] = nil
	if s.Keys()[0] != aES {
		t.Error("Keys() exposes the snapshot's slice")
	}
}

// TestSnapshotKidlessSingleKey: with exactly one key per alg, a token
// without kid finds it; a second key with that alg in scope makes it
// ambiguous.
func TestSnapshotKidlessSingleKey(t *testing.T) {
	f := fixtures()
	one := newTestKey(t, &f.p256.PublicKey, keyring.Options{})
	two := newTestKey(t, &f.p256b.PublicKey, keyring.Options{Issuer: "iss"})
	s, err := keyring.NewSnapshot(1, one)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := s.Find([]byte("iss"), nil, keyring.ES256); !ok || k != one {
		t.Fatal("single global key not found without kid")
	}
	s, err = keyring.NewSnapshot(2, one, two)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := s.Find([]byte("iss"), nil, keyring.ES256); !ok || k != two {
		t.Fatal("an issuer's single key not found without kid next to a global key")
	}
	if k, ok := s.Find([]byte("other"), nil, keyring.ES256); !ok || k != one {
		t.Fatal("another issuer sees only the global key: should be found")
	}
}

func TestNewSnapshotDuplicates(t *testing.T) {
	f := fixtures()
	tests := []struct {
		name string
		keys []*keyring.Key
		want error
	}{
		{"same kid, global", []*keyring.Key{
			newTestKey(t, &f.p256.PublicKey, keyring.Options{ID: "k", Source: "a.json"}),
			newTestKey(t, &f.p384.PublicKey, keyring.Options{ID: "k", Source: "b.json"}),
		}, keyring.ErrDuplicateKID},
		{"same kid, same issuer", []*keyring.Key{
			newTestKey(t, &f.p256.PublicKey, keyring.Options{ID: "k", Issuer: "i"}),
			newTestKey(t, &f.p384.PublicKey, keyring.Options{ID: "k", Issuer: "i"}),
		}, keyring.ErrDuplicateKID},
		{"same kid, other issuers", []*keyring.Key{
			newTestKey(t, &f.p256.PublicKey, keyring.Options{ID: "k", Issuer: "i"}),
			newTestKey(t, &f.p384.PublicKey, keyring.Options{ID: "k", Issuer: "j"}),
			newTestKey(t, &f.p521.PublicKey, keyring.Options{ID: "k"}),
		}, nil},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := keyring.NewSnapshot(1, tt.keys...)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (s != nil) {
				t.Fatalf("NewSnapshot: %v, want %v", err, tt.want)
			}
		})
	}
	var nilSnap *keyring.Snapshot
	if _, ok := nilSnap.Find(nil, []byte("k"), keyring.ES256); ok {
		t.Error("nil snapshot found a key")
	}
}

func keyName(k *keyring.Key) string {
	if k == nil {
		return "<none>"
	}
	return k.Issuer() + "/" + k.ID()
}

// TestEmptyKidMatchesNoKey: a header "kid" that is present must equal a
// key's kid exactly; "" is such a kid and matches nothing. It must not be
// read as a missing kid, which would pick the only key of the alg.
func TestEmptyKidMatchesNoKey(t *testing.T) {
	f := fixtures()
	only := newTestKey(t, &f.p256.PublicKey, keyring.Options{ID: "only"})
	s, err := keyring.NewSnapshot(1, only)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := s.Find(nil, []byte{}, keyring.ES256); ok {
		t.Fatalf(`kid "" found %s`, keyName(k))
	}
	if k, ok := s.Find(nil, nil, keyring.ES256); !ok || k != only {
		t.Fatalf("a missing kid no longer finds the only ES256 key: %v", ok)
	}
}
