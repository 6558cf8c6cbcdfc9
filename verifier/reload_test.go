package verifier_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/verifier"
)

// TestReloadUnderLoad runs verifiers on every core while the key file is
// rewritten again and again: valid with an extra key, valid without it,
// half-written and garbage. (A deleted key file removes its keys after a
// grace: keyring's TestDeletedKeyFileStopsVerifying.) A token signed by the key that is in
// every valid version must never fail; a token of the key that comes and
// goes may only fail with ErrUnknownKey; nothing forged ever passes.
func TestReloadUnderLoad(t *testing.T) {
	stable := caseFor(t, "ES256")
	rotating := caseFor(t, "EdDSA")
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.jwks.json")

	withBoth, err := keyring.MarshalJWKS(stable.key, rotating.key)
	if err != nil {
		t.Fatal(err)
	}
	stableOnly, err := keyring.MarshalJWKS(stable.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, withBoth, 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(keyring.Config{Sources: []keyring.Source{{Path: path}}})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, ring, verifier.DefaultPolicy())

	good := mint(t, stable, claims(nil))
	comesAndGoes := mint(t, rotating, claims(nil))
	forged := withSignature(good, make([]byte, 64))

	var stop atomic.Bool
	var verified, rotatingDenied atomic.Int64
	errc := make(chan error, 16)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			for !stop.Load() {
				if err := v.Verify(r, good); err != nil {
					errc <- err
					return
				}
				if err := v.Verify(r, comesAndGoes); err != nil {
					if !errors.Is(err, verifier.ErrUnknownKey) {
						errc <- err
						return
					}
					rotatingDenied.Add(1)
				}
				if v.Verify(r, forged) == nil {
					errc <- errors.New("forged token verified")
					return
				}
				verified.Add(1)
			}
		}()
	}

	writes := [][]byte{
		stableOnly,
		withBoth[:len(withBoth)/2], // half-written
		[]byte("-----BEGIN PUBLIC KEY-----\ngarbage\n"),
		withBoth,
		stableOnly,
		{},
		withBoth,
	}
	var failed, ok int
	for i := 0; i < 200; i++ {
		w := writes[i%len(writes)]
		if err := os.WriteFile(path, w, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := ring.Reload(); err != nil {
			failed++
		} else {
			ok++
		}
		if i%len(writes) == 0 {
			// Right after a valid stable-only version, the rotating key
			// must be gone: no cache or race may keep it alive.
			r := verifier.AcquireResult()
			if err := v.Verify(r, comesAndGoes); !errors.Is(err, verifier.ErrUnknownKey) {
				t.Errorf("removed key still verifies (err %v)", err)
			}
			verifier.ReleaseResult(r)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("verifier saw: %v", err)
	}
	if failed == 0 || ok == 0 {
		t.Fatalf("reloads: %d ok, %d failed; the test must exercise both", ok, failed)
	}
	st := ring.Status()
	if st.ReloadsFailed == 0 || st.LastError != nil {
		t.Errorf("status %+v", st)
	}
	t.Logf("%d verify rounds, %d rotating-key denials, %d reloads ok, %d kept the old keys", verified.Load(), rotatingDenied.Load(), ok, failed)
}
