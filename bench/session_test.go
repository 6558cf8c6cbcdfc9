package bench_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/bench/sessions"
	"github.com/tokengate/tokengate/internal/proccpu"
)

// probeCount ids, drawn uniformly from the whole data set, are cycled by
// every session benchmark: a million draws from a million rows touch about
// 63 % of them, so the store's working set is the table, not a hot subset.
func probeCount() int { return min(rows, 1<<20) }

var (
	probesOnce sync.Once
	probeIDs   []string
	mapOnce    sync.Once
	memMap     sessions.Map
)

func probes() []string {
	probesOnce.Do(func() {
		for _, n := range uniform(probeCount(), rows) {
			probeIDs = append(probeIDs, sessions.ID(n))
		}
	})
	return probeIDs
}

// maxPGPool caps the PostgreSQL pool: the server's default
// max_connections is 100, shared with everything else on the host, so at
// 128 requests in flight some wait for a connection, as they would in an
// application whose pool is sized for its database.
const maxPGPool = 64

// sessionStore is one alternative to a token: how to open it for a number
// of requests in flight (its pool size), and which processes do its work.
type sessionStore struct {
	name string
	// open returns the store, its pool size (0: none) and a cleanup.
	open func(tb testing.TB, inFlight int) (sessions.Store, int, func())
	// procs are the command names of the store's server processes.
	procs []string
}

var sessionStores = []sessionStore{
	{"map", func(testing.TB, int) (sessions.Store, int, func()) {
		mapOnce.Do(func() { memMap = sessions.NewMap(rows) })
		return memMap, 0, func() {}
	}, nil},
	{"redis", func(tb testing.TB, inFlight int) (sessions.Store, int, func()) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		rdb, err := sessions.OpenRedis(ctx, sessions.RedisURL(), rows, inFlight)
		storeError(tb, err)
		return sessions.Redis{C: rdb}, inFlight, func() { rdb.Close() }
	}, []string{"redis-server"}},
	{"postgres", func(tb testing.TB, inFlight int) (sessions.Store, int, func()) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		size := min(inFlight, maxPGPool)
		pool, err := sessions.OpenPostgres(ctx, sessions.PGDSN(), rows, size)
		storeError(tb, err)
		return sessions.NewPostgreSQL(pool), size, pool.Close
	}, []string{"postgres"}},
}

// BenchmarkSession measures the alternative to a token: look the
// request's session id up (drawn uniformly from the whole table), decode
// the record, check its expiry and render the headers the sidecar would,
// at each number of requests in flight, with a connection pool of that
// size (PostgreSQL's capped at maxPGPool). For Redis and PostgreSQL, store-cpu-ns/op is the CPU the store's
// own processes spent per lookup (every redis-server or postgres process
// on the host: on a shared machine it includes other clients' work).
func BenchmarkSession(b *testing.B) {
	ids := probes()
	for _, st := range sessionStores {
		b.Run("store="+st.name, func(b *testing.B) {
			for _, n := range inFlights {
				b.Run(fmt.Sprintf("inflight=%d", n), func(b *testing.B) {
					s, pool, closeStore := st.open(b, n)
					defer closeStore()
					benchSessions(b, s, ids, n, pool, st.procs)
				})
			}
		})
	}
}

func benchSessions(b *testing.B, s sessions.Store, ids []string, inFlight, pool int, procs []string) {
	m := measurement{reqBytes: len(cookiePrefix) + len(ids[0]), pool: pool}
	if procs != nil {
		m.store = proccpu.NewGroup(procs...)
	}
	ctx := context.Background()
	run(b, inFlight, m, func(g int) func(int) error {
		var r sessions.Record
		var out sessions.Rendered
		return func(k int) error {
			return sessions.Check(ctx, s, ids[k%len(ids)], benchNow, &r, &out)
		}
	})
}
