//go:build !race

package keyring_test

import (
	"context"
	"crypto/elliptic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/keyring"
)

// TestRefetchAllocs pins Ring.Refetch's promise not to allocate when it
// returns at once, the paths a spray of made-up kids runs: a kid proven
// absent, a new kid within the refetch interval (once its delayed refetch
// is armed and its log line written), a kid the keyring has, and an
// issuer without keys (once its log line is written).
func TestRefetchAllocs(t *testing.T) {
	k1 := newIDPKey(t, "k1", elliptic.P256())
	p := newIDP(t, false, idpJWKS(t, k1))
	const iss = "https://idp.example"
	rc := p.remote(iss)
	rc.RefetchInterval = time.Hour
	r := newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: rc}}})
	ctx := context.Background()
	// Borrowed request bytes, as a handler would pass them.
	buf := []byte(iss + "|absent|new-1|k1|https://other.example")
	issuer, absent, newKid, known, other := buf[:len(iss)], buf[20:26], buf[27:32], buf[33:35], buf[36:]
	r.Refetch(ctx, issuer, absent) // fetches, proves it absent
	r.Refetch(ctx, issuer, newKid) // arms the delayed refetch, logs once
	r.Refetch(ctx, other, known)   // logs "no keys for the token's issuer" once
	for _, c := range []struct {
		name        string
		issuer, kid []byte
		want        bool
	}{
		{"kid proven absent", issuer, absent, false},
		{"new kid within the interval", issuer, newKid, false},
		{"known kid", issuer, known, true},
		{"issuer without keys", other, known, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(1000, func() {
				if got := r.Refetch(ctx, c.issuer, c.kid); got != c.want {
					t.Fatalf("Refetch = %v", got)
				}
			})
			if allocs != 0 {
				t.Fatalf("Refetch allocates %v times per call", allocs)
			}
		})
	}
}
