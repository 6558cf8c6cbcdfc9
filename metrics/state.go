package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/keyring"
)

// stateCollector reports, at each scrape, what tokengate's parts know
// about themselves: configuration reloads, the cache, the keyring and
// each identity provider, revocation and its Redis link. The numbers are
// read from their Status methods, so nothing on the request path counts
// them twice; the set of identity providers follows the configuration.
type stateCollector struct{ m *Registry }

type desc struct {
	*prometheus.Desc
	typ prometheus.ValueType
}

func newDesc(name, help string, typ prometheus.ValueType, labels ...string) desc {
	return desc{prometheus.NewDesc(name, help, labels, nil), typ}
}

var (
	dConfigReloads = newDesc("tokengate_config_reloads_total", "Configuration applications (start-up and SIGHUP), by result (ok, error).", prometheus.CounterValue, "result")
	dConfigOK      = newDesc("tokengate_config_last_reload_success", "1 if the last configuration reload succeeded (the running configuration is the newest), else 0.", prometheus.GaugeValue)

	dCacheBytes     = newDesc("tokengate_cache_bytes", "Bytes the cached verified tokens are charged for.", prometheus.GaugeValue)
	dCacheMaxBytes  = newDesc("tokengate_cache_max_bytes", "The cache's byte budget (cache.max_size).", prometheus.GaugeValue)
	dCacheEvictions = newDesc("tokengate_cache_evictions_total", "Cache entries removed for room, expiry or a clear.", prometheus.CounterValue)
	dCacheDropped   = newDesc("tokengate_cache_dropped_sets_total", "Verified tokens not cached: dropped under write contention or refused by the admission policy.", prometheus.CounterValue)
	dCacheDeferred  = newDesc("tokengate_cache_deferred_sets_total", "Verified tokens not cached because they were seen for the first time (cache.admit_first_use: false).", prometheus.CounterValue)

	dKeyGeneration = newDesc("tokengate_keyring_generation", "Generation of the key set in use (changes when a key, or what it is bound to, changes).", prometheus.GaugeValue)
	dKeys          = newDesc("tokengate_keyring_keys", "Keys in use.", prometheus.GaugeValue)
	dKeyRefused    = newDesc("tokengate_keyring_refused_keys", "Keys of key files (and inline or environment sources) refused by the last load; their documents' other keys are in use.", prometheus.GaugeValue)
	dKeyReloads    = newDesc("tokengate_keyring_reloads_total", "Key set loads, by result (ok, error: a source could not be used and kept its last good keys).", prometheus.CounterValue, "result")
	dKeyLastOK     = newDesc("tokengate_keyring_last_reload_success", "1 if the last key load had no error, else 0.", prometheus.GaugeValue)
	dKeyLastOKTime = newDesc("tokengate_keyring_last_reload_success_timestamp_seconds", "Time of the last key load without an error.", prometheus.GaugeValue)

	dRevRules   = newDesc("tokengate_revocation_rules", "Revocation rules in force.", prometheus.GaugeValue)
	dRevChanges = newDesc("tokengate_revocation_changes_total", "Revocation rules added or removed.", prometheus.CounterValue)

	dRedisUp       = newDesc("tokengate_revocation_redis_connected", "1 while the revocation Redis is reachable and the last reload succeeded.", prometheus.GaugeValue)
	dRedisResyncs  = newDesc("tokengate_revocation_redis_resyncs_total", "Full reloads of the revocation rules from Redis.", prometheus.CounterValue)
	dRedisFailures = newDesc("tokengate_revocation_redis_failures_total", "Failed Redis commands and subscriptions of the revocation sync.", prometheus.CounterValue)
	dRedisEvents   = newDesc("tokengate_revocation_redis_events_total", "Revocation announcements from other replicas applied.", prometheus.CounterValue)
	dRedisReseeds  = newDesc("tokengate_revocation_redis_reseeds_total", "Reloads that found Redis emptied and wrote the rules in memory back.", prometheus.CounterValue)
	dRedisPending  = newDesc("tokengate_revocation_redis_pending_writes", "Rules in force here and waiting to be written to Redis.", prometheus.GaugeValue)
	dRedisLag      = newDesc("tokengate_revocation_sync_lag_seconds", "Delay between another replica's announcement of the last applied change and its application here.", prometheus.GaugeValue)
	dRedisLastSync = newDesc("tokengate_revocation_last_sync_timestamp_seconds", "End of the last successful full reload from Redis.", prometheus.GaugeValue)

	// Identity providers: labels from the configuration (issuer and URL).
	providerLabels = []string{"issuer", "url"}
	dJWKSReady     = newDesc("tokengate_jwks_ready", "1 once the identity provider's key set was fetched (its last good keys stay in use if later fetches fail).", prometheus.GaugeValue, providerLabels...)
	dJWKSKeys      = newDesc("tokengate_jwks_keys", "Keys of the provider's last good key set in use.", prometheus.GaugeValue, providerLabels...)
	dJWKSRefused   = newDesc("tokengate_jwks_refused_keys", "Members of the provider's last good key set that are not usable keys (the others are in use).", prometheus.GaugeValue, providerLabels...)
	dJWKSFetches   = newDesc("tokengate_jwks_fetches_total", "Fetches of the provider's key set (with discovery, a discovery and its key set count once).", prometheus.CounterValue, providerLabels...)
	dJWKSErrors    = newDesc("tokengate_jwks_fetch_errors_total", "Failed fetches of the provider's key set.", prometheus.CounterValue, providerLabels...)
	dJWKSNotMod    = newDesc("tokengate_jwks_not_modified_total", "304 Not Modified answers to conditional fetches.", prometheus.CounterValue, providerLabels...)
	dJWKSRefetches = newDesc("tokengate_jwks_refetches_total", "Fetches made for an unknown kid.", prometheus.CounterValue, providerLabels...)
	dJWKSSuppress  = newDesc("tokengate_jwks_refetches_suppressed_total", "Unknown-kid refetches not made (rate-limited, known absent, or sharing a fetch in flight).", prometheus.CounterValue, providerLabels...)
	dJWKSFailing   = newDesc("tokengate_jwks_consecutive_failures", "Failed fetches since the last success.", prometheus.GaugeValue, providerLabels...)
	dJWKSLastOK    = newDesc("tokengate_jwks_last_success_timestamp_seconds", "Time of the last successful fetch.", prometheus.GaugeValue, providerLabels...)
	dJWKSNext      = newDesc("tokengate_jwks_next_refresh_timestamp_seconds", "When the provider's key set is fetched next.", prometheus.GaugeValue, providerLabels...)
)

var allDescs = []desc{
	dConfigReloads, dConfigOK, dCacheBytes, dCacheMaxBytes, dCacheEvictions, dCacheDropped, dCacheDeferred,
	dKeyGeneration, dKeys, dKeyRefused, dKeyReloads, dKeyLastOK, dKeyLastOKTime, dRevRules, dRevChanges,
	dRedisUp, dRedisResyncs, dRedisFailures, dRedisEvents, dRedisReseeds, dRedisPending, dRedisLag, dRedisLastSync,
	dJWKSReady, dJWKSKeys, dJWKSRefused, dJWKSFetches, dJWKSErrors, dJWKSNotMod, dJWKSRefetches, dJWKSSuppress,
	dJWKSFailing, dJWKSLastOK, dJWKSNext,
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d.Desc
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	emit := func(d desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d.Desc, d.typ, v, labels...)
	}
	m, o := c.m, c.m.opts
	if g := m.gate.Load(); g != nil {
		st := g.Status()
		emit(dConfigReloads, float64(st.Applied), "ok")
		emit(dConfigReloads, float64(st.Failed), "error")
		emit(dConfigOK, b2f(st.LastError == nil))
		if st.CacheOn {
			cs := st.Cache
			emit(dCacheBytes, float64(cs.BytesInUse))
			emit(dCacheMaxBytes, float64(cs.MaxBytes))
			emit(dCacheEvictions, float64(cs.Evictions))
			emit(dCacheDropped, float64(cs.Dropped+cs.Rejected))
			emit(dCacheDeferred, float64(cs.Deferred))
		}
	}
	if o.Keys != nil {
		ks := o.Keys.Status()
		emit(dKeyGeneration, float64(ks.Generation))
		emit(dKeys, float64(ks.Keys))
		emit(dKeyRefused, float64(len(ks.Refused)))
		emit(dKeyReloads, float64(ks.ReloadsOK), "ok")
		emit(dKeyReloads, float64(ks.ReloadsFailed), "error")
		emit(dKeyLastOK, b2f(ks.LastError == nil))
		emit(dKeyLastOKTime, unixSeconds(ks.LastSuccess))
		for _, r := range ks.Remotes {
			collectRemote(emit, r)
		}
	}
	if s := o.Revocations; s != nil {
		emit(dRevRules, float64(s.Len()))
		emit(dRevChanges, float64(s.Changes()))
	}
	if y := o.RevocationSync; y != nil {
		st := y.Status()
		emit(dRedisUp, b2f(st.Connected))
		emit(dRedisResyncs, float64(st.Resyncs))
		emit(dRedisFailures, float64(st.Failures))
		emit(dRedisEvents, float64(st.Events))
		emit(dRedisReseeds, float64(st.Reseeds))
		emit(dRedisPending, float64(st.Pending))
		emit(dRedisLag, st.Lag.Seconds())
		emit(dRedisLastSync, unixSeconds(st.LastSync))
	}
}

func collectRemote(emit func(desc, float64, ...string), r keyring.RemoteStatus) {
	l := []string{r.Issuer, r.URL}
	emit(dJWKSReady, b2f(r.Ready), l...)
	emit(dJWKSKeys, float64(r.Keys), l...)
	emit(dJWKSRefused, float64(len(r.Refused)), l...)
	emit(dJWKSFetches, float64(r.Fetches), l...)
	emit(dJWKSErrors, float64(r.FetchErrors), l...)
	emit(dJWKSNotMod, float64(r.NotModified), l...)
	emit(dJWKSRefetches, float64(r.Refetches), l...)
	emit(dJWKSSuppress, float64(r.RefetchesSuppressed), l...)
	emit(dJWKSFailing, float64(r.ConsecutiveFailures), l...)
	emit(dJWKSLastOK, unixSeconds(r.LastSuccess), l...)
	emit(dJWKSNext, unixSeconds(r.NextRefresh), l...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
