package sidecar

import (
	"errors"
	"time"
)

// Config is the typed configuration of the sidecar's HTTP listeners; what
// the answers depend on is the gate's (gate.Config). The config package
// fills it from YAML and the environment; tests build it directly.
type Config struct {
	// Limits of the HTTP servers.
	Limits Limits
	// PathPrefix is stripped from /verify's own request target when no
	// X-Original-URI or X-Forwarded-Uri names the original one: Envoy's
	// ext_authz HTTP service sends the original path appended to its
	// path_prefix. A target outside the prefix is judged as an unreadable
	// path (refused). "" judges the request target as it is. It is "/"
	// followed by segments of unreserved characters, without a trailing
	// "/" (config validates it).
	PathPrefix string
}

// Limits are the fasthttp server limits and the /verify in-flight limit.
type Limits struct {
	ReadTimeout    time.Duration
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration
	MaxHeaderBytes int // largest request header block accepted
	MaxConnsPerIP  int // 0: unlimited
	// Concurrency is fasthttp's Server.Concurrency: it counts
	// connections (each holds a worker, idle keep-alive ones too); one
	// more is answered 503 and closed. 0: fasthttp's default.
	Concurrency int
	// MaxInFlight bounds the /verify requests being handled at once;
	// one more is answered 503 with Retry-After at once, without
	// touching the verifier or the cache, and its connection stays
	// open. A connection carries one request at a time, so a value
	// above Concurrency never triggers. 0: no limit.
	MaxInFlight int
	// MaxQueueTime refuses a request whose X-Request-Start stamp (set by
	// the proxy when it received it) is older than this when /verify
	// reads it: 503 with Retry-After, without verifying. Under overload
	// the queue forms in the kernel's socket buffers; answering requests
	// the proxy has given up on only delays the ones behind them. Requests
	// without the header are never refused for it. 0: off.
	MaxQueueTime time.Duration
}

// DefaultConfig is the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		Limits: Limits{
			ReadTimeout:    5 * time.Second,
			WriteTimeout:   5 * time.Second,
			IdleTimeout:    60 * time.Second,
			MaxHeaderBytes: 16 << 10,
			Concurrency:    4096,
			MaxInFlight:    256,
			MaxQueueTime:   time.Second,
		},
	}
}

// Validate checks a Config and names the field that is wrong.
func (c Config) Validate() error {
	var errs []error
	if c.Limits.MaxInFlight < 0 {
		errs = append(errs, errors.New("sidecar: limits.max_in_flight: must not be negative"))
	}
	if p := c.PathPrefix; p != "" && (p[0] != '/' || p[len(p)-1] == '/') {
		errs = append(errs, errors.New("sidecar: path prefix: must start with / and not end with it"))
	}
	if c.Limits.ReadTimeout < 0 || c.Limits.MaxQueueTime < 0 || c.Limits.WriteTimeout < 0 || c.Limits.IdleTimeout < 0 || c.Limits.MaxHeaderBytes < 0 || c.Limits.MaxConnsPerIP < 0 || c.Limits.Concurrency < 0 {
		errs = append(errs, errors.New("sidecar: limits: durations and sizes must not be negative"))
	}
	return errors.Join(errs...)
}
