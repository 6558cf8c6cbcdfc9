package chaos_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/signer"
)

// fullEnv selects the full lengths of the scenarios.
const fullEnv = "TOKENGATE_CHAOS"

func full() bool { return os.Getenv(fullEnv) == "full" }

// length is short in the default (CI) form and long under TOKENGATE_CHAOS=full.
func length[T any](short, long T) T {
	if full() {
		return long
	}
	return short
}

func form() string { return length("short", "full") }

// skipUnderRace skips scenarios whose figures (throughput, latency,
// memory) the race detector makes meaningless.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("timing and memory figures are meaningless under -race; run go test ./chaos/ without it")
	}
}

// expect is what a correct sidecar answers a credential.
type expect uint8

const (
	wantOK   expect = iota // a good token: 200, nothing else
	wantDeny               // a bad token: anything but 200 (401 in practice)
)

// cred is one prepared credential: the Authorization header value and the
// class it is counted under.
type cred struct {
	hdr   []byte
	want  expect
	class int // index into load.classes
}

// load is one phase of traffic against a /verify address.
type load struct {
	addr    string
	creds   []cred   // sent round robin from a random start per worker
	classes []string // names of the classes in creds
	workers int      // closed loop: the workers; open loop: the bound on requests in flight
	rate    float64  // requests per second, open loop; 0: closed loop
	dur     time.Duration
	count   int64 // closed loop: stop after this many requests (0: dur only)
	timeout time.Duration
	// shed503 counts a 503 to a good token as load shedding, not as a
	// wrong answer (the overload scenario).
	shed503 bool
	// stop, when closed, ends the phase early.
	stop <-chan struct{}
}

// result counts every outcome of a phase.
type result struct {
	sent int64
	// scheduled (open loop): requests on the schedule; those not sent
	// a second after its end are unsent.
	scheduled, unsent int64
	status            []map[int]int64 // per class: answers by status
	errs              []int64         // per class: no answer (timeout, connection)
	wrong             int64
	shed              int64 // 503 to good tokens, with shed503
	samples           []string
	errMsg            string
	lat               *hdrhistogram.Histogram // µs; open loop from the intended send time
	elapsed           time.Duration
	classes           []string
	errTotal          int64
}

func (r *result) rps() float64 { return float64(r.sent) / r.elapsed.Seconds() }

func (r *result) p(q float64) time.Duration {
	return time.Duration(r.lat.ValueAtQuantile(q)) * time.Microsecond
}

// outcomes renders "good{200:n} forged{401:n err:m}".
func (r *result) outcomes() string {
	var b strings.Builder
	for i, c := range r.classes {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c + "{")
		codes := make([]int, 0, len(r.status[i]))
		for s := range r.status[i] {
			codes = append(codes, s)
		}
		sort.Ints(codes)
		for j, s := range codes {
			if j > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d:%d", s, r.status[i][s])
		}
		if r.errs[i] > 0 {
			fmt.Fprintf(&b, " err:%d", r.errs[i])
		}
		b.WriteString("}")
	}
	return b.String()
}

// worker-local tally, merged at the end: the hot loop takes no shared lock
// but its histogram shard's.
type tally struct {
	status  []map[int]int64
	errs    []int64
	wrong   int64
	shed    int64
	samples []string
	errMsg  string
}

const histShards = 16

// run drives l and returns what every request got. It never fails the
// test itself: the scenario decides what is wrong.
func run(l load) *result {
	if l.timeout == 0 {
		l.timeout = 5 * time.Second
	}
	hc := &fasthttp.HostClient{
		Addr:                      l.addr,
		Name:                      "tokengate-chaos",
		NoDefaultUserAgentHeader:  true,
		MaxConns:                  l.workers,
		MaxIdemponentCallAttempts: 1, // a retry would hide a failure
		ReadTimeout:               l.timeout,
		WriteTimeout:              l.timeout,
		MaxConnWaitTimeout:        l.timeout,
		MaxIdleConnDuration:       time.Minute,
	}
	defer hc.CloseIdleConnections()
	var shards [histShards]struct {
		sync.Mutex
		h *hdrhistogram.Histogram
	}
	for i := range shards {
		shards[i].h = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	}
	tallies := make([]*tally, l.workers)
	var next atomic.Int64
	open := l.rate > 0
	var interval float64
	if open {
		interval = float64(time.Second) / l.rate
	}
	total := int64(-1)
	if open {
		total = int64(l.dur.Seconds() * l.rate)
	} else if l.count > 0 {
		total = l.count
	}
	start := time.Now()
	end := start.Add(l.dur)
	hardStop := end.Add(time.Second)
	stop := l.stop
	if stop == nil {
		stop = make(chan struct{})
	}
	var wg sync.WaitGroup
	for w := range l.workers {
		tl := &tally{status: make([]map[int]int64, len(l.classes)), errs: make([]int64, len(l.classes))}
		for i := range tl.status {
			tl.status[i] = map[int]int64{}
		}
		tallies[w] = tl
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + l.addr + "/verify")
			shard := &shards[w%histShards]
			timer := time.NewTimer(time.Hour)
			timer.Stop()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := next.Add(1) - 1
				if total >= 0 && i >= total {
					return
				}
				var intended time.Time
				if open {
					intended = start.Add(time.Duration(float64(i) * interval))
					if d := time.Until(intended); d > 0 {
						timer.Reset(d)
						select {
						case <-stop:
							return
						case <-timer.C:
						}
					}
					if time.Now().After(hardStop) {
						return // a generator this far behind counts the rest as unsent
					}
				} else if !time.Now().Before(end) {
					return
				}
				c := &l.creds[int(i%int64(len(l.creds)))]
				req.Header.SetBytesV("Authorization", c.hdr)
				t0 := time.Now()
				if !open {
					intended = t0
				}
				err := hc.DoTimeout(req, resp, l.timeout)
				d := time.Since(intended)
				shard.Lock()
				_ = shard.h.RecordValue(min(max(int64(d/time.Microsecond), 1), int64(time.Minute/time.Microsecond)))
				shard.Unlock()
				if err != nil {
					tl.errs[c.class]++
					if tl.errMsg == "" {
						tl.errMsg = err.Error()
					}
					continue
				}
				code := resp.StatusCode()
				tl.status[c.class][code]++
				switch {
				case c.want == wantOK && code == fasthttp.StatusServiceUnavailable && l.shed503:
					tl.shed++
				case c.want == wantOK && code != fasthttp.StatusOK, c.want == wantDeny && code == fasthttp.StatusOK:
					tl.wrong++
					if len(tl.samples) < 3 {
						tl.samples = append(tl.samples, fmt.Sprintf("%s token answered %d", l.classes[c.class], code))
					}
				}
			}
		})
	}
	wg.Wait()
	r := &result{scheduled: total, elapsed: time.Since(start), classes: l.classes, status: make([]map[int]int64, len(l.classes)), errs: make([]int64, len(l.classes)),
		lat: hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)}
	for i := range r.status {
		r.status[i] = map[int]int64{}
	}
	for i := range shards {
		r.lat.Merge(shards[i].h)
	}
	for _, tl := range tallies {
		for c, m := range tl.status {
			for s, n := range m {
				r.status[c][s] += n
				r.sent += n
			}
			r.errs[c] += tl.errs[c]
			r.sent += tl.errs[c]
			r.errTotal += tl.errs[c]
		}
		r.wrong += tl.wrong
		r.shed += tl.shed
		if len(r.samples) < 5 {
			r.samples = append(r.samples, tl.samples...)
		}
		if r.errMsg == "" {
			r.errMsg = tl.errMsg
		}
	}
	if open {
		r.unsent = total - r.sent
	}
	return r
}

// check fails t on wrong answers and, unless errsOK, on requests that got
// no answer.
func (r *result) check(t *testing.T, name string, errsOK bool) {
	t.Helper()
	if r.wrong > 0 {
		t.Errorf("%s: %d wrong answers, e.g. %v", name, r.wrong, r.samples)
	}
	if r.errTotal > 0 && !errsOK {
		t.Errorf("%s: %d requests got no answer (first: %s)", name, r.errTotal, r.errMsg)
	}
	if r.sent == 0 {
		t.Errorf("%s: no request was sent", name)
	}
}

// memSampler records the peak heap in use and the peak RSS while it runs.
type memSampler struct {
	heap, rss atomic.Uint64
	stop      chan struct{}
	done      chan struct{}
}

func sampleMem(every time.Duration) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	m.sample()
	go func() {
		defer close(m.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				m.sample()
				return
			case <-tick.C:
				m.sample()
			}
		}
	}()
	return m
}

func (m *memSampler) sample() {
	h, r := heapInuse(), rss()
	for cur := m.heap.Load(); h > cur && !m.heap.CompareAndSwap(cur, h); cur = m.heap.Load() {
	}
	for cur := m.rss.Load(); r > cur && !m.rss.CompareAndSwap(cur, r); cur = m.rss.Load() {
	}
}

// end stops sampling and returns the peaks in bytes.
func (m *memSampler) end() (heap, rss uint64) {
	close(m.stop)
	<-m.done
	return m.heap.Load(), m.rss.Load()
}

var heapSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
}

// heapInuse is MemStats.HeapInuse (objects plus the unused part of their
// spans), read without stopping the world.
func heapInuse() uint64 {
	s := slices.Clone(heapSamples)
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// rss is VmRSS from /proc/self/status, 0 where there is none.
func rss() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mib(b uint64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }

// settleMemory collects garbage and returns memory to the OS, so a
// scenario's peaks are not the previous scenario's.
func settleMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// serve runs srv on loopback listeners until the test ends and returns the
// verify and admin addresses.
func serve(t *testing.T, srv *sidecar.Server) (verifyAddr, adminAddr string) {
	t.Helper()
	vln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	aln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(vln, aln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return vln.Addr().String(), aln.Addr().String()
}

var quiet = slog.New(slog.DiscardHandler)

// claims is a compact claim set; exp relative to now.
func claims(iss, sub, jti string, exp time.Duration) []byte {
	now := time.Now()
	b := fmt.Appendf(nil, `{"iss":%q,"sub":%q,"iat":%d,"exp":%d`, iss, sub, now.Add(-time.Minute).Unix(), now.Add(exp).Unix())
	if jti != "" {
		b = fmt.Appendf(b, `,"jti":%q`, jti)
	}
	return append(b, '}')
}

func mustSign(t testing.TB, s *signer.Signer, c []byte) string {
	t.Helper()
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tamper flips one bit of the signature's first byte (still canonical
// base64url): a forged signature.
func tamper(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 1
	b := []byte(tok)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	p := strings.IndexByte(alphabet, b[i])
	b[i] = alphabet[p^1]
	return string(b)
}

// unsigned is an alg "none" token naming kid: the oldest forgery.
func unsigned(kid string, c []byte) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT","kid":"`+kid+`"}`)) + "." + enc(c) + "."
}

func bearer(tok string) []byte { return []byte("Bearer " + tok) }

// interleave spreads the classes' credentials so every stretch of the
// round robin holds each class.
func interleave(groups ...[]cred) []cred {
	var out []cred
	for i := 0; ; i++ {
		more := false
		for _, g := range groups {
			if i < len(g) {
				out = append(out, g[i])
				more = true
			}
		}
		if !more {
			return out
		}
	}
}

// metricValue reads one sample ("name" or "name{labels}") from the admin
// listener's /metrics; -1 when absent.
func metricValue(t *testing.T, adminAddr, name string) float64 {
	t.Helper()
	code, body, err := fasthttp.Get(nil, "http://"+adminAddr+"/metrics")
	if err != nil || code != 200 {
		t.Fatalf("GET /metrics: %d %v", code, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return -1
}
