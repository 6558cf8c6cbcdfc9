package loadtest_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/loadtest"
)

func run(t *testing.T, c loadtest.Config) *loadtest.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := loadtest.Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checkPercentiles(t *testing.T, name string, p loadtest.Percentiles) {
	t.Helper()
	if p.Count == 0 || !(p.P50 > 0 && p.P50 <= p.P90 && p.P90 <= p.P99 && p.P99 <= p.P999 && p.P999 <= p.Max) {
		t.Errorf("%s percentiles not set or not ordered: %+v", name, p)
	}
}

func TestClosedLoopNoop(t *testing.T) {
	var progress bytes.Buffer
	r := run(t, loadtest.Config{Target: loadtest.TargetNoop, Duration: 300 * time.Millisecond, Connections: 4, Tokens: 10,
		Progress: &syncWriter{w: &progress}, ProgressInterval: 100 * time.Millisecond})
	if r.Completed == 0 || r.Status["200"] != r.Completed || r.Sent != r.Completed {
		t.Errorf("want only 200s: sent %d completed %d status %v", r.Sent, r.Completed, r.Status)
	}
	if r.Errors.Total != 0 || r.WrongAnswers != 0 {
		t.Errorf("errors %+v, wrong answers %d", r.Errors, r.WrongAnswers)
	}
	checkPercentiles(t, "latency", r.Latency)
	if r.Latency.Count != r.Sent || r.ServiceTime != nil {
		t.Errorf("latency count %d for %d sent; service time %v in closed loop", r.Latency.Count, r.Sent, r.ServiceTime)
	}
	if r.ElapsedSeconds < 0.3 || r.ElapsedSeconds > 5 || r.Throughput <= 0 {
		t.Errorf("elapsed %.3fs, throughput %.0f", r.ElapsedSeconds, r.Throughput)
	}
	if !strings.Contains(progress.String(), "rps") || !strings.Contains(progress.String(), "p99") {
		t.Errorf("no progress line: %q", progress.String())
	}
}

type syncWriter struct{ w *bytes.Buffer }

// Write is called by the one progress goroutine only; the test reads the
// buffer after Run returned.
func (s *syncWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

func TestOpenLoopSendsAtRate(t *testing.T) {
	const rate, d = 500, 400 * time.Millisecond
	r := run(t, loadtest.Config{Target: loadtest.TargetNoop, Mode: loadtest.Open, Rate: rate, Duration: d, Connections: 8, Tokens: 10})
	want := int64(rate * d.Seconds())
	if r.Scheduled != want || r.Sent < want-2 || r.Sent > want || r.Unsent != want-r.Sent {
		t.Errorf("scheduled %d sent %d unsent %d, want about %d", r.Scheduled, r.Sent, r.Unsent, want)
	}
	if r.ElapsedSeconds < 0.35 || r.ElapsedSeconds > 3 {
		t.Errorf("elapsed %.3fs for a %s schedule", r.ElapsedSeconds, d)
	}
	if r.Status["200"] != r.Sent || r.Errors.Total != 0 {
		t.Errorf("status %v errors %+v", r.Status, r.Errors)
	}
	checkPercentiles(t, "latency", r.Latency)
	if r.ServiceTime == nil {
		t.Fatal("open loop without service time")
	}
	checkPercentiles(t, "service time", *r.ServiceTime)
}

// startSlow serves 200 after delay on a loopback port.
func startSlow(t *testing.T, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The sleep is the injected service time under test, not a wait for an event.
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { time.Sleep(delay) }}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String() + "/verify"
}

// TestOpenLoopMeasuresFromSchedule: two workers against a 20 ms server
// manage 100 requests/s; at 500/s the schedule runs ahead of them. The
// latency, measured from each request's intended send time, must show the
// queueing (the last request is due at 0.4 s and answered near 2 s), while
// the service time stays near 20 ms: coordinated omission is not hidden.
func TestOpenLoopMeasuresFromSchedule(t *testing.T) {
	const delay = 20 * time.Millisecond
	url := startSlow(t, delay)
	r := run(t, loadtest.Config{URL: url, Mode: loadtest.Open, Rate: 500, Duration: 400 * time.Millisecond, Connections: 2, Tokens: 10})
	if r.Sent != 200 || r.Status["200"] != 200 {
		t.Fatalf("sent %d, status %v, errors %+v", r.Sent, r.Status, r.Errors)
	}
	if r.ServiceTime == nil || r.ServiceTime.P50 < float64(delay.Microseconds()) || r.ServiceTime.P50 > float64(5*delay.Microseconds()) {
		t.Errorf("service time p50 %v, want about %v", r.ServiceTime, delay)
	}
	if r.Latency.Max < 1e6 || r.Latency.P50 < 10*float64(delay.Microseconds()) {
		t.Errorf("latency from the schedule p50 %.0fµs max %.0fµs: queueing hidden", r.Latency.P50, r.Latency.Max)
	}
	if r.Config.Target != "url" || r.Config.URL != url {
		t.Errorf("config %+v", r.Config)
	}
}

func TestTokengateMix(t *testing.T) {
	r := run(t, loadtest.Config{
		Target: loadtest.TargetTokengate, Connections: 8, Duration: 20 * time.Second, Requests: 1000, Tokens: 100,
		Algs:    []loadtest.AlgWeight{{Alg: keyring.ES256, Weight: 0.7}, {Alg: keyring.HS256, Weight: 0.3}},
		Invalid: 0.2, Expired: 0.1,
	})
	// 1000 requests round robin over 100 tokens: exactly 10 passes.
	want := map[string]int64{"200": 700, "401": 300}
	if !reflect.DeepEqual(r.Status, want) || !reflect.DeepEqual(r.Expected, want) {
		t.Errorf("status %v, expected %v, want %v", r.Status, r.Expected, want)
	}
	if r.WrongAnswers != 0 || r.Errors.Total != 0 || r.Sent != 1000 {
		t.Errorf("wrong answers %d, errors %+v, sent %d", r.WrongAnswers, r.Errors, r.Sent)
	}
	if k := r.Workload.Kinds; k[loadtest.KindValid] != 70 || k[loadtest.KindInvalid] != 20 || k[loadtest.KindExpired] != 10 {
		t.Errorf("kinds %v", k)
	}
	if a := r.Workload.Algs; a["ES256"] != 70 || a["HS256"] != 30 {
		t.Errorf("algs %v", a)
	}
	checkPercentiles(t, "latency", r.Latency)
}

// requireStore skips when addr does not answer, unless
// TOKENGATE_INTEGRATION=require, then it fails.
func requireStore(t *testing.T, name, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return
	}
	if os.Getenv("TOKENGATE_INTEGRATION") == "require" {
		t.Fatalf("%s at %s unreachable and TOKENGATE_INTEGRATION=require: %v", name, addr, err)
	}
	t.Skipf("%s at %s unreachable (set TOKENGATE_INTEGRATION=require to fail): %v", name, addr, err)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func TestSessionTargets(t *testing.T) {
	redisURL := envOr("TOKENGATE_REDIS_URL", loadtest.DefaultRedisURL)
	pgDSN := envOr("TOKENGATE_PG_DSN", loadtest.DefaultPostgresDSN)
	for _, kind := range []loadtest.TargetKind{loadtest.TargetSessionRedis, loadtest.TargetSessionPostgres} {
		t.Run(string(kind), func(t *testing.T) {
			if kind == loadtest.TargetSessionRedis {
				o, err := redis.ParseURL(redisURL)
				if err != nil {
					t.Fatal(err)
				}
				requireStore(t, "Redis", o.Addr)
			} else {
				c, err := pgx.ParseConfig(pgDSN)
				if err != nil {
					t.Fatal(err)
				}
				requireStore(t, "PostgreSQL", net.JoinHostPort(c.Host, itoa(int(c.Port))))
			}
			r := run(t, loadtest.Config{Target: kind, Connections: 8, Duration: 10 * time.Second, Requests: 500, Tokens: 50,
				Invalid: 0.2, Expired: 0.1, RedisURL: redisURL, PostgresDSN: pgDSN, Rows: 10_000})
			want := map[string]int64{"200": 350, "401": 150}
			if !reflect.DeepEqual(r.Status, want) || r.WrongAnswers != 0 || r.Errors.Total != 0 {
				t.Errorf("status %v (want %v), wrong %d, errors %+v", r.Status, want, r.WrongAnswers, r.Errors)
			}
			if r.Workload.Credential != "session cookie" {
				t.Errorf("credential %q", r.Workload.Credential)
			}
		})
	}
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8181/verify", true},
		{"http://127.5.6.7/", true},
		{"http://localhost:8181/verify", true},
		{"http://LOCALHOST/", true},
		{"http://[::1]:8181/verify", true},
		{"http://[::ffff:127.0.0.1]:80/", true},
		{"http://10.0.0.1:8181/verify", false},
		{"http://example.com/verify", false},
		{"http://localhost.example.com/", false},
		{"http://0.0.0.0:8181/", false},
		{"http://[::]:8181/", false},
		{"http://192.168.1.1/", false},
		{"https://127.0.0.1/", false}, // only plain http
		{"127.0.0.1:8181", false},
	}
	for _, tt := range tests {
		_, err := loadtest.CheckLoopbackURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("CheckLoopbackURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
	// Run refuses before minting or sending anything.
	for _, u := range []string{"http://10.0.0.1:8181/verify", "http://example.com/"} {
		_, err := loadtest.Run(context.Background(), loadtest.Config{URL: u, Duration: time.Second})
		if !errors.Is(err, loadtest.ErrNotLoopback) {
			t.Errorf("Run(%s): %v, want ErrNotLoopback", u, err)
		}
	}
}

func TestReports(t *testing.T) {
	r := run(t, loadtest.Config{Target: loadtest.TargetNoop, Mode: loadtest.Open, Rate: 200, Duration: 100 * time.Millisecond, Connections: 2, Tokens: 5})
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"latency_us"`, `"p99_9"`, `"wrong_answers"`, `"expected_status"`, `"config"`, `"status"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	back, err := loadtest.ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("JSON round trip differs:\n%+v\n%+v", back, r)
	}
	buf.Reset()
	if err := r.WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, s := range []string{"| target | mode | conns | requests | rps | p50 µs", "| noop | open @200/s | 2 |", "| status | answers | expected |", "| 200 |"} {
		if !strings.Contains(md, s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md)
		}
	}
}

func TestParseAlgMix(t *testing.T) {
	m, err := loadtest.ParseAlgMix("ES256:0.7, HS256:0.3,EdDSA")
	want := []loadtest.AlgWeight{{Alg: keyring.ES256, Weight: 0.7}, {Alg: keyring.HS256, Weight: 0.3}, {Alg: keyring.EdDSA, Weight: 1}}
	if err != nil || !reflect.DeepEqual(m, want) {
		t.Fatalf("ParseAlgMix = %v, %v", m, err)
	}
	if s := loadtest.FormatAlgMix(m); s != "ES256:0.7,HS256:0.3,EdDSA:1" {
		t.Errorf("FormatAlgMix = %q", s)
	}
	for _, bad := range []string{"", "none:1", "ES256:0", "ES256:-1", "ES256:x", "XX999"} {
		if _, err := loadtest.ParseAlgMix(bad); err == nil {
			t.Errorf("ParseAlgMix(%q) accepted", bad)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for name, c := range map[string]loadtest.Config{
		"open without rate": {Target: loadtest.TargetNoop, Mode: loadtest.Open},
		"unknown mode":      {Target: loadtest.TargetNoop, Mode: "sideways"},
		"unknown target":    {Target: "mainframe"},
		"fractions > 1":     {Target: loadtest.TargetNoop, Invalid: 0.6, Expired: 0.5},
	} {
		if _, err := loadtest.Run(context.Background(), c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestKeyDirReuse: a second run with the same KeyDir signs with the same
// keys, so a sidecar started with the first run's keys (here a Target; in
// practice one given keys.jwks.json and the secrets) accepts its tokens.
func TestKeyDirReuse(t *testing.T) {
	c := loadtest.Config{Tokens: 20, KeyDir: t.TempDir(), Connections: 2, Requests: 40, Expired: 0.25,
		Algs: []loadtest.AlgWeight{{Alg: keyring.ES256, Weight: 1}, {Alg: keyring.HS256, Weight: 1}}}
	first, err := loadtest.NewWorkload(c)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	ctx := context.Background()
	target, err := loadtest.StartTarget(ctx, loadtest.TargetTokengate, first, loadtest.TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	second, err := loadtest.NewWorkload(c)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	c.URL = target.URL
	r, err := loadtest.Load(ctx, c, second, target.URL)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"200": 30, "401": 10}; !reflect.DeepEqual(r.Status, want) || r.WrongAnswers != 0 {
		t.Errorf("status %v, want %v; wrong answers %d", r.Status, want, r.WrongAnswers)
	}
}

// TestTokenFile mints tokens into a key directory and a token file once,
// then loads the sidecar with the file: every token is accepted, and the
// report counts the algorithms from the tokens' headers.
func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	c := loadtest.Config{Tokens: 20, KeyDir: dir, Algs: []loadtest.AlgWeight{{Alg: keyring.HS256, Weight: 1}, {Alg: keyring.ES256, Weight: 1}}}
	w, err := loadtest.NewWorkload(c)
	if err != nil {
		t.Fatal(err)
	}
	file := dir + "/tokens.txt"
	if err := w.WriteFile(file); err != nil {
		t.Fatal(err)
	}
	r := run(t, loadtest.Config{Target: loadtest.TargetTokengate, TokenFile: file, KeyDir: dir, Requests: 100, Connections: 4})
	if r.Status["200"] != 100 || r.WrongAnswers != 0 || r.Workload.Distinct != 20 {
		t.Errorf("status %v, wrong %d, distinct %d", r.Status, r.WrongAnswers, r.Workload.Distinct)
	}
	if a := r.Workload.Algs; a["HS256"] != 10 || a["ES256"] != 10 {
		t.Errorf("algs %v", a)
	}
	if _, err := loadtest.NewWorkload(loadtest.Config{TokenFile: file, Invalid: 0.5}); err == nil {
		t.Error("a token file with an invalid fraction was accepted")
	}
}

// TestSessionServerInOtherProcess starts a session target without a
// workload, as `tokengate loadtest --serve` does for a generator in
// another process, and loads it by URL with session ids drawn from the
// data set: valid ones are answered 200 with the sidecar's headers,
// unknown ones 401.
func TestSessionServerInOtherProcess(t *testing.T) {
	o, err := redis.ParseURL(envOr("TOKENGATE_REDIS_URL", loadtest.DefaultRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	requireStore(t, "Redis", o.Addr)
	ctx := context.Background()
	tg, err := loadtest.StartTarget(ctx, loadtest.TargetSessionRedis, nil, loadtest.TargetOptions{Rows: 10_000, PoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	r := run(t, loadtest.Config{Target: loadtest.TargetSessionRedis, URL: tg.URL, Tokens: 40, Invalid: 0.25, Rows: 10_000, Requests: 200, Connections: 4})
	if want := map[string]int64{"200": 150, "401": 50}; !reflect.DeepEqual(r.Status, want) || r.WrongAnswers != 0 {
		t.Errorf("status %v (want %v), wrong %d, errors %+v", r.Status, want, r.WrongAnswers, r.Errors)
	}
	w, err := loadtest.NewWorkload(loadtest.Config{Target: loadtest.TargetSessionRedis, Tokens: 1, Rows: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(tg.URL)
	req.Header.SetCookie("session", w.Creds[0].Value)
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 200 || !strings.HasPrefix(string(resp.Header.Peek("X-Auth-Subject")), "user-") || len(resp.Header.Peek("X-Auth-Scope")) == 0 {
		t.Errorf("status %d, headers %s", resp.StatusCode(), resp.Header.String())
	}
	if _, err := loadtest.StartTarget(ctx, loadtest.TargetNoop, nil, loadtest.TargetOptions{Listen: "0.0.0.0:0"}); !errors.Is(err, loadtest.ErrNotLoopback) {
		t.Errorf("listening on every interface: %v, want ErrNotLoopback", err)
	}
}
