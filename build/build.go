// Package build turns a loaded configuration into everything tokengate
// runs except its listeners: the keyring (files, JWK Set URLs, OIDC
// discovery), revocation (file, Redis), decryption keys, the admin secret,
// the metrics registry and the gate. `serve`, `check`, `verify`, the load
// test and the benchmarks all build through New, so what one accepts the
// others accept, and `check` fails exactly where `serve` would fail before
// binding its ports.
package build

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokengate/tokengate/accesslog"
	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/metrics"
	"github.com/tokengate/tokengate/revocation"
	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/verifier"
)

// Options change how New builds.
type Options struct {
	// Logger receives what the parts log; nil uses the configuration's
	// log settings on standard error.
	Logger *slog.Logger
	// Offline builds without the network: identity providers' key sets
	// are validated but not fetched (their keys are missing), and Redis
	// is not contacted. For `check --offline`.
	Offline bool
	// Now is the clock of the gate, the keyring and revocation; nil
	// means time.Now.
	Now func() time.Time
	// KeepClaims keeps every verified token's claims in the cache (see
	// gate.Options.KeepClaims).
	KeepClaims bool
}

// Parts are the running pieces built from one configuration.
type Parts struct {
	Config         *config.Config
	Log            *slog.Logger
	Keys           *keyring.Ring
	Revocations    *revocation.Store
	RevocationSync *revocation.Sync // nil without revocation.redis.addr (or Offline)
	Decrypter      *jwe.Decrypter   // nil without decryption keys
	AdminToken     []byte           // nil when none is configured
	Metrics        *metrics.Registry
	Access         *accesslog.Log
	Gate           *gate.Gate

	opts   Options
	redis  *redis.Client
	cancel context.CancelFunc
	done   chan struct{}
	watch  *keyWatch
}

// New builds the parts from cfg, which must have passed Validate. It
// reads every file the configuration names (keys, admin token, revocation
// rules, decryption keys) and fetches the identity providers' key sets
// (unless Offline), failing on the first thing serve could not start
// with. Nothing runs in the background until Start.
func New(cfg *config.Config, o Options) (_ *Parts, err error) {
	p := &Parts{Config: cfg, Log: o.Logger, opts: o}
	if p.Log == nil {
		p.Log = cfg.Logger(os.Stderr)
	}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.AdminToken, err = AdminToken(cfg); err != nil {
		return nil, err
	}
	if p.Decrypter, err = NewDecrypter(cfg); err != nil {
		return nil, err
	}
	if err = p.newRevocations(); err != nil {
		return nil, err
	}
	kc := cfg.Keyring()
	kc.Logger, kc.Now = p.Log, o.Now
	if o.Offline {
		if kc.Sources, err = offlineSources(kc.Sources); err != nil {
			return nil, err
		}
	}
	if p.Keys, err = keyring.New(kc); err != nil {
		return nil, err
	}
	p.Metrics = metrics.New(metrics.Options{Keys: p.Keys, Revocations: p.Revocations, RevocationSync: p.RevocationSync})
	if p.Access, err = newAccessLog(cfg, p.Log, o.Now); err != nil {
		return nil, err
	}
	p.Metrics.Register(p.Access.Collectors()...)
	gopts := gate.Options{
		Keys: p.Keys, Now: o.Now, Revocations: p.Revocations, Refetch: p.Keys.Refetch,
		RequireEncryption: cfg.Decryption.Require, Observer: gate.Observers(p.Metrics, p.Access), KeepClaims: o.KeepClaims,
	}
	if p.Decrypter != nil {
		gopts.Decrypter = p.Decrypter
	}
	if p.Gate, err = gate.New(cfg.Gate(), VerifierOptions(cfg), gopts); err != nil {
		return nil, err
	}
	p.Metrics.AttachGate(p.Gate)
	return p, nil
}

// newAccessLog builds the access log of log.access, log.access_per_second
// and log.access_subject (validated), writing to the process logger.
func newAccessLog(cfg *config.Config, log *slog.Logger, now func() time.Time) (*accesslog.Log, error) {
	mode, err := accesslog.ParseMode(cfg.Log.Access)
	if err != nil {
		return nil, err
	}
	sub, err := accesslog.ParseSubject(cfg.Log.AccessSubject)
	if err != nil {
		return nil, err
	}
	return accesslog.New(accesslog.Options{Mode: mode, Subject: sub, PerSecond: cfg.Log.AccessPerSecond, Logger: log, Now: now})
}

// offlineSources keeps the local key sources and validates the remote ones
// without fetching them.
func offlineSources(sources []keyring.Source) ([]keyring.Source, error) {
	var local []keyring.Source
	var errs []error
	for _, s := range sources {
		if s.Remote == nil {
			local = append(local, s)
			continue
		}
		if err := s.Remote.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(local) == 0 {
		return nil, errors.New("no local key sources to load offline (identity providers are not fetched with --offline)")
	}
	return local, nil
}

// VerifierOptions are the configuration's verifier options as the gate
// uses them. Revocation forgets a subject cutoff (and a jti rule without
// exp) after revocation.max_token_lifetime, so the verifier refuses tokens
// that live longer, or whose age it cannot tell: a revoked token never
// outlives its rule.
func VerifierOptions(cfg *config.Config) verifier.Options {
	o := cfg.VerifierOptions()
	o.Policy.MaxLifetime = cfg.Revocation.MaxTokenLifetime
	return o
}

// SidecarConfig is the HTTP front end's listener configuration.
func SidecarConfig(cfg *config.Config) sidecar.Config {
	l := cfg.Limits
	return sidecar.Config{PathPrefix: cfg.Listen.VerifyPathPrefix, Limits: sidecar.Limits{
		ReadTimeout:    l.ReadTimeout,
		WriteTimeout:   l.WriteTimeout,
		IdleTimeout:    l.IdleTimeout,
		MaxHeaderBytes: int(l.MaxHeaderSize),
		MaxConnsPerIP:  l.MaxConnsPerIP,
		Concurrency:    l.Concurrency,
		MaxInFlight:    l.MaxInFlight,
		MaxQueueTime:   l.MaxQueueTime,
	}}
}

// Sidecar builds the fasthttp front end over the parts.
func (p *Parts) Sidecar() (*sidecar.Server, error) {
	return sidecar.New(SidecarConfig(p.Config), sidecar.Options{
		Gate: p.Gate, Keys: p.Keys, Metrics: p.Metrics, Logger: p.Log, Now: p.opts.Now,
		Revocations: p.Revocations, RevocationSync: p.RevocationSync, AdminToken: p.AdminToken,
	})
}

// minAdminToken is the shortest admin bearer secret accepted.
const minAdminToken = 16

// AdminToken reads the admin bearer secret from admin.token_file or
// admin.token_env; nil when neither is set.
func AdminToken(cfg *config.Config) ([]byte, error) {
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

// newRevocations builds the store, loads the file (a broken file fails
// like a broken key file: serve would not start) and, unless Offline,
// the Redis sync (not running yet).
func (p *Parts) newRevocations() error {
	rc := p.Config.Revocation
	p.Revocations = revocation.NewStore(revocation.Options{
		MaxTokenLifetime: rc.MaxTokenLifetime,
		Leeway:           VerifierOptions(p.Config).Policy.MaxLeeway(),
		MaxEntries:       rc.MaxRules,
		Logger:           p.Log,
		Now:              p.opts.Now,
	})
	if rc.File != "" {
		if err := p.Revocations.LoadFile(rc.File); err != nil {
			return fmt.Errorf("config: revocation.file: %w", err)
		}
	}
	rd := rc.Redis
	if rd.Addr == "" || p.opts.Offline {
		return nil
	}
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
	p.redis = redis.NewClient(opts)
	var err error
	p.RevocationSync, err = revocation.NewSync(p.Revocations, revocation.SyncOptions{
		Client: p.redis, Prefix: rd.Prefix, ResyncInterval: rd.ResyncInterval,
		Timeout: rd.Timeout, Logger: p.Log,
	})
	return err
}

// SyncRevocationsOnce loads the rules held in Redis once, for a one-shot
// command (`verify`); it returns nil without Redis.
func (p *Parts) SyncRevocationsOnce(ctx context.Context) error {
	if p.RevocationSync == nil {
		return nil
	}
	return p.RevocationSync.Resync(ctx)
}

// Start runs what keeps the parts current until Close: the identity
// providers' refresh loops, the key file watch (watch_keys), the
// revocation file watch, the revocation sweeper and the Redis sync. It
// waits up to revocation.redis.startup_wait for the first load from
// Redis, then serves with the file and API rules and keeps trying.
func (p *Parts) Start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(ctx)
	p.done = make(chan struct{})
	p.Keys.Start(ctx)
	p.watch = &keyWatch{ring: p.Keys, log: p.Log}
	if p.Config.WatchKeys {
		p.watch.start()
	}
	rc := p.Config.Revocation
	tasks := []func(){func() { p.Revocations.Run(ctx, time.Minute) }}
	if rc.File != "" {
		tasks = append(tasks, func() {
			if err := p.Revocations.WatchFile(ctx, rc.File, 0, nil); err != nil {
				p.Log.Error("watching the revocation file failed; restart to recover", "error", err)
			}
		})
	}
	if p.RevocationSync != nil {
		tasks = append(tasks, func() { p.RevocationSync.Run(ctx) })
	}
	finished := make(chan struct{}, len(tasks))
	for _, task := range tasks {
		go func() { task(); finished <- struct{}{} }()
	}
	go func() {
		for range tasks {
			<-finished
		}
		close(p.done)
	}()
	if y := p.RevocationSync; y != nil {
		deadline := time.Now().Add(rc.Redis.StartupWait)
		for y.Status().Resyncs == 0 && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		if st := y.Status(); st.Resyncs == 0 {
			p.Log.Warn("revocation: Redis not loaded yet; serving with the file and API rules and retrying",
				"addr", rc.Redis.Addr, "error", st.LastError)
		}
	}
}

// Close stops everything Start started and releases the parts.
func (p *Parts) Close() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
		p.cancel = nil
	}
	if p.watch != nil {
		p.watch.stop()
	}
	if p.Keys != nil {
		p.Keys.Close()
	}
	if p.redis != nil {
		p.redis.Close()
	}
	if p.Gate != nil {
		p.Gate.Close()
	}
}
