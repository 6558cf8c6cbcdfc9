// Package loadtest is an HTTP load generator that measures tokengate end to
// end and compares it with the session-table lookups it replaces.
//
// It drives a target over HTTP on loopback only: a URL whose host is not a
// loopback address (127.0.0.0/8, ::1, localhost) is refused, and every
// connection is checked again after name resolution, so the tool never
// sends traffic to another machine. Targets it can start itself are the
// sidecar in process, a no-op fasthttp server (the HTTP floor) and two
// fasthttp servers that authenticate a session cookie with Redis or
// PostgreSQL.
//
// Two modes: closed loop (N workers, each sends its next request when the
// previous one answers) and open loop (a fixed rate; each request has an
// intended send time and its latency is measured from that time, so a
// stalled server or a generator that falls behind cannot hide queueing —
// coordinated omission). Latencies go into HDR histograms.
//
// Run is safe to call from several goroutines with different Configs.
package loadtest

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/bench/sessions"
	"github.com/tokengate/tokengate/keyring"
)

// Mode is the load model.
type Mode string

// Modes.
const (
	// Closed: Connections workers, each sending its next request when the
	// previous one answered.
	Closed Mode = "closed"
	// Open: requests on a fixed schedule of Rate per second; latency is
	// measured from each request's intended send time.
	Open Mode = "open"
)

// TargetKind names a target the tool can start itself.
type TargetKind string

// Targets.
const (
	TargetTokengate       TargetKind = "tokengate"        // the sidecar, in process
	TargetNoop            TargetKind = "noop"             // 200 with zero work: the HTTP floor
	TargetSessionRedis    TargetKind = "session-redis"    // Cookie: session=<id>, GET in Redis
	TargetSessionPostgres TargetKind = "session-postgres" // Cookie: session=<id>, prepared SELECT in PostgreSQL
)

// TargetKinds lists the targets StartTarget knows, in display order.
var TargetKinds = []TargetKind{TargetTokengate, TargetNoop, TargetSessionRedis, TargetSessionPostgres}

// AlgWeight is one entry of an algorithm mix.
type AlgWeight struct {
	Alg    keyring.Algorithm `json:"alg"`
	Weight float64           `json:"weight"`
}

// Defaults.
const (
	DefaultConnections = 32
	DefaultDuration    = 10 * time.Second
	DefaultTokens      = 1000
	DefaultTimeout     = 5 * time.Second
	DefaultRedisURL    = sessions.DefaultRedisURL
	DefaultPostgresDSN = sessions.DefaultPGDSN
)

// Config describes one run. The zero value of a field takes its default
// where one is documented.
type Config struct {
	// Target is the target to start (default tokengate). With URL set
	// nothing is started, and a session target only says that the
	// endpoint takes session cookies.
	Target TargetKind
	// URL is an already-running endpoint to load instead of starting a
	// target. Its host must be loopback (see CheckLoopbackURL). Requests
	// carry "Authorization: Bearer <token>" (or, with a session Target,
	// "Cookie: session=<id>"); the expected statuses assume the endpoint
	// trusts the generated keys (see KeyDir) or serves the session data set.
	URL string
	// Mode is Closed (default) or Open.
	Mode Mode
	// Connections is the number of workers and the connection limit
	// (default 32). In open loop it bounds the requests in flight.
	Connections int
	// Rate is the open-loop request rate per second (required in open loop).
	Rate float64
	// Duration bounds the sending time (default 10s). An open-loop run
	// still waits up to Timeout for requests scheduled before the end.
	Duration time.Duration
	// Requests, when > 0, bounds the number of requests as well.
	Requests int64
	// Warmup, when > 0, first sends closed-loop requests from every
	// connection for this long, not measured: connections are open and
	// the target warm when the measurement starts.
	Warmup time.Duration
	// Timeout bounds each request (default 5s).
	Timeout time.Duration
	// Tokens is the number of distinct tokens or sessions (default 1000);
	// requests use them round robin, so it sets the cache hit ratio.
	// Session ids are drawn uniformly from the session data set.
	Tokens int
	// TokenFile, when set, replaces the generated credentials: one token
	// (or, for session targets, session id) per line, each expected to be
	// accepted, sent in order and cycled. Minting many tokens (slow for
	// RSA) then happens once, not in every run (see Workload.WriteFile).
	TokenFile string
	// Rows is the size of the session data set (default
	// sessions.DefaultRows): the session targets serve it and session ids
	// are drawn from it.
	Rows int
	// Algs is the algorithm mix of the tokens (default ES256 only).
	Algs []AlgWeight
	// Invalid and Expired are the fractions of tokens with a bad signature
	// (unknown session ids for session targets) and of expired tokens
	// (expired sessions). Both are expected to be answered 401.
	Invalid, Expired float64
	// RedisURL and PostgresDSN locate the session stores (defaults
	// DefaultRedisURL, DefaultPostgresDSN).
	RedisURL, PostgresDSN string
	// KeyDir, when set, receives the generated public keys (keys.jwks.json)
	// and HMAC secrets (<kid>.secret), so an external sidecar can trust them.
	// Default: a temporary directory removed after the run.
	KeyDir string
	// Mark, when set, is called with "start" just before the measurement
	// (after the warm-up) and with "end" just after it, so that a caller
	// can read what it measures outside (a server's CPU) over exactly the
	// measured interval.
	Mark func(event string)
	// Progress, when not nil, receives a progress line once a second.
	Progress io.Writer
	// ProgressInterval overrides the one-second progress period.
	ProgressInterval time.Duration
}

// withDefaults returns c with defaults filled in, or an error.
func (c Config) withDefaults() (Config, error) {
	if c.Target == "" && c.URL == "" {
		c.Target = TargetTokengate
	}
	if c.URL != "" {
		if !c.sessions() {
			c.Target = ""
		}
		if _, err := CheckLoopbackURL(c.URL); err != nil {
			return c, err
		}
	}
	if c.Rows <= 0 {
		c.Rows = sessions.DefaultRows
	}
	if c.Mode == "" {
		c.Mode = Closed
	}
	if c.Connections == 0 {
		c.Connections = DefaultConnections
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Tokens == 0 {
		c.Tokens = DefaultTokens
	}
	if len(c.Algs) == 0 {
		c.Algs = []AlgWeight{{Alg: keyring.ES256, Weight: 1}}
	}
	if c.RedisURL == "" {
		c.RedisURL = DefaultRedisURL
	}
	if c.PostgresDSN == "" {
		c.PostgresDSN = DefaultPostgresDSN
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	var errs []error
	switch c.Mode {
	case Closed:
	case Open:
		if !(c.Rate > 0) || math.IsInf(c.Rate, 0) {
			errs = append(errs, errors.New("loadtest: open loop needs a rate > 0"))
		}
	default:
		errs = append(errs, fmt.Errorf("loadtest: unknown mode %q (closed, open)", c.Mode))
	}
	if c.Target != "" && !knownTarget(c.Target) {
		errs = append(errs, fmt.Errorf("loadtest: unknown target %q (%s)", c.Target, targetList()))
	}
	if c.Connections < 0 || c.Connections > 100000 {
		errs = append(errs, fmt.Errorf("loadtest: connections %d out of range 1..100000", c.Connections))
	}
	if c.Duration < 0 || c.Timeout < 0 || c.Requests < 0 || c.Warmup < 0 {
		errs = append(errs, errors.New("loadtest: duration, timeout and requests must not be negative"))
	}
	if c.Tokens < 0 || c.Tokens > 10_000_000 {
		errs = append(errs, fmt.Errorf("loadtest: tokens %d out of range 1..10000000", c.Tokens))
	}
	if c.Invalid < 0 || c.Expired < 0 || c.Invalid+c.Expired > 1 || math.IsNaN(c.Invalid+c.Expired) {
		errs = append(errs, errors.New("loadtest: invalid and expired fractions must be >= 0 and sum to <= 1"))
	}
	if c.TokenFile != "" && c.Invalid+c.Expired > 0 {
		errs = append(errs, errors.New("loadtest: a token file holds accepted credentials only: no invalid or expired fraction with it"))
	}
	if c.URL != "" && c.sessions() && c.Expired > 0 {
		errs = append(errs, errors.New("loadtest: expired sessions exist only in a session target this tool starts: no expired fraction with a URL"))
	}
	for _, a := range c.Algs {
		if _, err := keyring.ParseAlgorithm(string(a.Alg)); err != nil {
			errs = append(errs, err)
		}
		if !(a.Weight > 0) || math.IsInf(a.Weight, 0) {
			errs = append(errs, fmt.Errorf("loadtest: weight of %s must be > 0", a.Alg))
		}
	}
	return c, errors.Join(errs...)
}

// sessions reports whether credentials are session cookies.
func (c Config) sessions() bool {
	return c.Target == TargetSessionRedis || c.Target == TargetSessionPostgres
}

func knownTarget(k TargetKind) bool {
	for _, t := range TargetKinds {
		if t == k {
			return true
		}
	}
	return false
}

func targetList() string {
	s := make([]string, len(TargetKinds))
	for i, t := range TargetKinds {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// ParseAlgMix parses "ES256:0.7,HS256:0.3" (a weight may be left out: 1).
// Weights are relative; they need not sum to 1.
func ParseAlgMix(s string) ([]AlgWeight, error) {
	var out []AlgWeight
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, hasW := strings.Cut(part, ":")
		alg, err := keyring.ParseAlgorithm(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		weight := 1.0
		if hasW {
			weight, err = strconv.ParseFloat(strings.TrimSpace(w), 64)
			if err != nil || !(weight > 0) || math.IsInf(weight, 0) {
				return nil, fmt.Errorf("loadtest: bad weight %q for %s", w, alg)
			}
		}
		out = append(out, AlgWeight{Alg: alg, Weight: weight})
	}
	if len(out) == 0 {
		return nil, errors.New("loadtest: empty algorithm mix")
	}
	return out, nil
}

// FormatAlgMix is the inverse of ParseAlgMix.
func FormatAlgMix(m []AlgWeight) string {
	s := make([]string, len(m))
	for i, a := range m {
		s[i] = string(a.Alg) + ":" + strconv.FormatFloat(a.Weight, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}
