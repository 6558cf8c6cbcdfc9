package revocation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrQueued reports a rule that is in force on this replica but could not
// be written to Redis yet: Sync keeps retrying, and the other replicas
// learn of it when the write succeeds.
var ErrQueued = errors.New("revocation: Redis unavailable; rule in force here and queued for the other replicas")

// SyncOptions configure a Sync.
type SyncOptions struct {
	// Client is the Redis client. Required.
	Client redis.UniversalClient
	// Prefix starts every key Sync writes; default "tokengate:revocation:".
	// The pub/sub channel is Prefix + "events".
	Prefix string
	// ResyncInterval is how often the whole set is reloaded from Redis even
	// when nothing seems wrong (a safety net for lost messages); default
	// 30s. A reload also follows every (re)subscription.
	ResyncInterval time.Duration
	// Timeout bounds every Redis command; default 2s.
	Timeout time.Duration
	// Logger receives connection changes and errors. Nil discards.
	Logger *slog.Logger
}

// Sync shares a Store's rules with every other replica through Redis. Each
// rule is a Redis string whose TTL ends when the rule expires, listed in a
// sorted set (<prefix>index, scored by expiry) so that a full reload reads
// the rules, and only them, whatever else the Redis holds; every change is
// announced on a pub/sub channel. Run subscribes, loads the whole
// set, applies announcements as they come, and reloads the whole set after
// every reconnection and every ResyncInterval, so a replica that missed
// messages converges. The Store keeps answering from memory throughout: a
// Redis outage removes no rule (revoked tokens stay revoked) and adds no
// failure to good tokens.
type Sync struct {
	store   *Store
	client  redis.UniversalClient
	prefix  string
	channel string
	resync  time.Duration
	timeout time.Duration
	log     *slog.Logger

	mu      sync.Mutex
	pending map[Key]Entry // local additions not yet written to Redis
	st      SyncStatus
	// testHookAfterEpoch, when set by a test, runs in Resync between the
	// epoch check and the load: the window a Redis wipe must not exploit.
	testHookAfterEpoch func()
	// epoch is the value of <prefix>epoch at the last full reload: a
	// different or missing value means Redis lost its data (a restart
	// without persistence, a flush), and the rules in memory are written
	// back instead of being dropped.
	epoch string
}

// SyncStatus describes the Redis link, for readiness and metrics.
type SyncStatus struct {
	Connected bool
	// LastSync is the end of the last successful full reload.
	LastSync time.Time
	// LastError is the last Redis error, nil after a successful reload.
	LastError error
	Resyncs   uint64 // successful full reloads
	Failures  uint64 // failed commands or subscriptions
	Events    uint64 // announcements applied
	// Lag is the delay between the announcement of the last applied event
	// by its replica and its application here.
	Lag time.Duration
	// Pending counts local rules waiting to be written to Redis.
	Pending int
	// Reseeds counts full reloads that found Redis emptied and wrote the
	// rules in memory back.
	Reseeds uint64
}

// NewSync returns a Sync for store; call Run to start it.
func NewSync(store *Store, o SyncOptions) (*Sync, error) {
	if o.Client == nil {
		return nil, errors.New("revocation: Redis client required")
	}
	y := &Sync{store: store, client: o.Client, prefix: o.Prefix, resync: o.ResyncInterval,
		timeout: o.Timeout, log: o.Logger, pending: map[Key]Entry{}}
	if y.prefix == "" {
		y.prefix = "tokengate:revocation:"
	}
	y.channel = y.prefix + "events"
	if y.resync <= 0 {
		y.resync = 30 * time.Second
	}
	if y.timeout <= 0 {
		y.timeout = 2 * time.Second
	}
	if y.log == nil {
		y.log = slog.New(slog.DiscardHandler)
	}
	return y, nil
}

// Status returns the state of the Redis link.
func (y *Sync) Status() SyncStatus {
	y.mu.Lock()
	defer y.mu.Unlock()
	st := y.st
	st.Pending = len(y.pending)
	return st
}

// Channel is the pub/sub channel Sync uses.
func (y *Sync) Channel() string { return y.channel }

// redisKey is injective: both parts are query-escaped, so ':' never
// appears inside one.
func (y *Sync) redisKey(k Key) string {
	kind := "jti:"
	if k.Kind == KindSubject {
		kind = "sub:"
	}
	return y.prefix + kind + url.QueryEscape(k.Issuer) + ":" + url.QueryEscape(k.Value)
}

type event struct {
	Op   string          `json:"op"` // "add" or "del"
	Rule json.RawMessage `json:"rule"`
	At   int64           `json:"at"` // Unix nanoseconds at the announcing replica
}

// Add puts e in force here at once, writes it to Redis with a TTL up to its
// expiry and announces it. If Redis cannot be reached, the rule stays in
// force here, is queued and retried by Run, and the error is ErrQueued.
func (y *Sync) Add(ctx context.Context, e Entry) (Entry, error) {
	e, err := y.store.addTo(layerShared, e, "api")
	if err != nil {
		return Entry{}, err
	}
	if err := y.write(ctx, e); err != nil {
		y.mu.Lock()
		y.pending[e.Key()] = e
		y.failLocked(err)
		y.mu.Unlock()
		y.log.Warn("revocation: Redis write failed; rule queued", "rule", e.Key().String(), "error", err)
		return e, fmt.Errorf("%w: %v", ErrQueued, err)
	}
	return e, nil
}

func (y *Sync) write(ctx context.Context, e Entry) error {
	ttl := y.store.ttl(e, y.store.now())
	if ttl <= 0 {
		return nil // over: no token it matches verifies any more
	}
	rule, err := json.Marshal(e)
	if err != nil {
		return err
	}
	ev, err := json.Marshal(event{Op: "add", Rule: rule, At: time.Now().UnixNano()})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, y.timeout)
	defer cancel()
	key := y.redisKey(e.Key())
	_, err = y.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		// The rule and its index entry, in one MULTI: a reload never
		// finds one without the other (but for the index entry of an
		// expired rule, which the reload removes).
		p.SetArgs(ctx, key, rule, redis.SetArgs{TTL: ttl})
		p.ZAdd(ctx, y.index(), redis.Z{Score: float64(time.Now().Add(ttl).UnixMilli()), Member: key})
		p.Publish(ctx, y.channel, ev)
		return nil
	})
	return err
}

// index is the sorted set listing every rule key (score: the expiry, in
// Unix milliseconds, when it was written).
func (y *Sync) index() string { return y.prefix + "index" }

// Remove deletes the rule with key k from Redis, announces it and then
// removes it here. If Redis cannot be reached nothing changes anywhere and
// the error says so: undoing a revocation on one replica only would let a
// full reload bring it back, or leave replicas disagreeing.
func (y *Sync) Remove(ctx context.Context, k Key) (bool, error) {
	rule, _ := json.Marshal(Entry{Kind: k.Kind, JTI: jtiOf(k), Subject: subOf(k), Issuer: k.Issuer})
	ev, _ := json.Marshal(event{Op: "del", Rule: rule, At: time.Now().UnixNano()})
	tctx, cancel := context.WithTimeout(ctx, y.timeout)
	defer cancel()
	var del *redis.IntCmd
	_, err := y.client.TxPipelined(tctx, func(p redis.Pipeliner) error {
		del = p.Del(tctx, y.redisKey(k))
		p.ZRem(tctx, y.index(), y.redisKey(k))
		p.Publish(tctx, y.channel, ev)
		return nil
	})
	if err != nil {
		y.mu.Lock()
		y.failLocked(err)
		y.mu.Unlock()
		return false, fmt.Errorf("revocation: Redis unavailable, rule not removed: %w", err)
	}
	y.mu.Lock()
	_, wasPending := y.pending[k]
	delete(y.pending, k)
	y.mu.Unlock()
	local := y.store.Remove(k)
	return local || wasPending || del.Val() > 0, nil
}

func jtiOf(k Key) string {
	if k.Kind == KindJTI {
		return k.Value
	}
	return ""
}

func subOf(k Key) string {
	if k.Kind == KindSubject {
		return k.Value
	}
	return ""
}

func (y *Sync) failLocked(err error) {
	y.st.Failures++
	y.st.LastError = err
}

// Run follows Redis until ctx is done. It never returns early: every
// failure is logged, counted and retried with backoff (100ms doubling to
// 5s), and each reconnection is followed by a full reload.
func (y *Sync) Run(ctx context.Context) {
	ps := y.client.Subscribe(ctx, y.channel)
	defer ps.Close()
	backoff := 100 * time.Millisecond
	needResync := true
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				y.periodic(ctx, &needResync)
				continue
			}
			y.setDown(err)
			needResync = true
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				y.log.Info("revocation: subscribed to Redis", "channel", m.Channel)
				needResync = true
				y.periodic(ctx, &needResync)
			}
		case *redis.Message:
			y.apply(m.Payload)
			// A steady stream of announcements must not postpone the
			// periodic reload or the flush of queued rules: periodic
			// does either only when it is due.
			y.periodic(ctx, &needResync)
		}
	}
}

// periodic flushes queued writes and reloads the whole set when one is
// due.
func (y *Sync) periodic(ctx context.Context, needResync *bool) {
	y.flush(ctx)
	y.mu.Lock()
	due := time.Since(y.st.LastSync) >= y.resync
	y.mu.Unlock()
	if *needResync || due {
		if err := y.Resync(ctx); err == nil {
			*needResync = false
		}
	}
}

func (y *Sync) flush(ctx context.Context) {
	y.mu.Lock()
	if len(y.pending) == 0 { // the usual case, once per announcement
		y.mu.Unlock()
		return
	}
	queued := make([]Entry, 0, len(y.pending))
	for _, e := range y.pending {
		queued = append(queued, e)
	}
	y.mu.Unlock()
	for _, e := range queued {
		if err := y.write(ctx, e); err != nil {
			return
		}
		y.mu.Lock()
		if cur, ok := y.pending[e.Key()]; ok && cur == e {
			delete(y.pending, e.Key())
		}
		y.mu.Unlock()
		y.log.Info("revocation: queued rule written to Redis", "rule", e.Key().String())
	}
}

func (y *Sync) setDown(err error) {
	y.mu.Lock()
	was := y.st.Connected
	y.st.Connected = false
	y.failLocked(err)
	y.mu.Unlock()
	if was {
		y.log.Warn("revocation: lost Redis; serving the rules in memory", "error", err)
	}
}

// apply handles one announcement.
func (y *Sync) apply(payload string) {
	var ev event
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		y.log.Warn("revocation: ignoring malformed announcement", "error", err)
		return
	}
	e, err := ParseEntry(ev.Rule, ParseOptions{})
	if err != nil {
		y.log.Warn("revocation: ignoring malformed announcement", "error", err)
		return
	}
	switch ev.Op {
	case "add":
		y.store.applyShared([]Entry{e}, nil)
	case "del":
		y.mu.Lock()
		delete(y.pending, e.Key())
		y.mu.Unlock()
		y.store.applyShared(nil, []Key{e.Key()})
	default:
		y.log.Warn("revocation: ignoring announcement with unknown op", "op", ev.Op)
		return
	}
	y.mu.Lock()
	y.st.Events++
	if ev.At > 0 {
		y.st.Lag = max(0, time.Since(time.Unix(0, ev.At)))
	}
	y.mu.Unlock()
}

// Resync reloads every rule from Redis and makes it the shared layer
// (queued local rules and rules added while it ran are kept).
func (y *Sync) Resync(ctx context.Context) error {
	start := y.store.now()
	reseeded, err := y.checkEpoch(ctx)
	var (
		entries []Entry
		bad     int
	)
	if err == nil && y.testHookAfterEpoch != nil {
		y.testHookAfterEpoch()
	}
	if err == nil {
		entries, bad, err = y.load(ctx)
	}
	if err == nil {
		// Redis may have lost its data between the epoch check and the
		// load (a restart without persistence, a flush, a failover to an
		// empty replica): the load then shows nothing, and taking that for
		// the truth would drop every rule held here. Check again; the next
		// reload sees the new epoch and writes the rules back.
		err = y.sameEpoch(ctx)
	}
	if err != nil {
		y.mu.Lock()
		y.st.Connected = false
		y.failLocked(err)
		y.mu.Unlock()
		y.log.Warn("revocation: reload from Redis failed; keeping the rules in memory", "error", err)
		return err
	}
	y.mu.Lock()
	for _, e := range y.pending {
		entries = append(entries, e)
	}
	was := y.st.Connected
	y.st.Connected = true
	y.st.LastSync = time.Now()
	y.st.LastError = nil
	y.st.Resyncs++
	if reseeded > 0 {
		y.st.Reseeds++
	}
	y.mu.Unlock()
	// Rules written here after start may be missing from the answer; rules
	// from the Store's own clock are compared, so a test clock works too.
	y.store.replaceShared(entries, start.Add(-time.Nanosecond))
	if !was {
		y.log.Info("revocation: rules loaded from Redis", "rules", len(entries), "malformed", bad)
	}
	return nil
}

// checkEpoch compares Redis's epoch marker with the one of the last
// reload. If Redis lost its data since, the shared rules this replica holds
// are written back (and announced) before the reload, so that a Redis
// restart without persistence frees no revoked token. It returns how many
// rules it wrote back.
func (y *Sync) checkEpoch(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*y.timeout)
	defer cancel()
	key := y.prefix + "epoch"
	epoch, err := y.client.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		// A Redis without the epoch holds no rules of this prefix: none
		// predates the index.
		if _, err := y.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetNX(ctx, key, hex.EncodeToString(b[:]), 0)
			p.SetNX(ctx, y.indexedMarker(), "1", 0)
			return nil
		}); err != nil {
			return 0, err
		}
		epoch, err = y.client.Get(ctx, key).Result()
	}
	if err != nil {
		return 0, err
	}
	if err := y.migrate(ctx); err != nil {
		return 0, err
	}
	y.mu.Lock()
	prev := y.epoch
	y.mu.Unlock()
	n := 0
	if prev != "" && prev != epoch {
		now := y.store.now()
		for _, e := range y.store.shared() {
			if !y.store.live(e, now) {
				continue
			}
			if err := y.write(ctx, e); err != nil {
				return n, err
			}
			n++
		}
		y.log.Warn("revocation: Redis lost its rules (restart without persistence or flush); wrote back the rules in memory", "rules", n)
	}
	y.mu.Lock()
	y.epoch = epoch
	y.mu.Unlock()
	return n, nil
}

// sameEpoch reports an error unless Redis still holds the epoch marker of
// the last checkEpoch.
func (y *Sync) sameEpoch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, y.timeout)
	defer cancel()
	epoch, err := y.client.Get(ctx, y.prefix+"epoch").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	y.mu.Lock()
	want := y.epoch
	y.mu.Unlock()
	if epoch != want {
		return errors.New("revocation: Redis lost its data during the reload; reloading again")
	}
	return nil
}

// load reads every rule listed in the index: a ZRANGE and an MGET per
// 1,000 rules, whatever else the Redis holds. Index entries whose rule has
// expired (or was deleted by a tokengate older than the index) are removed
// on the way, by a script that checks each key again so that a rule
// written meanwhile keeps its entry.
func (y *Sync) load(ctx context.Context) ([]Entry, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*y.timeout)
	defer cancel()
	var (
		out  []Entry
		bad  int
		gone []any
	)
	keys, err := y.client.ZRange(ctx, y.index(), 0, -1).Result()
	if err != nil {
		return nil, 0, err
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		vals, err := y.client.MGet(ctx, keys[:n]...).Result()
		if err != nil {
			return nil, 0, err
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				gone = append(gone, keys[i]) // expired: its TTL ran out
				continue
			}
			e, err := ParseEntry([]byte(s), ParseOptions{})
			if err != nil {
				bad++
				continue
			}
			out = append(out, e)
		}
		keys = keys[n:]
	}
	if len(gone) > 0 {
		if err := pruneIndex.Run(ctx, y.client, []string{y.index()}, gone...).Err(); err != nil && !errors.Is(err, redis.Nil) {
			y.log.Warn("revocation: could not prune the Redis index", "error", err)
		}
	}
	if bad > 0 {
		y.log.Warn("revocation: malformed rules in Redis ignored", "count", bad)
	}
	return out, bad, nil
}

// pruneIndex removes from the index (KEYS[1]) each member (ARGV) whose key
// no longer exists, atomically with that check.
var pruneIndex = redis.NewScript(`
local n = 0
for _, k in ipairs(ARGV) do
  if redis.call('EXISTS', k) == 0 then n = n + redis.call('ZREM', KEYS[1], k) end
end
return n`)

// indexedMarker is set once every rule of the prefix is in the index.
func (y *Sync) indexedMarker() string { return y.prefix + "indexed" }

// migrate indexes the rules a tokengate older than the index wrote (one
// key per rule, no index entry), once per Redis: only when the marker is
// missing while the epoch exists. It scans the keyspace for the prefix,
// which is the cost the index saves every other reload.
func (y *Sync) migrate(ctx context.Context) error {
	n, err := y.client.Exists(ctx, y.indexedMarker()).Result()
	if err != nil || n == 1 {
		return err
	}
	iter := y.client.Scan(ctx, 0, y.prefix+"*", 1000).Iterator()
	indexed := 0
	for iter.Next(ctx) {
		k := iter.Val()
		if !strings.HasPrefix(k, y.prefix+"jti:") && !strings.HasPrefix(k, y.prefix+"sub:") {
			continue
		}
		ttl, err := y.client.PTTL(ctx, k).Result()
		if err != nil {
			return err
		}
		if ttl <= 0 {
			continue // expiring now, or no TTL (never written so)
		}
		if err := y.client.ZAdd(ctx, y.index(), redis.Z{Score: float64(time.Now().Add(ttl).UnixMilli()), Member: k}).Err(); err != nil {
			return err
		}
		indexed++
	}
	if err := iter.Err(); err != nil {
		return err
	}
	y.log.Info("revocation: indexed the rules written before the Redis index existed", "rules", indexed)
	return y.client.Set(ctx, y.indexedMarker(), "1", 0).Err()
}
