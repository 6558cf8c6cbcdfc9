package keyring_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/keyring"
)

// writeFile writes data to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// replaceFile writes data next to path and renames it over path, as
// editors and config management tools do.
func replaceFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// statusWatcher is an OnReload hook plus a way to wait for a status.
type statusWatcher struct {
	ring   *keyring.Ring
	notify chan struct{}
}

func newStatusWatcher() *statusWatcher { return &statusWatcher{notify: make(chan struct{}, 1)} }

func (w *statusWatcher) hook(keyring.Status) {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds for the ring's status, woken by each
// reload; it fails the test after a generous deadline.
func (w *statusWatcher) waitFor(t *testing.T, what string, cond func(keyring.Status) bool) keyring.Status {
	t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		if st := w.ring.Status(); cond(st) {
			return st
		}
		select {
		case <-w.notify:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; status %+v", what, w.ring.Status())
		}
	}
}

// watch runs r.Watch until the test ends, with w as r's OnReload hook,
// and waits until the watch is in place (Watch reloads once then).
func (w *statusWatcher) watch(t *testing.T, r *keyring.Ring) {
	t.Helper()
	w.ring = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	w.waitFor(t, "the watch to start", func(s keyring.Status) bool { return s.ReloadsOK >= 2 })
}

// testClock is an injected clock that advances one second per reading.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func kidJWK(pub any, kid string, extra ...string) map[string]any {
	m := map[string]any{"kid": kid}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return jwkWith(pub, m)
}

func TestRingSources(t *testing.T) {
	f := fixtures()
	dir := t.TempDir()
	jwksPath := writeFile(t, dir, "jwks.json", jwksOf(kidJWK(&f.p256.PublicKey, "ec"), kidJWK(&f.rsa.PublicKey, "rsa", "alg", "RS256")))
	pemPath := writeFile(t, dir, "ed.pem", pemBlock("PUBLIC KEY", spkiDER(f.ed25519.Public())))
	certPath := writeFile(t, dir, "ed448.crt", pemBlock("CERTIFICATE", selfSigned(f.ed448)))
	secretPath := writeFile(t, dir, "hs.secret", []byte(hex.EncodeToString(f.hs512)+"\n"))
	t.Setenv("TOKENGATE_TEST_SECRET", base64.StdEncoding.EncodeToString(f.hs256))
	clock := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}

	r, err := keyring.New(keyring.Config{
		Now: clock.Now,
		Sources: []keyring.Source{
			{Path: jwksPath, Issuer: "https://idp.example", Algs: []keyring.Algorithm{keyring.ES256, keyring.RS256}},
			{Path: pemPath, ID: "ed", Client: "billing"},
			{Path: certPath},
			{Path: secretPath, Secret: true, Encoding: keyring.SecretHex, Alg: keyring.HS512, ID: "hs512"},
			{Env: "TOKENGATE_TEST_SECRET", Secret: true, Encoding: keyring.SecretBase64, Alg: keyring.HS256, ID: "hs256", Issuer: "https://internal.example"},
			{Inline: mustJSON(kidJWK(&f.p384.PublicKey, "inline"))},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Snapshot()
	if s.Generation() != 1 || s.Len() != 7 {
		t.Fatalf("generation %d, %d keys; want 1, 7", s.Generation(), s.Len())
	}
	tests := []struct {
		issuer, kid string
		alg         keyring.Algorithm
		priv        any
		source      string
		wantIssuer  string
		wantClient  string
	}{
		{"https://idp.example", "ec", keyring.ES256, f.p256, jwksPath, "https://idp.example", ""},
		{"https://idp.example", "rsa", keyring.RS256, f.rsa, jwksPath, "https://idp.example", ""},
		{"", "ed", keyring.EdDSA, f.ed25519, pemPath, "", "billing"},
		{"", "", keyring.HS512, f.hs512, secretPath, "", ""},
		{"https://internal.example", "hs256", keyring.HS256, f.hs256, "env:TOKENGATE_TEST_SECRET", "https://internal.example", ""},
		{"https://service.example", "inline", keyring.ES384, f.p384, "inline#5", "", ""},
	}
	for _, tt := range tests {
		var kid []byte
		if tt.kid != "" {
			kid = []byte(tt.kid)
		}
		k, ok := s.Find([]byte(tt.issuer), kid, tt.alg)
		if !ok {
			t.Errorf("%s/%s not found", tt.issuer, tt.kid)
			continue
		}
		if k.Source() != tt.source || k.Issuer() != tt.wantIssuer || k.Client() != tt.wantClient {
			t.Errorf("%s: source %q issuer %q client %q", tt.kid, k.Source(), k.Issuer(), k.Client())
		}
		checkSigns(t, k, tt.priv)
	}
	st := r.Status()
	if st.Generation != 1 || st.Keys != 7 || st.ReloadsOK != 1 || st.ReloadsFailed != 0 || st.LastError != nil ||
		st.LastReload.IsZero() || !st.LastSuccess.Equal(st.LastReload) {
		t.Errorf("status after New: %+v", st)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	st2 := r.Status()
	if !st2.LastReload.After(st.LastReload) || st2.ReloadsOK != 2 || st2.Generation != 1 {
		t.Errorf("status after an unchanged reload: %+v", st2)
	}
}

func TestRingNewErrors(t *testing.T) {
	f := fixtures()
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", mustJSON(jwkMembers(&f.p256.PublicKey)))
	weak := writeFile(t, dir, "weak.json", jwksOf(kidJWK(&f.rsa1024.PublicKey, "old-rsa", "alg", "RS256")))
	missing := filepath.Join(dir, "missing.json")
	tests := []struct {
		name     string
		sources  []keyring.Source
		want     error
		contains []string
	}{
		{"no sources", nil, nil, []string{"no key sources"}},
		{"nothing set", []keyring.Source{{}}, nil, []string{"exactly one of"}},
		{"path and env", []keyring.Source{{Path: good, Env: "X", Secret: true, Alg: keyring.HS256}}, nil, []string{"exactly one of"}},
		{"env without secret", []keyring.Source{{Env: "X"}}, nil, []string{"env:X", "HMAC secret"}},
		{"inline secret", []keyring.Source{{Inline: []byte("s"), Secret: true, Alg: keyring.HS256}}, nil, []string{"inline#0"}},
		{"secret without alg", []keyring.Source{{Path: good, Secret: true}}, nil, []string{good, "alg"}},
		{"encoding without secret", []keyring.Source{{Path: good, Encoding: keyring.SecretHex}}, nil, []string{good, "encoding"}},
		{"unknown alg", []keyring.Source{{Path: good, Alg: "ES521"}}, nil, []string{"ES521"}},
		{"alg outside algs", []keyring.Source{{Path: good, Alg: keyring.ES384, Algs: []keyring.Algorithm{keyring.ES256}}}, nil, []string{"ES384"}},
		{"alg not allowed", []keyring.Source{{Path: good, Algs: []keyring.Algorithm{keyring.RS256}}}, keyring.ErrAlgNotAllowed, []string{good}},
		{"missing file", []keyring.Source{{Path: missing}}, fs.ErrNotExist, []string{missing}},
		{"env not set", []keyring.Source{{Env: "TOKENGATE_TEST_UNSET_VARIABLE", Secret: true, Alg: keyring.HS256}}, nil, []string{"env:TOKENGATE_TEST_UNSET_VARIABLE", "not set"}},
		{"weak key and missing file, both named", []keyring.Source{{Path: good}, {Path: weak}, {Path: missing}}, fs.ErrNotExist, []string{missing, weak, `"old-rsa"`}},
		{"weak key named with kid", []keyring.Source{{Path: good}, {Path: weak}}, keyring.ErrInvalidKey, []string{weak, `"old-rsa"`, "1024"}},
		{"same key in two sources", []keyring.Source{{Path: good}, {Inline: mustJSON(jwkMembers(&f.p256.PublicKey))}}, keyring.ErrDuplicateKID, []string{"inline#1", good}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := keyring.New(keyring.Config{Sources: tt.sources})
			if err == nil {
				t.Fatalf("New succeeded with %d keys", r.Snapshot().Len())
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not contain %q: %v", s, err)
				}
			}
		})
	}
}

// TestRingReloadKeepsSnapshot: every kind of broken input keeps the
// previous snapshot in use, is reported, and changes nothing for readers.
func TestRingReloadKeepsSnapshot(t *testing.T) {
	f := fixtures()
	goodDoc := jwksOf(kidJWK(&f.p256.PublicKey, "current"), kidJWK(f.ed25519.Public(), "other"))
	tests := []struct {
		name     string
		breakIt  func(t *testing.T, path string)
		want     error
		contains []string
	}{
		{"half-written file", func(t *testing.T, p string) {
			writeFile(t, filepath.Dir(p), filepath.Base(p), goodDoc[:len(goodDoc)/2])
		}, keyring.ErrMalformed, nil},
		{"empty file", func(t *testing.T, p string) { writeFile(t, filepath.Dir(p), filepath.Base(p), nil) }, keyring.ErrMalformed, nil},
		{"wrong format", func(t *testing.T, p string) {
			writeFile(t, filepath.Dir(p), filepath.Base(p), []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI key@host\n"))
		}, keyring.ErrMalformed, nil},
		{"private key", func(t *testing.T, p string) {
			replaceFile(t, p, jwksOf(jwkWith(&f.p256.PublicKey, map[string]any{"kid": "current", "d": enc64.EncodeToString(privBytes(f.p256))})))
		}, keyring.ErrPrivateKey, []string{`"current"`}},
		{"weak key only", func(t *testing.T, p string) {
			replaceFile(t, p, jwksOf(kidJWK(&f.rsa1024.PublicKey, "current", "alg", "RS256")))
		}, keyring.ErrInvalidKey, []string{`"current"`, "1024"}},
		{"secrets mixed with public keys", func(t *testing.T, p string) {
			replaceFile(t, p, jwksOf(kidJWK(&f.p256.PublicKey, "current"), kidJWK(f.hs256, "secret", "alg", "HS256")))
		}, keyring.ErrMixedKeySet, nil},
		{"duplicate kid", func(t *testing.T, p string) {
			replaceFile(t, p, jwksOf(kidJWK(&f.p256.PublicKey, "current"), kidJWK(&f.p384.PublicKey, "current")))
		}, keyring.ErrDuplicateKID, []string{`"current"`}},
		{"unreadable", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(p, 0o700); err != nil { // a directory where the file was
				t.Fatal(err)
			}
		}, nil, []string{"directory"}},
		{"too large", func(t *testing.T, p string) {
			writeFile(t, filepath.Dir(p), filepath.Base(p), bytes.Repeat([]byte(" "), keyring.MaxDocumentSize+1))
		}, keyring.ErrTooLarge, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, "jwks.json", goodDoc)
			var logs bytes.Buffer
			r, err := keyring.New(keyring.Config{
				Sources: []keyring.Source{{Path: path}},
				Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			before := r.Snapshot()
			tt.breakIt(t, path)
			err = r.Reload()
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Reload: %v, want %v", err, tt.want)
			}
			for _, s := range append([]string{path}, tt.contains...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not contain %q: %v", s, err)
				}
			}
			if r.Snapshot() != before {
				t.Fatal("snapshot replaced after a failed reload")
			}
			if _, ok := r.Snapshot().Find(nil, []byte("current"), keyring.ES256); !ok {
				t.Fatal("key lost after a failed reload")
			}
			st := r.Status()
			if st.Generation != 1 || st.ReloadsFailed != 1 || st.ReloadsOK != 1 || st.LastError == nil || st.LastError.Error() != err.Error() {
				t.Errorf("status after failure: %+v", st)
			}
			if !strings.Contains(logs.String(), "reload failed") {
				t.Errorf("failure not logged:\n%s", logs.String())
			}
			// Fix the file: the same bytes as the running snapshot, so
			// nothing changes and the error clears.
			if fi, err := os.Stat(path); err == nil && fi.IsDir() {
				os.Remove(path)
			}
			replaceFile(t, path, goodDoc)
			if err := r.Reload(); err != nil {
				t.Fatal(err)
			}
			if st := r.Status(); r.Snapshot() != before || st.Generation != 1 || st.LastError != nil || st.ReloadsOK != 2 {
				t.Errorf("after the fix: generation %d, status %+v", r.Snapshot().Generation(), st)
			}
		})
	}
}

// TestRingReloadRemovesKey: a key taken out of the file is gone from the
// next generation; the old snapshot is untouched (immutable).
func TestRingReloadRemovesKey(t *testing.T) {
	f := fixtures()
	dir := t.TempDir()
	path := writeFile(t, dir, "jwks.json", jwksOf(kidJWK(&f.p256.PublicKey, "stay"), kidJWK(f.ed25519.Public(), "go")))
	w := newStatusWatcher()
	r, err := keyring.New(keyring.Config{Sources: []keyring.Source{{Path: path}}, OnReload: w.hook})
	if err != nil {
		t.Fatal(err)
	}
	old := r.Snapshot()
	// The same bytes: no new generation.
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if r.Snapshot() != old || r.Snapshot().Generation() != 1 {
		t.Fatal("unchanged input produced a new snapshot")
	}
	replaceFile(t, path, jwksOf(kidJWK(&f.p256.PublicKey, "stay")))
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	s := r.Snapshot()
	if s.Generation() != 2 || s.Len() != 1 {
		t.Fatalf("generation %d with %d keys, want 2 with 1", s.Generation(), s.Len())
	}
	if _, ok := s.Find(nil, []byte("go"), keyring.EdDSA); ok {
		t.Fatal("removed key still found")
	}
	if _, ok := s.Find(nil, nil, keyring.EdDSA); ok {
		t.Fatal("removed key still found without kid")
	}
	if _, ok := s.Find(nil, []byte("stay"), keyring.ES256); !ok {
		t.Fatal("kept key not found")
	}
	if _, ok := old.Find(nil, []byte("go"), keyring.EdDSA); !ok || old.Len() != 2 {
		t.Fatal("the previous snapshot changed")
	}
	// Whitespace only: the same keys, so the same generation
	// (TestReorderedKeyFileKeepsGeneration).
	replaceFile(t, path, append(jwksOf(kidJWK(&f.p256.PublicKey, "stay")), '\n'))
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if g := r.Snapshot().Generation(); g != 2 {
		t.Fatalf("generation %d, want 2", g)
	}
}

// TestRingLogsNoKeyMaterial: the log names keys by source, kid and
// fingerprint, and never shows secrets or key bytes.
func TestRingLogsNoKeyMaterial(t *testing.T) {
	f := fixtures()
	dir := t.TempDir()
	secretPath := writeFile(t, dir, "hs.secret", []byte(hex.EncodeToString(f.hs256)))
	jwk := jwkMembers(&f.p256.PublicKey)
	jwksPath := writeFile(t, dir, "jwks.json", jwksOf(kidJWK(&f.p256.PublicKey, "ec"), kidJWK(&f.p384.PublicKey, "enc-key", "use", "enc")))
	var logs bytes.Buffer
	r, err := keyring.New(keyring.Config{
		Sources: []keyring.Source{{Path: secretPath, Secret: true, Encoding: keyring.SecretHex, Alg: keyring.HS256, ID: "hmac-1"}, {Path: jwksPath}},
		Logger:  slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "hs.secret", []byte(hex.EncodeToString(f.hs256[:20])))
	if err := r.Reload(); err == nil {
		t.Fatal("short secret accepted")
	}
	out := logs.String()
	ecKey, _ := r.Snapshot().Find(nil, []byte("ec"), keyring.ES256)
	for _, want := range []string{"hmac-1", ecKey.Fingerprint(), secretPath, "enc-key", "reload failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, leak := range []string{
		hex.EncodeToString(f.hs256), hex.EncodeToString(f.hs256[:20]),
		base64.RawURLEncoding.EncodeToString(f.hs256), base64.StdEncoding.EncodeToString(f.hs256[:20]),
		jwk["x"].(string), jwk["y"].(string), octThumbprint(f.hs256)[:8],
	} {
		if strings.Contains(out, leak) {
			t.Errorf("log contains key material %q:\n%s", leak, out)
		}
	}
}

// TestRingWatch: edits made by atomic rename, by a plain rewrite and by a
// Kubernetes-style "..data" symlink swap are each picked up; a broken
// write in between keeps the last good keys.
func TestRingWatch(t *testing.T) {
	f := fixtures()
	dir := t.TempDir()
	// Kubernetes volume layout: jwks.json -> ..data/jwks.json,
	// ..data -> ..v1 (a directory).
	k8s := filepath.Join(dir, "k8s")
	if err := os.MkdirAll(filepath.Join(k8s, "..v1"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(k8s, "..v1"), "jwks.json", jwksOf(kidJWK(&f.p521.PublicKey, "k8s-1")))
	if err := os.Symlink("..v1", filepath.Join(k8s, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "jwks.json"), filepath.Join(k8s, "jwks.json")); err != nil {
		t.Fatal(err)
	}
	plain := writeFile(t, dir, "plain.json", jwksOf(kidJWK(&f.p256.PublicKey, "plain-1")))
	renamed := writeFile(t, dir, "renamed.json", jwksOf(kidJWK(&f.p384.PublicKey, "renamed-1")))
	// An unrelated file in a watched directory must not matter.
	unrelated := writeFile(t, dir, "unrelated.txt", []byte("x"))

	w := newStatusWatcher()
	r, err := keyring.New(keyring.Config{
		Sources:  []keyring.Source{{Path: plain}, {Path: renamed}, {Path: filepath.Join(k8s, "jwks.json")}},
		OnReload: w.hook,
		Debounce: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.watch(t, r)

	has := func(kid string, alg keyring.Algorithm) func(keyring.Status) bool {
		return func(keyring.Status) bool {
			_, ok := r.Snapshot().Find(nil, []byte(kid), alg)
			return ok
		}
	}
	writeFile(t, dir, filepath.Base(unrelated), []byte("y"))

	replaceFile(t, renamed, jwksOf(kidJWK(&f.p384.PublicKey, "renamed-2")))
	w.waitFor(t, "atomic rename", has("renamed-2", keyring.ES384))

	writeFile(t, dir, "plain.json", jwksOf(kidJWK(&f.p256.PublicKey, "plain-2")))
	w.waitFor(t, "plain rewrite", has("plain-2", keyring.ES256))

	// A half-written file fails the reload; the keys stay.
	failed := r.Status().ReloadsFailed
	writeFile(t, dir, "plain.json", []byte(`{"keys":[{"kty":"EC",`))
	w.waitFor(t, "failed reload", func(s keyring.Status) bool { return s.ReloadsFailed > failed })
	if _, ok := r.Snapshot().Find(nil, []byte("plain-2"), keyring.ES256); !ok {
		t.Fatal("key lost after a failed reload")
	}
	writeFile(t, dir, "plain.json", jwksOf(kidJWK(&f.p256.PublicKey, "plain-3")))
	w.waitFor(t, "recovery", has("plain-3", keyring.ES256))

	// ConfigMap update: new data directory, then ..data swapped atomically.
	writeFile(t, mkdir(t, filepath.Join(k8s, "..v2")), "jwks.json", jwksOf(kidJWK(&f.p521.PublicKey, "k8s-2")))
	if err := os.Symlink("..v2", filepath.Join(k8s, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(k8s, "..data_tmp"), filepath.Join(k8s, "..data")); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "..data symlink swap", has("k8s-2", keyring.ES512))
	if _, ok := r.Snapshot().Find(nil, []byte("k8s-1"), keyring.ES512); ok {
		t.Fatal("key of the old ConfigMap version still found")
	}
}

func mkdir(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRingWatchStopsWithContext(t *testing.T) {
	f := fixtures()
	r, err := keyring.New(keyring.Config{Sources: []keyring.Source{{Inline: mustJSON(jwkMembers(&f.p256.PublicKey))}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := writeFile(t, dir, "k.json", mustJSON(jwkMembers(&f.p256.PublicKey)))
	r, err = keyring.New(keyring.Config{Sources: []keyring.Source{{Path: p}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Watch(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRingConcurrentReaders: readers look up and verify with a key that is
// in every valid version of the file, while a writer rewrites the file
// with valid, half-written, broken and reduced contents and reloads. No
// reader may ever miss the key or fail to verify. Run with -race.
func TestRingConcurrentReaders(t *testing.T) {
	f := fixtures()
	dir := t.TempDir()
	stable := kidJWK(f.ed25519.Public(), "stable")
	path := writeFile(t, dir, "jwks.json", jwksOf(stable, kidJWK(&f.p256.PublicKey, "extra")))
	r, err := keyring.New(keyring.Config{Sources: []keyring.Source{{Path: path}}})
	if err != nil {
		t.Fatal(err)
	}
	input := []byte("eyJhbGciOiJFZERTQSIsImtpZCI6InN0YWJsZSJ9.eyJzdWIiOiJyYWNlIn0")
	sig := signFor(t, keyring.EdDSA, f.ed25519, input)

	versions := [][]byte{
		jwksOf(stable, kidJWK(&f.p256.PublicKey, "extra")), // valid
		jwksOf(stable), // extra removed
		jwksOf(stable, kidJWK(&f.p384.PublicKey, "extra-2"))[:60],            // half-written
		jwksOf(stable, kidJWK(&f.rsa1024.PublicKey, "weak", "alg", "RS256")), // weak key
		jwksOf(stable, kidJWK(&f.p256.PublicKey, "stable")),                  // duplicate kid
		nil, // empty
		jwksOf(kidJWK(&f.p521.PublicKey, "extra-3"), stable), // valid, reordered
	}

	var (
		stop     atomic.Bool
		lookups  atomic.Int64
		failures atomic.Int64
		wg       sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				k, ok := r.Snapshot().Find(nil, []byte("stable"), keyring.EdDSA)
				if !ok || k.Alg() != keyring.EdDSA || !k.Verify(input, sig) {
					failures.Add(1)
				}
				lookups.Add(1)
			}
		}()
	}
	var okReloads, failedReloads int
	for i := range 300 {
		v := versions[i%len(versions)]
		if i%2 == 0 {
			replaceFile(t, path, v)
		} else {
			writeFile(t, dir, "jwks.json", v)
		}
		if err := r.Reload(); err != nil {
			failedReloads++
		} else {
			okReloads++
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d lookups failed to find or verify the stable key", n, lookups.Load())
	}
	st := r.Status()
	if okReloads == 0 || failedReloads == 0 || st.ReloadsFailed != uint64(failedReloads) || st.ReloadsOK != uint64(okReloads)+1 {
		t.Fatalf("reloads ok %d failed %d, status %+v", okReloads, failedReloads, st)
	}
	t.Logf("%d lookups, %d reloads ok, %d failed, final generation %d", lookups.Load(), okReloads, failedReloads, st.Generation)
}

// TestReorderedKeyFileKeepsGeneration: a key file rewritten with the same
// keys in another order or layout keeps the generation (cached results stay
// valid); a changed binding (here the issuer) is a new generation.
func TestReorderedKeyFileKeepsGeneration(t *testing.T) {
	f := fixtures()
	a, b := kidJWK(&f.p256.PublicKey, "a"), kidJWK(f.ed25519.Public(), "b")
	path := writeFile(t, t.TempDir(), "jwks.json", jwksOf(a, b))
	r, err := keyring.New(keyring.Config{Sources: []keyring.Source{{Path: path}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range [][]byte{jwksOf(b, a), append(jwksOf(a, b), '\n', '\n')} {
		replaceFile(t, path, doc)
		if err := r.Reload(); err != nil {
			t.Fatal(err)
		}
		if g := r.Snapshot().Generation(); g != 1 {
			t.Fatalf("same keys rewritten: generation %d, want 1", g)
		}
	}
	if err := r.Reconfigure([]keyring.Source{{Path: path, Issuer: "https://idp.example"}}); err != nil {
		t.Fatal(err)
	}
	if g := r.Snapshot().Generation(); g != 2 {
		t.Fatalf("keys bound to an issuer: generation %d, want 2", g)
	}
}
