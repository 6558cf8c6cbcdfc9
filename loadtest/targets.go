package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/verifier"
)

// TargetOptions configure the targets StartTarget runs.
type TargetOptions struct {
	// RedisURL and PostgresDSN locate the session stores (defaults
	// DefaultRedisURL, DefaultPostgresDSN).
	RedisURL, PostgresDSN string
	// PoolSize is the store connection pool size (default 32): match it to
	// the load generator's connections so no request waits for a pool slot.
	PoolSize int
}

// Target is a server the tool started on a free 127.0.0.1 port. Close
// stops it and removes what it stored.
type Target struct {
	Kind TargetKind
	// URL is where to send requests, "http://127.0.0.1:PORT/verify".
	URL string

	srv     *fasthttp.Server
	sidecar *sidecar.Server
	done    chan error
	cleanup []func() error
}

// StartTarget starts a target of the given kind on 127.0.0.1 and a free
// port. The tokengate target trusts w's keys; the session targets store
// w's sessions (valid and expired ones; invalid ids are left unknown) and
// need w built for that kind.
func StartTarget(ctx context.Context, kind TargetKind, w *Workload, o TargetOptions) (*Target, error) {
	if o.RedisURL == "" {
		o.RedisURL = DefaultRedisURL
	}
	if o.PostgresDSN == "" {
		o.PostgresDSN = DefaultPostgresDSN
	}
	if o.PoolSize <= 0 {
		o.PoolSize = DefaultConnections
	}
	t := &Target{Kind: kind, done: make(chan error, 1)}
	var handler fasthttp.RequestHandler
	switch kind {
	case TargetNoop:
		handler = func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusOK) }
	case TargetTokengate:
		if w == nil || w.Sessions {
			return nil, errors.New("loadtest: the tokengate target needs a token workload")
		}
		ring, err := keyring.New(keyring.Config{Sources: w.Sources})
		if err != nil {
			return nil, err
		}
		g, err := gate.New(gate.DefaultConfig(), verifier.Options{Policy: verifier.DefaultPolicy()}, gate.Options{Keys: ring})
		if err != nil {
			return nil, err
		}
		t.sidecar, err = sidecar.New(sidecar.DefaultConfig(), sidecar.Options{Gate: g, Keys: ring, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, err
		}
	case TargetSessionRedis, TargetSessionPostgres:
		if w == nil || !w.Sessions {
			return nil, fmt.Errorf("loadtest: the %s target needs a session workload", kind)
		}
		var err error
		if kind == TargetSessionRedis {
			handler, err = t.redisSessions(ctx, w, o)
		} else {
			handler, err = t.postgresSessions(ctx, w, o)
		}
		if err != nil {
			t.runCleanup()
			return nil, err
		}
	default:
		return nil, fmt.Errorf("loadtest: unknown target %q (%s)", kind, targetList())
	}

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.runCleanup()
		return nil, err
	}
	t.URL = "http://" + ln.Addr().String() + "/verify"
	if t.sidecar != nil {
		go func() { t.done <- t.sidecar.Serve(ln, nil) }()
		return t, nil
	}
	t.srv = &fasthttp.Server{
		Handler:              handler,
		Name:                 "loadtest-" + string(kind),
		ReadTimeout:          5 * time.Second,
		WriteTimeout:         5 * time.Second,
		IdleTimeout:          60 * time.Second,
		Concurrency:          4096,
		NoDefaultDate:        true,
		NoDefaultContentType: true,
		CloseOnShutdown:      true,
	}
	go func() { t.done <- t.srv.Serve(ln) }()
	return t, nil
}

// Close stops the server and removes the stored sessions.
func (t *Target) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	switch {
	case t.sidecar != nil:
		errs = append(errs, t.sidecar.Shutdown(ctx))
	case t.srv != nil:
		errs = append(errs, t.srv.ShutdownWithContext(ctx))
	}
	if t.sidecar != nil || t.srv != nil {
		select {
		case <-t.done:
		case <-ctx.Done():
		}
	}
	errs = append(errs, t.runCleanup())
	return errors.Join(errs...)
}

func (t *Target) runCleanup() error {
	var errs []error
	for i := len(t.cleanup) - 1; i >= 0; i-- {
		errs = append(errs, t.cleanup[i]())
	}
	t.cleanup = nil
	return errors.Join(errs...)
}

func runID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var cookieSession = []byte("session")

// redisSessions stores "<prefix><id>" = expiry in unix seconds for the
// valid and expired sessions; the handler GETs the cookie's id.
func (t *Target) redisSessions(ctx context.Context, w *Workload, o TargetOptions) (fasthttp.RequestHandler, error) {
	opt, err := redis.ParseURL(o.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("loadtest: redis URL: %w", err)
	}
	opt.PoolSize = o.PoolSize
	opt.MinIdleConns = min(o.PoolSize, 64)
	rdb := redis.NewClient(opt)
	t.cleanup = append(t.cleanup, rdb.Close)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		return nil, fmt.Errorf("loadtest: redis %s: %w", opt.Addr, err)
	}
	prefix := "tokengate:loadtest:" + runID() + ":session:"
	var keys []string
	pipe := rdb.Pipeline()
	for _, c := range w.Creds {
		if c.Kind == KindInvalid {
			continue
		}
		keys = append(keys, prefix+c.Value)
		// A TTL as a safety net should Close never run.
		pipe.Set(ctx, prefix+c.Value, strconv.FormatInt(c.Expires.Unix(), 10), 2*time.Hour)
		if pipe.Len() >= 1000 {
			if _, err := pipe.Exec(ctx); err != nil {
				return nil, fmt.Errorf("loadtest: redis fill: %w", err)
			}
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("loadtest: redis fill: %w", err)
		}
	}
	t.cleanup = append(t.cleanup, func() error {
		for ks := range chunk(keys, 1000) {
			if err := rdb.Del(context.Background(), ks...).Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return func(ctx *fasthttp.RequestCtx) {
		id := ctx.Request.Header.CookieBytes(cookieSession)
		if len(id) == 0 {
			ctx.SetStatusCode(fasthttp.StatusUnauthorized)
			return
		}
		v, err := rdb.Get(ctx, prefix+string(id)).Result()
		switch {
		case errors.Is(err, redis.Nil):
			ctx.SetStatusCode(fasthttp.StatusUnauthorized)
			return
		case err != nil:
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable) // fail closed
			return
		}
		exp, err := strconv.ParseInt(v, 10, 64)
		if err != nil || time.Now().Unix() >= exp {
			ctx.SetStatusCode(fasthttp.StatusUnauthorized)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
	}, nil
}

func chunk(s []string, n int) func(yield func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// postgresSessions creates a per-run table (id text primary key, user_id,
// expires_at), copies the valid and expired sessions in, and answers with
// a prepared SELECT by primary key on every request.
func (t *Target) postgresSessions(ctx context.Context, w *Workload, o TargetOptions) (fasthttp.RequestHandler, error) {
	pcfg, err := pgxpool.ParseConfig(o.PostgresDSN)
	if err != nil {
		return nil, fmt.Errorf("loadtest: postgres DSN: %w", err)
	}
	table := "tokengate_loadtest_sessions_" + runID()
	const stmt = "loadtest_session_lookup"
	query := "SELECT user_id, expires_at FROM " + table + " WHERE id = $1"
	pcfg.MaxConns = int32(o.PoolSize)
	pcfg.MinConns = int32(min(o.PoolSize, 64))
	pcfg.ConnConfig.ConnectTimeout = 3 * time.Second

	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	setup, err := pgx.ConnectConfig(cctx, pcfg.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("loadtest: postgres: %w", err)
	}
	defer setup.Close(context.Background())
	if _, err := setup.Exec(cctx, "CREATE UNLOGGED TABLE "+table+" (id text PRIMARY KEY, user_id text NOT NULL, expires_at timestamptz NOT NULL)"); err != nil {
		return nil, fmt.Errorf("loadtest: postgres create table: %w", err)
	}
	t.cleanup = append(t.cleanup, func() error {
		c, err := pgx.ConnectConfig(context.Background(), pcfg.ConnConfig.Copy())
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		_, err = c.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
		return err
	})
	var rows [][]any
	for i, c := range w.Creds {
		if c.Kind != KindInvalid {
			rows = append(rows, []any{c.Value, "user-" + strconv.Itoa(i), c.Expires})
		}
	}
	if _, err := setup.CopyFrom(cctx, pgx.Identifier{table}, []string{"id", "user_id", "expires_at"}, pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("loadtest: postgres fill: %w", err)
	}
	if _, err := setup.Exec(cctx, "ANALYZE "+table); err != nil {
		return nil, fmt.Errorf("loadtest: postgres analyze: %w", err)
	}
	pcfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Prepare(ctx, stmt, query)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("loadtest: postgres pool: %w", err)
	}
	t.cleanup = append(t.cleanup, func() error { pool.Close(); return nil })
	if err := pool.Ping(cctx); err != nil {
		return nil, fmt.Errorf("loadtest: postgres: %w", err)
	}
	return func(ctx *fasthttp.RequestCtx) {
		id := ctx.Request.Header.CookieBytes(cookieSession)
		if len(id) == 0 {
			ctx.SetStatusCode(fasthttp.StatusUnauthorized)
			return
		}
		var user string
		var exp time.Time
		err := pool.QueryRow(ctx, stmt, string(id)).Scan(&user, &exp)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			ctx.SetStatusCode(fasthttp.StatusUnauthorized)
			return
		case err != nil:
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable) // fail closed
			return
		}
		if !time.Now().Before(exp) {
			ctx.SetStatusCode(fasthttp.StatusUnauthorized)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
	}, nil
}
