// Package metrics counts tokengate's decisions and exposes them, with the
// state of the keyring, the cache and revocation, in the Prometheus text
// format. A *Registry is the gate's Observer, so every front end's
// decisions are counted once, in the same series. Counting allocates
// nothing: every counter used per request exists before the first request
// or is created once per error label (labels are package-level constants,
// never token content).
package metrics

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/revocation"
)

// Options are what a Registry reports on besides decisions; nil fields are
// left out.
type Options struct {
	Keys           interface{ Status() keyring.Status }
	Revocations    *revocation.Store
	RevocationSync *revocation.Sync
}

// Registry holds the counters. Its methods are safe for concurrent use.
type Registry struct {
	set      *vm.Set
	opts     Options
	gate     atomic.Pointer[gate.Gate]
	inFlight atomic.Pointer[func() int64]

	outcomes  [5]*vm.Counter                            // ok, public, no_token, overload, queue_time
	mu        sync.Mutex                                // serialises adding to byLabel
	byLabel   [2]atomic.Pointer[map[string]*vm.Counter] // 401s, 403s
	algs      map[keyring.Algorithm]*vm.Counter
	latency   *vm.Histogram
	cacheHits *vm.Counter
	cacheMiss *vm.Counter
	cacheNeg  *vm.Counter
	refetched *vm.Counter
}

const (
	outOK = iota
	outPublic
	outNoToken
	outOverload
	outQueueTime
)

// New makes a Registry; call AttachGate once the gate exists (the gate
// needs the Registry as its Observer first).
func New(o Options) *Registry {
	set := vm.NewSet()
	m := &Registry{set: set, opts: o, algs: map[keyring.Algorithm]*vm.Counter{}}
	for i, l := range [...][2]string{outOK: {"ok", "none"}, outPublic: {"public", "none"}, outNoToken: {"unauthorized", "no_token"}, outOverload: {"unavailable", "overload"}, outQueueTime: {"unavailable", "queue_time"}} {
		m.outcomes[i] = set.NewCounter(fmt.Sprintf(`tokengate_requests_total{result=%q,reason=%q}`, l[0], l[1]))
	}
	m.byLabel[0].Store(&map[string]*vm.Counter{})
	m.byLabel[1].Store(&map[string]*vm.Counter{})
	for _, a := range keyring.Algorithms {
		m.algs[a] = set.NewCounter(fmt.Sprintf(`tokengate_verified_total{alg=%q}`, a))
	}
	m.latency = set.NewHistogram("tokengate_verify_duration_seconds")
	m.cacheHits = set.NewCounter("tokengate_cache_hits_total")
	m.cacheMiss = set.NewCounter("tokengate_cache_misses_total")
	m.cacheNeg = set.NewCounter("tokengate_cache_negative_hits_total")
	m.refetched = set.NewCounter("tokengate_unknown_kid_refetch_new_keys_total")
	set.NewGauge("tokengate_verify_in_flight", func() float64 {
		if f := m.inFlight.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})
	m.registerGauges()
	return m
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
		m.byAlg(d.Token.Alg()).Inc()
	}
	switch d.Outcome {
	case gate.Allowed:
		m.outcomes[outOK].Inc()
	case gate.Public:
		m.outcomes[outPublic].Inc()
	case gate.NoToken:
		m.outcomes[outNoToken].Inc()
	default:
		m.refusal(d.Status, gate.Label(d.Err)).Inc()
	}
}

// ObserveShed counts a request refused for overload (503).
func (m *Registry) ObserveShed() { m.outcomes[outOverload].Inc() }

// ObserveStale counts a request refused because it waited too long before
// the front end read it (503).
func (m *Registry) ObserveStale() { m.outcomes[outQueueTime].Inc() }

// ObserveLatency records the time a front end took for one request.
func (m *Registry) ObserveLatency(start time.Time) { m.latency.UpdateDuration(start) }

// refusal returns the counter of refusals with status and label. Labels
// are package-level constants of gate, verifier and jwe, so the set is
// bounded; the maps are copied on write and read without a lock.
func (m *Registry) refusal(status int, label string) *vm.Counter {
	i, result := 0, "unauthorized"
	if status == 403 {
		i, result = 1, "forbidden"
	}
	if c, ok := (*m.byLabel[i].Load())[label]; ok {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.byLabel[i].Load()
	if c, ok := old[label]; ok {
		return c
	}
	c := m.set.GetOrCreateCounter(fmt.Sprintf(`tokengate_requests_total{result=%q,reason=%q}`, result, label))
	next := maps.Clone(old)
	next[label] = c
	m.byLabel[i].Store(&next)
	return c
}

func (m *Registry) byAlg(a keyring.Algorithm) *vm.Counter {
	if c, ok := m.algs[a]; ok {
		return c
	}
	return m.set.GetOrCreateCounter(fmt.Sprintf(`tokengate_verified_total{alg=%q}`, a))
}

func (m *Registry) registerGauges() {
	set, o := m.set, m.opts
	if s := o.Revocations; s != nil {
		set.NewGauge("tokengate_revocation_rules", func() float64 { return float64(s.Len()) })
		set.NewGauge("tokengate_revocation_changes", func() float64 { return float64(s.Changes()) })
	}
	if y := o.RevocationSync; y != nil {
		set.NewGauge("tokengate_revocation_redis_connected", func() float64 { return b2f(y.Status().Connected) })
		set.NewGauge("tokengate_revocation_redis_resyncs", func() float64 { return float64(y.Status().Resyncs) })
		set.NewGauge("tokengate_revocation_redis_failures", func() float64 { return float64(y.Status().Failures) })
		set.NewGauge("tokengate_revocation_redis_events", func() float64 { return float64(y.Status().Events) })
		set.NewGauge("tokengate_revocation_redis_pending_writes", func() float64 { return float64(y.Status().Pending) })
		set.NewGauge("tokengate_revocation_sync_lag_seconds", func() float64 { return y.Status().Lag.Seconds() })
		set.NewGauge("tokengate_revocation_last_sync_timestamp_seconds", func() float64 { return unixSeconds(y.Status().LastSync) })
	}
	if k := o.Keys; k != nil {
		set.NewGauge("tokengate_keyring_generation", func() float64 { return float64(k.Status().Generation) })
		set.NewGauge("tokengate_keyring_keys", func() float64 { return float64(k.Status().Keys) })
		set.NewGauge(`tokengate_keyring_reloads{result="ok"}`, func() float64 { return float64(k.Status().ReloadsOK) })
		set.NewGauge(`tokengate_keyring_reloads{result="error"}`, func() float64 { return float64(k.Status().ReloadsFailed) })
		set.NewGauge("tokengate_keyring_last_reload_success_timestamp_seconds", func() float64 { return unixSeconds(k.Status().LastSuccess) })
		set.NewGauge("tokengate_keyring_last_reload_ok", func() float64 { return b2f(k.Status().LastError == nil) })
	}
	gateStat := func(f func(st gate.Status) float64) func() float64 {
		return func() float64 {
			if g := m.gate.Load(); g != nil {
				return f(g.Status())
			}
			return 0
		}
	}
	set.NewGauge(`tokengate_config_reloads_total{result="ok"}`, gateStat(func(st gate.Status) float64 { return float64(st.Applied) }))
	set.NewGauge(`tokengate_config_reloads_total{result="error"}`, gateStat(func(st gate.Status) float64 { return float64(st.Failed) }))
	set.NewGauge(`tokengate_config_last_reload_ok`, gateStat(func(st gate.Status) float64 { return b2f(st.LastError == nil) }))
	set.NewGauge("tokengate_cache_evictions", gateStat(func(st gate.Status) float64 { return float64(st.Cache.Evictions) }))
	set.NewGauge("tokengate_cache_bytes", gateStat(func(st gate.Status) float64 { return float64(st.Cache.BytesInUse) }))
	set.NewGauge("tokengate_cache_max_bytes", gateStat(func(st gate.Status) float64 { return float64(st.Cache.MaxBytes) }))
	set.NewGauge("tokengate_cache_dropped_sets", gateStat(func(st gate.Status) float64 { return float64(st.Cache.Dropped + st.Cache.Rejected) }))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// WritePrometheus writes the metrics in the Prometheus text format, then
// one series per identity provider (the set of providers changes with the
// configuration, so they are written from the keyring's status on every
// scrape rather than registered), then the process metrics.
func (m *Registry) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	if m.opts.Keys != nil {
		writeRemotes(w, m.opts.Keys.Status().Remotes)
	}
	vm.WriteProcessMetrics(w)
}

func writeRemotes(w io.Writer, remotes []keyring.RemoteStatus) {
	if len(remotes) == 0 {
		return
	}
	sorted := slices.Clone(remotes)
	slices.SortFunc(sorted, func(a, b keyring.RemoteStatus) int { return strings.Compare(a.URL, b.URL) })
	type series struct {
		name, typ string
		val       func(r keyring.RemoteStatus) float64
	}
	for _, sr := range []series{
		{"tokengate_jwks_ready", "gauge", func(r keyring.RemoteStatus) float64 { return b2f(r.Ready) }},
		{"tokengate_jwks_keys", "gauge", func(r keyring.RemoteStatus) float64 { return float64(r.Keys) }},
		{"tokengate_jwks_fetches_total", "counter", func(r keyring.RemoteStatus) float64 { return float64(r.Fetches) }},
		{"tokengate_jwks_fetch_errors_total", "counter", func(r keyring.RemoteStatus) float64 { return float64(r.FetchErrors) }},
		{"tokengate_jwks_not_modified_total", "counter", func(r keyring.RemoteStatus) float64 { return float64(r.NotModified) }},
		{"tokengate_jwks_refetches_total", "counter", func(r keyring.RemoteStatus) float64 { return float64(r.Refetches) }},
		{"tokengate_jwks_refetches_suppressed_total", "counter", func(r keyring.RemoteStatus) float64 { return float64(r.RefetchesSuppressed) }},
		{"tokengate_jwks_consecutive_failures", "gauge", func(r keyring.RemoteStatus) float64 { return float64(r.ConsecutiveFailures) }},
		{"tokengate_jwks_last_success_timestamp_seconds", "gauge", func(r keyring.RemoteStatus) float64 { return unixSeconds(r.LastSuccess) }},
		{"tokengate_jwks_next_refresh_timestamp_seconds", "gauge", func(r keyring.RemoteStatus) float64 { return unixSeconds(r.NextRefresh) }},
	} {
		fmt.Fprintf(w, "# TYPE %s %s\n", sr.name, sr.typ)
		for _, r := range sorted {
			// Labels come from the configuration (issuer and URL), never
			// from a token.
			fmt.Fprintf(w, "%s{issuer=%q,url=%q} %g\n", sr.name, r.Issuer, r.URL, sr.val(r))
		}
	}
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
