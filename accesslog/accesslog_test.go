package accesslog_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"log/slog"

	"github.com/tokengate/tokengate/accesslog"
	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/internal/testenv"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// records parses the JSON records written to out.
func records(t *testing.T, out *testenv.SyncBuffer) []map[string]any {
	var out2 []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("record %q: %v", line, err)
		}
		out2 = append(out2, m)
	}
	return out2
}

type env struct {
	g    *gate.Gate
	log  *accesslog.Log
	out  *testenv.SyncBuffer
	sign func(claims string) string
}

func newEnv(t *testing.T, o accesslog.Options) *env {
	t.Helper()
	priv, err := signer.GenerateKey(keyring.ES256)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := signer.Public(priv)
	k, _ := keyring.NewKey(pub, keyring.Options{ID: "k1", Alg: keyring.ES256})
	snap, _ := keyring.NewSnapshot(1, k)
	s, _ := signer.New(keyring.ES256, priv, "k1")
	out := &testenv.SyncBuffer{}
	o.Logger = slog.New(slog.NewJSONHandler(out, nil))
	if o.Now == nil {
		o.Now = func() time.Time { return testNow.Add(time.Millisecond) }
	}
	l, err := accesslog.New(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gate.DefaultConfig()
	cfg.Routes = []gate.Route{{Prefix: "/admin", Scopes: []string{"admin"}}}
	g, err := gate.New(cfg, verifier.Options{Policy: verifier.DefaultPolicy(), Now: func() time.Time { return testNow }},
		gate.Options{Keys: snap, Now: func() time.Time { return testNow }, Observer: l})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return &env{g: g, log: l, out: out, sign: func(claims string) string {
		tok, err := s.Sign([]byte(claims))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}}
}

func (e *env) check(method, target, token string, extra func(*gate.Request)) *gate.Decision {
	r := &gate.Request{Method: []byte(method), Target: []byte(target)}
	if token != "" {
		r.AddAuthorization([]byte("Bearer " + token))
	}
	if extra != nil {
		extra(r)
	}
	d := new(gate.Decision)
	e.g.Check(r, testNow, d)
	return d
}

func claims(sub string, extra string) string {
	return `{"sub":"` + sub + `","iss":"https://idp.example","exp":` + itoa(testNow.Add(time.Hour).Unix()) +
		`,"iat":` + itoa(testNow.Unix()) + extra + `}`
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestDeniedRecordsRefusalsOnly: the default mode writes one record per
// refusal, with what an operator needs and without the token; allowed
// requests write nothing.
func TestDeniedRecordsRefusalsOnly(t *testing.T) {
	e := newEnv(t, accesslog.Options{Mode: accesslog.Denied})
	good := e.sign(claims("alice@example.com", ""))
	e.check("GET", "/orders", good, nil)
	d := e.check("DELETE", "/admin/x?q=1", good, func(r *gate.Request) {
		r.TraceParent = []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		r.RequestID = []byte("req-123")
	})
	if d.Status != 403 {
		t.Fatalf("status %d", d.Status)
	}
	e.check("GET", "/orders", "garbage.garbage.garbage", nil)
	recs := records(t, e.out)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2 (refusals only): %v", len(recs), recs)
	}
	r := recs[0]
	for k, want := range map[string]any{
		"msg": "access", "decision": "forbidden", "status": float64(403), "reason": "insufficient scope",
		"method": "DELETE", "path": "/admin/x", "alg": "ES256", "kid": "k1", "iss": "https://idp.example",
		"cache": "miss", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "request_id": "req-123", "latency": float64(time.Millisecond),
	} {
		if r[k] != want {
			t.Errorf("record[%q] = %v, want %v", k, r[k], want)
		}
	}
	if sub, _ := r["sub"].(string); !strings.HasPrefix(sub, "h:") || strings.Contains(sub, "alice") {
		t.Errorf("subject %q, want a keyed hash by default", sub)
	}
	all := e.out.String()
	if strings.Contains(all, good) || strings.Contains(all, "garbage.garbage") || strings.Contains(all, strings.Split(good, ".")[2]) {
		t.Error("a token reached the access log")
	}
}

// TestSubjectModes: plain, hashed (stable within a process) or absent.
func TestSubjectModes(t *testing.T) {
	for mode, check := range map[accesslog.Subject]func(string) bool{
		accesslog.SubjectPlain: func(s string) bool { return s == "bob" },
		accesslog.SubjectHash:  func(s string) bool { return strings.HasPrefix(s, "h:") && s != "h:" },
		accesslog.SubjectOff:   func(s string) bool { return s == "" },
	} {
		e := newEnv(t, accesslog.Options{Mode: accesslog.All, Subject: mode})
		tok := e.sign(claims("bob", ""))
		e.check("GET", "/x", tok, nil)
		e.check("GET", "/y", tok, nil)
		recs := records(t, e.out)
		s0, _ := recs[0]["sub"].(string)
		s1, _ := recs[1]["sub"].(string)
		if !check(s0) || s0 != s1 {
			t.Errorf("subject mode %d: %q, %q", mode, s0, s1)
		}
	}
}

// TestFloodCannotFillTheDisk: at most PerSecond records a second; the
// rest are counted.
func TestFloodCannotFillTheDisk(t *testing.T) {
	e := newEnv(t, accesslog.Options{Mode: accesslog.Denied, PerSecond: 5})
	for range 50 {
		e.check("GET", "/x", "a.b.c", nil)
	}
	if n := len(records(t, e.out)); n != 5 {
		t.Errorf("%d records in one second, want 5", n)
	}
	if e.log.Written() != 5 || e.log.Dropped() != 45 {
		t.Errorf("written %d dropped %d", e.log.Written(), e.log.Dropped())
	}
}

// TestUnreadablePathLoggedAsSent: a target that cannot be normalised is
// logged as sent (escaped by the handler), never dropped silently.
func TestUnreadablePathLoggedAsSent(t *testing.T) {
	e := newEnv(t, accesslog.Options{Mode: accesslog.Denied})
	e.check("GET", "/a/%2e%2e/%2e%2e/b\r\nX: y", "", nil)
	recs := records(t, e.out)
	if len(recs) != 1 || recs[0]["target"] != "/a/%2e%2e/%2e%2e/b\r\nX: y" || recs[0]["decision"] != "bad_request" {
		t.Errorf("records %v", recs)
	}
	if strings.Count(e.out.String(), "\n") != 1 {
		t.Error("a request value split a record across lines")
	}
}

func TestParseModes(t *testing.T) {
	if _, err := accesslog.ParseMode("sometimes"); err == nil {
		t.Error("unknown mode accepted")
	}
	if _, err := accesslog.ParseSubject("rot13"); err == nil {
		t.Error("unknown subject mode accepted")
	}
}
