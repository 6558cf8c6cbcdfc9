package keyring_test

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testenv"
	"github.com/tokengate/tokengate/keyring"
)

// refusedMembers are JWK Set members tokengate refuses, one per reason a
// provider's (or an operator's) set may hold one, each with the kid the
// report must name.
func refusedMembers(t *testing.T) []struct {
	name    string
	kid     string
	members []map[string]any
	want    error
} {
	f := fixtures()
	offCurve := kidJWK(&f.p256b.PublicKey, "off-curve")
	y, err := enc64.DecodeString(offCurve["y"].(string))
	if err != nil {
		t.Fatal(err)
	}
	y[len(y)-1] ^= 1 // a well-formed coordinate, no longer the point's y
	offCurve["y"] = enc64.EncodeToString(y)
	withD := kidJWK(&f.p256b.PublicKey, "private")
	withD["d"] = enc64.EncodeToString(privBytes(f.p256b))
	return []struct {
		name    string
		kid     string
		members []map[string]any
		want    error
	}{
		{"RSA key under 2048 bits", "rsa-1024", []map[string]any{kidJWK(&f.rsa1024.PublicKey, "rsa-1024", "alg", "RS256")}, keyring.ErrInvalidKey},
		{"RSA key without alg", "rsa-no-alg", []map[string]any{kidJWK(&f.rsa.PublicKey, "rsa-no-alg")}, keyring.ErrInvalidKey},
		{"EC point off the curve", "off-curve", []map[string]any{offCurve}, keyring.ErrInvalidKey},
		{"duplicate kid", "dup", []map[string]any{kidJWK(&f.p256b.PublicKey, "dup"), kidJWK(&f.p384.PublicKey, "dup")}, keyring.ErrDuplicateKID},
		{"private key member", "private", []map[string]any{withD}, keyring.ErrPrivateKey},
		{"HMAC key", "hmac", []map[string]any{kidJWK(f.hs256, "hmac", "alg", "HS256")}, nil},
		{"unknown alg", "future", []map[string]any{kidJWK(&f.p256b.PublicKey, "future", "alg", "ES256K")}, keyring.ErrUnsupportedAlg},
	}
}

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func mustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

func refusedNames(refused []*keyring.KeyError) string {
	var s []string
	for _, e := range refused {
		s = append(s, e.Error())
	}
	return strings.Join(s, "\n")
}

// TestProviderRemovedKeyStaysWhenNewSetHasRefusedKey: a provider rotates
// (k1 out, k2 stays) and its new set holds one key tokengate refuses. The
// removed key must stop verifying: the valid keys of the new set are
// applied, and the refused one is reported (status and log), not allowed
// to freeze the last good set.
func TestProviderRemovedKeyStaysWhenNewSetHasRefusedKey(t *testing.T) {
	k1, k2 := newIDPKey(t, "k1", elliptic.P256()), newIDPKey(t, "k2", elliptic.P256())
	for _, tt := range refusedMembers(t) {
		if tt.name == "unknown alg" {
			continue // skipped, not refused, in a provider's set (TestRemoteSkipsKeysOfUnknownAlgs)
		}
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t, false, idpJWKS(t, k1, k2))
			const iss = "https://idp.example"
			rc := p.remote(iss)
			rc.Algs = []keyring.Algorithm{keyring.ES256, keyring.ES384, keyring.RS256, keyring.PS256}
			var logs testenv.SyncBuffer
			r := newRemoteRing(t, keyring.Config{Logger: newTextLogger(&logs), Sources: []keyring.Source{{Remote: rc}}})
			gen := r.Snapshot().Generation()

			var set struct{ Keys []map[string]any }
			mustUnmarshal(t, idpJWKS(t, k2), &set)
			p.set(func(s *idpSettings) { s.doc = jwksOf(append(set.Keys, tt.members...)...) })
			if err := r.RefreshRemotes(context.Background()); err != nil {
				t.Fatalf("a usable set with one refused key failed: %v", err)
			}
			if idpFind(t, r, iss, k1) {
				t.Fatal("k1, removed by the provider, still verifies")
			}
			if !idpFind(t, r, iss, k2) || r.Snapshot().Generation() == gen || !r.Ready() {
				t.Fatal("the valid keys of the new set were not applied")
			}
			if _, ok := r.Snapshot().Find([]byte(iss), []byte(tt.kid), keyring.ES256); ok {
				t.Fatalf("refused key %q loaded", tt.kid)
			}
			rs := remoteStatus(t, r, 0)
			if len(rs.Refused) == 0 || !strings.Contains(refusedNames(rs.Refused), `"`+tt.kid+`"`) || rs.LastError != nil {
				t.Fatalf("refused key not reported: refused %q, last error %v", refusedNames(rs.Refused), rs.LastError)
			}
			if tt.want != nil && !errors.Is(rs.Refused[0], tt.want) {
				t.Errorf("refused for %v, want %v", rs.Refused[0], tt.want)
			}
			if !strings.Contains(logs.String(), "key refused") || !strings.Contains(logs.String(), tt.kid) {
				t.Errorf("refused key not logged:\n%s", logs.String())
			}
		})
	}
}

// TestKeyFileRemovedKeyStaysWhenFileHasRefusedKey: the same rule for a key
// file: a rewrite that drops "old" and adds a refused key removes "old".
func TestKeyFileRemovedKeyStaysWhenFileHasRefusedKey(t *testing.T) {
	f := fixtures()
	for _, tt := range refusedMembers(t) {
		if tt.name == "HMAC key" {
			continue // a file may hold secrets; mixing them with public keys is refused as a whole (TestRingReloadKeepsSnapshot)
		}
		t.Run(tt.name, func(t *testing.T) {
			keep, old := kidJWK(&f.p256.PublicKey, "keep"), kidJWK(f.ed25519.Public(), "old")
			path := writeFile(t, t.TempDir(), "jwks.json", jwksOf(keep, old))
			var logs testenv.SyncBuffer
			r, err := keyring.New(keyring.Config{Logger: newTextLogger(&logs), Sources: []keyring.Source{{Path: path}}})
			if err != nil {
				t.Fatal(err)
			}
			replaceFile(t, path, jwksOf(append([]map[string]any{keep}, tt.members...)...))
			if err := r.Reload(); err != nil {
				t.Fatalf("a usable file with one refused key failed: %v", err)
			}
			s := r.Snapshot()
			if _, ok := s.Find(nil, []byte("old"), keyring.EdDSA); ok {
				t.Fatal(`"old", removed from the file, still verifies`)
			}
			if _, ok := s.Find(nil, []byte("keep"), keyring.ES256); !ok || s.Generation() != 2 {
				t.Fatal("the valid keys of the file were not applied")
			}
			st := r.Status()
			if !strings.Contains(refusedNames(st.Refused), `"`+tt.kid+`"`) || !strings.Contains(refusedNames(st.Refused), path) || st.LastError != nil {
				t.Fatalf("refused key not reported: %q, last error %v", refusedNames(st.Refused), st.LastError)
			}
			if !strings.Contains(logs.String(), "key refused") {
				t.Errorf("refused key not logged:\n%s", logs.String())
			}
			// The file fixed: nothing refused any more.
			replaceFile(t, path, jwksOf(keep))
			if err := r.Reload(); err != nil || len(r.Status().Refused) != 0 {
				t.Fatalf("after the fix: %v, refused %q", err, refusedNames(r.Status().Refused))
			}
		})
	}
}

// TestDeletedKeyFileStopsVerifying: deleting a configured key file removes
// its keys at the next reload (after the grace for a file that is being
// swapped); the other sources stay, and the reload reports the file.
func TestDeletedKeyFileStopsVerifying(t *testing.T) {
	f := fixtures()
	dir := t.TempDir()
	a := writeFile(t, dir, "a.json", jwksOf(kidJWK(&f.p256.PublicKey, "a")))
	b := writeFile(t, dir, "b.json", jwksOf(kidJWK(f.ed25519.Public(), "b")))
	r, err := keyring.New(keyring.Config{Sources: []keyring.Source{{Path: a}, {Path: b}}, MissingFileGrace: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	err = r.Reload()
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), b) || !strings.Contains(err.Error(), "removed") {
		t.Fatalf("Reload after deleting %s: %v", b, err)
	}
	s := r.Snapshot()
	if _, ok := s.Find(nil, []byte("b"), keyring.EdDSA); ok {
		t.Fatal("the key of the deleted file still verifies")
	}
	if _, ok := s.Find(nil, []byte("a"), keyring.ES256); !ok || s.Generation() != 2 {
		t.Fatalf("other file's key lost (generation %d)", s.Generation())
	}
	if st := r.Status(); !errors.Is(st.LastError, os.ErrNotExist) || st.Keys != 1 {
		t.Errorf("status: %+v", st)
	}
	// The file back: its key is back.
	writeFile(t, dir, "b.json", jwksOf(kidJWK(f.ed25519.Public(), "b")))
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Snapshot().Find(nil, []byte("b"), keyring.EdDSA); !ok {
		t.Fatal("key of the restored file not loaded")
	}
}

// TestTransientlyMissingKeyFileKeepsKeys: a file that is gone for a moment
// (an editor or a sync tool replacing it by delete and create) is waited
// for, and its keys never leave the keyring.
func TestTransientlyMissingKeyFileKeepsKeys(t *testing.T) {
	f := fixtures()
	doc := jwksOf(kidJWK(&f.p256.PublicKey, "k"))
	path := writeFile(t, t.TempDir(), "jwks.json", doc)
	r, err := keyring.New(keyring.Config{Sources: []keyring.Source{{Path: path}}, MissingFileGrace: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan string, 1)
	keyring.SetMissingFileHook(r, func(p string) { waiting <- p })
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Reload() }()
	if p := <-waiting; p != path {
		t.Fatalf("waiting for %s", p)
	}
	replaceFile(t, path, doc)
	if err := <-done; err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if _, ok := r.Snapshot().Find(nil, []byte("k"), keyring.ES256); !ok || r.Snapshot().Generation() != 1 {
		t.Fatal("keys dropped for a file that came back")
	}
}

// atomicWriter updates a directory the way kubelet's AtomicWriter updates
// a Secret or ConfigMap volume: the payload goes into a new timestamped
// directory, a "..data_tmp" symlink to it is renamed over "..data", the
// user-visible names are symlinks into "..data" (created when new, removed
// when no longer in the payload), and the old directory is removed last.
type atomicWriter struct {
	dir     string
	version int
	current string
}

func (w *atomicWriter) write(t *testing.T, payload map[string][]byte) {
	t.Helper()
	w.version++
	ts := filepath.Join(w.dir, "..2030_01_01_00_00_0"+string(rune('0'+w.version%10))+".00000000"+string(rune('0'+w.version/10)))
	if err := os.Mkdir(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range payload {
		if err := os.WriteFile(filepath.Join(ts, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(w.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(w.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	for name := range payload {
		if _, err := os.Lstat(filepath.Join(w.dir, name)); errors.Is(err, os.ErrNotExist) {
			if err := os.Symlink(filepath.Join("..data", name), filepath.Join(w.dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, e := range entries {
		if _, keep := payload[e.Name()]; !keep && !strings.HasPrefix(e.Name(), "..") {
			if err := os.Remove(filepath.Join(w.dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	if w.current != "" {
		if err := os.RemoveAll(w.current); err != nil {
			t.Fatal(err)
		}
	}
	w.current = ts
}

// TestKubernetesSecretSwapKeepsKeys: a Secret volume rotated by kubelet's
// atomic writer, watched: at no moment does the keyring lose its keys, the
// new key arrives and the old one leaves within one reload; a key file
// taken out of the Secret stops verifying.
func TestKubernetesSecretSwapKeepsKeys(t *testing.T) {
	f := fixtures()
	w := &atomicWriter{dir: t.TempDir()}
	w.write(t, map[string][]byte{"jwks.json": jwksOf(kidJWK(&f.p256.PublicKey, "v1")), "hs.key": f.hs256})
	watcher := newStatusWatcher()
	r, err := keyring.New(keyring.Config{
		Sources: []keyring.Source{
			{Path: filepath.Join(w.dir, "jwks.json")},
			{Path: filepath.Join(w.dir, "hs.key"), Secret: true, Alg: keyring.HS256, ID: "hs"},
		},
		OnReload:         watcher.hook,
		Debounce:         20 * time.Millisecond,
		MissingFileGrace: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	watcher.watch(t, r)

	// Readers check, as requests would, that some signing key is always
	// there while the volume is swapped under the ring.
	var lost atomic.Int64
	stop := make(chan struct{})
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := r.Snapshot()
			_, v1 := s.Find(nil, []byte("v1"), keyring.ES256)
			_, v2 := s.Find(nil, []byte("v2"), keyring.ES256)
			_, hs := s.Find(nil, []byte("hs"), keyring.HS256)
			if !(v1 || v2) || !hs {
				lost.Add(1)
			}
		}
	}()
	has := func(kid string, alg keyring.Algorithm, want bool) func(keyring.Status) bool {
		return func(keyring.Status) bool {
			_, ok := r.Snapshot().Find(nil, []byte(kid), alg)
			return ok == want
		}
	}
	for i := range 5 { // several rotations, each one a full swap
		kid, other := "v2", "v1"
		if i%2 == 1 {
			kid, other = "v1", "v2"
		}
		w.write(t, map[string][]byte{"jwks.json": jwksOf(kidJWK(&f.p256.PublicKey, kid)), "hs.key": f.hs256})
		watcher.waitFor(t, "key "+kid+" after the swap", has(kid, keyring.ES256, true))
		watcher.waitFor(t, "key "+other+" gone after the swap", has(other, keyring.ES256, false))
	}
	close(stop)
	<-checked
	if n := lost.Load(); n > 0 {
		t.Fatalf("%d reads found no signing key during the Secret swaps", n)
	}
	if st := r.Status(); st.LastError != nil {
		t.Fatalf("a swap was reported as an error: %v", st.LastError)
	}

	// The HMAC key taken out of the Secret: kubelet removes its name.
	w.write(t, map[string][]byte{"jwks.json": jwksOf(kidJWK(&f.p256.PublicKey, "v2"))})
	watcher.waitFor(t, "the removed secret to stop verifying", has("hs", keyring.HS256, false))
	if st := r.Status(); !errors.Is(st.LastError, os.ErrNotExist) {
		t.Errorf("removed file not reported: %v", st.LastError)
	}
}
