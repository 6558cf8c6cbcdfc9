package revocation

import (
	"context"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testenv"
)

// testLeeway is the largest leeway of the tests' verifier policy.
const testLeeway = 2 * time.Minute

func newLeewayStore() (*Store, *clock) {
	c := &clock{t: t0}
	return NewStore(Options{Now: c.Now, MaxTokenLifetime: time.Hour, Leeway: testLeeway}), c
}

// listed reports whether List (the admin API's GET /revocations) shows a
// rule with key k.
func listed(s *Store, k Key) bool {
	for _, e := range s.List() {
		if e.Key() == k {
			return true
		}
	}
	return false
}

// TestRevokedTokenAcceptedAgainDuringLeeway is issue 12 item 2: the
// verifier accepts a token until exp + leeway, so a rule that names it must
// deny it until then, whichever way the rule arrived, and whether or not
// the sweeper ran; it lets go at exp + leeway, when the token cannot verify
// anyway.
func TestRevokedTokenAcceptedAgainDuringLeeway(t *testing.T) {
	exp := t0.Add(10 * time.Minute)
	cut := t0.Add(-time.Minute)
	rules := []struct {
		name  string
		rule  Entry
		token func(s *Store, now time.Time) bool
		// last is the exp of the last token the rule matches.
		last time.Time
	}{
		{"jti with the token's exp", Entry{Kind: KindJTI, JTI: "stolen", Expires: exp},
			func(s *Store, now time.Time) bool { return s.Revoked(nil, nil, []byte("stolen"), 0, false, now) }, exp},
		{"subject cutoff", Entry{Kind: KindSubject, Subject: "u", Before: cut},
			func(s *Store, now time.Time) bool {
				return s.Revoked(nil, []byte("u"), nil, secs(cut)-1e-6, true, now)
			}, cut.Add(time.Hour)},
	}
	paths := []struct {
		name string
		add  func(*Store, Entry) error
	}{
		{"admin API", func(s *Store, e Entry) error { _, err := s.Add(e); return err }},
		{"file", func(s *Store, e Entry) error { return s.SetFile([]Entry{e}) }},
		{"Redis announcement", func(s *Store, e Entry) error { s.applyShared([]Entry{e}, nil); return nil }},
		{"Redis reload", func(s *Store, e Entry) error { s.replaceShared([]Entry{e}, time.Time{}); return nil }},
	}
	for _, r := range rules {
		for _, p := range paths {
			end := r.last.Add(testLeeway)
			t.Run(r.name+"/"+p.name, func(t *testing.T) {
				s, c := newLeewayStore()
				if err := p.add(s, r.rule); err != nil {
					t.Fatal(err)
				}
				c.Set(end.Add(-time.Nanosecond))
				if s.Sweep(); !r.token(s, c.Now()) {
					t.Fatal("token accepted again at exp + leeway − 1ns, while it still verifies")
				}
				if !listed(s, r.rule.Key()) {
					t.Error("GET /revocations leaves out a rule still in force")
				}
				c.Set(end)
				if n := s.Sweep(); n != 1 || r.token(s, c.Now()) || listed(s, r.rule.Key()) {
					t.Errorf("at exp + leeway: swept %d, revoked %v; want the rule gone", n, r.token(s, c.Now()))
				}
			})
			t.Run(r.name+"/"+p.name+"/posted during the leeway", func(t *testing.T) {
				s, c := newLeewayStore()
				c.Set(end.Add(-time.Second))
				if err := p.add(s, r.rule); err != nil {
					t.Fatal(err)
				}
				if !r.token(s, c.Now()) {
					t.Fatal("a rule posted after exp but within the leeway was ignored")
				}
			})
		}
	}
}

// TestRulesBeyondYear2262StillDeny: a rule whose expiry or cutoff does not
// fit in int64 Unix nanoseconds (after 2262) must not wrap into the past
// and deny nothing.
func TestRulesBeyondYear2262StillDeny(t *testing.T) {
	s, c := newLeewayStore()
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	if _, err := s.Add(Entry{Kind: KindJTI, JTI: "long-lived", Expires: far}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(Entry{Kind: KindSubject, Subject: "banned", Before: far}); err != nil {
		t.Fatal(err)
	}
	if !s.Revoked(nil, nil, []byte("long-lived"), 0, false, c.Now()) {
		t.Error("jti rule with exp in 9999 denies nothing")
	}
	if !s.Revoked(nil, []byte("banned"), nil, secs(t0), true, c.Now()) {
		t.Error("subject cutoff in 9999 denies nothing")
	}
}

// TestRedisRuleTTLEndsBeforeTokenStopsVerifying is issue 12 item 2 in
// Redis: the TTL Sync gives a rule must reach exp + leeway, or the other
// replicas' next full reload drops a rule while its token still verifies.
func TestRedisRuleTTLEndsBeforeTokenStopsVerifying(t *testing.T) {
	a := newReplica(t, Options{MaxTokenLifetime: time.Hour, Leeway: testLeeway})
	exp := time.Now().Add(5 * time.Second)
	cut := time.Now()
	for _, tc := range []struct {
		rule Entry
		end  time.Time // when the last token the rule matches stops verifying
	}{
		{Entry{Kind: KindJTI, JTI: "stolen", Expires: exp}, exp.Add(testLeeway)},
		{Entry{Kind: KindSubject, Subject: "u", Before: cut}, cut.Add(time.Hour + testLeeway)},
	} {
		if _, err := a.sync.Add(t.Context(), tc.rule); err != nil {
			t.Fatal(err)
		}
		ttl, err := a.client.PTTL(t.Context(), a.sync.redisKey(tc.rule.Key())).Result()
		want := time.Until(tc.end)
		// PTTL counts whole milliseconds.
		if err != nil || ttl+time.Millisecond < want {
			t.Errorf("%s: Redis TTL %v (%v); want at least %v (exp + leeway)", tc.rule.Key(), ttl, err, want)
		}
	}
}

// TestRedisReloadDropsRuleDuringLeeway: a full reload from Redis must keep
// a rule Redis still holds until exp + leeway on this replica's clock.
func TestRedisReloadDropsRuleDuringLeeway(t *testing.T) {
	c := &clock{t: time.Now()}
	a := newReplica(t, Options{MaxTokenLifetime: time.Hour, Leeway: testLeeway, Now: c.Now})
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	if _, err := a.sync.Add(t.Context(), Entry{Kind: KindJTI, JTI: "stolen", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	revoked := func() bool { return a.store.Revoked(nil, nil, []byte("stolen"), 0, false, c.Now()) }
	c.Set(exp.Add(testLeeway - time.Nanosecond))
	if err := a.sync.Resync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !revoked() {
		t.Fatal("a full reload dropped the rule at exp + leeway − 1ns")
	}
	c.Set(exp.Add(testLeeway))
	if err := a.sync.Resync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if revoked() {
		t.Fatal("rule kept after exp + leeway")
	}
}

// TestRedisRuleLetGoByReplicaWithSmallerLeeway: a replica configured with
// a smaller leeway (or a clock running ahead) writes a shorter TTL; when
// Redis lets the rule go, a replica whose tokens still verify keeps it
// until its own exp + leeway instead of taking the reload's answer.
func TestRedisRuleLetGoByReplicaWithSmallerLeeway(t *testing.T) {
	a := newReplica(t, Options{MaxTokenLifetime: time.Hour})
	b := newReplicaOf(t, a, Options{MaxTokenLifetime: time.Hour, Leeway: testLeeway})
	e, err := a.sync.Add(t.Context(), Entry{Kind: KindJTI, JTI: "stolen", Expires: time.Now().Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, "rule on the replica with the larger leeway", jtiRevoked(b, "stolen"))
	testenv.Eventually(t, 5*time.Second, "Redis letting the rule go", func() bool {
		n, _ := a.client.Exists(context.Background(), a.sync.redisKey(e.Key())).Result()
		return n == 0
	})
	if err := b.sync.Resync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !jtiRevoked(b, "stolen")() {
		t.Fatal("the reload dropped a rule whose token still verifies here (exp + leeway)")
	}
}

// TestLeewayRaisedByReloadStillCovered: a configuration reload that gives
// an issuer a larger leeway makes the verifier accept tokens longer; the
// rules in force must follow at once.
func TestLeewayRaisedByReloadStillCovered(t *testing.T) {
	c := &clock{t: t0}
	s := NewStore(Options{Now: c.Now, MaxTokenLifetime: time.Hour})
	exp := t0.Add(time.Minute)
	if _, err := s.Add(Entry{Kind: KindJTI, JTI: "stolen", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	s.SetLeeway(testLeeway)
	c.Set(exp.Add(testLeeway - time.Nanosecond))
	if s.Sweep(); !s.Revoked(nil, nil, []byte("stolen"), 0, false, c.Now()) {
		t.Fatal("rule not extended to the raised leeway")
	}
	s.SetLeeway(time.Second)
	if s.Revoked(nil, nil, []byte("stolen"), 0, false, c.Now()) || s.Sweep() != 1 {
		t.Fatal("rule kept past the lowered leeway")
	}
}
