package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/revocation"
)

// minAdminToken is the shortest admin bearer secret accepted.
const minAdminToken = 16

// adminToken reads the admin bearer secret from admin.token_file or
// admin.token_env; nil when neither is set.
func adminToken(cfg *config.Config) ([]byte, error) {
	var (
		b     []byte
		field string
	)
	switch {
	case cfg.Admin.TokenFile != "":
		field = "admin.token_file"
		var err error
		if b, err = os.ReadFile(cfg.Admin.TokenFile); err != nil {
			return nil, fmt.Errorf("config: %s: %w", field, err)
		}
	case cfg.Admin.TokenEnv != "":
		field = "admin.token_env"
		v, ok := os.LookupEnv(cfg.Admin.TokenEnv)
		if !ok {
			return nil, fmt.Errorf("config: %s: variable %s is not set", field, cfg.Admin.TokenEnv)
		}
		b = []byte(v)
	default:
		return nil, nil
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) < minAdminToken {
		return nil, fmt.Errorf("config: %s: the admin token is shorter than %d bytes", field, minAdminToken)
	}
	return b, nil
}

// revocations is the running revocation machinery of serve.
type revocations struct {
	store  *revocation.Store
	sync   *revocation.Sync
	client *redis.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// startRevocations builds the store, loads the file (a broken file fails
// start-up), starts the file watch, the sweeper and the Redis sync, and
// waits up to redis.startup_wait for the first load from Redis.
func startRevocations(cfg *config.Config, log *slog.Logger) (*revocations, error) {
	rc := cfg.Revocation
	r := &revocations{
		store: revocation.NewStore(revocation.Options{
			MaxTokenLifetime: rc.MaxTokenLifetime,
			MaxEntries:       rc.MaxRules,
			Logger:           log,
		}),
		done: make(chan struct{}),
	}
	if rc.File != "" {
		if err := r.store.LoadFile(rc.File); err != nil {
			return nil, fmt.Errorf("revocation.file: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	var tasks []func()
	tasks = append(tasks, func() { r.store.Run(ctx, time.Minute) })
	if rc.File != "" {
		tasks = append(tasks, func() {
			if err := r.store.WatchFile(ctx, rc.File, 0, nil); err != nil {
				log.Error("watching the revocation file failed; restart to recover", "error", err)
			}
		})
	}
	if rd := rc.Redis; rd.Addr != "" {
		opts := &redis.Options{
			Addr: rd.Addr, Username: rd.Username, DB: rd.DB, ClientName: "tokengate",
			DialTimeout: rd.Timeout, ReadTimeout: rd.Timeout, WriteTimeout: rd.Timeout,
		}
		if rd.PasswordEnv != "" {
			opts.Password = os.Getenv(rd.PasswordEnv)
		}
		if rd.TLS {
			opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		r.client = redis.NewClient(opts)
		var err error
		r.sync, err = revocation.NewSync(r.store, revocation.SyncOptions{
			Client: r.client, Prefix: rd.Prefix, ResyncInterval: rd.ResyncInterval,
			Timeout: rd.Timeout, Logger: log,
		})
		if err != nil {
			cancel()
			return nil, err
		}
		tasks = append(tasks, func() { r.sync.Run(ctx) })
	}
	remaining := len(tasks)
	finished := make(chan struct{}, len(tasks))
	for _, task := range tasks {
		go func() { task(); finished <- struct{}{} }()
	}
	go func() {
		for range remaining {
			<-finished
		}
		close(r.done)
	}()
	if r.sync != nil {
		deadline := time.Now().Add(rc.Redis.StartupWait)
		for r.sync.Status().Resyncs == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if st := r.sync.Status(); st.Resyncs == 0 {
			log.Warn("revocation: Redis not loaded yet; serving with the file and API rules and retrying",
				"addr", rc.Redis.Addr, "error", st.LastError)
		}
	}
	return r, nil
}

func (r *revocations) stop() {
	r.cancel()
	<-r.done
	if r.client != nil {
		r.client.Close()
	}
}
