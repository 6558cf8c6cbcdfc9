//go:build !race

package revocation

import "testing"

// TestRevokedDoesNotAllocate pins the hot-path promise of Store.Revoked
// (called on every request, cache hits included). Built without -race,
// whose instrumentation would be counted.
func TestRevokedDoesNotAllocate(t *testing.T) {
	s, c := newStore(t)
	s.Add(Entry{Kind: KindJTI, JTI: "j"})
	s.Add(Entry{Kind: KindSubject, Subject: "u", Issuer: "https://a", Before: t0})
	iss, sub, jti, now := []byte("https://a"), []byte("u"), []byte("k"), c.Now()
	if n := testing.AllocsPerRun(1000, func() { s.Revoked(iss, sub, jti, 1, true, now) }); n != 0 {
		t.Fatalf("Revoked allocates %v times per call", n)
	}
}
