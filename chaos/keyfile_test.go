package chaos_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/internal/sidecartest"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

// newES256 makes an ES256 key pair: its signer and public key.
func newES256(t testing.TB, kid string) (*signer.Signer, *keyring.Key) {
	t.Helper()
	priv, err := signer.GenerateKey(keyring.ES256)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := signer.Public(priv)
	k, err := keyring.NewKey(pub, keyring.Options{ID: kid, Alg: keyring.ES256})
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.New(keyring.ES256, priv, kid)
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

func jwks(t testing.TB, keys ...*keyring.Key) []byte {
	t.Helper()
	b, err := keyring.MarshalJWKS(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyFileChurn: the watched key file is rewritten every 10 ms, in turn
// with valid content (K1+K2, then K1+K3: every valid write is a new
// generation, so cached results are dropped and tokens verified again) and
// with garbage (truncated JSON, random bytes, an empty file, a private key,
// a weak key), half of the writes in place (a reader may see them half
// written) and half by rename. K1 is in every valid version: its tokens
// must always pass; forged tokens never.
func TestKeyFileChurn(t *testing.T) {
	dur := length(3*time.Second, 30*time.Second)
	s1, k1 := newES256(t, "k1")
	_, k2 := newES256(t, "k2")
	_, k3 := newES256(t, "k3")
	evil2, _ := newES256(t, "k2") // an attacker's key claiming a kid of the file
	evil, _ := newES256(t, "k1")  // and one claiming K1's
	validA, validB := jwks(t, k1, k2), jwks(t, k3, k1)
	priv, _ := signer.GenerateKey(keyring.ES256)
	privPEM, _ := signer.MarshalPrivateKeyPEM(priv)
	garbage := [][]byte{
		validA[:len(validA)/2], // half written
		[]byte("\x00\xff not a key file \x13\x37"),
		{},
		privPEM, // a private key: refused in a verification keyring
		[]byte(`{"keys":[{"kty":"oct","kid":"k1","alg":"HS256","k":"c2hvcnQ"}]}`), // weak HMAC secret, and a secret in a JWKS
		[]byte(`{"keys":[]}`),
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "keys.jwks.json")
	if err := os.WriteFile(path, validA, 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(keyring.Config{Sources: []keyring.Source{{Path: path}}, Debounce: 2 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	watchDone := make(chan error, 1)
	go func() { watchDone <- ring.Watch(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-watchDone; err != nil {
			t.Errorf("watch: %v", err)
		}
	})
	srv := sidecartest.New(t, gate.DefaultConfig(), sidecar.DefaultConfig(), verifier.Options{Policy: verifier.DefaultPolicy()}, gate.Options{},
		sidecar.Options{Keys: ring, Logger: quiet})
	addr, _ := serve(t, srv)

	const iss = "https://issuer.chaos.invalid"
	var good, forged []cred
	for i := range 64 {
		good = append(good, cred{hdr: bearer(mustSign(t, s1, claims(iss, "user", "g"+strconv.Itoa(i), time.Hour))), want: wantOK, class: 0})
	}
	c := claims(iss, "user", "f", time.Hour)
	for _, tok := range []string{
		tamper(mustSign(t, s1, c)), // K1's kid, bad signature
		mustSign(t, evil, c),       // another key claiming kid k1
		mustSign(t, evil2, c),      // another key claiming kid k2
		unsigned("k1", c),          // alg none
		mustSign(t, s1, claims(iss, "user", "x", -time.Hour)), // K1, but expired
	} {
		for range 6 { // about a third of the traffic
			forged = append(forged, cred{hdr: bearer(tok), want: wantDeny, class: 1})
		}
	}
	creds := interleave(good, forged)

	// The writer: every 10 ms, valid and garbage in turn.
	stopWriter := make(chan struct{})
	writerDone := make(chan struct{})
	var validWrites, garbageWrites, writeErrs int
	go func() {
		defer close(writerDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		tmp := filepath.Join(dir, ".keys.tmp")
		for n := 0; ; n++ {
			select {
			case <-stopWriter:
				return
			case <-tick.C:
			}
			var data []byte
			switch {
			case n%2 == 1:
				data = garbage[(n/2)%len(garbage)]
				garbageWrites++
			case n%4 == 0:
				data = validA
				validWrites++
			default:
				data = validB
				validWrites++
			}
			var err error
			if n%3 == 0 { // by rename: atomic, as editors and ConfigMaps do
				if err = os.WriteFile(tmp, data, 0o600); err == nil {
					err = os.Rename(tmp, path)
				}
			} else { // in place: a reload may read it half written
				err = os.WriteFile(path, data, 0o600)
			}
			if err != nil {
				writeErrs++
			}
		}
	}()

	mem := sampleMem(50 * time.Millisecond)
	gen0 := ring.Status().Generation
	res := run(load{addr: addr, creds: creds, classes: []string{"good", "forged"}, workers: 16, dur: dur})
	close(stopWriter)
	<-writerDone
	heap, rssPeak := mem.end()
	st := ring.Status()
	t.Logf("key-file churn (%s, %v): sent=%d %.0f rps outcomes: %s | faults: %d writes (%d valid, %d garbage, %d write errors), reloads ok=%d failed=%d, generations=%d | wrong=%d no-answer=%d | p50=%v p99=%v | peak heap=%s rss=%s",
		form(), dur, res.sent, res.rps(), res.outcomes(), validWrites+garbageWrites, validWrites, garbageWrites, writeErrs,
		st.ReloadsOK, st.ReloadsFailed, st.Generation-gen0, res.wrong, res.errTotal, res.p(50), res.p(99), mib(heap), mib(rssPeak))
	res.check(t, "key-file churn", false)
	if st.ReloadsFailed == 0 || st.Generation-gen0 < 2 {
		t.Errorf("the churn did not reach the keyring: %d failed reloads, %d new generations", st.ReloadsFailed, st.Generation-gen0)
	}
	// After the churn the last good keys are in force: K1 still verifies.
	if err := os.WriteFile(path, validA, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ring.Reload(); err != nil {
		t.Fatalf("reload of the valid file: %v", err)
	}
}
