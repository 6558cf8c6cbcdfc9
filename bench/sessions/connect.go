package sessions

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Where the stores are: TOKENGATE_REDIS_URL and TOKENGATE_PG_DSN, else
// these defaults (the services CI provides).
const (
	DefaultRedisURL = "redis://127.0.0.1:6379/0"
	DefaultPGDSN    = "postgres://postgres@127.0.0.1:5432/test"
)

// RedisURL is $TOKENGATE_REDIS_URL or DefaultRedisURL.
func RedisURL() string { return envOr("TOKENGATE_REDIS_URL", DefaultRedisURL) }

// PGDSN is $TOKENGATE_PG_DSN or DefaultPGDSN.
func PGDSN() string { return envOr("TOKENGATE_PG_DSN", DefaultPGDSN) }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Unreachable wraps the error of a store that could not be reached, so
// that callers can tell it from a broken data set.
type Unreachable struct {
	Store, Addr string
	Err         error
}

func (e *Unreachable) Error() string {
	return fmt.Sprintf("sessions: %s not reachable at %s: %v", e.Store, e.Addr, e.Err)
}

func (e *Unreachable) Unwrap() error { return e.Err }

// OpenRedis connects with a pool of poolSize connections (all opened up
// front) and makes sure sessions 0..rows-1 are stored (EnsureRedis).
// Commands are not retried: a failed lookup fails, it does not hide in
// the time of the next.
func OpenRedis(ctx context.Context, url string, rows, poolSize int) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("sessions: redis URL: %w", err)
	}
	opts.DialTimeout = 2 * time.Second
	opts.MaxRetries = -1
	opts.PoolSize, opts.MinIdleConns = poolSize, poolSize
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, &Unreachable{"redis", opts.Addr, err} // Addr: no password in messages
	}
	if _, err := EnsureRedis(ctx, rdb, rows); err != nil {
		rdb.Close()
		return nil, err
	}
	return rdb, nil
}

// OpenPostgres makes sure PGTable(rows) is complete (EnsureTable) and
// returns a pool of poolSize connections (all opened up front) with the
// lookup prepared on each.
func OpenPostgres(ctx context.Context, dsn string, rows, poolSize int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sessions: postgres DSN: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, &Unreachable{"postgres", fmt.Sprintf("%s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port), err}
	}
	_, err = EnsureTable(ctx, conn, rows)
	conn.Close(context.Background())
	if err != nil {
		return nil, err
	}
	cfg.MaxConns, cfg.MinConns = int32(poolSize), int32(poolSize)
	PreparePool(cfg, rows)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}
