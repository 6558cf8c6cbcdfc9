package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/build"
	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/extauthz"
	"github.com/tokengate/tokengate/keyring"
)

const (
	devKID     = "dev"
	devKeyFile = devKID + ".key.pem"
	devJWKS    = devKID + ".jwks.json"
)

// loadConfig loads and validates a configuration. In development mode
// (dev.keys_dir set) it trusts <dir>/dev.jwks.json, generating the ES256
// pair first when generate is set and the files are missing.
func loadConfig(path string, generate bool) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if dir := cfg.DevKeysDir(); dir != "" {
		jwks := filepath.Join(dir, devJWKS)
		if _, err := os.Stat(jwks); errors.Is(err, os.ErrNotExist) {
			if !generate {
				return nil, fmt.Errorf("development keys %s are missing: run 'tokengate serve' once, or remove dev from the configuration", jwks)
			}
			if _, err := writeKeyPair(dir, keyring.ES256, devKID, ""); err != nil {
				return nil, fmt.Errorf("generating development keys in %s: %w", dir, err)
			}
		}
		cfg.Keys = append(cfg.Keys, config.Key{File: jwks, Algs: []string{string(keyring.ES256)}})
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "[--config FILE]", stderr)
	cfgPath := fs.String("config", "", "configuration file (default: the built-in config.yaml; TOKENGATE_* variables override)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 10*time.Second, "how long SIGTERM waits for in-flight requests")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, true)
	if err != nil {
		return err
	}
	log := cfg.Logger(stderr)
	parts, err := build.New(cfg, build.Options{Logger: log})
	if err != nil {
		return err
	}
	defer parts.Close()
	srv, err := parts.Sidecar()
	if err != nil {
		return err
	}
	ext, err := newExtAuthz(parts)
	if err != nil {
		return err
	}
	parts.Start(context.Background())
	vln, err := listen(cfg.Listen.Verify, "listen.verify")
	if err != nil {
		return err
	}
	aln, err := listen(cfg.Listen.Admin, "listen.admin")
	if err != nil {
		vln.Close()
		return err
	}
	var eln net.Listener
	if ext != nil {
		if eln, err = listen(cfg.Listen.ExtAuthzGRPC, "listen.ext_authz_grpc"); err != nil {
			vln.Close()
			aln.Close()
			return err
		}
	}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(vln, aln) }()
	ready := []any{"verify", vln.Addr().String(), "admin", aln.Addr().String()}
	if ext != nil {
		go func() { served <- ext.Serve(eln) }()
		ready = append(ready, "ext_authz_grpc", eln.Addr().String())
	}
	log.Info("tokengate ready", append(ready, "keys", parts.Keys.Snapshot().Len(), "generation", parts.Keys.Snapshot().Generation())...)
	if cfg.DevKeysDir() != "" {
		printDevHint(stdout, cfg, vln.Addr().String())
	}

	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	for {
		select {
		case err := <-served:
			return err
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				reload(*cfgPath, parts, log)
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			ctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
			err := srv.Shutdown(ctx)
			if ext != nil {
				err = errors.Join(err, ext.Shutdown(ctx))
			}
			cancel()
			if err != nil {
				return err
			}
			log.Info("stopped")
			return nil
		}
	}
}

// newExtAuthz builds the Envoy ext_authz gRPC service over the parts'
// gate and metrics registry (the ones /verify uses), or nil when
// listen.ext_authz_grpc is not set. A CheckRequest may carry what /verify
// accepts as headers, plus Envoy's attributes around them.
func newExtAuthz(parts *build.Parts) (*extauthz.Server, error) {
	cfg := parts.Config
	if cfg.Listen.ExtAuthzGRPC == "" {
		return nil, nil
	}
	return extauthz.New(parts.Gate, extauthz.Options{
		Latency:              parts.Metrics,
		MaxRequestBytes:      int(cfg.Limits.MaxHeaderSize) + 64<<10,
		MaxConcurrentStreams: uint32(cfg.Limits.MaxInFlight),
	})
}

// reload is SIGHUP: load and validate the configuration again, then switch
// keys, policy and decryption keys. Anything wrong keeps the running
// configuration and is logged.
func reload(path string, parts *build.Parts, log *slog.Logger) {
	next, err := loadConfig(path, false)
	if err != nil {
		log.Error("configuration reload failed; keeping the running configuration", "error", err)
		return
	}
	if err := parts.Reload(next); err != nil {
		log.Error(err.Error())
	}
}
