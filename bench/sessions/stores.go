package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Store finds a session's record by id. Implementations are safe for
// concurrent use; Lookup overwrites every field of r.
type Store interface {
	Lookup(ctx context.Context, id string, r *Record) error
}

// Check is the whole session check: look id up, check the expiry at now,
// render the headers into out.
func Check(ctx context.Context, s Store, id string, now time.Time, r *Record, out *Rendered) error {
	if err := s.Lookup(ctx, id, r); err != nil {
		return err
	}
	return Render(r, now, out)
}

// Map is the floor of any lookup: decoded records in a Go map, read-only
// after NewMap (a real server would add a lock for logins and logouts).
type Map map[string]*Record

// NewMap holds sessions 0..rows-1.
func NewMap(rows int) Map {
	m := make(Map, rows)
	for n := range rows {
		r := For(n)
		m[ID(n)] = &r
	}
	return m
}

// Lookup implements Store.
func (m Map) Lookup(_ context.Context, id string, r *Record) error {
	s, ok := m[id]
	if !ok {
		return ErrNotFound
	}
	*r = *s
	return nil
}

// Redis layout: one JSON string per session, as session libraries store
// them, under a key prefix no other test uses.
const (
	RedisPrefix = "tokengate:bench:v2:"
	redisKey    = RedisPrefix + "s:" // + id
	redisReady  = RedisPrefix + "ready"
	redisLock   = RedisPrefix + "filling"
	// RedisTTL keeps the data set for a long benchmark run; EnsureRedis
	// refills when less than half of it is left.
	RedisTTL = 48 * time.Hour
)

// RedisKey is the key of session id.
func RedisKey(id string) string { return redisKey + id }

// Redis looks sessions up with GET and decodes the JSON record.
type Redis struct{ C *redis.Client }

// Lookup implements Store.
func (s Redis) Lookup(ctx context.Context, id string, r *Record) error {
	b, err := s.C.Get(ctx, redisKey+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	*r = Record{}
	if err := json.Unmarshal(b, r); err != nil {
		return fmt.Errorf("sessions: record %s: %w", id, err)
	}
	return nil
}

// EnsureRedis makes sure Redis holds sessions 0..rows-1 with at least half
// of RedisTTL left, filling them with pipelined SETs when not (about 5 s
// per million on loopback). A lock key keeps two processes from filling at
// once; the second waits for the first. It reports whether it filled.
func EnsureRedis(ctx context.Context, rdb *redis.Client, rows int) (bool, error) {
	for {
		if ok, err := redisReadyFor(ctx, rdb, rows); err != nil || ok {
			return false, err
		}
		got, err := rdb.SetNX(ctx, redisLock, "1", 5*time.Minute).Result()
		if err != nil {
			return false, err
		}
		if got {
			break
		}
		select { // another process is filling
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	defer rdb.Del(context.Background(), redisLock)
	const batch = 5000
	for start := 0; start < rows; start += batch {
		p := rdb.Pipeline()
		for n := start; n < min(start+batch, rows); n++ {
			r := For(n)
			p.Set(ctx, redisKey+ID(n), r.JSON(), RedisTTL)
		}
		if _, err := p.Exec(ctx); err != nil {
			return false, fmt.Errorf("sessions: filling redis: %w", err)
		}
	}
	return true, rdb.Set(ctx, redisReady, strconv.Itoa(rows), RedisTTL).Err()
}

func redisReadyFor(ctx context.Context, rdb *redis.Client, rows int) (bool, error) {
	v, err := rdb.Get(ctx, redisReady).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	have, _ := strconv.Atoi(v)
	ttl, err := rdb.TTL(ctx, redisReady).Result()
	if err != nil {
		return false, err
	}
	return have >= rows && ttl > RedisTTL/2, nil
}

// PostgreSQL layout: a table per data set size in a schema of its own.
const (
	PGSchema = "tokengate_bench"
	pgLockID = 0x746f6b656e68 // serialises table creation between processes
)

// PGTable is the table holding sessions 0..rows-1.
func PGTable(rows int) string { return PGSchema + ".sessions_v2_" + strconv.Itoa(rows) }

// pgComment marks a table as completely filled.
func pgComment(rows int) string { return "tokengate bench sessions v2, rows=" + strconv.Itoa(rows) }

func pgQuery(rows int) string {
	return "SELECT user_id, email, name, tenant, roles, scopes, client, csrf, created_at, expires_at FROM " + PGTable(rows) + " WHERE id = $1"
}

// fillSQL is For in SQL, for generate_series.
func fillSQL(rows int) string {
	return `INSERT INTO ` + PGTable(rows) + ` (id, user_id, email, name, tenant, roles, scopes, client, csrf, created_at, expires_at)
SELECT rtrim(translate(encode(sha256(convert_to('tokengate-bench-session-' || g, 'UTF8')), 'base64'), '+/', '-_'), '='),
       u, u || '@customers.example.com', 'Customer ' || g, 'tenant-' || (g % 97),
       ARRAY['member', (ARRAY['admin','auditor','support','billing'])[g % 4 + 1]],
       ARRAY['openid', 'profile', 'email', 'orders:read', 'orders:write', 'profile:read', 'tenant:' || (g % 97)],
       'web-frontend',
       rtrim(translate(encode(substring(sha256(convert_to('csrf-' || g, 'UTF8')) from 1 for 16), 'base64'), '+/', '-_'), '='),
       c, c + interval '24 hours'
FROM generate_series(0, ` + strconv.Itoa(rows-1) + `) AS g,
     LATERAL (SELECT 'user-' || lpad(g::text, 7, '0') AS u,
                     timestamptz '2026-01-02 02:59:05+00' - (g % 3600) * interval '1 second' AS c) AS t`
}

// EnsureTable makes sure PGTable(rows) holds sessions 0..rows-1, creating
// it when it is missing, incomplete or different (an UNLOGGED table: reads
// cost what they cost in a logged one, and it is built faster; about 20 s
// per million rows). An advisory lock keeps two processes from building it
// at once. It reports whether it built the table.
func EnsureTable(ctx context.Context, conn *pgx.Conn, rows int) (bool, error) {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(pgLockID)); err != nil {
		return false, err
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(pgLockID))
	if tableOK(ctx, conn, rows) {
		return false, nil
	}
	table := PGTable(rows)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.Background())
	for _, q := range []string{
		"CREATE SCHEMA IF NOT EXISTS " + PGSchema,
		"DROP TABLE IF EXISTS " + table,
		"CREATE UNLOGGED TABLE " + table + ` (
			id text NOT NULL, user_id text NOT NULL, email text NOT NULL, name text NOT NULL,
			tenant text NOT NULL, roles text[] NOT NULL, scopes text[] NOT NULL, client text NOT NULL,
			csrf text NOT NULL, created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL)`,
		fillSQL(rows),
		// The key after the load: one index build instead of a million inserts.
		"ALTER TABLE " + table + " ADD PRIMARY KEY (id)",
		"COMMENT ON TABLE " + table + " IS '" + pgComment(rows) + "'",
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return false, fmt.Errorf("sessions: postgres: %.60s…: %w", q, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return false, err
	}
	_, err = conn.Exec(ctx, "ANALYZE "+table)
	return true, err
}

// tableOK checks the completion comment and three sample rows.
func tableOK(ctx context.Context, conn *pgx.Conn, rows int) bool {
	var comment *string
	err := conn.QueryRow(ctx, "SELECT obj_description(to_regclass($1)::oid, 'pg_class')", PGTable(rows)).Scan(&comment)
	if err != nil || comment == nil || *comment != pgComment(rows) {
		return false
	}
	for _, n := range []int{0, rows / 2, rows - 1} {
		var r Record
		if err := scanPG(conn.QueryRow(ctx, pgQuery(rows), ID(n)), &r); err != nil || !Same(r, For(n)) {
			return false
		}
	}
	return true
}

func scanPG(row pgx.Row, r *Record) error {
	var created, expires time.Time
	*r = Record{}
	if err := row.Scan(&r.UserID, &r.Email, &r.Name, &r.Tenant, &r.Roles, &r.Scopes, &r.Client, &r.CSRF, &created, &expires); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return err
	}
	r.CreatedAt, r.ExpiresAt = created.Unix(), expires.Unix()
	return nil
}

// PostgreSQL looks sessions up with a prepared SELECT by primary key.
type PostgreSQL struct {
	Pool *pgxpool.Pool
	stmt string
}

// pgStmt is the name of the prepared lookup on every pooled connection.
const pgStmt = "tokengate_bench_session_lookup"

// PreparePool arranges for cfg's connections to prepare the lookup of
// PGTable(rows); open the pool with it and pass it to NewPostgreSQL.
func PreparePool(cfg *pgxpool.Config, rows int) {
	q := pgQuery(rows)
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Prepare(ctx, pgStmt, q)
		return err
	}
}

// NewPostgreSQL returns the store of a pool configured by PreparePool.
func NewPostgreSQL(pool *pgxpool.Pool) PostgreSQL { return PostgreSQL{Pool: pool, stmt: pgStmt} }

// Lookup implements Store.
func (s PostgreSQL) Lookup(ctx context.Context, id string, r *Record) error {
	return scanPG(s.Pool.QueryRow(ctx, s.stmt, id), r)
}

// PutRedis stores one more session (a load test's expired sessions) under
// id, for ttl.
func PutRedis(ctx context.Context, rdb *redis.Client, id string, r *Record, ttl time.Duration) error {
	return rdb.Set(ctx, redisKey+id, r.JSON(), ttl).Err()
}

// DeleteRedis removes sessions stored with PutRedis.
func DeleteRedis(ctx context.Context, rdb *redis.Client, ids ...string) error {
	for len(ids) > 0 {
		k := min(len(ids), 1000)
		keys := make([]string, k)
		for i, id := range ids[:k] {
			keys[i] = redisKey + id
		}
		if err := rdb.Del(ctx, keys...).Err(); err != nil {
			return err
		}
		ids = ids[k:]
	}
	return nil
}

// PutPG stores one more session in PGTable(rows) (a load test's expired
// sessions); remove it with DeletePG. The table's completeness check
// looks at sample rows of the data set only, so extra rows do not make it
// rebuild.
func PutPG(ctx context.Context, pool *pgxpool.Pool, rows int, id string, r *Record) error {
	_, err := pool.Exec(ctx, "INSERT INTO "+PGTable(rows)+
		" (id, user_id, email, name, tenant, roles, scopes, client, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		id, r.UserID, r.Email, r.Name, r.Tenant, r.Roles, r.Scopes, r.Client, r.CSRF, time.Unix(r.CreatedAt, 0), time.Unix(r.ExpiresAt, 0))
	return err
}

// DeletePG removes sessions stored with PutPG.
func DeletePG(ctx context.Context, pool *pgxpool.Pool, rows int, ids ...string) error {
	_, err := pool.Exec(ctx, "DELETE FROM "+PGTable(rows)+" WHERE id = ANY($1)", ids)
	return err
}
