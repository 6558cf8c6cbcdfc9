package sidecar_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

// blockingRefetch holds requests in flight deterministically: a token
// whose kid the keyring lacks calls Options.Refetch, which reports on
// entered and waits for release.
type blockingRefetch struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newBlockingRefetch(capacity int) *blockingRefetch {
	return &blockingRefetch{entered: make(chan struct{}, capacity), release: make(chan struct{})}
}

func (b *blockingRefetch) refetch(context.Context, []byte, []byte) bool {
	b.entered <- struct{}{}
	<-b.release
	return false // the keys did not change: the token stays unknown, 401
}

func (b *blockingRefetch) unblock() { b.once.Do(func() { close(b.release) }) }

// await waits for n requests to be inside Refetch.
func (b *blockingRefetch) await(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-b.entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d requests reached Refetch", i, n)
		}
	}
}

// shedServer serves a fixture whose unknown-kid tokens block in Refetch
// and returns the /verify address and a token that blocks.
func shedServer(t *testing.T, maxInFlight int, b *blockingRefetch) (*fixture, string, string) {
	t.Helper()
	f := newFixtureOpts(t, func(c *serverConfig) { c.Limits.MaxInFlight = maxInFlight },
		func(_ *verifier.Options, o *serverOptions) { o.Refetch = b.refetch })
	u, _ := serve(t, f)
	t.Cleanup(b.unblock) // runs before serve's Shutdown, which waits for in-flight requests
	addr := strings.TrimPrefix(u, "http://")
	waitListening(t, addr)
	rotated, err := signer.New(keyring.ES256, esKey, "rotated-in") // a kid the keyring lacks
	if err != nil {
		t.Fatal(err)
	}
	return f, addr, sign(t, rotated, nil)
}

// keepAliveConn is one client connection to /verify, used for several
// requests in turn.
type keepAliveConn struct {
	net.Conn
	br *bufio.Reader
}

func dialKeepAlive(t *testing.T, addr string) *keepAliveConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &keepAliveConn{Conn: c, br: bufio.NewReader(c)}
}

func (c *keepAliveConn) send(t *testing.T, tok string) {
	t.Helper()
	req := "GET /verify HTTP/1.1\r\nHost: tokengate\r\nX-Original-URI: /orders/7\r\nAuthorization: Bearer " + tok + "\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func (c *keepAliveConn) receive(t *testing.T) *fasthttp.Response {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp := &fasthttp.Response{}
	if err := resp.Read(c.br); err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp
}

func (c *keepAliveConn) roundTrip(t *testing.T, tok string) *fasthttp.Response {
	t.Helper()
	c.send(t, tok)
	return c.receive(t)
}

// metric reads one sample from the admin /metrics; -1 when absent.
func metric(f *fixture, name string) float64 {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/metrics")
	f.srv.HandleAdmin(&ctx)
	for line := range strings.SplitSeq(string(ctx.Response.Body()), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var n float64
			fmt.Sscan(v, &n)
			return n
		}
	}
	return -1
}

const shedMetric = `tokengate_requests_total{reason="overload",result="unavailable"}`

// TestShedOverMaxInFlight: with Limits.MaxInFlight n and n requests held
// in flight, one more is answered 503 with Retry-After at once, without a
// cache lookup, and its connection stays open: once the n finish, the same
// connection gets a normal answer.
func TestShedOverMaxInFlight(t *testing.T) {
	const n = 3
	b := newBlockingRefetch(n)
	f, addr, blocked := shedServer(t, n, b)
	good := sign(t, f.es, nil)

	held := make([]*keepAliveConn, n)
	for i := range held {
		held[i] = dialKeepAlive(t, addr)
		held[i].send(t, blocked)
	}
	b.await(t, n)
	if got := metric(f, "tokengate_verify_in_flight"); got != n {
		t.Errorf("tokengate_verify_in_flight = %v, want %d", got, n)
	}

	misses := metric(f, "tokengate_cache_misses_total")
	over := dialKeepAlive(t, addr)
	for i := range 2 { // shed twice on the one connection: it stays open
		resp := over.roundTrip(t, good)
		if resp.StatusCode() != fasthttp.StatusServiceUnavailable || string(resp.Header.Peek("Retry-After")) != "1" {
			t.Fatalf("request %d over the limit: %d Retry-After %q, want 503 and 1", i, resp.StatusCode(), resp.Header.Peek("Retry-After"))
		}
		if resp.ConnectionClose() {
			t.Errorf("request %d over the limit: Connection: close", i)
		}
		if len(resp.Header.Peek("WWW-Authenticate")) > 0 || len(resp.Header.Peek("X-Auth-Subject")) > 0 {
			t.Errorf("a shed request carries verification headers: %s", resp.Header.String())
		}
	}
	if got := metric(f, shedMetric); got != 2 {
		t.Errorf("%s = %v, want 2", shedMetric, got)
	}
	if got := metric(f, "tokengate_cache_misses_total"); got != misses {
		t.Errorf("shed requests reached the cache: misses %v → %v", misses, got)
	}

	b.unblock()
	for i, c := range held {
		if resp := c.receive(t); resp.StatusCode() != fasthttp.StatusUnauthorized {
			t.Errorf("held request %d: %d, want 401 (unknown kid)", i, resp.StatusCode())
		}
	}
	resp := over.roundTrip(t, good)
	if resp.StatusCode() != fasthttp.StatusOK || string(resp.Header.Peek("X-Auth-Subject")) != "user-42" {
		t.Fatalf("same connection after the load: %d %q, want 200 for user-42", resp.StatusCode(), resp.Header.Peek("X-Auth-Subject"))
	}
	if got := metric(f, "tokengate_verify_in_flight"); got != 0 {
		t.Errorf("tokengate_verify_in_flight = %v after every request ended, want 0", got)
	}
	if got := metric(f, shedMetric); got != 2 {
		t.Errorf("%s = %v, want 2", shedMetric, got)
	}
}

// TestNoShedWhenMaxInFlightIsZero: 0 disables the limit.
func TestNoShedWhenMaxInFlightIsZero(t *testing.T) {
	const n = 8
	b := newBlockingRefetch(n)
	f, addr, blocked := shedServer(t, 0, b)
	conns := make([]*keepAliveConn, n)
	for i := range conns {
		conns[i] = dialKeepAlive(t, addr)
		conns[i].send(t, blocked)
	}
	b.await(t, n) // every one of them got in
	b.unblock()
	for i, c := range conns {
		if resp := c.receive(t); resp.StatusCode() != fasthttp.StatusUnauthorized {
			t.Errorf("request %d: %d, want 401", i, resp.StatusCode())
		}
	}
	if got := metric(f, shedMetric); got != 0 {
		t.Errorf("%s = %v with no limit, want 0", shedMetric, got)
	}
}

// TestStaleRequestsShed: a request whose X-Request-Start says the proxy
// took it longer than limits.max_queue_time ago is answered 503 with
// Retry-After, unverified and counted; a fresh, absent, unreadable or
// future stamp is verified as usual.
func TestStaleRequestsShed(t *testing.T) {
	f := newFixture(t, func(c *serverConfig) { c.Limits.MaxQueueTime = 500 * time.Millisecond })
	tok := sign(t, f.es, nil)
	now := time.Now()
	stamp := func(d time.Duration) string { return fmt.Sprintf("t=%.3f", float64(now.Add(-d).UnixMilli())/1e3) }
	for name, tc := range map[string]struct {
		header string
		status int
	}{
		"waited 2s":         {stamp(2 * time.Second), 503},
		"waited 2s, ms":     {fmt.Sprintf("t=%d", now.Add(-2*time.Second).UnixMilli()), 503},
		"waited 10ms":       {stamp(10 * time.Millisecond), 200},
		"no stamp":          {"", 200},
		"unreadable stamp":  {"t=soon", 200},
		"stamp from future": {stamp(-time.Hour), 200},
	} {
		resp := do(f, func(r *fasthttp.Request) {
			r.Header.Set("Authorization", "Bearer "+tok)
			if tc.header != "" {
				r.Header.Set("X-Request-Start", tc.header)
			}
		})
		if resp.StatusCode() != tc.status {
			t.Errorf("%s: %d %q, want %d", name, resp.StatusCode(), resp.Body(), tc.status)
		}
		if tc.status == 503 && (string(resp.Header.Peek("Retry-After")) != "1" || len(resp.Header.Peek("X-Auth-Subject")) > 0) {
			t.Errorf("%s: a stale request's answer: %q", name, resp.Header.String())
		}
	}
	if got := metric(f, `tokengate_requests_total{reason="queue_time",result="unavailable"}`); got != 2 {
		t.Errorf("queue_time refusals counted %v, want 2", got)
	}
}
