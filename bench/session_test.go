package bench_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Session tables.
const (
	// sessionsInMemory sessions fill the map, ristretto and Redis.
	sessionsInMemory = 100_000
	// sessionsInPG rows fill the PostgreSQL table.
	sessionsInPG = 1_000_000
	// sessionProbes random existing sessions are cycled through by every
	// session benchmark.
	sessionProbes = 256

	pgSchema = "tokengate_bench"
	pgTable  = pgSchema + ".sessions"
	// pgLookup is the lookup a session-based server makes per request; it
	// is prepared on every pooled connection.
	pgLookup     = "SELECT user_id, roles, scopes, expires_at FROM " + pgTable + " WHERE id = $1"
	pgLookupName = "tokengate_bench_session_by_id"
	// pgLockID serialises table creation between concurrent test processes.
	pgLockID = 0x746f6b656e67 // "tokeng"

	redisPrefix = "tokengate:bench:v1:"
	redisHash   = redisPrefix + "h:" // + id: HSET uid roles scopes exp iat
	redisString = redisPrefix + "s:" // + id: SET JSON
	redisReady  = redisPrefix + "ready"
	redisTTL    = 2 * time.Hour
)

// session is a server-side session record: the same information an access
// token carries.
type session struct {
	ID        string
	UserID    string
	Roles     []string
	Scopes    []string
	ExpiresAt time.Time
	CreatedAt time.Time
}

var roleNames = [...]string{"admin", "auditor", "support", "billing"}

// sessionFor returns session n, derived from n alone so that every store
// (and the SQL that fills PostgreSQL, see pgFill) holds the same records.
// The id is 32 pseudo-random bytes (SHA-256 of n), base64url: 43 characters,
// like a session id from crypto/rand.
func sessionFor(n int) session {
	sum := sha256.Sum256([]byte("tokengate-bench-session-" + strconv.Itoa(n)))
	created := benchNow.Add(-5*time.Minute - time.Duration(n%3600)*time.Second)
	return session{
		ID:        base64.RawURLEncoding.EncodeToString(sum[:]),
		UserID:    fmt.Sprintf("user-%07d", n),
		Roles:     []string{"member", roleNames[n%4]},
		Scopes:    []string{"orders:read", "orders:write", "profile:read", "tenant:" + strconv.Itoa(n%97)},
		CreatedAt: created,
		ExpiresAt: created.Add(24 * time.Hour),
	}
}

// pgFill is sessionFor in SQL, for generate_series.
const pgFill = `INSERT INTO ` + pgTable + ` (id, user_id, roles, scopes, created_at, expires_at)
SELECT rtrim(translate(encode(sha256(convert_to('tokengate-bench-session-' || g, 'UTF8')), 'base64'), '+/', '-_'), '='),
       'user-' || lpad(g::text, 7, '0'),
       ARRAY['member', (ARRAY['admin','auditor','support','billing'])[g % 4 + 1]],
       ARRAY['orders:read', 'orders:write', 'profile:read', 'tenant:' || (g % 97)],
       c, c + interval '24 hours'
FROM generate_series(0, $1::int - 1) AS g,
     LATERAL (SELECT timestamptz '2026-01-02 02:59:05+00' - (g % 3600) * interval '1 second' AS c) AS t`

// errExpired is what a lookup reports for a session past its expiry.
var errExpired = errors.New("bench: session expired")

// lookupFunc finds a session by id and checks it has not expired, as a
// session-based server does on every request.
type lookupFunc func(ctx context.Context, id string) (session, error)

func valid(s session) (session, error) {
	if !s.ExpiresAt.After(benchNow) {
		return session{}, errExpired
	}
	return s, nil
}

// probes picks sessionProbes random existing session ids out of n.
func probes(n int) []string {
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	ids := make([]string, sessionProbes)
	for i := range ids {
		ids[i] = sessionFor(rng.IntN(n)).ID
	}
	return ids
}

// --- in-process map: the floor for any lookup ---

type mapStore struct {
	mu sync.RWMutex // a real server also writes (logins, logouts)
	m  map[string]*session
}

var (
	memOnce sync.Once
	memMap  *mapStore
)

func sessionMap() *mapStore {
	memOnce.Do(func() {
		memMap = &mapStore{m: make(map[string]*session, sessionsInMemory)}
		for n := range sessionsInMemory {
			s := sessionFor(n)
			memMap.m[s.ID] = &s
		}
	})
	return memMap
}

func (ms *mapStore) lookup(_ context.Context, id string) (session, error) {
	ms.mu.RLock()
	s, ok := ms.m[id]
	ms.mu.RUnlock()
	if !ok {
		return session{}, fmt.Errorf("map: no session %s", id)
	}
	return valid(*s)
}

// --- ristretto ---

func openRistretto(tb testing.TB) lookupFunc {
	tb.Helper()
	c, err := ristretto.NewCache(&ristretto.Config[string, *session]{
		NumCounters: 10 * sessionsInMemory,
		MaxCost:     2 * sessionsInMemory,
		BufferItems: 64,
		// Cost counts sessions, not bytes.
		IgnoreInternalCost: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	all := make([]*session, sessionsInMemory)
	for n := range all {
		s := sessionFor(n)
		all[n] = &s
	}
	// Set is asynchronous and may drop writes: repeat until all are in.
	for attempt := 0; ; attempt++ {
		missing := 0
		for _, s := range all {
			if _, ok := c.Get(s.ID); !ok {
				c.Set(s.ID, s, 1)
				missing++
			}
		}
		c.Wait()
		if missing == 0 {
			break
		}
		if attempt == 5 {
			tb.Fatalf("ristretto: %d sessions still missing", missing)
		}
	}
	return func(_ context.Context, id string) (session, error) {
		s, ok := c.Get(id)
		if !ok {
			return session{}, fmt.Errorf("ristretto: no session %s", id)
		}
		return valid(*s)
	}
}

// --- Redis ---

var (
	redisMu     sync.Mutex
	redisFilled bool // filled by this process
)

// openRedis connects to TOKENGATE_REDIS_URL and makes sure the sessions are
// stored, as hashes and as JSON strings; a run reuses the previous run's data
// while its TTL has time left.
func openRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	url := envOr(envRedisURL, defaultRedisURL)
	howto := "start it with `redis-server` or set " + envRedisURL
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("%s: %v", envRedisURL, err)
	}
	opts.DialTimeout = 2 * time.Second
	opts.MaxRetries = -1 // a failed lookup fails the benchmark, not hides in its time
	rdb := redis.NewClient(opts)
	tb.Cleanup(func() { rdb.Close() })
	ctx := setupContext(tb, time.Minute)
	if err := rdb.Ping(ctx).Err(); err != nil {
		storeUnavailable(tb, "redis", opts.Addr, howto, err) // Addr: no password in the log
	}
	redisMu.Lock()
	defer redisMu.Unlock()
	if redisFilled {
		return rdb
	}
	ttl, err := rdb.TTL(ctx, redisReady).Result()
	if err != nil {
		tb.Fatal(err)
	}
	if ttl < redisTTL/2 { // missing (negative) or expiring soon: (re)fill
		if err := fillRedis(ctx, rdb); err != nil {
			tb.Fatal(err)
		}
	}
	redisFilled = true
	return rdb
}

func fillRedis(ctx context.Context, rdb *redis.Client) error {
	const batch = 1000
	for start := 0; start < sessionsInMemory; start += batch {
		p := rdb.Pipeline()
		for n := start; n < min(start+batch, sessionsInMemory); n++ {
			s := sessionFor(n)
			p.HSet(ctx, redisHash+s.ID,
				"uid", s.UserID,
				"roles", strings.Join(s.Roles, " "),
				"scopes", strings.Join(s.Scopes, " "),
				"exp", s.ExpiresAt.Unix(),
				"iat", s.CreatedAt.Unix())
			p.Expire(ctx, redisHash+s.ID, redisTTL)
			js, err := json.Marshal(toJSON(s))
			if err != nil {
				return err
			}
			p.Set(ctx, redisString+s.ID, js, redisTTL)
		}
		if _, err := p.Exec(ctx); err != nil {
			return fmt.Errorf("redis: filling sessions: %w", err)
		}
	}
	return rdb.Set(ctx, redisReady, "1", redisTTL).Err()
}

// sessionJSON is the JSON form of a session stored as a Redis string.
type sessionJSON struct {
	UID    string   `json:"uid"`
	Roles  []string `json:"roles"`
	Scopes []string `json:"scopes"`
	Exp    int64    `json:"exp"`
	Iat    int64    `json:"iat"`
}

func toJSON(s session) sessionJSON {
	return sessionJSON{UID: s.UserID, Roles: s.Roles, Scopes: s.Scopes, Exp: s.ExpiresAt.Unix(), Iat: s.CreatedAt.Unix()}
}

func redisHashLookup(rdb *redis.Client) lookupFunc {
	return func(ctx context.Context, id string) (session, error) {
		h, err := rdb.HGetAll(ctx, redisHash+id).Result()
		if err != nil {
			return session{}, err
		}
		if len(h) == 0 {
			return session{}, fmt.Errorf("redis: no session %s", id)
		}
		exp, err1 := strconv.ParseInt(h["exp"], 10, 64)
		iat, err2 := strconv.ParseInt(h["iat"], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return session{}, fmt.Errorf("redis: session %s: %w", id, err)
		}
		return valid(session{
			ID:        id,
			UserID:    h["uid"],
			Roles:     strings.Fields(h["roles"]),
			Scopes:    strings.Fields(h["scopes"]),
			ExpiresAt: time.Unix(exp, 0).UTC(),
			CreatedAt: time.Unix(iat, 0).UTC(),
		})
	}
}

func redisStringLookup(rdb *redis.Client) lookupFunc {
	return func(ctx context.Context, id string) (session, error) {
		b, err := rdb.Get(ctx, redisString+id).Bytes()
		if err != nil {
			return session{}, err
		}
		var j sessionJSON
		if err := json.Unmarshal(b, &j); err != nil {
			return session{}, fmt.Errorf("redis: session %s: %w", id, err)
		}
		return valid(session{
			ID:        id,
			UserID:    j.UID,
			Roles:     j.Roles,
			Scopes:    j.Scopes,
			ExpiresAt: time.Unix(j.Exp, 0).UTC(),
			CreatedAt: time.Unix(j.Iat, 0).UTC(),
		})
	}
}

// --- PostgreSQL ---

var (
	pgMu    sync.Mutex
	pgReady bool // table checked (or made) by this process
)

// openPG connects to TOKENGATE_PG_DSN, makes sure the session table holds
// sessionsInPG rows of sessionFor (creating it once, reusing it on later
// runs) and returns a pool whose connections have the lookup prepared.
func openPG(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dsn := envOr(envPGDSN, defaultPGDSN)
	howto := "start PostgreSQL (e.g. `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres`) or set " + envPGDSN
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		tb.Fatalf("%s: %v", envPGDSN, err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	}
	ctx := setupContext(tb, 2*time.Minute)
	pgMu.Lock()
	defer pgMu.Unlock()
	if !pgReady {
		conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
		if err != nil {
			storeUnavailable(tb, "postgres", cfg.ConnConfig.Host+":"+strconv.Itoa(int(cfg.ConnConfig.Port)), howto, err)
		}
		err = ensureTable(ctx, tb, conn)
		conn.Close(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		pgReady = true
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Prepare(ctx, pgLookupName, pgLookup)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		tb.Fatal(err)
	}
	return pool
}

// ensureTable checks the table's row count and one sample row, and
// recreates it when either is wrong. An advisory lock keeps two test
// processes from building it at once.
func ensureTable(ctx context.Context, tb testing.TB, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(pgLockID)); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(pgLockID))
	if tableOK(ctx, conn) {
		return nil
	}
	start := time.Now()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	for _, q := range []string{
		"CREATE SCHEMA IF NOT EXISTS " + pgSchema,
		"DROP TABLE IF EXISTS " + pgTable,
		"CREATE TABLE " + pgTable + ` (
			id         text        NOT NULL,
			user_id    text        NOT NULL,
			roles      text[]      NOT NULL,
			scopes     text[]      NOT NULL,
			created_at timestamptz NOT NULL,
			expires_at timestamptz NOT NULL)`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("postgres: %s: %w", q, err)
		}
	}
	if _, err := tx.Exec(ctx, pgFill, sessionsInPG); err != nil {
		return fmt.Errorf("postgres: filling %s: %w", pgTable, err)
	}
	// The key after the load: one index build instead of a million inserts.
	if _, err := tx.Exec(ctx, "ALTER TABLE "+pgTable+" ADD PRIMARY KEY (id)"); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "ANALYZE "+pgTable); err != nil {
		return err
	}
	tb.Logf("postgres: created %s with %d sessions in %v", pgTable, sessionsInPG, time.Since(start).Round(time.Millisecond))
	return nil
}

// tableOK reports whether the table exists with the expected rows.
func tableOK(ctx context.Context, conn *pgx.Conn) bool {
	var count int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgTable).Scan(&count); err != nil || count != sessionsInPG {
		return false
	}
	for _, n := range []int{0, 123_457, sessionsInPG - 1} {
		want := sessionFor(n)
		got, err := scanPG(conn.QueryRow(ctx, pgLookup, want.ID), want.ID)
		want.CreatedAt = time.Time{}
		if err != nil || !sameSession(got, want) {
			return false
		}
	}
	return true
}

func scanPG(row pgx.Row, id string) (session, error) {
	s := session{ID: id}
	if err := row.Scan(&s.UserID, &s.Roles, &s.Scopes, &s.ExpiresAt); err != nil {
		return session{}, fmt.Errorf("postgres: session %s: %w", id, err)
	}
	return s, nil
}

func pgLookupFunc(pool *pgxpool.Pool) lookupFunc {
	return func(ctx context.Context, id string) (session, error) {
		s, err := scanPG(pool.QueryRow(ctx, pgLookupName, id), id)
		if err != nil {
			return session{}, err
		}
		return valid(s)
	}
}

func sameSession(a, b session) bool {
	return a.ID == b.ID && a.UserID == b.UserID &&
		slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Scopes, b.Scopes) &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.CreatedAt.Equal(b.CreatedAt)
}

// sessionStores are the alternatives, in the order reported. open returns
// the lookup and the population its ids are drawn from.
var sessionStores = []struct {
	name string
	open func(tb testing.TB) (lookupFunc, int)
}{
	{"map", func(tb testing.TB) (lookupFunc, int) { return sessionMap().lookup, sessionsInMemory }},
	{"ristretto", func(tb testing.TB) (lookupFunc, int) { return openRistretto(tb), sessionsInMemory }},
	{"redis-hash", func(tb testing.TB) (lookupFunc, int) { return redisHashLookup(openRedis(tb)), sessionsInMemory }},
	{"redis-string", func(tb testing.TB) (lookupFunc, int) { return redisStringLookup(openRedis(tb)), sessionsInMemory }},
	{"postgres", func(tb testing.TB) (lookupFunc, int) { return pgLookupFunc(openPG(tb)), sessionsInPG }},
}

// BenchmarkSession measures the alternative to verifying a token: looking
// the request's session id up in a session table, decoding the record and
// checking its expiry.
func BenchmarkSession(b *testing.B) {
	reqBytes := len(cookiePrefix) + len(sessionFor(0).ID)
	for _, st := range sessionStores {
		b.Run(st.name, func(b *testing.B) {
			lookup, population := st.open(b)
			ids := probes(population)
			ctx := context.Background()
			for _, m := range modes {
				b.Run(m.name, func(b *testing.B) {
					measure(b, reqBytes, m.parallel, func() func(int) error {
						return func(i int) error {
							_, err := lookup(ctx, ids[i%len(ids)])
							return err
						}
					})
				})
			}
		})
	}
}

// TestStoresAgree checks that every store returns the same record as the
// map for a handful of sessions, so the benchmarks compare like with like.
// (The PostgreSQL query, like a real one, does not select created_at.)
func TestStoresAgree(t *testing.T) {
	ns := []int{0, 1, 42, 4_099, sessionsInMemory - 1}
	ctx := context.Background()
	for _, st := range sessionStores {
		t.Run(st.name, func(t *testing.T) {
			lookup, population := st.open(t)
			for _, n := range append(ns, population-1) {
				want := sessionFor(n)
				got, err := lookup(ctx, want.ID)
				if err != nil {
					t.Fatalf("session %d: %v", n, err)
				}
				if st.name == "postgres" {
					want.CreatedAt = time.Time{}
				}
				if !sameSession(got, want) {
					t.Errorf("session %d:\n got %+v\nwant %+v", n, got, want)
				}
			}
			if _, err := lookup(ctx, "no-such-session"); err == nil {
				t.Error("unknown session id found")
			}
		})
	}
}

// TestSessionExpiry checks that lookups refuse an expired record.
func TestSessionExpiry(t *testing.T) {
	s := sessionFor(0)
	s.ExpiresAt = benchNow
	if _, err := valid(s); !errors.Is(err, errExpired) {
		t.Fatalf("valid(expired) = %v, want errExpired", err)
	}
}
