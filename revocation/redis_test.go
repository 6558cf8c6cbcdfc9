package revocation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/internal/testenv"
)

// replica is one sidecar's revocation state: its own Store, Redis client
// and Sync, sharing only the Redis server with the others.
type replica struct {
	store  *Store
	sync   *Sync
	client *redis.Client
	name   string
}

func newReplicas(t *testing.T, n int) []*replica {
	var out []*replica
	for i := range n {
		if i == 0 {
			out = append(out, newReplica(t, Options{MaxTokenLifetime: time.Hour}))
		} else {
			out = append(out, newReplicaOf(t, out[0], Options{MaxTokenLifetime: time.Hour}))
		}
	}
	return out
}

// newReplica starts a replica with store options o under a fresh key
// prefix, removed when the test ends, and waits for its first load.
func newReplica(t *testing.T, o Options) *replica {
	addr := testenv.RedisAddr(t)
	var rnd [6]byte
	rand.Read(rnd[:])
	prefix := "tokengate-test:" + hex.EncodeToString(rnd[:]) + ":"
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		keys, _ := c.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
	return startReplica(t, addr, prefix, o)
}

// newReplicaOf starts another replica sharing a's Redis and prefix.
func newReplicaOf(t *testing.T, a *replica, o Options) *replica {
	return startReplica(t, a.client.Options().Addr, a.sync.prefix, o)
}

func startReplica(t *testing.T, addr, prefix string, o Options) *replica {
	var rnd [6]byte
	rand.Read(rnd[:])
	name := "tokengate-test-" + hex.EncodeToString(rnd[:])
	c := redis.NewClient(&redis.Options{Addr: addr, ClientName: name})
	st := NewStore(o)
	sy, err := NewSync(st, SyncOptions{Client: c, Prefix: prefix, ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sy.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; c.Close() })
	r := &replica{store: st, sync: sy, client: c, name: name}
	testenv.Eventually(t, 5*time.Second, "initial sync of "+name, func() bool { return r.sync.Status().Resyncs > 0 })
	return r
}

func jtiRevoked(r *replica, jti string) func() bool {
	return func() bool { return r.store.Revoked(nil, nil, []byte(jti), 0, false, time.Now()) }
}

func TestRedisRevocationReachesOtherReplicaWithinOneSecond(t *testing.T) {
	rs := newReplicas(t, 2)
	a, b := rs[0], rs[1]
	if _, err := a.sync.Add(t.Context(), Entry{Kind: KindJTI, JTI: "stolen-1", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if !jtiRevoked(a, "stolen-1")() {
		t.Fatal("not in force on the replica that revoked it")
	}
	took := testenv.Eventually(t, time.Second, "revocation on the other replica", jtiRevoked(b, "stolen-1"))
	t.Logf("other replica denied the jti after %v", took)

	// The rule is in Redis with a TTL ending at its expiry (plus the
	// leeway, zero here), rounded up to the second.
	key := a.sync.redisKey(Key{Kind: KindJTI, Value: "stolen-1"})
	ttl, err := a.client.PTTL(t.Context(), key).Result()
	if err != nil || ttl <= 0 || ttl > time.Hour+time.Second {
		t.Fatalf("Redis TTL of the rule = %v, %v; want (0, 1h1s]", ttl, err)
	}

	// Undo through B: gone from A too.
	ok, err := b.sync.Remove(t.Context(), Key{Kind: KindJTI, Value: "stolen-1"})
	if err != nil || !ok {
		t.Fatalf("Remove = %v, %v", ok, err)
	}
	testenv.Eventually(t, time.Second, "removal on the other replica", func() bool { return !jtiRevoked(a, "stolen-1")() })
	if st := b.sync.Status(); st.Events == 0 && a.sync.Status().Events == 0 {
		t.Error("no announcement counted")
	}
}

func TestRedisSubjectCutoffAcrossReplicas(t *testing.T) {
	rs := newReplicas(t, 2)
	cut := time.Now().Truncate(time.Second)
	if _, err := rs[0].sync.Add(t.Context(), Entry{Kind: KindSubject, Subject: "user-42", Issuer: "https://idp", Before: cut}); err != nil {
		t.Fatal(err)
	}
	iss, sub := []byte("https://idp"), []byte("user-42")
	testenv.Eventually(t, time.Second, "cutoff on the other replica", func() bool {
		return rs[1].store.Revoked(iss, sub, nil, secs(cut)-10, true, time.Now())
	})
	if rs[1].store.Revoked(iss, sub, nil, secs(cut)+1, true, time.Now()) {
		t.Fatal("a token issued after the cutoff is denied")
	}
}

func TestRedisSetRebuiltAfterDisconnect(t *testing.T) {
	rs := newReplicas(t, 2)
	a, b := rs[0], rs[1]
	admin := redis.NewClient(&redis.Options{Addr: a.client.Options().Addr})
	defer admin.Close()

	a.sync.Add(t.Context(), Entry{Kind: KindJTI, JTI: "keep"})
	a.sync.Add(t.Context(), Entry{Kind: KindJTI, JTI: "undo-while-away"})
	testenv.Eventually(t, time.Second, "rules on B", func() bool { return jtiRevoked(b, "keep")() && jtiRevoked(b, "undo-while-away")() })
	before := b.sync.Status().Resyncs

	// Change Redis behind B's back, without announcements it could
	// receive, and cut B off: only the full reload after reconnecting can
	// show the changes.
	prefix := a.sync.prefix
	admin.Del(t.Context(), a.sync.redisKey(Key{Kind: KindJTI, Value: "undo-while-away"}))
	rule := `{"jti":"added-while-away","exp":` + itoa(time.Now().Add(time.Hour).Unix()) + `}`
	admin.Set(t.Context(), prefix+"jti::added-while-away", rule, time.Hour) // as a replica writes it: the key and its index entry
	admin.ZAdd(t.Context(), a.sync.index(), redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: prefix + "jti::added-while-away"})
	if n := mustKill(t, admin, b.name); n == 0 {
		t.Fatal("found no connection of replica B to kill")
	}
	// In memory B still denies what it knew: an outage frees no token.
	if !jtiRevoked(b, "keep")() {
		t.Fatal("a Redis outage dropped a rule")
	}
	testenv.Eventually(t, 10*time.Second, "reload after reconnecting", func() bool { return b.sync.Status().Resyncs > before })
	if !jtiRevoked(b, "keep")() || !jtiRevoked(b, "added-while-away")() || jtiRevoked(b, "undo-while-away")() {
		t.Fatalf("set not rebuilt from Redis: keep=%v added=%v undone-still-denied=%v",
			jtiRevoked(b, "keep")(), jtiRevoked(b, "added-while-away")(), jtiRevoked(b, "undo-while-away")())
	}
	if !b.sync.Status().Connected {
		t.Fatal("status not connected after the reload")
	}
	// And announcements flow again.
	a.sync.Add(t.Context(), Entry{Kind: KindJTI, JTI: "after"})
	testenv.Eventually(t, time.Second, "announcement after reconnecting", jtiRevoked(b, "after"))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestRedisUnreachableKeepsRulesLocalAndQueued(t *testing.T) {
	st := NewStore(Options{})
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	sy, _ := NewSync(st, SyncOptions{Client: c, Timeout: 200 * time.Millisecond})
	e, err := sy.Add(t.Context(), Entry{Kind: KindJTI, JTI: "j"})
	if !errors.Is(err, ErrQueued) {
		t.Fatalf("Add with Redis down: err = %v, want ErrQueued", err)
	}
	if e.JTI != "j" || !st.Revoked(nil, nil, []byte("j"), 0, false, time.Now()) {
		t.Fatal("the rule is not in force locally")
	}
	if sy.Status().Pending != 1 {
		t.Fatalf("Pending = %d, want 1", sy.Status().Pending)
	}
	if _, err := sy.Remove(t.Context(), Key{Kind: KindJTI, Value: "j"}); err == nil {
		t.Fatal("Remove with Redis down succeeded")
	}
	if !st.Revoked(nil, nil, []byte("j"), 0, false, time.Now()) {
		t.Fatal("a failed Remove changed the local set")
	}
}

func TestRedisQueuedRuleWrittenWhenRedisReturns(t *testing.T) {
	rs := newReplicas(t, 1)
	a := rs[0]
	// Pretend the write failed: put the rule in force and in the queue.
	e, _ := a.store.addTo(layerShared, Entry{Kind: KindJTI, JTI: "queued"}, "api")
	a.sync.mu.Lock()
	a.sync.pending[e.Key()] = e
	a.sync.mu.Unlock()
	testenv.Eventually(t, 5*time.Second, "queued rule written", func() bool {
		n, _ := a.client.Exists(t.Context(), a.sync.redisKey(e.Key())).Result()
		return n == 1
	})
	if a.sync.Status().Pending != 0 {
		t.Fatal("queue not emptied")
	}
}

func TestRedisMalformedAnnouncementsIgnored(t *testing.T) {
	rs := newReplicas(t, 1)
	a := rs[0]
	for _, p := range []string{`{`, `{"op":"add","rule":{"JTI":"x"}}`, `{"op":"nuke","rule":{"jti":"x"}}`, `{"op":"add","rule":{"jti":"x","exp":1e300}}`} {
		a.client.Publish(t.Context(), a.sync.Channel(), p)
	}
	a.sync.Add(t.Context(), Entry{Kind: KindJTI, JTI: "good"})
	testenv.Eventually(t, time.Second, "good rule", jtiRevoked(a, "good"))
	if a.store.Len() != 1 {
		t.Fatalf("Len = %d, want 1: a malformed announcement changed the set", a.store.Len())
	}
}

// TestRedisWipedIsRefilledFromMemory: Redis restarted without persistence
// (or flushed) comes back empty. The replicas must not take the empty set
// for the truth: they write the rules they hold back, and a replica started
// afterwards loads them.
func TestRedisWipedIsRefilledFromMemory(t *testing.T) {
	rs := newReplicas(t, 2)
	a, b := rs[0], rs[1]
	admin := redis.NewClient(&redis.Options{Addr: a.client.Options().Addr})
	defer admin.Close()
	a.sync.Add(t.Context(), Entry{Kind: KindJTI, JTI: "survivor", Expires: time.Now().Add(time.Hour)})
	testenv.Eventually(t, time.Second, "rule on B", jtiRevoked(b, "survivor"))

	// Wipe everything of this test's prefix, the epoch marker included.
	keys, _ := admin.Keys(t.Context(), a.sync.prefix+"*").Result()
	admin.Del(t.Context(), keys...)
	before := b.sync.Status().Reseeds
	mustKill(t, admin, b.name)
	testenv.Eventually(t, 10*time.Second, "B writes its rules back", func() bool { return b.sync.Status().Reseeds > before })
	if !jtiRevoked(b, "survivor")() || !jtiRevoked(a, "survivor")() {
		t.Fatal("a wiped Redis freed a revoked token")
	}
	n, _ := admin.Exists(t.Context(), a.sync.redisKey(Key{Kind: KindJTI, Value: "survivor"})).Result()
	if n != 1 {
		t.Fatal("rule not written back to Redis")
	}
	// A replica started now learns it from Redis.
	st := NewStore(Options{})
	c := redis.NewClient(&redis.Options{Addr: admin.Options().Addr})
	defer c.Close()
	sy, _ := NewSync(st, SyncOptions{Client: c, Prefix: a.sync.prefix})
	if err := sy.Resync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !st.Revoked(nil, nil, []byte("survivor"), 0, false, time.Now()) {
		t.Fatal("a new replica does not see the rule written back")
	}
}

// TestRedisFlushDuringReloadKeepsRules: Redis losing its data between the
// epoch check and the load of a reload (a restart, FLUSHDB, a failover to
// an empty replica) must not make the replica drop its rules: the reload
// fails, the next one sees the new epoch and writes the rules back.
func TestRedisFlushDuringReloadKeepsRules(t *testing.T) {
	rs := newReplicas(t, 1)
	a := rs[0]
	admin := redis.NewClient(&redis.Options{Addr: a.client.Options().Addr})
	defer admin.Close()
	a.sync.Add(t.Context(), Entry{Kind: KindJTI, JTI: "keep-me", Expires: time.Now().Add(time.Hour)})
	wipe := func() {
		keys, _ := admin.Keys(t.Context(), a.sync.prefix+"*").Result()
		if len(keys) > 0 {
			admin.Del(t.Context(), keys...)
		}
	}
	// The race, made deterministic: Resync checks the old epoch, then
	// everything goes before the load. The reload must fail, not replace
	// the rules in memory with the empty answer.
	a.sync.testHookAfterEpoch = wipe
	if err := a.sync.Resync(t.Context()); err == nil {
		t.Fatal("a wipe between epoch check and load went unnoticed")
	}
	a.sync.testHookAfterEpoch = nil
	if !jtiRevoked(a, "keep-me")() {
		t.Fatal("the reload straddling a wipe dropped the rule held in memory")
	}
	// Through the real Resync, wiping repeatedly: the rule survives in
	// memory and ends up back in Redis.
	for range 20 {
		wipe()
		a.sync.Resync(t.Context())
		if !jtiRevoked(a, "keep-me")() {
			t.Fatal("a wiped Redis during reloads freed a revoked token")
		}
	}
	if err := a.sync.Resync(t.Context()); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, "rule written back", func() bool {
		n, _ := admin.Exists(t.Context(), a.sync.redisKey(Key{Kind: KindJTI, Value: "keep-me"})).Result()
		return n == 1
	})
}

// mustKill is testenv.KillRedisClient failing t on error.
func mustKill(t *testing.T, admin *redis.Client, name string) int {
	n, err := testenv.KillRedisClient(t.Context(), admin, name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
