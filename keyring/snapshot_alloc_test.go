//go:build !race

package keyring_test

import (
	"testing"

	"github.com/tokengate/tokengate/keyring"
)

// TestSnapshotFindAllocs pins the zero-allocation promise of Snapshot.Find
// (the request path), for every branch: issuer key, global fallback,
// kid-less lookup, and misses.
func TestSnapshotFindAllocs(t *testing.T) {
	f := fixtures()
	s, err := keyring.NewSnapshot(1,
		newTestKey(t, &f.p256.PublicKey, keyring.Options{ID: "a", Issuer: "https://a.example"}),
		newTestKey(t, f.ed25519.Public(), keyring.Options{ID: "g"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Borrowed request bytes, as a handler would pass them.
	buf := []byte("https://a.example|https://z.example|a|g|x")
	issA, issZ := buf[:17], buf[18:35]
	kidA, kidG, kidX := buf[36:37], buf[38:39], buf[40:41]
	cases := []struct {
		name      string
		iss, kid  []byte
		alg       keyring.Algorithm
		wantFound bool
	}{
		{"issuer kid", issA, kidA, keyring.ES256, true},
		{"issuer with own keys, global kid", issA, kidG, keyring.EdDSA, false},
		{"unknown issuer, global kid", issZ, kidG, keyring.EdDSA, true},
		{"miss", issZ, kidX, keyring.ES256, false},
		{"kid-less", issA, nil, keyring.ES256, true},
		{"kid-less miss", issZ, nil, keyring.RS256, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(1000, func() {
				if _, ok := s.Find(c.iss, c.kid, c.alg); ok != c.wantFound {
					t.Fatalf("found = %v", ok)
				}
			})
			if allocs != 0 {
				t.Fatalf("Find allocates %v times per call", allocs)
			}
		})
	}
}
