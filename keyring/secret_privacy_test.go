package keyring_test

import (
	"bytes"
	"crypto/sha256"
	"log/slog"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/keyring"
)

// octThumbprint is the RFC 7638 thumbprint of an HMAC secret's JWK: an
// unsalted SHA-256 of the secret, enough to test guesses of a weak secret
// offline. Nothing tokengate shows may contain it or a prefix of it.
func octThumbprint(secret []byte) string {
	sum := sha256.Sum256([]byte(`{"k":"` + enc64.EncodeToString(secret) + `","kty":"oct"}`))
	return enc64.EncodeToString(sum[:])
}

// TestHMACKeyShowsNothingDerivedFromTheSecret: an HMAC key's kid,
// thumbprint, fingerprint and log lines carry no value derived from the
// secret; its size in bits is shown instead. A kid-less secret has no kid
// (it is found by its alg), and rotating it still starts a new generation.
func TestHMACKeyShowsNothingDerivedFromTheSecret(t *testing.T) {
	f := fixtures()
	path := writeFile(t, t.TempDir(), "hs.secret", f.hs256)
	var logs bytes.Buffer
	r, err := keyring.New(keyring.Config{
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sources: []keyring.Source{{Path: path, Secret: true, Alg: keyring.HS256}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tp := octThumbprint(f.hs256)
	k, ok := r.Snapshot().Find(nil, nil, keyring.HS256)
	if !ok {
		t.Fatal("kid-less secret not found by its alg")
	}
	for name, v := range map[string]string{"ID": k.ID(), "Thumbprint": k.Thumbprint(), "Fingerprint": k.Fingerprint()} {
		if v != "" && strings.Contains(tp, v) {
			t.Errorf("%s %q is derived from the secret", name, v)
		}
	}
	if k.Bits() != 256 {
		t.Errorf("Bits %d, want 256", k.Bits())
	}
	replaceFile(t, path, f.hs512[:32])
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if g := r.Snapshot().Generation(); g != 2 {
		t.Errorf("rotated secret: generation %d, want 2", g)
	}
	for _, v := range []string{tp[:8], octThumbprint(f.hs512[:32])[:8]} {
		if strings.Contains(logs.String(), v) {
			t.Errorf("a value derived from a secret is in the log:\n%s", logs.String())
		}
	}
	// Public keys keep their RFC 7638 thumbprint and fingerprint.
	pub := newTestKey(t, &f.p256.PublicKey, keyring.Options{})
	if pub.Thumbprint() == "" || pub.ID() != pub.Thumbprint() || pub.Fingerprint() == "" || pub.Bits() != 256 {
		t.Errorf("public key: id %q thumbprint %q fingerprint %q bits %d", pub.ID(), pub.Thumbprint(), pub.Fingerprint(), pub.Bits())
	}
}
