package sidecar_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/internal/testenv"
	"github.com/tokengate/tokengate/revocation"
	"github.com/tokengate/tokengate/verifier"
)

// admin runs one request through the admin handler. A RequestCtx made in
// a test has no loopback address, so /revocations needs the token.
func admin(f *fixture, method, uri, body, token string) (int, string) {
	var ctx fastCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	if body != "" {
		ctx.Request.SetBodyString(body)
	}
	if token != "" {
		ctx.Request.Header.Set("Authorization", "Bearer "+token)
	}
	f.srv.HandleAdmin(&ctx.RequestCtx)
	return ctx.Response.StatusCode(), string(ctx.Response.Body())
}

func withRevocations(store *revocation.Store, token string) func(*verifier.Options, *serverOptions) {
	return func(_ *verifier.Options, o *serverOptions) {
		o.Revocations = store
		o.AdminToken = []byte(token)
	}
}

func TestRevokedJTIDeniedEvenWhenCached(t *testing.T) {
	store := revocation.NewStore(revocation.Options{Now: fixedClock})
	f := newFixtureOpts(t, nil, withRevocations(store, "s3cret-admin"))
	tok := sign(t, f.es, map[string]any{"jti": "tok-1"})
	other := sign(t, f.es, map[string]any{"jti": "tok-2"})
	waitCached(t, f, func() {
		if r := do(f, bearer(tok)); r.StatusCode() != 200 {
			t.Fatalf("before revocation: %d", r.StatusCode())
		}
	})

	code, body := admin(f, "POST", "/revocations", `{"jti":"tok-1","reason":"laptop stolen"}`, "s3cret-admin")
	if code != 201 {
		t.Fatalf("POST /revocations = %d %s", code, body)
	}
	hits := cacheHits(f)
	r := do(f, bearer(tok))
	if r.StatusCode() != 401 || !strings.Contains(string(r.Header.Peek("WWW-Authenticate")), `error_description="token revoked"`) {
		t.Fatalf("revoked token: %d %q", r.StatusCode(), r.Header.Peek("WWW-Authenticate"))
	}
	if cacheHits(f) <= hits {
		t.Fatal("the revoked token was not a cache hit: the test proves nothing about hits")
	}
	if r := do(f, bearer(other)); r.StatusCode() != 200 {
		t.Fatalf("another token of the same user: %d", r.StatusCode())
	}

	code, body = admin(f, "GET", "/revocations", "", "s3cret-admin")
	if code != 200 || !strings.Contains(body, `"jti": "tok-1"`) || !strings.Contains(body, `"reason": "laptop stolen"`) {
		t.Fatalf("GET /revocations = %d %s", code, body)
	}
	code, body = admin(f, "DELETE", "/revocations?jti=tok-1", "", "s3cret-admin")
	if code != 200 {
		t.Fatalf("DELETE = %d %s", code, body)
	}
	if r := do(f, bearer(tok)); r.StatusCode() != 200 {
		t.Fatalf("after DELETE the token is still denied: %d", r.StatusCode())
	}
	if code, _ := admin(f, "DELETE", "/revocations?jti=tok-1", "", "s3cret-admin"); code != 404 {
		t.Fatalf("DELETE of a missing rule = %d, want 404", code)
	}
}

func TestSubjectCutoffOverHTTP(t *testing.T) {
	store := revocation.NewStore(revocation.Options{Now: fixedClock})
	f := newFixtureOpts(t, nil, withRevocations(store, "tok"))
	old := sign(t, f.es, map[string]any{"iat": testNow.Add(-2 * time.Hour).Unix()})
	fresh := sign(t, f.es, map[string]any{"iat": testNow.Add(time.Second).Unix()})
	noIat := sign(t, f.es, map[string]any{"iat": nil})
	// "Log out everywhere" at testNow: body without "before" means now.
	if code, body := admin(f, "POST", "/revocations", `{"sub":"user-42","iss":"https://idp.example.com"}`, "tok"); code != 201 {
		t.Fatalf("POST = %d %s", code, body)
	}
	for name, c := range map[string]struct {
		tok  string
		want int
	}{"issued before": {old, 401}, "issued after": {fresh, 200}, "without iat": {noIat, 401}} {
		if r := do(f, bearer(c.tok)); r.StatusCode() != c.want {
			t.Errorf("%s: %d, want %d", name, r.StatusCode(), c.want)
		}
	}
}

func TestRevocationAdminAuth(t *testing.T) {
	store := revocation.NewStore(revocation.Options{})
	f := newFixtureOpts(t, nil, withRevocations(store, "right-token"))
	for _, tok := range []string{"", "wrong-token", "right-tokenX", "right-toke"} {
		code, body := admin(f, "POST", "/revocations", `{"jti":"x"}`, tok)
		if code != 401 || strings.Contains(body, "right-token") {
			t.Errorf("token %q: %d %s", tok, code, body)
		}
	}
	if store.Len() != 0 {
		t.Fatal("an unauthorised request revoked something")
	}
	for body, want := range map[string]string{
		`{"jti":""}`:                  "jti",
		`{"JTI":"x"}`:                 "unknown member",
		`{"sub":"u","before":"soon"}`: "before",
		`{"jti":"a","sub":"b"}`:       "not both",
		`not json`:                    "JSON",
	} {
		code, got := admin(f, "POST", "/revocations", body, "right-token")
		if code != 400 || !strings.Contains(got, want) {
			t.Errorf("POST %s = %d %s; want 400 naming %q", body, code, got, want)
		}
	}
	if code, _ := admin(f, "PUT", "/revocations", "", "right-token"); code != 405 {
		t.Errorf("PUT = %d", code)
	}
	if code, _ := admin(f, "DELETE", "/revocations", "", "right-token"); code != 400 {
		t.Errorf("DELETE without a key = %d", code)
	}
}

// TestRevocationsWithoutTokenOnlyOnLoopback serves the admin listener for
// real: without an admin token, a loopback connection may revoke and one
// to another address may not.
func TestRevocationsWithoutTokenOnlyOnLoopback(t *testing.T) {
	store := revocation.NewStore(revocation.Options{})
	f := newFixtureOpts(t, nil, withRevocations(store, ""))
	_, adminURL := serve(t, f)
	resp, err := http.Post(adminURL+"/revocations", "application/json", strings.NewReader(`{"jti":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || store.Len() != 1 {
		t.Fatalf("loopback POST = %d, rules %d", resp.StatusCode, store.Len())
	}
	// Another address of this machine, if it has one.
	url, ok := serveOffLoopback(t, newFixtureOpts(t, nil, withRevocations(store, "")))
	if !ok {
		return
	}
	resp, err = http.Post(url+"/revocations", "application/json", strings.NewReader(`{"jti":"y"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "admin.token_file") || store.Len() != 1 {
		t.Fatalf("non-loopback POST without token = %d %s", resp.StatusCode, body)
	}
}

func nonLoopbackIP() net.IP {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP
		}
	}
	return nil
}

// serve runs f's server on loopback listeners and returns the base URLs.
func serve(t *testing.T, f *fixture) (verifyURL, adminURL string) {
	t.Helper()
	vln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go f.srv.Serve(vln, aln)
	t.Cleanup(func() { f.srv.Shutdown(context.Background()) })
	return "http://" + vln.Addr().String(), "http://" + aln.Addr().String()
}

// replica is one sidecar with its own revocation store and Redis link.
type replica struct {
	f                   *fixture
	store               *revocation.Store
	sync                *revocation.Sync
	verifyURL, adminURL string
	clientName          string
}

func newReplica(t *testing.T, addr, prefix, name string) *replica {
	c := redis.NewClient(&redis.Options{Addr: addr, ClientName: name})
	store := revocation.NewStore(revocation.Options{MaxTokenLifetime: time.Hour})
	sy, err := revocation.NewSync(store, revocation.SyncOptions{Client: c, Prefix: prefix, ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sy.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; c.Close() })
	// Real clocks: Redis TTLs are real time.
	f := newFixtureOpts(t, nil, func(vo *verifier.Options, so *serverOptions) {
		vo.Now, so.Now = nil, nil
		so.Revocations, so.RevocationSync, so.AdminToken = store, sy, []byte("admin-secret")
	})
	r := &replica{f: f, store: store, sync: sy, clientName: name}
	r.verifyURL, r.adminURL = serve(t, f)
	return r
}

func (r *replica) verify(t *testing.T, tok string) int {
	req, _ := http.NewRequest("GET", r.verifyURL+"/verify", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (r *replica) admin(t *testing.T, method, path, body string) (int, string) {
	req, _ := http.NewRequest(method, r.adminURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer admin-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

// TestTwoSidecarsShareRevocationsThroughRedis: two sidecars, each with its
// own state, share only the machine's Redis. A jti revoked through one is
// denied by the other within a second, cache hits included; after the
// other's Redis connections are killed its set is rebuilt from Redis.
func TestTwoSidecarsShareRevocationsThroughRedis(t *testing.T) {
	addr := testenv.RedisAddr(t)
	var rnd [6]byte
	rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	prefix := "tokengate-test:" + id + ":"
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		if keys, _ := c.Keys(context.Background(), prefix+"*").Result(); len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
	a := newReplica(t, addr, prefix, "tg-test-a-"+id)
	b := newReplica(t, addr, prefix, "tg-test-b-"+id)
	testenv.Eventually(t, 5*time.Second, "initial sync", func() bool { return a.sync.Status().Resyncs > 0 && b.sync.Status().Resyncs > 0 })

	now := time.Now()
	claims := func(jti string, iat time.Time) map[string]any {
		return map[string]any{"jti": jti, "iat": iat.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	}
	tok := sign(t, a.f.es, claims("shared-1", now.Add(-time.Minute)))
	for _, r := range []*replica{a, b} {
		for range 3 { // the later ones are cache hits
			if code := r.verify(t, tok); code != 200 {
				t.Fatalf("before revocation: %d", code)
			}
		}
	}

	code, body := a.admin(t, "POST", "/revocations", `{"jti":"shared-1","exp":`+fmt.Sprint(now.Add(10*time.Minute).Unix())+`}`)
	if code != 201 || !strings.Contains(body, `"shared": true`) {
		t.Fatalf("POST through A = %d %s", code, body)
	}
	took := testenv.Eventually(t, time.Second, "B denies the jti revoked through A", func() bool { return b.verify(t, tok) == 401 })
	t.Logf("B denied the token %v after A's revocation", took)
	if code := a.verify(t, tok); code != 401 {
		t.Fatalf("A accepts the token it revoked: %d", code)
	}

	// Per-subject cutoff through B, seen by A.
	cut := now.Truncate(time.Second)
	oldClaims, laterClaims := claims("s-old", cut.Add(-time.Minute)), claims("s-new", cut.Add(2*time.Second))
	oldClaims["sub"], laterClaims["sub"] = "user-7", "user-7"
	old, later := sign(t, a.f.es, oldClaims), sign(t, a.f.es, laterClaims)
	if code, body := b.admin(t, "POST", "/revocations", `{"sub":"user-7","before":`+fmt.Sprint(cut.Unix())+`}`); code != 201 {
		t.Fatalf("POST sub through B = %d %s", code, body)
	}
	testenv.Eventually(t, time.Second, "A applies B's cutoff", func() bool { return a.verify(t, old) == 401 })
	if code := a.verify(t, later); code != 200 {
		t.Fatalf("token issued after the cutoff denied: %d", code)
	}

	// Undo the jti rule in Redis without an announcement B could hear, then
	// cut B off: only the full reload after reconnecting can show it.
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	keys, _ := admin.Keys(t.Context(), prefix+"jti:*").Result()
	if len(keys) != 1 {
		t.Fatalf("want one jti rule in Redis, found %v", keys)
	}
	admin.Del(t.Context(), keys...)
	resyncs := b.sync.Status().Resyncs
	if mustKill(t, admin, b.clientName) == 0 {
		t.Fatal("no connection of B found to kill")
	}
	testenv.Eventually(t, 10*time.Second, "B reloads after reconnecting", func() bool { return b.sync.Status().Resyncs > resyncs })
	if code := b.verify(t, tok); code != 200 {
		t.Fatalf("B's set was not rebuilt from Redis (rule removed there): %d", code)
	}
	if code := b.verify(t, old); code != 401 {
		t.Fatalf("B lost the subject cutoff over the reconnection: %d", code)
	}

	// Metrics and readiness show the link.
	m := metricsText(b.f)
	for _, want := range []string{"tokengate_revocation_rules 1", "tokengate_revocation_redis_connected 1", "tokengate_revocation_sync_lag_seconds", "tokengate_revocation_last_sync_timestamp_seconds"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	_, ready := b.admin(t, "GET", "/readyz", "")
	var rep struct {
		Rules *int `json:"revocation_rules"`
		Redis struct {
			Connected bool `json:"connected"`
		} `json:"revocation_redis"`
	}
	if err := json.Unmarshal([]byte(ready), &rep); err != nil || rep.Rules == nil || *rep.Rules != 1 || !rep.Redis.Connected {
		t.Errorf("readyz: %s", ready)
	}
}

func metricsText(f *fixture) string {
	var ctx fastCtx
	ctx.Request.SetRequestURI("/metrics")
	f.srv.HandleAdmin(&ctx.RequestCtx)
	return string(ctx.Response.Body())
}

type fastCtx struct{ fasthttp.RequestCtx }

// mustKill is testenv.KillRedisClient failing t on error.
func mustKill(t *testing.T, admin *redis.Client, name string) int {
	n, err := testenv.KillRedisClient(t.Context(), admin, name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
