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
	"reflect"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/sidecar"
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
	kc := cfg.Keyring()
	kc.Logger = log
	ring, err := keyring.New(kc)
	if err != nil {
		return err
	}
	// Refresh loops of the identity providers (no-op without any).
	ring.Start(context.Background())
	defer ring.Close()
	token, err := adminToken(cfg)
	if err != nil {
		return err
	}
	dec, err := newDecrypter(cfg)
	if err != nil {
		return err
	}
	revs, err := startRevocations(cfg, log)
	if err != nil {
		return err
	}
	defer revs.stop()
	srv, err := sidecar.New(cfg.Sidecar(), cfg.VerifierOptions(), sidecar.Options{
		Keys: ring, Logger: log,
		Revocations: revs.store, RevocationSync: revs.sync, AdminToken: token,
		Refetch: ring.Refetch, Decrypter: dec, RequireEncryption: cfg.Decryption.Require,
	})
	if err != nil {
		return err
	}
	vln, err := net.Listen("tcp", cfg.Listen.Verify)
	if err != nil {
		return err
	}
	aln, err := net.Listen("tcp", cfg.Listen.Admin)
	if err != nil {
		vln.Close()
		return err
	}

	watch := newWatcher(ring, log)
	if cfg.WatchKeys {
		watch.start()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(vln, aln) }()
	log.Info("tokengate ready", "verify", vln.Addr().String(), "admin", aln.Addr().String(),
		"keys", ring.Snapshot().Len(), "generation", ring.Snapshot().Generation())
	if cfg.DevKeysDir() != "" {
		printDevHint(stdout, cfg, vln.Addr().String())
	}

	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	for {
		select {
		case err := <-served:
			watch.stop()
			return err
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				cfg = reload(*cfgPath, cfg, ring, srv, watch, log)
				reloadDecryption(cfg, dec, srv, log)
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			watch.stop()
			ctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
			err := srv.Shutdown(ctx)
			cancel()
			if err != nil {
				return err
			}
			log.Info("stopped")
			return nil
		}
	}
}

// reload is SIGHUP: load and validate the configuration again, then switch
// keys and policy. Anything wrong keeps the running configuration and is
// logged; the returned config is the one in force afterwards.
func reload(path string, running *config.Config, ring *keyring.Ring, srv *sidecar.Server, w *watcher, log *slog.Logger) *config.Config {
	next, err := loadConfig(path, false)
	if err == nil {
		err = next.Sidecar().Validate()
	}
	if err != nil {
		log.Error("configuration reload failed; keeping the running configuration", "error", err)
		return running
	}
	if !reflect.DeepEqual(next.Keyring().Sources, running.Keyring().Sources) {
		err = ring.Reconfigure(next.Keyring().Sources)
	} else {
		err = ring.Reload()
	}
	if err != nil {
		log.Error("key reload failed; keeping the running configuration and keys", "error", err)
		return running
	}
	if err := srv.Apply(next.Sidecar(), next.VerifierOptions()); err != nil {
		log.Error("configuration reload failed; keeping the running policy", "error", err)
		return running
	}
	w.stop()
	if next.WatchKeys {
		w.start()
	}
	if next.Listen != running.Listen || next.Limits != running.Limits {
		log.Warn("listen addresses and limits change only on restart")
	}
	if next.Revocation != running.Revocation || next.Admin != running.Admin {
		log.Warn("revocation and admin settings change only on restart")
	}
	log.Info("configuration reloaded", "keys", ring.Snapshot().Len(), "generation", ring.Snapshot().Generation())
	return next
}

// reloadDecryption reads the decryption keys again on SIGHUP; a broken
// file keeps the running keys. The cache is cleared so that no token
// decrypted with a removed key is served from it.
func reloadDecryption(cfg *config.Config, dec *jwe.Decrypter, srv *sidecar.Server, log *slog.Logger) {
	if dec == nil {
		if len(cfg.Decryption.Keys) > 0 {
			log.Warn("decryption keys added: encrypted tokens are accepted only after a restart")
		}
		return
	}
	ks, err := loadDecryptionKeys(cfg)
	if err != nil {
		log.Error("decryption key reload failed; keeping the running keys", "error", err)
		return
	}
	dec.SetKeySet(ks)
	srv.ClearCache()
	log.Info("decryption keys reloaded", "keys", ks.Len())
}

// watcher runs keyring.Watch in the background and can restart it.
type watcher struct {
	ring   *keyring.Ring
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

func newWatcher(r *keyring.Ring, log *slog.Logger) *watcher { return &watcher{ring: r, log: log} }

func (w *watcher) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		if err := w.ring.Watch(ctx); err != nil {
			w.log.Error("watching key files failed; reload with SIGHUP", "error", err)
		}
	}()
}

func (w *watcher) stop() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
		w.cancel = nil
	}
}

func printDevHint(w io.Writer, cfg *config.Config, addr string) {
	dir := cfg.DevKeysDir()
	s, err := loadSigningKey(filepath.Join(dir, devKeyFile), "", devKID, "")
	if err != nil {
		fmt.Fprintf(w, "development mode: cannot mint a sample token: %v\n", err)
		return
	}
	payload, _ := buildClaims([]byte(`{"iss":"tokengate-dev","sub":"dev-user","scope":"read write"}`), time.Now(), 15*time.Minute)
	tok, err := s.Sign(payload)
	if err != nil {
		fmt.Fprintf(w, "development mode: cannot mint a sample token: %v\n", err)
		return
	}
	fmt.Fprintf(w, `
DEVELOPMENT MODE: trusting %s (ES256, kid %q), generated on first start.
Remove the dev section from your configuration in production.

Try it (the token is valid for 15 minutes; mint more with
'tokengate mint --key %s --claims '{"sub":"alice"}''):

  curl -i -H "Authorization: Bearer %s" http://%s/verify

`, filepath.Join(dir, devJWKS), devKID, filepath.Join(dir, devKeyFile), tok, addr)
}
