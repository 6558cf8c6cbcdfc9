// Package bench measures, side by side in one run on one machine, what it
// costs to authenticate a request with a JWT and with a server-side session.
// It holds only benchmarks and the tests that keep them honest; the session
// check it compares with lives in bench/sessions (shared with the HTTP
// session servers of loadtest/), and cmd/benchrun runs everything and writes
// BENCHMARKS.md.
//
// # What is compared
//
// BenchmarkJWT/alg=<alg>/token=<repeat|new>/inflight=<n> is what the
// sidecar's decision does for a request to /verify: gate.Check with the
// default configuration (path, route, token, cache, verification, claims
// policy with issuer and audience, revocation, rendering X-Auth-* headers)
// on a realistic access token (300-500 bytes of claims, pinned by
// TestTokens). token=repeat: the token is in the cache. token=new: it is
// not; it is verified, rendered and offered to a cache full of other tokens
// (hit-% reports the share the cache served anyway, below 5 %).
//
// BenchmarkSession/store=<map|redis|postgres>/inflight=<n> does the same
// work the other way (sessions.Check): look a session id up, decode the
// record (about the size of the token's claims), check its expiry, render
// the same headers. Ids are drawn uniformly from all the sessions of the
// data set (TOKENGATE_BENCH_ROWS, default 1,000,000), which the map, Redis
// (a JSON string per session under tokengate:bench:v2:) and PostgreSQL
// (tokengate_bench.sessions_v2_<rows>, primary key, prepared SELECT) hold.
//
// inflight=n keeps n operations in flight from n goroutines
// (TOKENGATE_BENCH_INFLIGHT, default 1,2,8,32,128); the Redis pool has n
// connections, the PostgreSQL pool min(n, 64).
//
// BenchmarkGrowth* show how costs grow: distinct tokens through the default
// 64 MiB cache (1k to 10M), session table rows (1k to 10M), claims size
// (200 B to 8 KiB, with ML-DSA signatures) and keys and issuers (1 to
// 1,000).
//
// # Reading the numbers
//
// Besides ns/op (wall time per operation: latency at one in flight,
// 1/throughput above), B/op and allocs/op, benchmarks report cpu-ns/op
// (this process's CPU per operation, getrusage), store-cpu-ns/op (the CPU
// the redis-server or postgres processes spent, from /proc: on a shared
// host it includes other clients' work), req-bytes (the credential header a
// client sends), pool (connection pool size) and hit-%.
//
// All timestamps are checked against a fixed clock (sessions.Now), so
// results do not depend on the date. Keys are generated once per process.
//
// # Stores and reproducing
//
// Redis and PostgreSQL come from TOKENGATE_REDIS_URL and TOKENGATE_PG_DSN
// (defaults: the local services CI provides). A store that cannot be
// reached skips its benchmarks, or fails them with
// TOKENGATE_INTEGRATION=require. The first run fills the data sets (about
// 5 s per million sessions in Redis, 20 s per million rows in PostgreSQL);
// later runs check and reuse them.
//
//	go run ./cmd/benchrun          # everything, into BENCHMARKS.md
//	go test -run '^$' -bench 'JWT/alg=ES256' -count 10 ./bench/ | tee es256.txt
package bench
