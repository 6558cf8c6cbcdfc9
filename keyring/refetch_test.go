package keyring_test

import (
	"context"
	"crypto/elliptic"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testenv"
	"github.com/tokengate/tokengate/keyring"
)

// TestNewKidAcceptedWithinSecondsWhileKidsAreSprayed: right after a
// rotation, tokens of the provider's new key must verify within seconds,
// even while an attacker (or stale clients) sends tokens with random kids
// that use up the refetch allowance; and the provider sees at most one
// unknown-kid fetch per refetch interval. With the default interval, a
// suppressed refetch runs when the interval ends instead of being lost.
func TestNewKidAcceptedWithinSecondsWhileKidsAreSprayed(t *testing.T) {
	k1, k2 := newIDPKey(t, "k1", elliptic.P256()), newIDPKey(t, "k2", elliptic.P256())
	p := newIDP(t, false, idpJWKS(t, k1))
	const iss = "https://idp.example"
	var logs testenv.SyncBuffer
	r := newRemoteRing(t, keyring.Config{
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		Sources: []keyring.Source{{Remote: p.remote(iss)}}, // default refetch interval
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Start(ctx)
	start := time.Now()

	// The spray: a random kid every few milliseconds, each as a request
	// would ask (3 s to wait at most).
	var sprayed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				rctx, rcancel := context.WithTimeout(context.Background(), 3*time.Second)
				r.Refetch(rctx, []byte(iss), []byte(fmt.Sprintf("random-%d-%d", g, i)))
				rcancel()
				sprayed.Add(1)
			}
		})
	}
	// Wait until the spray has used the allowance: the new kid's first
	// token lands inside a refetch interval.
	idpWait(t, "a sprayed kid to cause a refetch", func() bool { return remoteStatus(t, r, 0).Refetches >= 1 })

	p.set(func(s *idpSettings) { s.doc = idpJWKS(t, k1, k2) })
	first := time.Now()
	accepted := time.Duration(0)
	for time.Since(first) < 10*time.Second {
		if idpFind(t, r, iss, k2) {
			accepted = time.Since(first)
			break
		}
		rctx, rcancel := context.WithTimeout(context.Background(), 3*time.Second)
		r.Refetch(rctx, []byte(iss), []byte(k2.kid))
		rcancel()
		if !idpFind(t, r, iss, k2) {
			time.Sleep(100 * time.Millisecond) // a client retrying its request
		}
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	if accepted == 0 || accepted > 5*time.Second {
		t.Fatalf("the new key's tokens were refused for %s (accepted after %s), want at most 5 s", time.Since(first), accepted)
	}
	fetches := p.count("/jwks") - 1 // New's fetch
	limit := int(elapsed/keyring.DefaultRefetchInterval) + 2
	if fetches > limit {
		t.Errorf("%d fetches in %s of spraying (%d random kids): more than one per refetch interval (%s)", fetches, elapsed, sprayed.Load(), keyring.DefaultRefetchInterval)
	}
	if keyring.DefaultRefetchInterval < time.Second {
		t.Errorf("default refetch interval %s: the provider must be fetched at most once per few seconds", keyring.DefaultRefetchInterval)
	}
	out := logs.String()
	if n := strings.Count(out, "refetch delayed"); n == 0 || n > int(elapsed/(10*time.Second))+1 {
		t.Errorf("%d log lines about delayed refetches; want at least one, rate-limited:\n%s", n, out)
	}
	t.Logf("new kid accepted after %s; %d fetches in %s with %d random kids", accepted, fetches, elapsed, sprayed.Load())
}

// TestRemovedAndAbsentKidsDoNotTriggerRefetches: stale tokens of a key the
// provider removed, and a kid the last refetch proved absent, cost no
// fetch and do not use up the allowance: the next new kid is fetched at
// once.
func TestRemovedAndAbsentKidsDoNotTriggerRefetches(t *testing.T) {
	k1, k2, k3 := newIDPKey(t, "k1", elliptic.P256()), newIDPKey(t, "k2", elliptic.P256()), newIDPKey(t, "k3", elliptic.P256())
	p := newIDP(t, false, idpJWKS(t, k1))
	const iss = "https://idp.example"
	clock := newIDPClock()
	rc := p.remote(iss)
	rc.RefetchInterval = 30 * time.Second
	var logs testenv.SyncBuffer
	r := newRemoteRing(t, keyring.Config{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Sources: []keyring.Source{{Remote: rc}}})
	refetch := func(kid string) bool { return r.Refetch(context.Background(), []byte(iss), []byte(kid)) }

	// The provider rotates k1 out; the refresh sees it.
	p.set(func(s *idpSettings) { s.doc = idpJWKS(t, k2) })
	if err := r.RefreshRemotes(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if refetch(k1.kid) {
			t.Fatal("a removed kid reported as found")
		}
	}
	if n := p.count("/jwks"); n != 2 {
		t.Fatalf("tokens of the removed key caused %d fetches", n-2)
	}
	// A made-up kid: one fetch proves it absent; repeating it costs none,
	// even after the interval.
	if refetch("bogus") || p.count("/jwks") != 3 {
		t.Fatalf("first unknown kid: %d fetches, want 1", p.count("/jwks")-2)
	}
	clock.Advance(31 * time.Second)
	for range 50 {
		refetch("bogus")
	}
	if n := p.count("/jwks"); n != 3 {
		t.Fatalf("a kid proven absent caused %d more fetches", n-3)
	}
	// A new kid after the interval: fetched at once, and found.
	p.set(func(s *idpSettings) { s.doc = idpJWKS(t, k2, k3) })
	if !refetch(k3.kid) || !idpFind(t, r, iss, k3) || p.count("/jwks") != 4 {
		t.Fatalf("new kid k3: %d fetches", p.count("/jwks")-3)
	}
	// Another new kid within the interval: not fetched now (its refetch
	// waits for the interval to end), logged once however many come.
	for i := range 20 {
		if refetch(fmt.Sprintf("new-%d", i)) {
			t.Fatal("a kid the provider does not have reported as found")
		}
	}
	if n := p.count("/jwks"); n != 4 {
		t.Fatalf("new kids within the interval caused %d fetches", n-4)
	}
	if n := strings.Count(logs.String(), "refetch delayed"); n != 1 {
		t.Errorf("%d log lines for 20 delayed refetches, want 1 (rate-limited):\n%s", n, logs.String())
	}
	rs := remoteStatus(t, r, 0)
	if rs.Refetches != 2 || rs.RefetchesSuppressed != 120 {
		t.Errorf("refetches %d, suppressed %d; want 2, 120", rs.Refetches, rs.RefetchesSuppressed)
	}
}

// TestDelayedRefetchRunsWhenTheIntervalEnds: a refetch suppressed by the
// interval is not lost: it runs once the interval ends, and brings the key.
func TestDelayedRefetchRunsWhenTheIntervalEnds(t *testing.T) {
	k1, k2, k3 := newIDPKey(t, "k1", elliptic.P256()), newIDPKey(t, "k2", elliptic.P256()), newIDPKey(t, "k3", elliptic.P256())
	p := newIDP(t, false, idpJWKS(t, k1))
	const iss = "https://idp.example"
	rc := p.remote(iss)
	rc.RefetchInterval = 300 * time.Millisecond
	r := newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: rc}}})
	p.set(func(s *idpSettings) { s.doc = idpJWKS(t, k1, k2) })
	if !r.Refetch(context.Background(), []byte(iss), []byte(k2.kid)) {
		t.Fatal("k2 not found by the first refetch")
	}
	p.set(func(s *idpSettings) { s.doc = idpJWKS(t, k1, k2, k3) })
	if r.Refetch(context.Background(), []byte(iss), []byte(k3.kid)) {
		t.Fatal("k3 found within the interval: no fetch should have run")
	}
	idpWait(t, "the delayed refetch to bring k3", func() bool { return idpFind(t, r, iss, k3) })
	if n := p.count("/jwks"); n != 3 {
		t.Errorf("%d fetches, want 3 (New, k2, the delayed one)", n)
	}
}
