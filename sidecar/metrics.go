package sidecar

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/verifier"
)

// Results of /verify other than a verifier error.
const (
	resultOK = iota
	resultForbidden
	resultNoToken
	resultPublic
	resultBadPath
	resultOverload
	numResults
)

var resultLabels = [numResults][2]string{
	resultOK:        {"ok", "none"},
	resultForbidden: {"forbidden", "insufficient_scope"},
	resultNoToken:   {"unauthorized", "no_token"},
	resultPublic:    {"public", "none"},
	resultBadPath:   {"forbidden", "bad_path"},
	resultOverload:  {"unavailable", "overload"},
}

// serverMetrics are the sidecar's Prometheus metrics, in a metrics.Set of
// its own so several servers (tests) do not share counters. Every counter
// used on the request path exists before the first request or is created
// once per error value, so counting allocates nothing.
type serverMetrics struct {
	set               *metrics.Set
	srv               *Server
	results           [numResults]*metrics.Counter
	rejections        sync.Map // *verifier.Error → *metrics.Counter
	algs              map[keyring.Algorithm]*metrics.Counter
	latency           *metrics.Histogram
	cacheHits         *metrics.Counter
	cacheMisses       *metrics.Counter
	cacheNegativeHits *metrics.Counter
	reloadOK          *metrics.Counter
	reloadFailed      *metrics.Counter
	refetchChanged    *metrics.Counter
}

func newServerMetrics(s *Server) *serverMetrics {
	set := metrics.NewSet()
	m := &serverMetrics{set: set, srv: s, algs: map[keyring.Algorithm]*metrics.Counter{}}
	for i, l := range resultLabels {
		m.results[i] = set.NewCounter(fmt.Sprintf(`tokengate_requests_total{result=%q,reason=%q}`, l[0], l[1]))
	}
	for _, a := range keyring.Algorithms {
		m.algs[a] = set.NewCounter(fmt.Sprintf(`tokengate_verified_total{alg=%q}`, a))
	}
	m.latency = set.NewHistogram("tokengate_verify_duration_seconds")
	m.cacheHits = set.NewCounter("tokengate_cache_hits_total")
	m.cacheMisses = set.NewCounter("tokengate_cache_misses_total")
	m.cacheNegativeHits = set.NewCounter("tokengate_cache_negative_hits_total")
	m.reloadOK = set.NewCounter(`tokengate_config_reloads_total{result="ok"}`)
	m.reloadFailed = set.NewCounter(`tokengate_config_reloads_total{result="error"}`)
	m.refetchChanged = set.NewCounter("tokengate_unknown_kid_refetch_new_keys_total")
	// Counted only while limits.max_in_flight is set (0 otherwise).
	set.NewGauge("tokengate_verify_in_flight", func() float64 { return float64(s.inFlight.n.Load()) })
	if s.revs != nil {
		set.NewGauge("tokengate_revocation_rules", func() float64 { return float64(s.revs.Len()) })
		set.NewGauge("tokengate_revocation_changes", func() float64 { return float64(s.revs.Changes()) })
	}
	if y := s.revSync; y != nil {
		set.NewGauge("tokengate_revocation_redis_connected", func() float64 { return b2f(y.Status().Connected) })
		set.NewGauge("tokengate_revocation_redis_resyncs", func() float64 { return float64(y.Status().Resyncs) })
		set.NewGauge("tokengate_revocation_redis_failures", func() float64 { return float64(y.Status().Failures) })
		set.NewGauge("tokengate_revocation_redis_events", func() float64 { return float64(y.Status().Events) })
		set.NewGauge("tokengate_revocation_redis_pending_writes", func() float64 { return float64(y.Status().Pending) })
		set.NewGauge("tokengate_revocation_sync_lag_seconds", func() float64 { return y.Status().Lag.Seconds() })
		set.NewGauge("tokengate_revocation_last_sync_timestamp_seconds", func() float64 { return unixSeconds(y.Status().LastSync) })
	}

	set.NewGauge("tokengate_keyring_generation", func() float64 { return float64(s.keys.Status().Generation) })
	set.NewGauge("tokengate_keyring_keys", func() float64 { return float64(s.keys.Status().Keys) })
	set.NewGauge(`tokengate_keyring_reloads{result="ok"}`, func() float64 { return float64(s.keys.Status().ReloadsOK) })
	set.NewGauge(`tokengate_keyring_reloads{result="error"}`, func() float64 { return float64(s.keys.Status().ReloadsFailed) })
	set.NewGauge("tokengate_keyring_last_reload_success_timestamp_seconds", func() float64 { return unixSeconds(s.keys.Status().LastSuccess) })
	set.NewGauge("tokengate_keyring_last_reload_ok", func() float64 {
		if s.keys.Status().LastError != nil {
			return 0
		}
		return 1
	})
	cacheStat := func(f func(st *state) float64) func() float64 {
		return func() float64 {
			st := s.state.Load()
			if st == nil || st.cache == nil {
				return 0
			}
			return f(st)
		}
	}
	set.NewGauge("tokengate_cache_evictions", cacheStat(func(st *state) float64 { return float64(st.cache.Stats().Evictions) }))
	set.NewGauge("tokengate_cache_bytes", cacheStat(func(st *state) float64 { return float64(st.cache.Stats().BytesInUse) }))
	set.NewGauge("tokengate_cache_max_bytes", cacheStat(func(st *state) float64 { return float64(st.cache.Stats().MaxBytes) }))
	set.NewGauge("tokengate_cache_dropped_sets", cacheStat(func(st *state) float64 { return float64(st.cache.Stats().Dropped + st.cache.Stats().Rejected) }))
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *serverMetrics) result(r int) *metrics.Counter { return m.results[r] }

// rejected returns the counter for a verifier failure, labelled with the
// error's class and stable label: never with token bytes or claim values.
func (m *serverMetrics) rejected(err error) *metrics.Counter {
	if c, ok := m.rejections.Load(err); ok {
		return c.(*metrics.Counter)
	}
	reason := "other"
	if ve, ok := err.(*verifier.Error); ok {
		reason = ve.Label()
	}
	c := m.set.GetOrCreateCounter(fmt.Sprintf(`tokengate_requests_total{result="unauthorized",reason=%q}`, reason))
	if _, ok := err.(*verifier.Error); ok {
		m.rejections.Store(err, c) // bounded: verifier errors are package-level values
	}
	return c
}

// rejectedJWE returns the counter for a failed decryption, labelled with
// the jwe error's stable label.
func (m *serverMetrics) rejectedJWE(err error) *metrics.Counter {
	if c, ok := m.rejections.Load(err); ok {
		return c.(*metrics.Counter)
	}
	c := m.set.GetOrCreateCounter(fmt.Sprintf(`tokengate_requests_total{result="unauthorized",reason=%q}`, jwe.Label(err)))
	if _, ok := err.(*jwe.Error); ok {
		m.rejections.Store(err, c) // bounded: jwe errors are package-level values
	}
	return c
}

func (m *serverMetrics) byAlg(a keyring.Algorithm) *metrics.Counter {
	if c, ok := m.algs[a]; ok {
		return c
	}
	return m.set.GetOrCreateCounter(fmt.Sprintf(`tokengate_verified_total{alg=%q}`, a))
}

// WritePrometheus writes the metrics in the Prometheus text format, then
// one series per identity provider (the set of providers changes with the
// configuration, so they are written from the keyring's status on every
// scrape rather than registered).
func (m *serverMetrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	remotes := m.srv.keys.Status().Remotes
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
