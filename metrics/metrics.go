// Package metrics counts tokengate's decisions and exposes them, with the
// state of the keyring, the identity providers, the cache and revocation,
// through a Prometheus registry (github.com/prometheus/client_golang):
// every family has HELP and TYPE, counters end in _total, durations are in
// seconds, and latency is an le-bucket histogram (also a native histogram
// for scrapers that ask for one).
//
// A *Registry is the gate's Observer, so every front end's decisions are
// counted once, in the same series. Counting allocates nothing and takes no
// lock: every series a request touches exists before the first request
// (client_golang's counters and histograms are atomic adds). Labels come
// from the configuration and from package-level error labels, never from
// a token: no kid, issuer or claim a client sends can create a series.
package metrics

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/internal/buildinfo"
	"github.com/tokengate/tokengate/internal/errclass"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/revocation"
	"github.com/tokengate/tokengate/verifier"
)

// Options are what a Registry reports on besides decisions; nil fields are
// left out.
type Options struct {
	Keys           interface{ Status() keyring.Status }
	Revocations    *revocation.Store
	RevocationSync *revocation.Sync
}

// LatencyBuckets are the upper bounds of tokengate_verify_duration_seconds:
// a cache hit takes microseconds, an RSA or ECDSA verification tens to
// hundreds, a refetch from an identity provider up to seconds.
var LatencyBuckets = []float64{
	1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
	1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 0.5, 2.5,
}

// Registry holds the series. Its methods are safe for concurrent use.
type Registry struct {
	reg      *prometheus.Registry
	opts     Options
	gate     atomic.Pointer[gate.Gate]
	inFlight atomic.Pointer[func() int64]

	ok, public, noToken, overload, queueTime prometheus.Counter
	// refused holds the counter of each refusal label (every label of
	// every gate, verifier and jwe error, built at start): a read-only
	// map, so looking one up takes no lock and allocates nothing.
	refused   map[string]prometheus.Counter
	other     prometheus.Counter
	verified  map[keyring.Algorithm]prometheus.Counter
	latency   prometheus.Histogram
	cacheHits prometheus.Counter
	cacheMiss prometheus.Counter
	cacheNeg  prometheus.Counter
	refetched prometheus.Counter
}

// New makes a Registry; call AttachGate once the gate exists (the gate
// needs the Registry as its Observer first).
func New(o Options) *Registry {
	m := &Registry{reg: prometheus.NewRegistry(), opts: o}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tokengate_requests_total",
		Help: "Authorisation decisions, by result (ok, public, unauthorized, forbidden, unavailable) and reason (none, no_token, a refusal's label, overload, queue_time).",
	}, []string{"result", "reason"})
	m.ok = requests.WithLabelValues("ok", "none")
	m.public = requests.WithLabelValues("public", "none")
	m.noToken = requests.WithLabelValues("unauthorized", "no_token")
	m.overload = requests.WithLabelValues("unavailable", "overload")
	m.queueTime = requests.WithLabelValues("unavailable", "queue_time")
	m.other = requests.WithLabelValues("unauthorized", "other")
	m.refused = map[string]prometheus.Counter{}
	for _, e := range errclass.All() {
		if _, ok := m.refused[e.Label()]; !ok {
			m.refused[e.Label()] = requests.WithLabelValues(resultOf(e), e.Label())
		}
	}
	verified := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tokengate_verified_total",
		Help: "Signatures verified (cache misses that verified), by algorithm.",
	}, []string{"alg"})
	m.verified = map[keyring.Algorithm]prometheus.Counter{}
	for _, a := range keyring.Algorithms {
		m.verified[a] = verified.WithLabelValues(string(a))
	}
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                            "tokengate_verify_duration_seconds",
		Help:                            "Time from reading a /verify request to writing its answer.",
		Buckets:                         LatencyBuckets,
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: time.Hour,
	})
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m.cacheHits = counter("tokengate_cache_hits_total", "Requests answered from the cache of verified tokens.")
	m.cacheMiss = counter("tokengate_cache_misses_total", "Requests whose token was not in the cache (verified).")
	m.cacheNeg = counter("tokengate_cache_negative_hits_total", "Requests answered from a cached failure (a bad signature seen moments ago).")
	m.refetched = counter("tokengate_unknown_kid_refetch_new_keys_total", "Unknown kids whose identity provider, fetched again, had new keys.")
	m.reg.MustRegister(requests, verified, m.latency, m.cacheHits, m.cacheMiss, m.cacheNeg, m.refetched,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tokengate_verify_in_flight",
			Help: "/verify requests being handled now (counted while limits.max_in_flight is set).",
		}, func() float64 {
			if f := m.inFlight.Load(); f != nil {
				return float64((*f)())
			}
			return 0
		}),
		buildInfo(buildinfo.Read()),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		&stateCollector{m: m},
	)
	return m
}

// resultOf is the result label of a refusal: 403 for a rule not met or a
// request that cannot be read (a path, a method), 401 otherwise.
func resultOf(e errclass.Described) string {
	switch {
	case e.Code() == verifier.CodeInsufficientScope, e == errclass.Described(gate.ErrBadPath), e == errclass.Described(gate.ErrBadMethod):
		return "forbidden"
	}
	return "unauthorized"
}

func buildInfo(b buildinfo.Info) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tokengate_build_info",
		Help: "The running binary: its module version, VCS revision and Go version (always 1).",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	return g
}

// AttachGate makes the Registry report g's configuration reloads and cache.
func (m *Registry) AttachGate(g *gate.Gate) { m.gate.Store(g) }

// SetInFlight sets the source of tokengate_verify_in_flight (the HTTP
// front end's count of requests being handled).
func (m *Registry) SetInFlight(f func() int64) { m.inFlight.Store(&f) }

// Observe counts one decision (gate.Observer).
func (m *Registry) Observe(_ *gate.Request, d *gate.Decision) {
	switch d.Cache {
	case gate.CacheHit:
		m.cacheHits.Inc()
	case gate.CacheMiss:
		m.cacheMiss.Inc()
	case gate.CacheNegative:
		m.cacheNeg.Inc()
	}
	if d.Refetched {
		m.refetched.Inc()
	}
	if d.Verified && d.Token != nil {
		if c, ok := m.verified[d.Token.Alg()]; ok {
			c.Inc()
		}
	}
	switch d.Outcome {
	case gate.Allowed:
		m.ok.Inc()
	case gate.Public:
		m.public.Inc()
	case gate.NoToken:
		m.noToken.Inc()
	default:
		if c, ok := m.refused[gate.Label(d.Err)]; ok {
			c.Inc()
		} else {
			m.other.Inc()
		}
	}
}

// ObserveShed counts a request refused for overload (503).
func (m *Registry) ObserveShed() { m.overload.Inc() }

// ObserveStale counts a request refused because it waited too long before
// the front end read it (503).
func (m *Registry) ObserveStale() { m.queueTime.Inc() }

// ObserveLatency records the time a front end took for one request.
func (m *Registry) ObserveLatency(start time.Time) { m.latency.Observe(time.Since(start).Seconds()) }

// Register adds collectors of another part of the process (the access
// log's counters) to the registry.
func (m *Registry) Register(cs ...prometheus.Collector) { m.reg.MustRegister(cs...) }

// Handler serves the registry with client_golang's own semantics: the
// Prometheus text format, OpenMetrics when the scraper asks for it, and
// the protobuf format (native histograms) for scrapers that negotiate it.
func (m *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Gatherer is the registry, for tests and for embedding in another
// registry.
func (m *Registry) Gatherer() prometheus.Gatherer { return m.reg }
