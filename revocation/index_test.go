package revocation

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// countCommands is a go-redis hook counting the commands a client sends
// (each command of a pipeline counts).
type countCommands struct{ n atomic.Int64 }

func (c *countCommands) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *countCommands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *countCommands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// fillKeyspace writes n keys of another application under their own
// prefix (removed when the test ends), as a Redis shared with sessions
// holds.
func fillKeyspace(t *testing.T, addr string, n int) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	prefix := fmt.Sprintf("tokengate-test-other:%d:", time.Now().UnixNano())
	for i := 0; i < n; i += 5000 {
		p := c.Pipeline()
		for j := i; j < min(i+5000, n); j++ {
			p.Set(t.Context(), fmt.Sprintf("%s%d", prefix, j), "session", time.Hour)
		}
		if _, err := p.Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for i := 0; i < n; i += 5000 {
			keys := make([]string, 0, 5000)
			for j := i; j < min(i+5000, n); j++ {
				keys = append(keys, fmt.Sprintf("%s%d", prefix, j))
			}
			c.Unlink(ctx, keys...)
		}
	})
}

// TestRedisReloadIgnoresTheRestOfTheKeyspace: a full reload scanned the
// whole keyspace (SCAN MATCH prefix*, 1,000 keys a round trip), so on a
// Redis shared with a million sessions every reload — at start-up, after
// each reconnection, every resync_interval — took seconds. It now reads
// the index: a bounded number of commands whatever else Redis holds.
func TestRedisReloadIgnoresTheRestOfTheKeyspace(t *testing.T) {
	a := newReplica(t, Options{MaxTokenLifetime: time.Hour})
	fillKeyspace(t, a.client.Options().Addr, 200_000)
	for i := range 50 {
		if _, err := a.sync.Add(t.Context(), Entry{Kind: KindJTI, JTI: fmt.Sprint("j", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var hook countCommands
	a.client.AddHook(&hook)
	if err := a.sync.Resync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := hook.n.Load(); n > 10 {
		t.Errorf("a reload of 50 rules sent %d commands to a Redis holding 200,000 other keys; want a handful", n)
	}
	if !jtiRevoked(a, "j49")() {
		t.Error("the reload lost a rule")
	}
}

// TestRedisIndexLosesNoRule: the index follows every change — a removal
// takes the entry away, an expired rule's entry is pruned by the next
// reload, and a rule written again while an old entry lingers keeps it.
func TestRedisIndexLosesNoRule(t *testing.T) {
	rs := newReplicas(t, 2)
	a, b := rs[0], rs[1]
	ctx := t.Context()
	a.sync.Add(ctx, Entry{Kind: KindJTI, JTI: "stays"})
	a.sync.Add(ctx, Entry{Kind: KindJTI, JTI: "removed"})
	a.sync.Add(ctx, Entry{Kind: KindSubject, Subject: "alice", Before: time.Now()})
	if _, err := a.sync.Remove(ctx, Key{Kind: KindJTI, Value: "removed"}); err != nil {
		t.Fatal(err)
	}
	// An entry whose key has gone (a TTL that ran out) is pruned.
	a.client.ZAdd(ctx, a.sync.index(), redis.Z{Score: 1, Member: a.sync.prefix + "jti::expired-long-ago"})
	if err := b.sync.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	members, _ := a.client.ZRange(ctx, a.sync.index(), 0, -1).Result()
	if len(members) != 2 {
		t.Errorf("index after the reload: %q, want the two live rules", members)
	}
	if !jtiRevoked(b, "stays")() || jtiRevoked(b, "removed")() || !b.store.Revoked(nil, []byte("alice"), nil, 0, false, time.Now()) {
		t.Error("B's rules after the reload do not match Redis")
	}
}

// TestRedisRulesFromBeforeTheIndexAreIndexed: rules written by a tokengate
// older than the index (a key each, no index entry) are found by the
// first reload of a newer one, once, and then by the index.
func TestRedisRulesFromBeforeTheIndexAreIndexed(t *testing.T) {
	a := newReplica(t, Options{MaxTokenLifetime: time.Hour})
	ctx := t.Context()
	old := a.sync.prefix + "jti::written-by-an-older-version"
	a.client.Set(ctx, old, `{"jti":"written-by-an-older-version","exp":`+itoa(time.Now().Add(time.Hour).Unix())+`}`, time.Hour)
	a.client.Del(ctx, a.sync.indexedMarker()) // as an older version leaves Redis: epoch, no marker
	b := newReplicaOf(t, a, Options{MaxTokenLifetime: time.Hour})
	if !jtiRevoked(b, "written-by-an-older-version")() {
		t.Fatal("a rule written before the index was not loaded")
	}
	if s, _ := a.client.ZScore(ctx, a.sync.index(), old).Result(); s == 0 {
		t.Error("the old rule was not added to the index")
	}
	if n, _ := a.client.Exists(ctx, a.sync.indexedMarker()).Result(); n != 1 {
		t.Error("the migration did not mark itself done")
	}
}
