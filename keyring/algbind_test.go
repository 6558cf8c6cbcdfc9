package keyring_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/keyring"
)

// entraJWK is an RSA signing key shaped like Entra ID's (and ADFS's):
// "kty", "use", "kid", "x5t", "n", "e", "x5c" and "issuer", but no "alg".
func entraJWK(priv *rsa.PrivateKey, kid string) map[string]any {
	der := selfSigned(priv)
	x5t := sha1.Sum(der)
	m := jwkWith(&priv.PublicKey, map[string]any{
		"kid": kid, "use": "sig", "x5t": enc64.EncodeToString(x5t[:]),
		"x5c":    []string{base64.StdEncoding.EncodeToString(der)},
		"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
	})
	return m
}

func signRS256(t *testing.T, priv *rsa.PrivateKey, in []byte) []byte {
	t.Helper()
	h := sha256.Sum256(in)
	sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestAlgLessRSAKeysBindToTheIssuersOnlyRSAAlg: Entra ID publishes RSA
// keys without "alg". With an allow-list that admits exactly one RSA
// algorithm (the README's `algs: [RS256]`), such keys are bound to it and
// the provider becomes ready; the key still decides (an RS256-bound key
// verifies nothing else).
func TestAlgLessRSAKeysBindToTheIssuersOnlyRSAAlg(t *testing.T) {
	f := fixtures()
	p := newIDP(t, true, jwksOf(entraJWK(f.rsa, "entra-1"), entraJWK(f.rsa2, "entra-2")))
	const iss = "https://login.microsoftonline.com/tenant/v2.0"
	rc := p.remote(iss)
	rc.Algs = []keyring.Algorithm{keyring.RS256, keyring.ES256}
	r := newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: rc}}})
	if !r.Ready() {
		t.Fatal("provider with alg-less RSA keys not ready")
	}
	for kid, priv := range map[string]*rsa.PrivateKey{"entra-1": f.rsa, "entra-2": f.rsa2} {
		k, ok := r.Snapshot().Find([]byte(iss), []byte(kid), keyring.RS256)
		if !ok || k.Alg() != keyring.RS256 {
			t.Fatalf("%s: found %v", kid, ok)
		}
		in := []byte("header.payload")
		if !k.Verify(in, signRS256(t, priv, in)) {
			t.Fatalf("%s does not verify its RS256 signature", kid)
		}
	}
	// A local key file with one RSA alg in its allow-list binds the same way.
	path := writeFile(t, t.TempDir(), "entra.json", jwksOf(entraJWK(f.rsa, "file-1")))
	lr, err := keyring.New(keyring.Config{Sources: []keyring.Source{{Path: path, Algs: []keyring.Algorithm{keyring.PS256}}}})
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := lr.Snapshot().Find(nil, []byte("file-1"), keyring.PS256); !ok || k.Alg() != keyring.PS256 {
		t.Fatal("alg-less RSA key of a file not bound to the one RSA alg of its allow-list")
	}
}

// TestAlgLessRSAKeyErrorNamesTheSetting: when the allow-list admits two RSA
// algorithms (RS256 and PS256 keys look alike), the key is refused and the
// error names the configuration key that binds it.
func TestAlgLessRSAKeyErrorNamesTheSetting(t *testing.T) {
	f := fixtures()
	p := newIDP(t, true, jwksOf(entraJWK(f.rsa, "entra-1")))
	rc := p.remote("https://login.microsoftonline.com/tenant/v2.0")
	rc.Algs = []keyring.Algorithm{keyring.RS256, keyring.PS256}
	rc.MinBackoff, rc.MaxBackoff = 0, 0
	_, err := keyring.New(keyring.Config{RemoteStartup: keyring.WaitForRemotes, RemoteStartupTimeout: 2e9, Sources: []keyring.Source{{Remote: rc}}})
	if err == nil || !strings.Contains(err.Error(), "issuers[].alg") || !strings.Contains(err.Error(), `"entra-1"`) {
		t.Fatalf("New: %v; want an error naming issuers[].alg and the kid", err)
	}
	// issuers[].alg set: bound, and the provider is ready.
	rc.Alg = keyring.PS256
	r := newRemoteRing(t, keyring.Config{Sources: []keyring.Source{{Remote: rc}}})
	if k, ok := r.Snapshot().Find([]byte(rc.Issuer), []byte("entra-1"), keyring.PS256); !ok || k.Alg() != keyring.PS256 {
		t.Fatal("issuers[].alg did not bind the key")
	}
	if err := r.RefreshRemotes(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A key file: keys[].alg.
	path := writeFile(t, t.TempDir(), "rsa.json", jwksOf(kidJWK(&f.rsa.PublicKey, "file-1")))
	_, err = keyring.New(keyring.Config{Sources: []keyring.Source{{Path: path}}})
	if !errors.Is(err, keyring.ErrInvalidKey) || !strings.Contains(err.Error(), "keys[].alg") {
		t.Fatalf("file: %v; want an error naming keys[].alg", err)
	}
}
