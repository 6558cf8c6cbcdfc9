package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tokengate/tokengate/loadtest"
)

func runLoadtest(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("loadtest", "[--target KIND | --url URL] [--mode closed|open] [flags]  |  --serve --target KIND [--listen ADDR]", stderr)
	kinds := make([]string, len(loadtest.TargetKinds))
	for i, k := range loadtest.TargetKinds {
		kinds[i] = string(k)
	}
	target := fs.String("target", string(loadtest.TargetTokengate), "target to start on 127.0.0.1: "+strings.Join(kinds, ", "))
	url := fs.String("url", "", "load an already-running http:// endpoint instead of --target; the host must be loopback (127.0.0.0/8, ::1, localhost)")
	mode := fs.String("mode", string(loadtest.Closed), "closed (each connection sends when the previous answer arrived) or open (fixed --rate, latency from the intended send time)")
	conns := fs.Int("connections", loadtest.DefaultConnections, "connections (closed loop) or maximum requests in flight (open loop)")
	rate := fs.Float64("rate", 0, "open loop: requests per second (required with --mode open)")
	duration := fs.Duration("duration", loadtest.DefaultDuration, "how long to send requests")
	requests := fs.Int64("requests", 0, "stop after this many requests as well (0: only --duration)")
	warm := fs.Duration("warmup", 0, "first send closed-loop requests from every connection for this long, not measured (opens the connections, warms the target)")
	timeout := fs.Duration("timeout", loadtest.DefaultTimeout, "per-request timeout; an open loop run also waits this long after --duration for late requests")
	tokens := fs.Int("tokens", loadtest.DefaultTokens, "distinct tokens or sessions, used round robin (sets the cache hit ratio)")
	algs := fs.String("algs", "ES256:1", "algorithm mix of the tokens, ALG:WEIGHT[,ALG:WEIGHT...], e.g. ES256:0.7,HS256:0.3")
	invalid := fs.Float64("invalid", 0, "fraction of tokens with a bad signature (unknown session ids); expected 401")
	expired := fs.Float64("expired", 0, "fraction of expired tokens (expired sessions); expected 401")
	jsonOut := fs.String("json", "", "write the JSON report to this file")
	mdOut := fs.String("markdown", "", "write the Markdown report to this file (default: stdout)")
	keyDir := fs.String("key-dir", "", "write the generated public keys (keys.jwks.json) and HMAC secrets here (default: a temporary directory, removed)")
	redisURL := fs.String("redis-url", "", "Redis for --target session-redis (default: $TOKENGATE_REDIS_URL, else "+loadtest.DefaultRedisURL+")")
	pgDSN := fs.String("pg-dsn", "", "PostgreSQL for --target session-postgres (default: $TOKENGATE_PG_DSN, else "+loadtest.DefaultPostgresDSN+")")
	quiet := fs.Bool("quiet", false, "no progress line on stderr")
	marks := fs.Bool("marks", false, "print \"loadtest: measurement start\" and \"… end\" on stderr around the measured interval (after --warmup), for a tool that measures the target meanwhile")
	tokenFile := fs.String("token-file", "", "send these credentials instead of generated ones: one token (session id for session targets) per line, each expected to be accepted, cycled in order; with --key-dir the tokengate target trusts that directory's keys")
	rows := fs.Int("rows", 0, "size of the session data set the session targets serve and session ids are drawn from (default 1000000)")
	serve := fs.Bool("serve", false, "only run the --target (noop, session-redis, session-postgres) on --listen until SIGINT/SIGTERM, for a generator in another process (--url); prints its URL")
	listen := fs.String("listen", "127.0.0.1:0", "with --serve: loopback address to listen on")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitError{2}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *serve {
		return serveTarget(ctx, loadtest.TargetKind(*target), loadtest.TargetOptions{
			RedisURL: envOr(*redisURL, "TOKENGATE_REDIS_URL"), PostgresDSN: envOr(*pgDSN, "TOKENGATE_PG_DSN"),
			PoolSize: *conns, Rows: *rows, Listen: *listen,
		}, stdout)
	}
	mix, err := loadtest.ParseAlgMix(*algs)
	if err != nil {
		return err
	}
	cfg := loadtest.Config{
		Target: loadtest.TargetKind(*target), URL: *url, Mode: loadtest.Mode(*mode),
		Connections: *conns, Rate: *rate, Duration: *duration, Requests: *requests, Timeout: *timeout, Warmup: *warm,
		Tokens: *tokens, TokenFile: *tokenFile, Rows: *rows, Algs: mix, Invalid: *invalid, Expired: *expired,
		RedisURL:    envOr(*redisURL, "TOKENGATE_REDIS_URL"),
		PostgresDSN: envOr(*pgDSN, "TOKENGATE_PG_DSN"),
		KeyDir:      *keyDir,
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	if *marks {
		cfg.Mark = func(event string) { fmt.Fprintf(stderr, "loadtest: measurement %s\n", event) }
	}
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *jsonOut != "" {
		if err := writeReport(*jsonOut, rep.WriteJSON); err != nil {
			return err
		}
	}
	if *mdOut != "" {
		return writeReport(*mdOut, rep.WriteMarkdown)
	}
	return rep.WriteMarkdown(stdout)
}

// serveTarget runs a target until ctx is done. The first line on stdout
// is "serving KIND at URL", for the process that starts it.
func serveTarget(ctx context.Context, kind loadtest.TargetKind, o loadtest.TargetOptions, stdout io.Writer) error {
	if kind == loadtest.TargetTokengate {
		return errors.New("--serve runs noop, session-redis or session-postgres; for the sidecar run 'tokengate serve'")
	}
	t, err := loadtest.StartTarget(ctx, kind, nil, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "serving %s at %s\n", kind, t.URL)
	<-ctx.Done()
	return t.Close()
}

// envOr returns flag, else the environment variable env (else "": the
// library's default).
func envOr(flag, env string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv(env)
}

func writeReport(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
