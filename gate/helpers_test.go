package gate_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedClock() time.Time { return testNow }

var (
	keysOnce sync.Once
	esPriv   any
	hsSecret = bytes.Repeat([]byte("gate-test-secret"), 3)
)

// env is a gate over a static key set: an ES256 key (kid "es") and an
// HS256 secret (kid "hs", client "batch").
type env struct {
	g      *gate.Gate
	keys   *keyring.Snapshot
	es, hs *signer.Signer
}

// newEnv builds a gate from gate.DefaultConfig changed by mutate, with the
// default policy and the fixed clock.
func newEnv(t testing.TB, mutate func(*gate.Config), opts ...func(*gate.Options)) *env {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if esPriv, err = signer.GenerateKey(keyring.ES256); err != nil {
			panic(err)
		}
	})
	pub, _ := signer.Public(esPriv)
	esKey, err := keyring.NewKey(pub, keyring.Options{ID: "es", Alg: keyring.ES256})
	if err != nil {
		t.Fatal(err)
	}
	hsKey, err := keyring.NewKey(hsSecret, keyring.Options{ID: "hs", Alg: keyring.HS256, Client: "batch"})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := keyring.NewSnapshot(1, esKey, hsKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gate.DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	o := gate.Options{Keys: snap, Now: fixedClock}
	for _, f := range opts {
		f(&o)
	}
	g, err := gate.New(cfg, verifier.Options{Policy: verifier.DefaultPolicy(), Now: fixedClock}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	e := &env{g: g, keys: snap}
	if e.es, err = signer.New(keyring.ES256, esPriv, "es"); err != nil {
		t.Fatal(err)
	}
	if e.hs, err = signer.New(keyring.HS256, hsSecret, "hs"); err != nil {
		t.Fatal(err)
	}
	return e
}

// claims are a realistic token's claims, changed by over (nil deletes).
func claims(over map[string]any) []byte {
	c := map[string]any{
		"iss":          "https://idp.example.com",
		"sub":          "user-42",
		"exp":          testNow.Add(10 * time.Minute).Unix(),
		"iat":          testNow.Add(-time.Minute).Unix(),
		"scope":        "orders:read orders:write",
		"realm_access": map[string]any{"roles": []string{"viewer", "auditor"}},
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	b, _ := json.Marshal(c)
	return b
}

func sign(t testing.TB, s *signer.Signer, over map[string]any) string {
	t.Helper()
	tok, err := s.Sign(claims(over))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// req describes one request to check.
type req struct {
	method, target string
	auth           []string // Authorization header values
	cookies        []string // Cookie header values
}

func bearer(tok string) req { return req{auth: []string{"Bearer " + tok}} }

func (e *env) check(r req) *gate.Decision {
	gr := gate.AcquireRequest()
	defer gate.ReleaseRequest(gr)
	if r.method == "" {
		r.method = "GET"
	}
	if r.target == "" {
		r.target = "/orders/7"
	}
	gr.Method, gr.Target = []byte(r.method), []byte(r.target)
	for _, a := range r.auth {
		gr.AddAuthorization([]byte(a))
	}
	for _, c := range r.cookies {
		gr.AddCookieHeader([]byte(c))
	}
	d := new(gate.Decision)
	e.g.Check(gr, testNow, d)
	return d
}

// header returns the value of the named header to set, and whether it is
// set.
func header(d *gate.Decision, name string) (string, bool) {
	for _, h := range d.Set {
		if strings.EqualFold(string(h.Name), name) {
			return string(h.Value), true
		}
	}
	return "", false
}
