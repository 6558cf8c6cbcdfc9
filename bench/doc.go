// Package bench measures, side by side in one run on one machine, what it
// costs to authenticate a request with a JWT and with a server-side session.
// It holds only benchmarks and the tests that keep them honest; there is no
// library code here.
//
// # What is compared
//
// BenchmarkJWT/<alg>/verify/{serial,parallel} is a full verifier.Verify of a
// realistic access token (iss, sub, aud, exp, iat, nbf, jti, azp, scope,
// roles, email: 300-500 bytes of claims, pinned by TestTokenSizes) for every
// algorithm in keyring.Algorithms plus Ed448 ("EdDSA-Ed448"), with the issuer
// and audience checked as a deployed sidecar would.
// BenchmarkJWT/<alg>/cached/... is what the sidecar does for a token it has
// already verified: a cache.Cache lookup that compares the token bytes and
// checks the key generation and expiry.
//
// BenchmarkSession/<store>/{serial,parallel} is the alternative: find the
// session for a 32-byte random id (base64url, 43 characters), decode the
// record (user id, roles, scopes, expiry, creation time: the information the
// token carries) into a struct and check its expiry. The stores are
//
//   - map: a Go map behind a sync.RWMutex, the floor for any lookup;
//   - ristretto: github.com/dgraph-io/ristretto/v2, an in-process cache;
//   - redis-hash: HGETALL of a hash written with HSET + EXPIRE;
//   - redis-string: GET of a JSON string written with SET … EX;
//   - postgres: a prepared SELECT user_id, roles, scopes, expires_at … WHERE
//     id = $1 through a pgxpool, on a table of 1,000,000 sessions with a
//     primary key.
//
// The map, ristretto and Redis hold 100,000 sessions. Every benchmark cycles
// through 256 distinct tokens or random existing session ids. The parallel
// variants use b.RunParallel with the default GOMAXPROCS goroutines, so a
// network store is never asked for more than that many lookups at a time.
//
// # Reading the numbers
//
// Besides ns/op, B/op and allocs/op, every benchmark reports
//
//   - cpu-ns/op: CPU time (user + system, getrusage RUSAGE_SELF, all
//     threads) this process spent per operation. For verification cpu-ns/op
//     is about ns/op (serial) or ns/op × cores (parallel): the work is
//     computation. For Redis and PostgreSQL ns/op is mostly waiting for the
//     reply, while cpu-ns/op is the client's own work (encoding the
//     command, the syscalls, decoding the reply); the server's CPU is not
//     counted and comes on top. ns/op is what a request waits; cpu-ns/op is
//     what it takes from the machine that serves it, and so what limits
//     throughput per core.
//   - req-bytes: the credential header the client sends with every request,
//     "Authorization: Bearer <token>" against "Cookie: session=<id>".
//
// All timestamps are checked against a fixed clock, so results do not depend
// on the date. Keys are generated once per process.
//
// # Stores and reproducing
//
// Redis and PostgreSQL come from TOKENGATE_REDIS_URL (default
// redis://127.0.0.1:6379/0) and TOKENGATE_PG_DSN (default
// postgres://postgres@127.0.0.1:5432/test). A store that cannot be reached
// skips its benchmarks and tests with a line saying how to start it; with
// TOKENGATE_INTEGRATION=require it fails them instead. The first run creates
// tokengate_bench.sessions (10-20 s, guarded by an advisory lock) and the
// Redis keys tokengate:bench:v1:* (two-hour TTL); later runs check and reuse
// them.
//
//	go test -run '^$' -bench . -benchmem -count 10 ./bench/ > bench.txt
//	benchstat bench.txt
//
// A quick smoke run: go test -run '^$' -bench . -benchtime=100x ./bench/.
package bench
