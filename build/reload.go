package build

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"

	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/keyring"
)

// LoadDecryptionKeys reads decryption.keys: each file a private JWK, JWK
// Set or PKCS#8 PEM bound to its alg. Errors name the entry.
func LoadDecryptionKeys(cfg *config.Config) (*jwe.KeySet, error) {
	var keys []*jwe.Key
	for i, k := range cfg.Decryption.Keys {
		field := fmt.Sprintf("decryption.keys[%d]", i)
		alg, ok := jwe.ParseKeyAlgorithm(k.Alg)
		if !ok {
			return nil, fmt.Errorf("config: %s.alg: unsupported %q", field, k.Alg)
		}
		ks, err := ReadDecryptionKey(k.File, k.KID, alg)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %s: %w", field, k.File, err)
		}
		keys = append(keys, ks...)
	}
	return jwe.NewKeySet(keys...)
}

// ReadDecryptionKey reads the decryption keys of one file (see
// jwe.ParsePrivateKeys); the file's bytes are wiped once parsed.
func ReadDecryptionKey(path, kid string, alg jwe.KeyAlgorithm) ([]*jwe.Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	return jwe.ParsePrivateKeys(data, kid, alg)
}

// NewDecrypter builds the decrypter, or nil without keys. The outer
// (encrypted) token may be larger than the signed one inside it, which
// limits.max_token_size bounds: twice that bounds the outer one.
func NewDecrypter(cfg *config.Config) (*jwe.Decrypter, error) {
	if len(cfg.Decryption.Keys) == 0 {
		return nil, nil
	}
	ks, err := LoadDecryptionKeys(cfg)
	if err != nil {
		return nil, err
	}
	var encs []jwe.ContentEncryption
	for _, e := range cfg.Decryption.Encs {
		enc, _ := jwe.ParseContentEncryption(e)
		encs = append(encs, enc)
	}
	limit := 2 * int(cfg.Limits.MaxTokenSize)
	return jwe.NewDecrypter(ks, jwe.Options{MaxTokenBytes: limit, MaxCiphertextBytes: limit, Encs: encs})
}

// Reload switches the running parts to next (a validated configuration,
// the SIGHUP path): key sources, then the gate's configuration, then the
// decryption keys. Anything wrong keeps what is running and is returned;
// on success the parts use next. Listen addresses, limits, revocation
// and admin settings change only on restart (logged).
func (p *Parts) Reload(next *config.Config) error {
	running := p.Config
	var err error
	if !reflect.DeepEqual(next.Keyring().Sources, running.Keyring().Sources) {
		err = p.Keys.Reconfigure(next.Keyring().Sources)
	} else {
		err = p.Keys.Reload()
	}
	if err != nil {
		return fmt.Errorf("key reload failed; keeping the running configuration and keys: %w", err)
	}
	// Revocation rules must outlive exp + leeway: raise the store's leeway
	// before the verifier accepts more, lower it after.
	leeway := VerifierOptions(next).Policy.MaxLeeway()
	p.Revocations.SetLeeway(max(leeway, p.Revocations.Leeway()))
	if err := p.Gate.Apply(next.Gate(), VerifierOptions(next)); err != nil {
		return fmt.Errorf("configuration reload failed; keeping the running policy: %w", err)
	}
	p.Revocations.SetLeeway(leeway)
	p.Config = next
	if p.watch != nil {
		p.watch.stop()
		if next.WatchKeys {
			p.watch.start()
		}
	}
	if next.Listen != running.Listen || next.Limits != running.Limits {
		p.Log.Warn("listen addresses and limits change only on restart")
	}
	if next.Revocation != running.Revocation || next.Admin != running.Admin {
		p.Log.Warn("revocation and admin settings change only on restart")
	}
	p.reloadDecryption()
	p.Log.Info("configuration reloaded", "keys", p.Keys.Snapshot().Len(), "generation", p.Keys.Snapshot().Generation())
	return nil
}

// reloadDecryption reads the decryption keys again; a broken file keeps
// the running keys. The cache is cleared so that no token decrypted with
// a removed key is served from it.
func (p *Parts) reloadDecryption() {
	cfg := p.Config
	if p.Decrypter == nil {
		if len(cfg.Decryption.Keys) > 0 {
			p.Log.Warn("decryption keys added: encrypted tokens are accepted only after a restart")
		}
		return
	}
	ks, err := LoadDecryptionKeys(cfg)
	if err != nil {
		p.Log.Error("decryption key reload failed; keeping the running keys", "error", err)
		return
	}
	p.Decrypter.SetKeySet(ks)
	p.Gate.ClearCache()
	p.Log.Info("decryption keys reloaded", "keys", ks.Len())
}

// keyWatch runs keyring.Watch in the background and can restart it.
type keyWatch struct {
	ring   *keyring.Ring
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

func (w *keyWatch) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		if err := w.ring.Watch(ctx); err != nil {
			w.log.Error("watching key files failed; reload with SIGHUP", "error", err)
		}
	}()
}

func (w *keyWatch) stop() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
		w.cancel = nil
	}
}
