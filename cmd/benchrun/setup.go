package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokengate/tokengate/bench/sessions"
)

// environment is what the phases share: the plan, the stores' versions,
// the binaries built for the HTTP runs and a scratch directory.
type environment struct {
	plan                    plan
	redisVersion, pgVersion string
	work                    string // scratch: binaries, keys, token files
	tokengate, naive        string // binaries, built on first use
}

func (e *environment) close() { os.RemoveAll(e.work) }

// setup checks that Redis and PostgreSQL answer, records their versions,
// and fills the session data sets the run needs (once per machine: later
// runs find them complete and go on).
func setup(ctx context.Context, p plan) (*environment, error) {
	env := &environment{plan: p}
	var err error
	if env.work, err = os.MkdirTemp("", "benchrun-"); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	start := time.Now()
	rdb, err := sessions.OpenRedis(sctx, sessions.RedisURL(), p.rows, 1)
	if err != nil {
		return nil, fmt.Errorf("setup: %w (start Redis or set TOKENGATE_REDIS_URL)", err)
	}
	if info, err := rdb.Info(sctx, "server").Result(); err == nil {
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
				env.redisVersion = v
			}
		}
	}
	rdb.Close()
	for _, rows := range append([]int{p.rows}, p.growRows...) {
		t := time.Now()
		pool, err := sessions.OpenPostgres(sctx, sessions.PGDSN(), rows, 1)
		if err != nil {
			return nil, fmt.Errorf("setup: %w (start PostgreSQL or set TOKENGATE_PG_DSN)", err)
		}
		if env.pgVersion == "" {
			_ = pool.QueryRow(sctx, "SHOW server_version").Scan(&env.pgVersion)
		}
		pool.Close()
		if d := time.Since(t); d > 2*time.Second {
			logf("setup: built %s in %s", sessions.PGTable(rows), d.Round(time.Second))
		}
	}
	logf("setup: Redis %s and PostgreSQL %s hold the session data sets (%s)", env.redisVersion, env.pgVersion, time.Since(start).Round(time.Millisecond))
	return env, nil
}

// build compiles the binaries the HTTP runs start: tokengate, and the
// naive sidecar from its own module.
func (e *environment) build(ctx context.Context) error {
	if e.tokengate != "" {
		return nil
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	tg, naive := filepath.Join(e.work, "tokengate"), filepath.Join(e.work, "naive")
	for _, b := range []struct{ dir, out string }{{root, tg}, {filepath.Join(root, "bench", "naive"), naive}} {
		pkg := "./cmd/tokengate"
		if b.out == naive {
			pkg = "."
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.out, pkg)
		cmd.Dir, cmd.Stdout, cmd.Stderr = b.dir, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s: %w", b.out, err)
		}
	}
	e.tokengate, e.naive = tg, naive
	return nil
}
