package sidecar_test

// Hostile clients against the RUNNING sidecar, over real TCP: raw bytes on a
// net.Conn so nothing normalises them. Every case must end in a 4xx with a
// reason or a closed connection, never a 200 it should not give, never a
// panic, with bounded memory.
//
// fasthttp.Server limits of the /verify listener (sidecar/server.go Serve,
// values from sidecar.Limits; defaults from sidecar.DefaultConfig):
//
//	ReadTimeout         Limits.ReadTimeout (5s). Armed when a connection's
//	                    first request starts and not re-armed per byte, so a
//	                    slowloris trickle is cut at ReadTimeout (400 + close
//	                    mid-head, 408 + close when nothing came).
//	                    TestHostileSlowloris, TestHostileServerLimits/silent.
//	WriteTimeout        Limits.WriteTimeout (5s). Not exercised: responses are
//	                    under 2 KiB and fit the socket buffers of a client
//	                    that stops reading.
//	IdleTimeout         Limits.IdleTimeout (60s): a keep-alive connection
//	                    with no next request is closed silently.
//	                    TestHostileServerLimits/idle.
//	ReadBufferSize      Limits.MaxHeaderBytes (16 KiB, limits.max_header_size):
//	                    the whole request head must fit, else 431 + close.
//	                    fasthttp has no header-count limit: the byte limit
//	                    bounds it. TestHostileOversizedHeaders.
//	MaxRequestBodySize  1 (fasthttp reads 0 as its 4 MiB default, so 1 is the
//	                    smallest). A longer body is 400 + close before the
//	                    handler (after a 100 Continue if the client sent
//	                    Expect); the 1-byte body that fits is refused with
//	                    413 + close by Serve's handler (handleVerifyNoBody).
//	                    TestHostileRequestBodies.
//	MaxConnsPerIP       Limits.MaxConnsPerIP (0, unlimited): extra
//	                    connections get 429 + close at accept.
//	                    TestHostileServerLimits/max_conns_per_ip.
//	Concurrency         Limits.Concurrency (4096): fasthttp counts
//	                    connections (each holds a worker, idle keep-alive
//	                    ones too); one more gets a 503 + close at accept,
//	                    it does not queue. TestHostileServerLimits/concurrency.
//	MaxInFlight         Limits.MaxInFlight (256), tokengate's own: /verify
//	                    requests being handled; one more gets a 503 with
//	                    Retry-After and the connection stays open
//	                    (shed_test.go).
//	DisablePreParseMultipartForm  false, irrelevant: no body gets that far.
//	GetOnly             false: proxies forward the original method (Envoy).
//	DisableHeaderNamesNormalizing false; NoDefaultDate, NoDefaultContentType.
//
// Decisions this file pins down:
//   - Duplicate Authorization (and X-Original-URI) headers: the first wins,
//     as fasthttp's Peek returns the first; a bad first value is never
//     rescued by a good second one.
//   - obs-fold (RFC 9112 §5.2): fasthttp replaces a fold with a space, which
//     the RFC allows a server to do; the unfolded value is what is verified.
//   - HTTP/1.1 without Host is a 400 (RFC 9112 §3.2); HTTP/0.9, bad request
//     lines, NUL or bare CR anywhere in the head, malformed or duplicate
//     Content-Length and unknown transfer codings are 400 + close; LF-only
//     line endings are a 400 + close once ReadTimeout passes.
//   - CL+TE together: chunked framing wins, the response carries
//     Connection: close and bytes after the chunked body are never read as
//     a second request.

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
)

// hostileServer starts a sidecar with short timeouts (so a stuck case
// costs a second, not five) and returns its /verify address.
func hostileServer(t *testing.T, mutate func(*serverConfig)) (*fixture, string) {
	t.Helper()
	f := newFixture(t, func(c *serverConfig) {
		c.Limits.ReadTimeout = time.Second
		c.Limits.WriteTimeout = 2 * time.Second
		c.Limits.IdleTimeout = time.Second
		if mutate != nil {
			mutate(c)
		}
	})
	u, _ := serve(t, f)
	addr := strings.TrimPrefix(u, "http://")
	waitListening(t, addr)
	return f, addr
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sidecar not listening on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawResult is what a raw exchange produced.
type rawResult struct {
	raw      string // every byte the server sent
	statuses []int  // status codes of the responses in raw, in order
	closed   bool   // the server closed (EOF or reset) before our deadline
	elapsed  time.Duration
}

func (r rawResult) status() int {
	if len(r.statuses) == 0 {
		return 0
	}
	return r.statuses[0]
}

func (r rawResult) String() string {
	s := "no response"
	if len(r.statuses) > 0 {
		s = fmt.Sprint(r.statuses)
	}
	if r.closed {
		s += ", closed"
	}
	return s
}

// exchange writes payload on a fresh connection and reads until the server
// closes it or wait passes. A write error (the server closed early, as it
// does on an oversized head) is not a failure: what was read says what
// happened.
func exchange(t *testing.T, addr string, payload []byte, wait time.Duration) rawResult {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(wait))
	go func() { c.Write(payload) }() // concurrently: a 2 MiB write blocks once the server stops reading
	return readAll(c, start)
}

func readAll(c net.Conn, start time.Time) rawResult {
	var buf bytes.Buffer
	_, err := io.Copy(&buf, c)
	var ne net.Error
	r := rawResult{raw: buf.String(), elapsed: time.Since(start)}
	r.closed = err == nil || !(errors.As(err, &ne) && ne.Timeout())
	r.statuses = parseStatuses(r.raw)
	return r
}

// parseStatuses finds the status line of every response in raw.
func parseStatuses(raw string) []int {
	var out []int
	for _, line := range strings.Split(raw, "\r\n") {
		if rest, ok := strings.CutPrefix(line, "HTTP/1.1 "); ok && len(rest) >= 3 {
			if n, err := strconv.Atoi(rest[:3]); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// req builds a raw GET /verify with the given header lines.
func req(lines ...string) []byte {
	return []byte("GET /verify HTTP/1.1\r\nHost: sidecar\r\n" + strings.Join(lines, "") + "\r\n")
}

// wantRefused: a 4xx, or no response and a closed connection; never 2xx,
// never a stuck connection.
func wantRefused(t *testing.T, r rawResult) {
	t.Helper()
	for _, s := range r.statuses {
		if s < 400 || s > 499 {
			t.Errorf("got status %d, want only 4xx (%s)", s, r)
		}
	}
	if len(r.statuses) == 0 && !r.closed {
		t.Errorf("no response and connection still open after %v", r.elapsed)
	}
	if len(r.statuses) > 0 && !strings.Contains(r.raw, "\r\n\r\n") {
		t.Errorf("truncated response %q", r.raw)
	}
}

// bodyOf returns the body of the first response in raw (a reason).
func bodyOf(raw string) string {
	_, body, _ := strings.Cut(raw, "\r\n\r\n")
	return body
}

func TestHostileOversizedHeaders(t *testing.T) {
	f, addr := hostileServer(t, func(c *serverConfig) { c.Token.Cookie = "access_token" })
	good := sign(t, f.es, nil)
	big := func(n int) string { return strings.Repeat("A", n) }
	manyHeaders := func(n int, format string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	tests := []struct {
		name    string
		payload []byte
		status  int // 0: 431 or a closed connection
	}{
		{"Authorization 20 KiB", req("Authorization: Bearer " + big(20<<10) + "\r\n"), 431},
		{"Authorization 100 KiB", req("Authorization: Bearer " + big(100<<10) + "\r\n"), 0},
		{"Authorization 2 MiB", req("Authorization: Bearer " + big(2<<20) + "\r\n"), 0},
		{"Cookie 20 KiB", req("Cookie: access_token=" + big(20<<10) + "\r\n"), 431},
		{"Cookie 100 KiB", req("Cookie: access_token=" + big(100<<10) + "\r\n"), 0},
		{"5000 small headers", req(manyHeaders(5000, "X-H-%d: v\r\n") + "Authorization: Bearer " + good + "\r\n"), 0},
		{"one 17 KiB header line", req("X-Big: " + big(17<<10) + "\r\n" + "Authorization: Bearer " + good + "\r\n"), 431},
		{"15 KiB header under the limit", req("X-Pad: " + big(15<<10) + "\r\n"), 401}, // fits: no token, so 401
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := exchange(t, addr, tc.payload, 10*time.Second)
			wantRefused(t, r)
			switch {
			case tc.status != 0 && r.status() != tc.status:
				t.Errorf("status %d, want %d (%s)", r.status(), tc.status, r)
			case tc.status == 0 && r.status() != 431 && !(r.status() == 0 && r.closed):
				t.Errorf("want 431 or a closed connection, got %s", r)
			}
			if r.status() == 431 && !strings.Contains(r.raw, "Connection: close") {
				t.Errorf("431 without Connection: close")
			}
			t.Logf("%s: %s in %v, body %q", tc.name, r, r.elapsed.Round(time.Millisecond), bodyOf(r.raw))
		})
	}
	// Many headers under the byte limit are fine: the count is not limited,
	// the bytes are.
	t.Run("1000 tiny headers under the limit", func(t *testing.T) {
		r := exchange(t, addr, req(manyHeaders(1000, "A%d:b\r\n")+"Authorization: Bearer "+good+"\r\nConnection: close\r\n"), 10*time.Second)
		if r.status() != 200 {
			t.Errorf("status %s, want 200", r)
		}
	})
}

// tokenOfSize signs tokens with a growing pad claim and returns the
// largest at most max bytes long and the smallest longer one.
func tokenOfSize(t *testing.T, s *signer.Signer, max int) (fits, over string) {
	t.Helper()
	n := max*3/4 - 400
	for {
		tok := sign(t, s, map[string]any{"pad": strings.Repeat("p", n)})
		if len(tok) > max {
			return fits, tok
		}
		fits = tok
		n++
	}
}

func TestHostileTokensJustOverMaxSize(t *testing.T) {
	f, addr := hostileServer(t, func(c *serverConfig) { c.Token = gate.TokenSources{Header: true, Cookie: "access_token"} })
	fits, over := tokenOfSize(t, f.es, 8<<10) // verifier.DefaultMaxTokenSize
	t.Logf("token sizes: %d fits, %d over", len(fits), len(over))
	for _, src := range []string{"Authorization: Bearer ", "Cookie: access_token="} {
		r := exchange(t, addr, req(src+fits+"\r\nConnection: close\r\n"), 5*time.Second)
		if r.status() != 200 {
			t.Errorf("%s token of %d bytes: %s, want 200", src, len(fits), r)
		}
		r = exchange(t, addr, req(src+over+"\r\nConnection: close\r\n"), 5*time.Second)
		wantRefused(t, r)
		if r.status() != 401 || !strings.Contains(r.raw, `error_description="token too large (limits.max_token_size)"`) {
			t.Errorf("%s token of %d bytes: %s %q, want 401 token too large", src, len(over), r, r.raw)
		}
	}
}

func TestHostileMalformedHTTP(t *testing.T) {
	f, addr := hostileServer(t, nil)
	good := sign(t, f.es, nil)
	other := sign(t, f.es, map[string]any{"sub": "someone-else"})
	auth := "Authorization: Bearer " + good + "\r\n"
	tests := []struct {
		name    string
		payload string
		// want: "4xx" (refused: 4xx or closed), or an exact status with
		// the expected subject ("first wins" cases).
		want    int
		subject string
	}{
		// Request line.
		{"bad request line", "GARBAGE\r\n\r\n", 400, ""},
		{"HTTP/0.9", "GET /verify\r\n\r\n", 400, ""},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, ""},
		{"invalid method chars", "G(T /verify HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 400, ""},
		{"method with NUL", "GE\x00T /verify HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 400, ""},
		{"missing Host on HTTP/1.1", "GET /verify HTTP/1.1\r\n" + auth + "\r\n", 400, ""},
		// Header syntax.
		{"header without colon", "GET /verify HTTP/1.1\r\nHost: x\r\nJunk\r\n" + auth + "\r\n", 400, ""},
		{"Authorization without colon", "GET /verify HTTP/1.1\r\nHost: x\r\nAuthorization Bearer " + good + "\r\n\r\n", 400, ""},
		{"space before colon", "GET /verify HTTP/1.1\r\nHost: x\r\nAuthorization : Bearer " + good + "\r\n\r\n", 400, ""},
		{"obs-fold of a garbage continuation", "GET /verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + good + "\r\n garbage\r\n\r\n", 401, ""},
		{"obs-fold unfolded to the same token", "GET /verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n " + good + "\r\nConnection: close\r\n\r\n", 200, "user-42"},
		{"NUL in header value", "GET /verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + good[:20] + "\x00" + good[20:] + "\r\n\r\n", 400, ""},
		{"NUL after token", "GET /verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + good + "\x00\r\n\r\n", 400, ""},
		{"CR without LF", "GET /verify HTTP/1.1\r\nHost: x\r" + auth + "\r\n", 400, ""},
		{"CR without LF hides a header", "GET /verify HTTP/1.1\r\nHost: x\r\nX-Original-URI: /admin\rX-Foo: /public\r\n\r\n", 400, ""},
		{"LF-only line endings", "GET /verify HTTP/1.1\nHost: x\n" + strings.TrimSuffix(auth, "\r\n") + "\n\n", 400, ""},
		// Duplicates: two Authorization headers are refused (the proxy,
		// tokengate and the application could each read another one);
		// a duplicated forwarded URI takes the first.
		{"duplicate Authorization is refused", "GET /verify HTTP/1.1\r\nHost: x\r\n" + auth + "Authorization: Bearer " + other + "\r\nConnection: close\r\n\r\n", 401, ""},
		{"duplicate Authorization: bad first is not rescued", "GET /verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer garbage\r\nAuthorization: Bearer " + other + "\r\n\r\n", 401, ""},
		{"duplicate X-Original-URI: protected first", "GET /verify HTTP/1.1\r\nHost: x\r\nX-Original-URI: /admin\r\nX-Original-URI: /public\r\n\r\n", 401, ""},
		{"duplicate X-Original-URI with token: protected first", "GET /verify HTTP/1.1\r\nHost: x\r\n" + auth + "X-Original-URI: /admin/users\r\nX-Original-URI: /orders\r\n\r\n", 403, ""},
		// Framing.
		{"absurd Content-Length", "GET /verify HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n" + auth + "\r\n", 400, ""},
		{"negative Content-Length", "GET /verify HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n" + auth + "\r\n", 400, ""},
		{"two Content-Lengths", "POST /verify HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 1\r\n" + auth + "\r\nx", 400, ""},
		{"chunked with garbage", "POST /verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + auth + "\r\nzz\r\nhello\r\n0\r\n\r\n", 400, ""},
		{"unknown transfer coding", "POST /verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n" + auth + "\r\n", 400, ""},
		// CL.TE and TE.CL: fasthttp frames by chunked, ignores the length
		// and closes after the response, so the smuggled public-route
		// request is never answered.
		{"smuggling CL.TE", "POST /verify HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /verify HTTP/1.1\r\nHost: x\r\nX-Original-URI: /public\r\n\r\n", 401, ""},
		{"smuggling TE.CL", "POST /verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\nGET /verify HTTP/1.1\r\nHost: x\r\nX-Original-URI: /public\r\n\r\n", 401, ""},
		// X-Original-URI and token bytes.
		{"NUL in X-Original-URI", "GET /verify HTTP/1.1\r\nHost: x\r\nX-Original-URI: /admin\x00/x\r\n" + auth + "\r\n", 400, ""},
		{"invalid UTF-8 in X-Original-URI under a protected prefix", "GET /verify HTTP/1.1\r\nHost: x\r\nX-Original-URI: /admin/\xff\xfe\r\n" + auth + "\r\n", 403, ""},
		// Not UTF-8: refused as a path applications could read two ways.
		{"invalid UTF-8 in X-Original-URI without token", "GET /verify HTTP/1.1\r\nHost: x\r\nX-Original-URI: /\xff\xfe\r\n\r\n", 403, ""},
		{"invalid UTF-8 inside the token", "GET /verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + good[:20] + "\xff\xfe" + good[20:] + "\r\n\r\n", 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := exchange(t, addr, []byte(tc.payload), 8*time.Second)
			t.Logf("%s: %s in %v, body %q", tc.name, r, r.elapsed.Round(time.Millisecond), bodyOf(r.raw))
			if r.status() != tc.want {
				t.Fatalf("status %s, want %d: %q", r, tc.want, r.raw)
			}
			if len(r.statuses) != 1 {
				t.Errorf("%d responses on one connection, want 1: %q", len(r.statuses), r.raw)
			}
			if tc.want == 200 {
				if got := headerValue(r.raw, "X-Auth-Subject"); got != tc.subject {
					t.Errorf("X-Auth-Subject %q, want %q", got, tc.subject)
				}
				return
			}
			wantRefused(t, r)
			if !r.closed {
				t.Errorf("connection not closed")
			}
			if tc.want == 401 || tc.want == 403 {
				if !strings.Contains(r.raw, "Www-Authenticate: Bearer realm=") {
					t.Errorf("%d without a challenge: %q", tc.want, r.raw)
				}
			} else if bodyOf(r.raw) == "" {
				t.Errorf("%d without a reason", tc.want)
			}
		})
	}
}

// headerValue returns the value of the first header called name in the
// head of the first response in raw.
func headerValue(raw, name string) string {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n")[1:] {
		if k, v, ok := strings.Cut(line, ": "); ok && strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// TestHostileRequestBodies: /verify takes no body. Anything longer than
// MaxRequestBodySize (1) is 400 + close before the handler; the 1 byte
// that fits is refused by Serve's wrapper (413 + close); a valid token
// next to a body never yields 200.
func TestHostileRequestBodies(t *testing.T) {
	f, addr := hostileServer(t, nil)
	good := sign(t, f.es, nil)
	auth := "Authorization: Bearer " + good + "\r\n"
	tests := []struct {
		name    string
		payload string
		want    int
	}{
		{"1-byte body", "POST /verify HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n" + auth + "\r\nx", 413},
		{"1-byte body on GET", "GET /verify HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n" + auth + "\r\nx", 413},
		{"2-byte body", "POST /verify HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n" + auth + "\r\nxx", 400},
		{"10 MB Content-Length", "POST /verify HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n" + auth + "\r\nxxxx", 400},
		{"chunked 1-byte body", "POST /verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + auth + "\r\n1\r\nx\r\n0\r\n\r\n", 413},
		{"chunked 2-byte body", "POST /verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + auth + "\r\n2\r\nxx\r\n0\r\n\r\n", 400},
		{"Expect 100-continue with a body", "POST /verify HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n" + auth + "\r\n", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := exchange(t, addr, []byte(tc.payload), 8*time.Second)
			t.Logf("%s: %s in %v, body %q", tc.name, r, r.elapsed.Round(time.Millisecond), bodyOf(r.raw))
			statuses := r.statuses
			if len(statuses) > 0 && statuses[0] == 100 { // interim response to Expect
				statuses = statuses[1:]
			}
			if len(statuses) != 1 || statuses[0] != tc.want || !r.closed || !strings.Contains(r.raw, "Connection: close\r\n") {
				t.Errorf("got %s, want one %d and Connection: close: %q", r, tc.want, r.raw)
			}
			if strings.Contains(r.raw, "X-Auth-Subject") {
				t.Errorf("request with a body was verified: %q", r.raw)
			}
		})
	}
	// An empty body is no body: a chunked request with only the last
	// chunk, and Content-Length: 0, are served.
	for _, p := range []string{
		"POST /verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n" + auth + "\r\n0\r\n\r\n",
		"POST /verify HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n" + auth + "\r\n",
	} {
		if r := exchange(t, addr, []byte(p), 5*time.Second); r.status() != 200 {
			t.Errorf("empty body: %s, want 200", r)
		}
	}
}

// TestHostileClaimInjectionOnTheWire: a token whose claims hold CR, LF
// or NUL is refused with a reason; no control byte and no injected header
// reaches the wire, and nothing is forwarded altered.
func TestHostileClaimInjectionOnTheWire(t *testing.T) {
	f, addr := hostileServer(t, nil)
	for name, claims := range map[string]map[string]any{
		"sub":   {"sub": "user-42\r\nX-Injected: 1\r\n\r\nHTTP/1.1 200 OK"},
		"scope": {"scope": "a\rb\nc\x00d"},
		"roles": {"realm_access": map[string]any{"roles": []string{"x\nSet-Cookie: s=1", "y\x00z"}}},
	} {
		evil := sign(t, f.es, claims)
		r := exchange(t, addr, req("Authorization: Bearer "+evil+"\r\nConnection: close\r\n"), 5*time.Second)
		if r.status() != 401 || len(r.statuses) != 1 || !strings.Contains(r.raw, "claim cannot be forwarded") {
			t.Fatalf("%s: got %s: %q", name, r, r.raw)
		}
		head, _, _ := strings.Cut(r.raw, "\r\n\r\n")
		for _, line := range strings.Split(head, "\r\n") {
			if strings.ContainsAny(line, "\r\n\x00") {
				t.Errorf("%s: control byte in header line %q", name, line)
			}
			h, _, _ := strings.Cut(line, ":")
			if strings.EqualFold(h, "X-Injected") || strings.EqualFold(h, "Set-Cookie") || strings.HasPrefix(strings.ToLower(h), "x-auth-") {
				t.Errorf("%s: header %q on a refusal", name, line)
			}
		}
	}
}

// TestHostileTokenAttacksOverHTTP sends a representative set of the
// verifier's attack table (verifier/attack_test.go attackCases) through
// the running sidecar: each must be a 401 with an invalid_token challenge.
func TestHostileTokenAttacksOverHTTP(t *testing.T) {
	f, addr := hostileServer(t, nil)
	good := sign(t, f.es, nil)
	h, p, s := splitToken(good)
	join := func(parts ...string) string { return strings.Join(parts, ".") }
	hdr := func(alg, kid, extra string) string {
		out := `{"alg":"` + alg + `"`
		if kid != "" {
			out += `,"kid":"` + kid + `"`
		}
		if extra != "" {
			out += "," + extra
		}
		return out + "}"
	}
	raw := func(sg *signer.Signer, header, payload string) string {
		tok, err := sg.SignRaw([]byte(header), []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	claims := string(claimsJSON(nil))
	exp := strconv.FormatInt(testNow.Add(10*time.Minute).Unix(), 10)

	// CVE-2015-9235: HS256 keyed with the ES256 public key's PEM.
	pub, err := signer.Public(esKey)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})
	confused, err := signer.New(keyring.HS256, pubPEM, "es")
	if err != nil {
		t.Fatal(err)
	}
	confusedBilling, err := signer.New(keyring.HS256, pubPEM, "client-billing")
	if err != nil {
		t.Fatal(err)
	}
	// An attacker's own key, with our kid or its own, and in the header.
	attackerPriv, err := signer.GenerateKey(keyring.ES256)
	if err != nil {
		t.Fatal(err)
	}
	attackerPub, _ := signer.Public(attackerPriv)
	attackerKey, err := keyring.NewKey(attackerPub, keyring.Options{ID: "attacker", Alg: keyring.ES256})
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK, err := attackerKey.MarshalJWK()
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := signer.New(keyring.ES256, attackerPriv, "es")
	if err != nil {
		t.Fatal(err)
	}
	// The ES256 key signing under the HMAC key's kid, and the HMAC secret
	// signing under the ES256 key's kid.
	esAsBilling, err := signer.New(keyring.ES256, esKey, "client-billing")
	if err != nil {
		t.Fatal(err)
	}
	billingAsES, err := signer.New(keyring.HS256, bytes.Repeat([]byte("billing-secret-0"), 3), "es")
	if err != nil {
		t.Fatal(err)
	}
	sig := []byte(s)
	sig[len(sig)/2] ^= 1
	deep := `{"exp":` + exp + `,"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`
	var wide strings.Builder
	wide.WriteString(`{"exp":` + exp)
	for i := range 300 { // over the 256 members per object limit
		fmt.Fprintf(&wide, `,"m%d":0`, i)
	}
	wide.WriteString("}")
	es := f.es

	attacks := []struct{ name, token string }{
		{"alg none, empty signature", join(enc(`{"alg":"none"}`), p, "")},
		{"alg none with a signature", join(enc(`{"alg":"none"}`), p, "AAAA")},
		{"alg None", join(enc(`{"alg":"None"}`), p, s)},
		{"alg nOnE with our kid", join(enc(hdr("nOnE", "es", "")), p, s)},
		{"alg missing", raw(es, `{"kid":"es"}`, claims)},
		{"alg not a string", raw(es, `{"alg":["ES256"],"kid":"es"}`, claims)},
		{"alg lower case", join(enc(hdr("es256", "es", "")), p, s)},
		{"HS256 keyed with the ES256 public key (alg confusion)", raw(confused, hdr("HS256", "es", ""), claims)},
		{"HS256 keyed with the public key under the HMAC kid", raw(confusedBilling, hdr("HS256", "client-billing", ""), claims)},
		{"kid of the HMAC key, signed by the ES256 key", raw(esAsBilling, hdr("ES256", "client-billing", ""), claims)},
		{"kid of the ES256 key, signed with the HMAC secret", raw(billingAsES, hdr("HS256", "es", ""), claims)},
		{"unknown kid", raw(es, hdr("ES256", "no-such-key", ""), claims)},
		{"attacker key with our kid", raw(attacker, hdr("ES256", "es", ""), claims)},
		{"embedded jwk", raw(attacker, hdr("ES256", "attacker", `"jwk":`+string(attackerJWK)), claims)},
		{"embedded jwk with our kid", raw(attacker, hdr("ES256", "es", `"jwk":`+string(attackerJWK)), claims)},
		{"jku elsewhere", raw(attacker, hdr("ES256", "es", `"jku":"https://attacker.example/jwks.json"`), claims)},
		{"x5u elsewhere", raw(attacker, hdr("ES256", "es", `"x5u":"https://attacker.example/cert.pem"`), claims)},
		{"x5c", raw(attacker, hdr("ES256", "es", `"x5c":["MIIB"]`), claims)},
		{"unknown crit", raw(es, hdr("ES256", "es", `"crit":["exp"],"exp":1`), claims)},
		{"empty crit", raw(es, hdr("ES256", "es", `"crit":[]`), claims)},
		{"b64 false", raw(es, hdr("ES256", "es", `"b64":false,"crit":["b64"]`), claims)},
		{"bad signature (bit flipped)", join(h, p, string(sig))},
		{"signature of another token", join(h, enc(string(claimsJSON(map[string]any{"sub": "admin"}))), s)},
		{"ECDSA r = s = 0", join(h, p, enc(string(make([]byte, 64))))},
		{"truncated signature", join(h, p, s[:20])},
		{"padded signature", join(h, p, s+"=")},
		{"standard base64 alphabet", join(h, p, strings.NewReplacer("-", "+", "_", "/").Replace(s)+"+/")},
		{"two segments", join(h, p)},
		{"four segments", join(h, p, s, s)},
		{"five segments (JWE without a decrypter)", join(h, "", p, s, s)},
		{"empty payload", join(h, "", s)},
		{"expired", sign(t, es, map[string]any{"exp": testNow.Add(-time.Hour).Unix()})},
		{"nbf in the future", sign(t, es, map[string]any{"nbf": testNow.Add(time.Hour).Unix()})},
		{"iat in the future", sign(t, es, map[string]any{"iat": testNow.Add(time.Hour).Unix()})},
		{"no exp", sign(t, es, map[string]any{"exp": nil})},
		{"exp as a string", sign(t, es, map[string]any{"exp": exp})},
		{"huge exp (1e300)", raw(es, hdr("ES256", "es", ""), `{"sub":"x","exp":1e300}`)},
		{"huge integer exp", raw(es, hdr("ES256", "es", ""), `{"sub":"x","exp":99999999999999999999999999999}`)},
		{"NaN exp", raw(es, hdr("ES256", "es", ""), `{"exp":NaN}`)},
		{"duplicate exp", raw(es, hdr("ES256", "es", ""), `{"exp":1,"exp":`+exp+`}`)},
		{"duplicate exp via an escape", raw(es, hdr("ES256", "es", ""), `{"exp":1,"\u0065xp":`+exp+`}`)},
		{"duplicate alg in the header", raw(es, `{"alg":"ES256","alg":"none","kid":"es"}`, claims)},
		{"payload is an array", raw(es, hdr("ES256", "es", ""), `[1,2]`)},
		{"payload with trailing data", raw(es, hdr("ES256", "es", ""), claims+`{}`)},
		{"deeply nested claims", raw(es, hdr("ES256", "es", ""), deep)},
		{"too many claims", raw(es, hdr("ES256", "es", ""), wide.String())},
		{"invalid UTF-8 in a claim", raw(es, hdr("ES256", "es", ""), `{"exp":`+exp+`,"sub":"`+"\xff\xfe"+`"}`)},
		{"NUL in a claim name", raw(es, hdr("ES256", "es", ""), "{\"exp\":"+exp+",\"s\x00b\":1}")},
		{"huge token", sign(t, es, map[string]any{"pad": strings.Repeat("x", 9000)})},
	}
	// A keep-alive client: each answer must come on a live connection.
	client := &http.Client{Timeout: 5 * time.Second}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			rq, _ := http.NewRequest("GET", "http://"+addr+"/verify", nil)
			rq.Header.Set("Authorization", "Bearer "+a.token)
			resp, err := client.Do(rq)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ch := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != 401 || !strings.Contains(ch, `error="invalid_token"`) || resp.Header.Get("X-Auth-Subject") != "" {
				t.Errorf("status %d, challenge %q, want 401 invalid_token", resp.StatusCode, ch)
			}
			t.Logf("%s: %d %s", a.name, resp.StatusCode, bytes.TrimSpace(body))
		})
	}
	if resp := exchange(t, addr, req("Authorization: Bearer "+good+"\r\nConnection: close\r\n"), 5*time.Second); resp.status() != 200 {
		t.Errorf("the good token after the attacks: %s", resp)
	}
}

// TestHostileSlowloris: 50 clients trickle a request head one byte every
// 100ms. ReadTimeout (500ms) closes each of them; a normal client is
// served at once meanwhile.
func TestHostileSlowloris(t *testing.T) {
	const readTimeout = 500 * time.Millisecond
	const slow = 50
	f, addr := hostileServer(t, func(c *serverConfig) { c.Limits.ReadTimeout = readTimeout })
	good := sign(t, f.es, nil)
	head := []byte("GET /verify HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 200) + "\r\n\r\n")

	var connected, wg sync.WaitGroup
	connected.Add(slow)
	results := make([]rawResult, slow)
	for i := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				connected.Done()
				t.Error(err)
				return
			}
			defer c.Close()
			start := time.Now()
			c.SetDeadline(start.Add(15 * time.Second))
			connected.Done()
			done := make(chan struct{})
			go func() {
				for j := 0; j < len(head); j++ {
					if _, err := c.Write(head[j : j+1]); err != nil {
						return
					}
					select {
					case <-done:
						return
					case <-time.After(100 * time.Millisecond):
					}
				}
			}()
			results[i] = readAll(c, start)
			close(done)
		}()
	}
	connected.Wait()
	// A normal client meanwhile.
	start := time.Now()
	r := exchange(t, addr, req("Authorization: Bearer "+good+"\r\nConnection: close\r\n"), 5*time.Second)
	if r.status() != 200 || time.Since(start) > 2*time.Second {
		t.Errorf("normal client during slowloris: %s after %v", r, time.Since(start))
	}
	t.Logf("normal client served in %v during %d slow connections", time.Since(start).Round(time.Millisecond), slow)
	wg.Wait()
	var worst time.Duration
	for i, r := range results {
		if !r.closed {
			t.Errorf("slow client %d: not closed after %v", i, r.elapsed)
		}
		for _, s := range r.statuses {
			if s != 408 && s != 400 {
				t.Errorf("slow client %d: status %d", i, s)
			}
		}
		worst = max(worst, r.elapsed)
	}
	// Generous margin for a loaded 2-core machine under -race; the
	// trickle alone would take 25s to finish.
	if worst > readTimeout+4*time.Second {
		t.Errorf("slowest slow client closed after %v, want about %v", worst, readTimeout)
	}
	t.Logf("slow clients closed after at most %v (read timeout %v); first answer %q", worst.Round(time.Millisecond), readTimeout, firstLine(results[0].raw))
}

func firstLine(raw string) string {
	line, _, _ := strings.Cut(raw, "\r\n")
	return line
}

// openServed dials addr and completes one keep-alive request on it, so the
// server has surely accepted and registered the connection.
func openServed(t *testing.T, addr, tok string) (net.Conn, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(req("Authorization: Bearer " + tok + "\r\n")); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		c.Close()
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// openServedEventually retries openServed for a few seconds: a slot the
// server frees when it notices a closed connection frees asynchronously.
func openServedEventually(t *testing.T, addr, tok string) (net.Conn, error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := openServed(t, addr, tok)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHostileServerLimits(t *testing.T) {
	t.Run("max_conns_per_ip", func(t *testing.T) {
		t.Parallel()
		f, addr := hostileServer(t, func(c *serverConfig) {
			c.Limits.MaxConnsPerIP = 5
			c.Limits.IdleTimeout = 30 * time.Second
			c.Limits.ReadTimeout = 30 * time.Second
		})
		good := sign(t, f.es, nil)
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for i := range 5 {
			c, err := openServedEventually(t, addr, good)
			if err != nil {
				t.Fatalf("connection %d of 5: %v", i, err)
			}
			held = append(held, c)
		}
		for i := range 5 {
			r := exchange(t, addr, req("Authorization: Bearer "+good+"\r\n"), 5*time.Second)
			if r.status() != 429 || !r.closed {
				t.Errorf("connection %d over the limit: %s, want 429 and close", 6+i, r)
			}
			if i == 0 {
				t.Logf("over MaxConnsPerIP: %s %q", r, bodyOf(r.raw))
			}
		}
		// Closing one frees a slot (the server notices asynchronously).
		held[0].Close()
		held = held[1:]
		c, err := openServedEventually(t, addr, good)
		if err != nil {
			t.Fatalf("slot not freed: %v", err)
		}
		held = append(held, c)
	})
	t.Run("concurrency", func(t *testing.T) {
		t.Parallel()
		f, addr := hostileServer(t, func(c *serverConfig) {
			c.Limits.Concurrency = 4
			c.Limits.IdleTimeout = 30 * time.Second
			c.Limits.ReadTimeout = 30 * time.Second
		})
		good := sign(t, f.es, nil)
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for i := range 4 {
			// Eventually: the worker of hostileServer's probe connection is
			// freed asynchronously, and until then it counts.
			c, err := openServedEventually(t, addr, good)
			if err != nil {
				t.Fatalf("connection %d of 4: %v", i, err)
			}
			held = append(held, c)
		}
		for i := range 3 {
			r := exchange(t, addr, req("Authorization: Bearer "+good+"\r\n"), 5*time.Second)
			if r.status() != 503 || !r.closed || r.elapsed > 3*time.Second {
				t.Errorf("request %d over Concurrency: %s after %v, want a fast 503 and close", i, r, r.elapsed)
			}
			if i == 0 {
				t.Logf("over Concurrency: %s after %v, %q", r, r.elapsed.Round(time.Millisecond), bodyOf(r.raw))
			}
		}
		// A held connection is still served.
		held[1].SetDeadline(time.Now().Add(5 * time.Second))
		held[1].Write(req("Authorization: Bearer " + good + "\r\n"))
		if resp, err := http.ReadResponse(bufio.NewReader(held[1]), nil); err != nil || resp.StatusCode != 200 {
			t.Errorf("held connection: %v %v", resp, err)
		}
	})
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		f, addr := hostileServer(t, func(c *serverConfig) { c.Limits.IdleTimeout = 500 * time.Millisecond })
		c, err := openServed(t, addr, sign(t, f.es, nil))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		c.SetDeadline(start.Add(10 * time.Second))
		r := readAll(c, start)
		if !r.closed || len(r.raw) != 0 || r.elapsed > 4*time.Second {
			t.Errorf("idle keep-alive connection: %s after %v, want closed silently after about 500ms", r, r.elapsed)
		}
		t.Logf("idle connection closed after %v", r.elapsed.Round(time.Millisecond))
	})
	t.Run("silent client", func(t *testing.T) {
		t.Parallel()
		_, addr := hostileServer(t, func(c *serverConfig) { c.Limits.ReadTimeout = 500 * time.Millisecond })
		r := exchange(t, addr, nil, 10*time.Second)
		if !r.closed || r.elapsed > 4*time.Second {
			t.Errorf("connection that sends nothing: %s after %v", r, r.elapsed)
		}
		t.Logf("silent connection: %s after %v", r, r.elapsed.Round(time.Millisecond))
	})
}

// TestHostileMemoryBound sends 2,000 oversized or hostile requests and
// checks the heap in use afterwards, after a GC, grew by less than 64 MiB.
func TestHostileMemoryBound(t *testing.T) {
	f, addr := hostileServer(t, func(c *serverConfig) { c.Token.Cookie = "access_token" })
	good := sign(t, f.es, nil)
	h, p, _ := splitToken(good)
	var many strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&many, "X-H-%d: v\r\n", i)
	}
	payloads := [][]byte{
		req("Authorization: Bearer " + strings.Repeat("A", 20<<10) + "\r\n"),
		req("Authorization: Bearer " + strings.Repeat("A", 100<<10) + "\r\n"),
		req("Cookie: access_token=" + strings.Repeat("C", 20<<10) + "\r\n"),
		req(many.String()),
		req("Authorization: Bearer " + strings.Repeat("B", 9000) + "\r\nConnection: close\r\n"),
		[]byte("POST /verify HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\nxxxx"),
		[]byte("POST /verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
	}
	const total, workers = 2000, 8
	var next sync.Mutex
	sent := 0
	// forged returns a distinct forged token: each is a negative cache entry.
	forged := func(i int) []byte {
		return req("Authorization: Bearer " + h + "." + p + "." + enc(fmt.Sprintf("%064d", i)) + "\r\nConnection: close\r\n")
	}
	run := func(n int) {
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					next.Lock()
					i := sent
					sent++
					next.Unlock()
					if i >= n {
						return
					}
					payload := forged(i)
					if i%4 != 0 {
						payload = payloads[i%len(payloads)]
					}
					r := exchange(t, addr, payload, 10*time.Second)
					if r.status() == 200 || (r.status() == 0 && !r.closed) {
						t.Errorf("hostile request %d: %s", i, r)
					}
				}
			}()
		}
		wg.Wait()
	}
	run(100) // warm up pools and buffers
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sent = 0
	start := time.Now()
	run(total)
	elapsed := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d hostile requests in %v: HeapInuse %d KiB -> %d KiB (growth %d KiB)",
		total, elapsed.Round(time.Millisecond), before.HeapInuse>>10, after.HeapInuse>>10, growth>>10)
	if growth > 64<<20 {
		t.Errorf("heap in use grew by %d MiB", growth>>20)
	}
	if r := exchange(t, addr, req("Authorization: Bearer "+good+"\r\nConnection: close\r\n"), 5*time.Second); r.status() != 200 {
		t.Errorf("the good token after the flood: %s", r)
	}
}
