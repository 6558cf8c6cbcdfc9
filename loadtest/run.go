package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/internal/proccpu"
)

// Histogram range: 1 ns to 60 s at 3 significant digits; longer values are
// recorded as 60 s.
const (
	histMin    = 1
	histMax    = int64(60 * time.Second)
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// recorder holds one worker's results. The worker is the only writer; the
// progress line reads under mu once a second, so the lock is uncontended.
type recorder struct {
	mu        sync.Mutex
	lat       *hdrhistogram.Histogram // from the intended send time (open) or the send (closed)
	svc       *hdrhistogram.Histogram // open loop: from the actual send
	status    map[int]int64
	expected  map[int]int64
	wrong     int64
	timeouts  int64
	connErrs  int64
	otherErrs int64
	errSample string
}

func newRecorder(open bool) *recorder {
	r := &recorder{lat: newHist(), status: map[int]int64{}, expected: map[int]int64{}}
	if open {
		r.svc = newHist()
	}
	return r
}

func record(h *hdrhistogram.Histogram, d time.Duration) {
	v := max(int64(d), histMin)
	if h.RecordValue(min(v, histMax)) != nil {
		_ = h.RecordValue(histMax)
	}
}

func (r *recorder) add(expected, status int, err error, latency, service time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expected[expected]++
	if err != nil {
		switch {
		case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout), errors.Is(err, os.ErrDeadlineExceeded):
			r.timeouts++
		case errors.Is(err, fasthttp.ErrNoFreeConns):
			r.otherErrs++
		default:
			r.connErrs++
		}
		if r.errSample == "" {
			r.errSample = err.Error()
		}
		// A failed request still took this long: keep it in the latency,
		// hiding it would flatter the target.
		record(r.lat, latency)
		if r.svc != nil {
			record(r.svc, service)
		}
		return
	}
	r.status[status]++
	if status != expected {
		r.wrong++
	}
	record(r.lat, latency)
	if r.svc != nil {
		record(r.svc, service)
	}
}

// Run builds the workload, starts c.Target (unless c.URL is set), applies
// the load and returns the report. It stops after c.Duration, after
// c.Requests requests, or when ctx is done (the report then covers what
// was measured).
func Run(ctx context.Context, c Config) (*Report, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	w, err := NewWorkload(c)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	url := c.URL
	if url == "" {
		t, err := StartTarget(ctx, c.Target, w, TargetOptions{RedisURL: c.RedisURL, PostgresDSN: c.PostgresDSN, PoolSize: c.Connections, Rows: c.Rows})
		if err != nil {
			return nil, err
		}
		defer t.Close()
		url = t.URL
	}
	return Load(ctx, c, w, url)
}

// Load applies c's load with w's credentials to url (which must be
// loopback) and returns the report. Run calls it; use it directly to load
// one started Target several times. c.Target and c.URL are only reported.
func Load(ctx context.Context, c Config, w *Workload, url string) (*Report, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	u, err := CheckLoopbackURL(url)
	if err != nil {
		return nil, err
	}
	if len(w.Creds) == 0 {
		return nil, errors.New("loadtest: empty workload")
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	hc := &fasthttp.HostClient{
		Addr:                      addr,
		Name:                      "tokengate-loadtest",
		NoDefaultUserAgentHeader:  true,
		MaxConns:                  c.Connections,
		MaxIdemponentCallAttempts: 1, // a retry would hide an error and skew latency
		ReadTimeout:               c.Timeout,
		WriteTimeout:              c.Timeout,
		MaxConnWaitTimeout:        c.Timeout,
		MaxIdleConnDuration:       time.Minute,
		Dial:                      loopbackDial(c.Timeout),
	}
	defer hc.CloseIdleConnections()

	open := c.Mode == Open
	recs := make([]*recorder, c.Connections)
	for i := range recs {
		recs[i] = newRecorder(open)
	}
	var next, sent atomic.Int64
	var total int64 // open loop: the scheduled requests
	if open {
		total = int64(c.Duration.Seconds() * c.Rate)
		if c.Requests > 0 {
			total = min(total, c.Requests)
		}
	}
	// The measurement goes on from the credential after the warm-up's
	// last, so a run whose credentials must all be new stays new.
	var base int64
	if c.Warmup > 0 {
		base = warmup(ctx, c, w, url, hc)
	}
	loadAvg := proccpu.LoadAvg()
	if c.Mark != nil {
		c.Mark("start")
	}
	cpu0, cpuErr := proccpu.Self()
	start := time.Now()
	end := start.Add(c.Duration)
	hardStop := end.Add(c.Timeout) // open loop: no new sends after this
	interval := 1e9 / c.Rate

	worker := func(rec *recorder) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(url)
		req.Header.SetMethod(fasthttp.MethodGet)
		var timer *time.Timer
		for ctx.Err() == nil {
			i := next.Add(1) - 1
			var intended time.Time
			if open {
				if i >= total {
					return
				}
				intended = start.Add(time.Duration(float64(i) * interval))
				if d := time.Until(intended); d > 0 {
					if timer == nil {
						timer = time.NewTimer(d)
					} else {
						timer.Reset(d)
					}
					select {
					case <-ctx.Done():
						timer.Stop()
						return
					case <-timer.C:
					}
				}
				if time.Now().After(hardStop) {
					return // the rest is counted as unsent
				}
			} else if c.Requests > 0 && i >= c.Requests || !time.Now().Before(end) {
				return
			}
			cr := &w.Creds[(base+i)%int64(len(w.Creds))]
			if w.Sessions {
				req.Header.SetCookieBytesKV(cookieSession, cr.hdrValue)
			} else {
				req.Header.SetBytesKV(hdrAuthorization, cr.hdrValue)
			}
			t0 := time.Now()
			if !open {
				intended = t0
			}
			err := hc.DoTimeout(req, resp, c.Timeout)
			t1 := time.Now()
			rec.add(cr.Expected, resp.StatusCode(), err, t1.Sub(intended), t1.Sub(t0))
			sent.Add(1)
		}
	}

	var wg sync.WaitGroup
	for _, rec := range recs {
		wg.Go(func() { worker(rec) })
	}
	stopProgress := make(chan struct{})
	var progressDone sync.WaitGroup
	if c.Progress != nil {
		progressDone.Go(func() { progress(c, start, &sent, recs, stopProgress) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if c.Mark != nil {
		c.Mark("end")
	}
	close(stopProgress)
	progressDone.Wait()

	r := buildReport(c, w, url, start, elapsed, recs)
	if cpu1, err := proccpu.Self(); err == nil && cpuErr == nil {
		r.GeneratorCPU = (cpu1 - cpu0).Seconds()
	}
	r.Environment.LoadAvg = loadAvg
	r.Sent = sent.Load()
	r.Warmup = base
	if open {
		r.Scheduled = total
		r.Unsent = total - r.Sent
	}
	if r.ElapsedSeconds > 0 {
		r.Throughput = float64(r.Completed) / r.ElapsedSeconds
	}
	return r, nil
}

var hdrAuthorization = []byte("Authorization")

// warmup sends closed-loop requests from c.Connections workers for
// c.Warmup, forgets their results and returns how many it sent.
func warmup(ctx context.Context, c Config, w *Workload, url string, hc *fasthttp.HostClient) int64 {
	end := time.Now().Add(c.Warmup)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range c.Connections {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(url)
			for ctx.Err() == nil && time.Now().Before(end) {
				cr := &w.Creds[(next.Add(1)-1)%int64(len(w.Creds))]
				if w.Sessions {
					req.Header.SetCookieBytesKV(cookieSession, cr.hdrValue)
				} else {
					req.Header.SetBytesKV(hdrAuthorization, cr.hdrValue)
				}
				_ = hc.DoTimeout(req, resp, c.Timeout)
			}
		})
	}
	wg.Wait()
	return next.Load()
}

// merged returns the union of the workers' latency histograms and their
// error count.
func merged(recs []*recorder) (*hdrhistogram.Histogram, int64) {
	h := newHist()
	var errs int64
	for _, r := range recs {
		r.mu.Lock()
		h.Merge(r.lat)
		errs += r.timeouts + r.connErrs + r.otherErrs
		r.mu.Unlock()
	}
	return h, errs
}

// progress writes one line per interval: elapsed, sent, rps over the last
// interval, p99 so far, errors. On a terminal the line is rewritten in place.
func progress(c Config, start time.Time, sent *atomic.Int64, recs []*recorder, stop <-chan struct{}) {
	tick := time.NewTicker(c.ProgressInterval)
	defer tick.Stop()
	inPlace := isTerminal(c.Progress)
	lastN, lastT := int64(0), start
	for {
		select {
		case <-stop:
			if inPlace {
				fmt.Fprintln(c.Progress)
			}
			return
		case now := <-tick.C:
			n := sent.Load()
			h, errs := merged(recs)
			rps := float64(n-lastN) / now.Sub(lastT).Seconds()
			lastN, lastT = n, now
			line := fmt.Sprintf("%6.1fs  sent %d  %.0f rps  p99 %s  errors %d",
				now.Sub(start).Seconds(), n, rps, FormatMicros(float64(h.ValueAtQuantile(99))/1e3), errs)
			if inPlace {
				fmt.Fprint(c.Progress, "\r\033[K"+line)
			} else {
				fmt.Fprintln(c.Progress, line)
			}
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// FormatMicros formats a duration in microseconds for people: "7.3 µs",
// "412 µs", "1.25 ms", "2.03 s".
func FormatMicros(us float64) string {
	switch {
	case us >= 1e6:
		return strconv.FormatFloat(us/1e6, 'f', 2, 64) + " s"
	case us >= 1e3:
		return strconv.FormatFloat(us/1e3, 'f', 2, 64) + " ms"
	case us >= 10:
		return strconv.FormatFloat(us, 'f', 0, 64) + " µs"
	default:
		return strconv.FormatFloat(us, 'f', 1, 64) + " µs"
	}
}

func buildReport(c Config, w *Workload, url string, start time.Time, elapsed time.Duration, recs []*recorder) *Report {
	r := &Report{
		Tool:           "tokengate loadtest",
		Config:         reportConfig(c, url),
		Workload:       WorkloadInfo{Distinct: len(w.Creds), Kinds: w.Counts(), Algs: w.AlgCounts(), Credential: "bearer token"},
		Environment:    Environment{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)},
		Started:        start.UTC().Truncate(time.Millisecond),
		ElapsedSeconds: elapsed.Seconds(),
		Status:         map[string]int64{},
		Expected:       map[string]int64{},
	}
	if w.Sessions {
		r.Workload.Credential = "session cookie"
	}
	lat := newHist()
	var svc *hdrhistogram.Histogram
	for _, rec := range recs {
		rec.mu.Lock()
		lat.Merge(rec.lat)
		if rec.svc != nil {
			if svc == nil {
				svc = newHist()
			}
			svc.Merge(rec.svc)
		}
		for s, n := range rec.status {
			r.Status[strconv.Itoa(s)] += n
			r.Completed += n
		}
		for s, n := range rec.expected {
			r.Expected[strconv.Itoa(s)] += n
		}
		r.WrongAnswers += rec.wrong
		r.Errors.Timeouts += rec.timeouts
		r.Errors.Connection += rec.connErrs
		r.Errors.Other += rec.otherErrs
		if r.Errors.Sample == "" {
			r.Errors.Sample = rec.errSample
		}
		rec.mu.Unlock()
	}
	r.Errors.Total = r.Errors.Timeouts + r.Errors.Connection + r.Errors.Other
	r.Latency = percentiles(lat)
	if svc != nil {
		p := percentiles(svc)
		r.ServiceTime = &p
	}
	return r
}

func percentiles(h *hdrhistogram.Histogram) Percentiles {
	us := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1e3 }
	p := Percentiles{Count: h.TotalCount()}
	if p.Count == 0 {
		return p
	}
	p.P50, p.P90, p.P99, p.P999 = us(50), us(90), us(99), us(99.9)
	p.Max = float64(h.Max()) / 1e3
	p.Mean = float64(int64(h.Mean())) / 1e3
	return p
}
