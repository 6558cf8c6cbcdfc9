package loadtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/bench/sessions"
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
	// Rows is the size of the session data set the session targets serve
	// (default sessions.DefaultRows; see package bench/sessions).
	Rows int
	// Listen is the address to listen on (default 127.0.0.1:0, a free
	// port); it must be loopback.
	Listen string
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

// StartTarget starts a target of the given kind on o.Listen (default
// 127.0.0.1 and a free port). The tokengate target trusts w's keys. The
// session targets serve the shared session data set of o.Rows sessions
// (bench/sessions: filled once, kept between runs) and, for the run, w's
// expired sessions; w may be nil for them and for noop (a server whose
// load comes from another process).
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
	if o.Rows <= 0 {
		o.Rows = sessions.DefaultRows
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if host, _, err := net.SplitHostPort(o.Listen); err != nil || !IsLoopbackHost(host) {
		return nil, fmt.Errorf("%w: listen address %q", ErrNotLoopback, o.Listen)
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
		if w != nil && !w.Sessions {
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

	ln, err := net.Listen("tcp", o.Listen)
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

var cookieSession = []byte("session")

// sessionState is one request's scratch for the session check.
type sessionState struct {
	r   sessions.Record
	out sessions.Rendered
}

var sessionStates = sync.Pool{New: func() any { return new(sessionState) }}

// sessionHandler answers like the sidecar, for a session cookie: look the
// id up, check the expiry at the data set's fixed clock, set the headers
// the sidecar would (sessions.Check), 200; an unknown or expired session
// 401; a store error 503 (fail closed).
func sessionHandler(store sessions.Store) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		id := ctx.Request.Header.CookieBytes(cookieSession)
		if len(id) == 0 {
			ctx.SetStatusCode(fasthttp.StatusUnauthorized)
			return
		}
		st := sessionStates.Get().(*sessionState)
		defer sessionStates.Put(st)
		err := sessions.Check(ctx, store, string(id), sessions.Now, &st.r, &st.out)
		switch {
		case errors.Is(err, sessions.ErrNotFound), errors.Is(err, sessions.ErrExpired):
			ctx.SetStatusCode(fasthttp.StatusUnauthorized)
		case err != nil:
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		default:
			for _, h := range st.out.Headers {
				ctx.Response.Header.SetBytesKV(h.Name, h.Value)
			}
			ctx.SetStatusCode(fasthttp.StatusOK)
		}
	}
}

// expiredRecords returns the records of w's expired sessions, which the
// session targets store for the run (the data set holds only valid ones).
func expiredRecords(w *Workload) map[string]*sessions.Record {
	m := map[string]*sessions.Record{}
	if w == nil {
		return m
	}
	for i, c := range w.Creds {
		if c.Kind == KindExpired {
			r := sessions.For(i)
			r.ExpiresAt = c.Expires.Unix()
			r.CreatedAt = r.ExpiresAt - 24*3600
			m[c.Value] = &r
		}
	}
	return m
}

// redisSessions serves the shared session data set (sessions.EnsureRedis)
// plus w's expired sessions, stored for the run and deleted by Close.
func (t *Target) redisSessions(ctx context.Context, w *Workload, o TargetOptions) (fasthttp.RequestHandler, error) {
	rdb, err := sessions.OpenRedis(ctx, o.RedisURL, o.Rows, o.PoolSize)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	t.cleanup = append(t.cleanup, rdb.Close)
	var ids []string
	for id, r := range expiredRecords(w) {
		if err := sessions.PutRedis(ctx, rdb, id, r, 2*time.Hour); err != nil { // the TTL is a safety net should Close never run
			return nil, fmt.Errorf("loadtest: redis: %w", err)
		}
		ids = append(ids, id)
	}
	t.cleanup = append(t.cleanup, func() error { return sessions.DeleteRedis(context.Background(), rdb, ids...) })
	return sessionHandler(sessions.Redis{C: rdb}), nil
}

// postgresSessions serves the shared session table (sessions.EnsureTable)
// plus w's expired sessions, inserted for the run and deleted by Close.
func (t *Target) postgresSessions(ctx context.Context, w *Workload, o TargetOptions) (fasthttp.RequestHandler, error) {
	pool, err := sessions.OpenPostgres(ctx, o.PostgresDSN, o.Rows, o.PoolSize)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	t.cleanup = append(t.cleanup, func() error { pool.Close(); return nil })
	var ids []string
	for id, r := range expiredRecords(w) {
		if err := sessions.PutPG(ctx, pool, o.Rows, id, r); err != nil {
			return nil, fmt.Errorf("loadtest: postgres: %w", err)
		}
		ids = append(ids, id)
	}
	if len(ids) > 0 {
		t.cleanup = append(t.cleanup, func() error { return sessions.DeletePG(context.Background(), pool, o.Rows, ids...) })
	}
	return sessionHandler(sessions.NewPostgreSQL(pool)), nil
}
