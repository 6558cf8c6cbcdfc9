package keyring

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// Defaults of RemoteConfig and Config for remote key sources.
const (
	DefaultMinRefresh           = time.Minute
	DefaultMaxRefresh           = 24 * time.Hour
	DefaultRefresh              = 15 * time.Minute
	DefaultRefetchInterval      = 30 * time.Second
	DefaultFetchTimeout         = 10 * time.Second
	DefaultMinBackoff           = time.Second
	DefaultMaxBackoff           = 5 * time.Minute
	DefaultRemoteStartupTimeout = 30 * time.Second
	DefaultUserAgent            = "tokengate (+https://github.com/tokengate/tokengate)"
)

// maxRedirects caps the redirects followed by one request.
const maxRedirects = 3

// Errors of remote key sources, matched with errors.Is.
var (
	// ErrInsecureURL reports a URL (configured, discovered or redirected
	// to) that is not https, or plain http that is not allowed.
	ErrInsecureURL = errors.New("keyring: insecure URL")
	// ErrIssuerMismatch reports an OpenID Provider configuration whose
	// "issuer" is not the configured issuer (OIDC Discovery 1.0 §4.3).
	ErrIssuerMismatch = errors.New("keyring: discovered issuer does not match the configured issuer")
	// ErrRemoteNotReady reports a remote source without a document when
	// Config.RemoteStartupTimeout ran out.
	ErrRemoteNotReady = errors.New("keyring: remote key source not ready")
)

// RemoteStartup chooses what New does about remote sources that cannot be
// fetched yet.
type RemoteStartup uint8

const (
	// WaitForRemotes (the default) makes New retry, with backoff, until
	// every remote source has a document or Config.RemoteStartupTimeout
	// has passed; New then fails naming each failing URL. A sidecar that
	// cannot verify its issuers' tokens does not start.
	WaitForRemotes RemoteStartup = iota
	// StartNotReady makes New try each remote once and return; remotes
	// that failed contribute no keys, Ready reports false, and the loops
	// of Start keep retrying them.
	StartNotReady
)

// RemoteConfig is a key source fetched from an identity provider: a JWK
// Set URL (RFC 7517 §5), or an OpenID Provider found by discovery (OpenID
// Connect Discovery 1.0 §4) whose "jwks_uri" names the JWK Set. Zero
// durations and sizes take the defaults above. Validate reports every bad
// field.
//
// Only https is used. Plain http is refused unless AllowHTTP is set and the
// host is a loopback address or "localhost" (a development IdP on the same
// machine): keys fetched in clear text could be replaced by anyone on the
// path, and they decide which tokens are genuine.
type RemoteConfig struct {
	// JWKSURL is the JWK Set URL. Exactly one of JWKSURL and Discover.
	JWKSURL string
	// Issuer scopes the fetched keys: they verify only tokens whose "iss"
	// equals it (empty: the keys are global and verify tokens of any
	// issuer; set it). With Discover it is also the discovery base.
	Issuer string
	// Discover fetches <Issuer>/.well-known/openid-configuration and uses
	// its "jwks_uri". Its "issuer" must equal Issuer byte for byte.
	Discover bool
	// Alg binds RSA keys that have no "alg" member (some providers omit
	// it); it must be in Algs. With Alg set, every key in the set must be
	// usable for that alg. See Options.Alg.
	Alg Algorithm
	// Algs is the allow-list, required: keys with another alg are left
	// out of the set (and logged), not loaded. HMAC algs are refused: a
	// published JWK Set holds public keys only.
	Algs []Algorithm
	// Client labels the keys (see Options.Client).
	Client string

	// MinRefresh and MaxRefresh bound the time between two fetches; the
	// response's Cache-Control max-age (minus Age) chooses within them,
	// no-cache and no-store mean MinRefresh, and DefaultRefresh (clamped
	// into the bounds) applies without Cache-Control.
	MinRefresh, MaxRefresh, DefaultRefresh time.Duration
	// RefetchInterval is the least time between two unknown-kid fetches
	// (Ring.Refetch) of this source, measured on Config.Now.
	RefetchInterval time.Duration
	// Timeout bounds each HTTP request, reading the body included.
	Timeout time.Duration
	// MaxSize bounds the JWK Set and discovery documents, enforced while
	// reading; at most MaxDocumentSize (the default).
	MaxSize int
	// MinBackoff and MaxBackoff bound the delay after a failed fetch: it
	// doubles with each consecutive failure, with jitter.
	MinBackoff, MaxBackoff time.Duration

	// AllowHTTP permits http:// URLs whose host is a loopback address or
	// "localhost". For development only.
	AllowHTTP bool
	// CAFile is a PEM bundle of CA certificates trusted in addition to
	// the system roots (a private PKI). Read when the source is created.
	CAFile string
	// UserAgent is sent with every request; default DefaultUserAgent.
	UserAgent string
	// HTTPClient, if set, replaces the default client (which uses
	// http.ProxyFromEnvironment, TLS 1.2 or later and CAFile). Its
	// CheckRedirect is replaced by the package's redirect policy; CAFile
	// cannot be combined with it.
	HTTPClient *http.Client
}

// URL returns the configured URL: JWKSURL, or the discovery document URL.
func (c RemoteConfig) URL() string {
	if c.Discover {
		return discoveryURL(c.Issuer)
	}
	return c.JWKSURL
}

// discoveryURL appends the well-known path to issuer. OIDC Discovery §4:
// "If the Issuer value contains a path component, any terminating / MUST
// be removed before appending /.well-known/openid-configuration."
func discoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// Validate checks c and returns every problem, each naming its field.
func (c RemoteConfig) Validate() error {
	errs := c.validate()
	for i, err := range errs {
		errs[i] = fmt.Errorf("keyring: remote %s: %w", c.URL(), err)
	}
	return errors.Join(errs...)
}

func (c RemoteConfig) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case c.Discover && c.JWKSURL != "":
		bad("JWKSURL and Discover are exclusive: discovery finds the JWK Set URL")
	case c.Discover && c.Issuer == "":
		bad("Issuer is required with Discover: it is the discovery base URL")
	case !c.Discover && c.JWKSURL == "":
		bad("JWKSURL is required (or set Discover and Issuer)")
	}
	if c.JWKSURL != "" {
		if err := checkRawURL(c.JWKSURL, c.AllowHTTP); err != nil {
			bad("JWKSURL: %w", err)
		}
	}
	if c.Discover && c.Issuer != "" {
		// OIDC Core §2 ("iss"): a case-sensitive https URL with scheme,
		// host and optionally port and path, no query or fragment.
		if err := checkRawURL(c.Issuer, c.AllowHTTP); err != nil {
			bad("Issuer: %w", err)
		} else if u, _ := url.Parse(c.Issuer); u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(c.Issuer, "?#") {
			bad("Issuer: an OpenID issuer has no query or fragment")
		}
	}
	if len(c.Algs) == 0 {
		bad("Algs: an allow-list is required for remote keys (for example RS256)")
	}
	for _, a := range c.Algs {
		alg, ok := LookupAlgorithm([]byte(a))
		switch {
		case !ok:
			bad("Algs: unsupported alg %q", string(a))
		case alg.Family() == FamilyHMAC:
			bad("Algs: %s: a published JWK Set holds public keys, never HMAC secrets", a)
		}
	}
	if c.Alg != "" {
		if _, ok := LookupAlgorithm([]byte(c.Alg)); !ok {
			bad("Alg: unsupported alg %q", string(c.Alg))
		} else if len(c.Algs) > 0 && !algAllowed(c.Algs, c.Alg) {
			bad("Alg: %s is not in Algs", c.Alg)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"MinRefresh", c.MinRefresh}, {"MaxRefresh", c.MaxRefresh}, {"DefaultRefresh", c.DefaultRefresh},
		{"RefetchInterval", c.RefetchInterval}, {"Timeout", c.Timeout},
		{"MinBackoff", c.MinBackoff}, {"MaxBackoff", c.MaxBackoff},
	} {
		if d.v < 0 {
			bad("%s is negative (%s)", d.name, d.v)
		}
	}
	n := c.withDefaults()
	if n.MinRefresh > n.MaxRefresh {
		bad("MinRefresh (%s) is greater than MaxRefresh (%s)", n.MinRefresh, n.MaxRefresh)
	}
	if n.MinBackoff > n.MaxBackoff {
		bad("MinBackoff (%s) is greater than MaxBackoff (%s)", n.MinBackoff, n.MaxBackoff)
	}
	if c.MaxSize < 0 || c.MaxSize > MaxDocumentSize {
		bad("MaxSize %d is outside 1..%d bytes", c.MaxSize, MaxDocumentSize)
	}
	if c.CAFile != "" && c.HTTPClient != nil {
		bad("CAFile cannot be combined with HTTPClient: configure the client's TLS roots instead")
	}
	if strings.ContainsFunc(c.UserAgent, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		bad("UserAgent contains control characters")
	}
	return errs
}

// withDefaults returns c with zero fields set to their defaults.
func (c RemoteConfig) withDefaults() RemoteConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.MinRefresh, DefaultMinRefresh)
	def(&c.MaxRefresh, DefaultMaxRefresh)
	def(&c.DefaultRefresh, DefaultRefresh)
	def(&c.RefetchInterval, DefaultRefetchInterval)
	def(&c.Timeout, DefaultFetchTimeout)
	def(&c.MinBackoff, DefaultMinBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	if c.MaxSize == 0 {
		c.MaxSize = MaxDocumentSize
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	return c
}

// equal reports whether two configurations (with defaults) fetch the same
// keys the same way. HTTPClient compares by identity.
func (c RemoteConfig) equal(o RemoteConfig) bool {
	return c.JWKSURL == o.JWKSURL && c.Issuer == o.Issuer && c.Discover == o.Discover &&
		c.Alg == o.Alg && slices.Equal(c.Algs, o.Algs) && c.Client == o.Client &&
		c.MinRefresh == o.MinRefresh && c.MaxRefresh == o.MaxRefresh && c.DefaultRefresh == o.DefaultRefresh &&
		c.RefetchInterval == o.RefetchInterval && c.Timeout == o.Timeout && c.MaxSize == o.MaxSize &&
		c.MinBackoff == o.MinBackoff && c.MaxBackoff == o.MaxBackoff && c.AllowHTTP == o.AllowHTTP &&
		c.CAFile == o.CAFile && c.UserAgent == o.UserAgent && c.HTTPClient == o.HTTPClient
}

func checkRawURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInsecureURL, err)
	}
	return checkURL(u, allowHTTP)
}

// checkURL accepts https URLs, and http URLs of loopback hosts when
// allowHTTP is set. Keys decide which tokens are genuine: fetching them
// without TLS lets anyone on the path mint tokens (RFC 8725 §3.10 asks for
// TLS on every key retrieval; OIDC Discovery §4 requires https).
func checkURL(u *url.URL, allowHTTP bool) error {
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return fmt.Errorf("%w: plain http is refused; use https (AllowHTTP permits a loopback development server)", ErrInsecureURL)
		}
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%w: plain http is allowed for loopback hosts only, not %q", ErrInsecureURL, u.Hostname())
		}
	default:
		return fmt.Errorf("%w: scheme %q: an absolute https URL is required", ErrInsecureURL, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("%w: URL has no host", ErrInsecureURL)
	}
	if u.User != nil {
		// Credentials in a URL end up in logs and status pages.
		return fmt.Errorf("%w: user information in the URL is refused", ErrInsecureURL)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true // RFC 6761 §6.3
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// FetchError is a failed request of a remote key source. Its message names
// the URL and, for an HTTP error status, the status and the start of the
// response body; it never contains key material.
type FetchError struct {
	URL        string
	StatusCode int    // HTTP status of an error response; 0 if none
	Body       string // start of an error response's body, clipped
	Err        error  // the cause, if any
}

func (e *FetchError) Error() string {
	var b strings.Builder
	b.WriteString("keyring: GET ")
	b.WriteString(e.URL)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
		if t := http.StatusText(e.StatusCode); t != "" {
			b.WriteString(" ")
			b.WriteString(t)
		}
		if e.Body != "" {
			fmt.Fprintf(&b, ", body %q", e.Body)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *FetchError) Unwrap() error { return e.Err }

// RemoteStatus describes one remote key source.
type RemoteStatus struct {
	URL     string // configured URL: the JWK Set URL or the discovery document URL
	Issuer  string // issuer the keys are scoped to ("" = global)
	JWKSURL string // JWK Set URL in use (discovered), "" until known
	// Ready reports that the source has a document: its keys are in the
	// ring. A source that fails later stays ready with its last good keys.
	Ready bool
	Keys  int // keys in the last good document (allow-list applied)

	LastAttempt time.Time // start of the last fetch
	LastSuccess time.Time // last fetch that succeeded (304 included)
	// LastError is the error of the last fetch, nil if it succeeded. The
	// last good document stays in use.
	LastError   error
	NextRefresh time.Time // when the refresh loop fetches next

	Fetches     uint64 // fetch attempts (a discovery and its JWK Set count once)
	FetchErrors uint64 // failed attempts
	NotModified uint64 // 304 answers to a conditional request
	// Refetches counts unknown-kid fetches made; RefetchesSuppressed the
	// Refetch calls answered without one (rate-limited, or sharing the
	// result of a fetch in flight).
	Refetches, RefetchesSuppressed uint64
	ConsecutiveFailures            int // failed attempts since the last success
}

// remote fetches one remote source. Every fetch runs through sf under one
// key, so fetches of a source never overlap and concurrent callers share
// one; the published state is immutable.
type remote struct {
	cfg    RemoteConfig // with defaults
	name   string       // cfg.URL()
	client *http.Client
	ownTr  *http.Transport // the default transport, closed on stop; nil with HTTPClient
	ring   *Ring

	ctx    context.Context // ends when the source is removed or the ring closed
	cancel context.CancelFunc

	sf    singleflight.Group
	kick  chan struct{} // wakes the refresh loop after a fetch rescheduled it
	state atomic.Pointer[remoteState]

	lastRefetch           atomic.Pointer[time.Time] // start of the last unknown-kid fetch (Config.Now)
	refetches, suppressed atomic.Uint64

	loopMu  sync.Mutex      // guards loopCtx
	loopCtx context.Context // of the running loop, nil if none was started
}

// remoteState is what one fetch published.
type remoteState struct {
	doc     []byte // last good JWK Set; nil until the first success
	keys    []*Key // parsed from doc, allow-list applied
	jwksURL string // URL doc came from
	etag    string // its ETag, for If-None-Match
	next    time.Time
	status  RemoteStatus
}

func (r *Ring) newRemote(c RemoteConfig) (*remote, error) {
	c = c.withDefaults()
	c.Algs = slices.Clone(c.Algs)
	m := &remote{cfg: c, name: c.URL(), ring: r, kick: make(chan struct{}, 1)}
	if c.HTTPClient != nil {
		cl := *c.HTTPClient
		m.client = &cl
	} else {
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("CAFile: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("CAFile %s: no PEM certificate in it", c.CAFile)
			}
			tlsCfg.RootCAs = pool
		}
		m.ownTr = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: c.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       tlsCfg,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   c.Timeout,
			ExpectContinueTimeout: time.Second,
		}
		m.client = &http.Client{Transport: m.ownTr}
	}
	m.client.CheckRedirect = m.checkRedirect
	m.ctx, m.cancel = context.WithCancel(r.ctx)
	m.state.Store(&remoteState{status: RemoteStatus{URL: m.name, Issuer: c.Issuer, JWKSURL: c.JWKSURL}})
	return m, nil
}

// stop ends the source's loop and any fetch in flight.
func (m *remote) stop() {
	m.cancel()
	if m.ownTr != nil {
		m.ownTr.CloseIdleConnections()
	}
}

// checkRedirect refuses redirects that leave https, and long chains.
func (m *remote) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	for _, v := range via {
		if v.URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: refusing a redirect from https to %s", ErrInsecureURL, req.URL.Redacted())
		}
	}
	if err := checkURL(req.URL, m.cfg.AllowHTTP); err != nil {
		return fmt.Errorf("redirect to %s: %w", req.URL.Redacted(), err)
	}
	return nil
}

func (m *remote) status() RemoteStatus {
	st := m.state.Load().status
	st.Refetches = m.refetches.Load()
	st.RefetchesSuppressed = m.suppressed.Load()
	return st
}

func (m *remote) ready() bool { return m.state.Load().doc != nil }

// fetchResult is the outcome of one fetch, shared by the callers that
// waited for it.
type fetchResult struct {
	err        error
	changed    bool // a new document (or JWK Set URL) was accepted
	genChanged bool // and the ring got a new generation from it
	suppressed bool // an unknown-kid fetch refused by RefetchInterval
}

// shared runs fn as the source's fetch, or joins the one in flight, and
// waits for it until wait is done. ours reports whether fn ran.
func (m *remote) shared(wait context.Context, fn func() fetchResult) (res fetchResult, ours bool) {
	ran := false // written by fn before the result is sent, read after
	ch := m.sf.DoChan("fetch", func() (any, error) {
		ran = true
		return fn(), nil
	})
	select {
	case v := <-ch:
		return v.Val.(fetchResult), ran
	case <-wait.Done():
		return fetchResult{err: &FetchError{URL: m.name, Err: wait.Err()}}, false
	}
}

// fetch fetches the document (discovering the JWK Set URL first if
// rediscover or not yet known), publishes the new state and, if apply and
// the document changed, rebuilds the ring.
func (m *remote) fetch(ctx context.Context, rediscover, apply bool) fetchResult {
	r := m.ring
	prev := m.state.Load()
	now := r.now()
	next := *prev
	st := &next.status
	st.LastAttempt = now
	st.Fetches++

	doc, keys, jwksURL, etag, notModified, delay, err := m.get(ctx, prev, rediscover)
	if err != nil {
		st.FetchErrors++
		st.ConsecutiveFailures++
		st.LastError = err
		delay = m.backoff(st.ConsecutiveFailures)
		r.log.Warn("keyring: remote key fetch failed; keeping the last good keys",
			"url", m.name, "error", err, "failures", st.ConsecutiveFailures, "retry_in", delay)
	} else {
		st.LastSuccess = now
		st.LastError = nil
		st.ConsecutiveFailures = 0
		if notModified {
			st.NotModified++
		} else {
			next.doc, next.keys = doc, keys
		}
		next.jwksURL, next.etag = jwksURL, etag
		st.JWKSURL, st.Ready, st.Keys = jwksURL, true, len(next.keys)
	}
	st.NextRefresh = now.Add(delay)
	next.next = time.Now().Add(delay)
	m.state.Store(&next)
	select {
	case m.kick <- struct{}{}:
	default:
	}

	res := fetchResult{err: err}
	if err == nil && !notModified && (!bytes.Equal(doc, prev.doc) || jwksURL != prev.jwksURL) {
		res.changed = true
		r.log.Info("keyring: remote keys fetched", "url", m.name, "jwks_url", jwksURL, "keys", len(keys))
		if apply {
			res.genChanged = r.rebuild()
		}
	}
	return res
}

// get performs one fetch: discovery if needed, then the JWK Set with a
// conditional request. It returns the new document and keys (nil on 304),
// the JWK Set URL and ETag to keep, and the delay until the next refresh.
func (m *remote) get(ctx context.Context, prev *remoteState, rediscover bool) (doc []byte, keys []*Key, jwksURL, etag string, notModified bool, delay time.Duration, err error) {
	jwksURL = m.cfg.JWKSURL
	if m.cfg.Discover {
		jwksURL = prev.jwksURL
		if jwksURL == "" || rediscover {
			if jwksURL, err = m.discover(ctx); err != nil {
				return
			}
		}
	}
	inm := ""
	if prev.doc != nil && prev.jwksURL == jwksURL {
		inm = prev.etag
	}
	resp, err := m.get1(ctx, jwksURL, "application/jwk-set+json, application/json", inm)
	if err != nil {
		return
	}
	delay = m.refreshDelay(resp.header)
	etag = resp.header.Get("ETag")
	if resp.code == http.StatusNotModified {
		if inm == "" {
			err = &FetchError{URL: jwksURL, StatusCode: resp.code, Err: errors.New("304 Not Modified to an unconditional request")}
			return
		}
		if etag == "" {
			etag = prev.etag
		}
		return nil, nil, jwksURL, etag, true, delay, nil
	}
	keys, err = m.parse(resp.body, jwksURL)
	if err != nil {
		return
	}
	return resp.body, keys, jwksURL, etag, false, delay, nil
}

// parse accepts a JWK Set only: every member must be a valid key or one
// that is skipped as not for signatures (ParseJWKS), and at least one key
// must have an alg in the allow-list. Keys with other algs are left out.
func (m *remote) parse(data []byte, src string) ([]*Key, error) {
	o := Options{Alg: m.cfg.Alg, Issuer: m.cfg.Issuer, Client: m.cfg.Client, Source: src, skipUnsupportedAlg: true}
	var d jsonx.Doc
	root, err := parseJSON(&d, data, o)
	if err != nil {
		return nil, err
	}
	keys, skipped, err := parseJWKSValue(root, o)
	if err != nil {
		return nil, err
	}
	allowed := keys[:0:0]
	for _, k := range keys {
		if algAllowed(m.cfg.Algs, k.Alg()) {
			allowed = append(allowed, k)
			continue
		}
		skipped = append(skipped, Skipped{Source: src, Index: -1, KID: k.ID(), Reason: fmt.Sprintf("alg %s is not in the allow-list %v", k.Alg(), m.cfg.Algs)})
	}
	for _, sk := range skipped {
		m.ring.log.Debug("keyring: JWK skipped", "source", sk.Source, "index", sk.Index, "kid", sk.KID, "reason", sk.Reason)
	}
	if len(allowed) == 0 {
		return nil, docError(o, errf(ErrNoKeys, "JWK Set has no key with an alg in %v (%d keys of other algs, %d skipped)",
			m.cfg.Algs, len(keys), len(skipped)-len(keys)))
	}
	return allowed, nil
}

// discover returns the "jwks_uri" of the OpenID Provider configuration
// (OIDC Discovery §3, §4).
func (m *remote) discover(ctx context.Context) (string, error) {
	u := m.name
	resp, err := m.get1(ctx, u, "application/json", "")
	if err != nil {
		return "", err
	}
	if resp.code == http.StatusNotModified {
		return "", &FetchError{URL: u, StatusCode: resp.code, Err: errors.New("304 Not Modified to an unconditional request")}
	}
	jwks, err := parseDiscovery(resp.body, m.cfg.Issuer, m.cfg.AllowHTTP)
	if err != nil {
		return "", &FetchError{URL: u, Err: err}
	}
	return jwks, nil
}

// parseDiscovery reads an OpenID Provider configuration (OIDC Discovery
// 1.0 §3) and returns its "jwks_uri", after checking that its "issuer" is
// the configured one and that the URI may be fetched.
func parseDiscovery(body []byte, issuer string, allowHTTP bool) (string, error) {
	var d jsonx.Doc
	if err := d.Parse(body, jsonLimits); err != nil {
		return "", &detail{kind: ErrMalformed, msg: "invalid JSON in the OpenID Provider configuration", err: err}
	}
	root := d.Root()
	if root.Kind() != jsonx.Object {
		return "", errf(ErrMalformed, "OpenID Provider configuration is not a JSON object")
	}
	// OIDC Discovery §4.3: "The issuer value returned MUST be identical
	// to the Issuer URL that was used as the prefix to
	// /.well-known/openid-configuration". Otherwise one provider could
	// publish keys for another's tokens.
	iss := root.Get("issuer")
	if iss.Kind() != jsonx.String {
		return "", errf(ErrMalformed, `no "issuer" string in the OpenID Provider configuration`)
	}
	if string(iss.Str()) != issuer {
		return "", errf(ErrIssuerMismatch, "document names issuer %q, configured %q", clip(iss.Str()), issuer)
	}
	ju := root.Get("jwks_uri")
	if ju.Kind() != jsonx.String {
		return "", errf(ErrMalformed, `no "jwks_uri" string in the OpenID Provider configuration`)
	}
	jwks := string(ju.Str())
	if err := checkRawURL(jwks, allowHTTP); err != nil {
		return "", fmt.Errorf("jwks_uri %q: %w", clip(ju.Str()), err)
	}
	return jwks, nil
}

type response struct {
	code   int
	body   []byte
	header http.Header
}

// get1 makes one GET request: 2xx answers are read up to MaxSize, 304 is
// returned without a body, anything else is a FetchError.
func (m *remote) get1(ctx context.Context, target, accept, ifNoneMatch string) (*response, error) {
	if err := checkRawURL(target, m.cfg.AllowHTTP); err != nil {
		return nil, &FetchError{URL: target, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, &FetchError{URL: target, Err: err}
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", m.cfg.UserAgent)
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it repeats the URL
		}
		return nil, &FetchError{URL: target, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return &response{code: resp.StatusCode, header: resp.Header}, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, &FetchError{URL: target, StatusCode: resp.StatusCode, Body: clipBody(snippet)}
	}
	limit := m.cfg.MaxSize
	if resp.ContentLength > int64(limit) {
		return nil, &FetchError{URL: target, Err: errf(ErrTooLarge, "document of %d bytes, at most %d", resp.ContentLength, limit)}
	}
	// Enforce the limit while reading: a server without Content-Length (or
	// a compressed body) must not make the loader buffer more.
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, &FetchError{URL: target, Err: err}
	}
	if len(body) > limit {
		return nil, &FetchError{URL: target, Err: errf(ErrTooLarge, "document larger than %d bytes", limit)}
	}
	return &response{code: resp.StatusCode, body: body, header: resp.Header}, nil
}

// clipBody keeps the start of an error response for the message: valid
// UTF-8, whitespace collapsed, at most 100 bytes.
func clipBody(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if len(s) > 100 {
		cut := 100
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// refreshDelay reads Cache-Control (RFC 9111 §5.2.2): max-age minus Age
// (§4.2.3), no-cache or no-store mean "as soon as allowed", and without
// either the default; the result is clamped into [MinRefresh, MaxRefresh].
func (m *remote) refreshDelay(h http.Header) time.Duration {
	c := m.cfg
	d := c.DefaultRefresh
	noCache, maxAge := false, int64(-1)
	for _, v := range h.Values("Cache-Control") {
		for dir := range strings.SplitSeq(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-cache", "no-store":
				noCache = true
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
				switch {
				case err == nil && n >= 0:
					maxAge = n
				case errors.Is(err, strconv.ErrRange) && n > 0:
					// §1.2.2: too large to represent means "very long".
					maxAge = n
				}
			}
		}
	}
	switch {
	case noCache:
		d = c.MinRefresh
	case maxAge >= 0:
		if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && age > 0 {
			maxAge = max(maxAge-age, 0)
		}
		if maxAge > int64(c.MaxRefresh/time.Second) {
			d = c.MaxRefresh
		} else {
			d = time.Duration(maxAge) * time.Second
		}
	}
	return min(max(d, c.MinRefresh), c.MaxRefresh)
}

// backoff returns the delay after n consecutive failures: MinBackoff
// doubled n-1 times, at most MaxBackoff, with "equal jitter" (a random
// point in its upper half) so that sidecars that failed together do not
// retry together.
func (m *remote) backoff(n int) time.Duration {
	d := m.cfg.MinBackoff
	for i := 1; i < n && d < m.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, m.cfg.MaxBackoff)
	half := d / 2
	return d - half + rand.N(half+1)
}

// refetch is Ring.Refetch for one source.
func (m *remote) refetch(ctx context.Context) bool {
	if m.ctx.Err() != nil {
		return false // removed or closed
	}
	if !m.refetchDue(m.ring.now()) {
		m.suppressed.Add(1)
		return false
	}
	res, ours := m.shared(ctx, func() fetchResult {
		now := m.ring.now()
		// Checked again: a fetch may have ended since the check above.
		if !m.refetchDue(now) {
			return fetchResult{suppressed: true}
		}
		m.lastRefetch.Store(&now)
		m.refetches.Add(1)
		return m.fetch(m.ctx, false, true)
	})
	if !ours || res.suppressed {
		m.suppressed.Add(1)
	}
	return res.genChanged
}

func (m *remote) refetchDue(now time.Time) bool {
	last := m.lastRefetch.Load()
	if last == nil {
		return true
	}
	since := now.Sub(*last)
	return since >= m.cfg.RefetchInterval || since < 0 // a clock set back does not block refetches
}

// startLoop runs the refresh loop until ctx or the source ends. r.loops
// counts it.
func (m *remote) startLoop(ctx context.Context) {
	m.loopMu.Lock()
	defer m.loopMu.Unlock()
	if m.loopCtx != nil && m.loopCtx.Err() == nil {
		return // running (a loop whose context ended is on its way out)
	}
	m.loopCtx = ctx
	m.ring.loops.Add(1)
	go func() {
		defer m.ring.loops.Done()
		m.loop(ctx)
	}()
}

func (m *remote) loop(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(m.ctx, cancel)
	defer stop()
	timer := time.NewTimer(time.Until(m.state.Load().next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
			timer.Reset(time.Until(m.state.Load().next))
		case <-timer.C:
			// A scheduled refresh rediscovers: providers may move their
			// JWK Set. The fetch runs on the source's context (Close and
			// Reconfigure cancel it) and the loop waits for it, so that
			// Close returns with no fetch of the loop in flight.
			m.shared(context.Background(), func() fetchResult { return m.fetch(m.ctx, true, true) })
			timer.Reset(time.Until(m.state.Load().next))
		}
	}
}

// fetchRemotes fetches each source once, concurrently, without rebuilding
// the ring; with retry, failed sources are retried with backoff until ctx
// is done. It returns the last error of each source that has no document.
func fetchRemotes(ctx context.Context, ms []*remote, retry bool) error {
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			for {
				res, _ := m.shared(ctx, func() fetchResult { return m.fetch(ctx, true, false) })
				errs[i] = res.err
				if res.err == nil || !retry {
					return
				}
				t := time.NewTimer(time.Until(m.state.Load().next))
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Wait()
	var out []error
	for i, m := range ms {
		if !m.ready() {
			// The last completed attempt says more than "deadline
			// exceeded" while waiting for one.
			err := m.state.Load().status.LastError
			if err == nil {
				err = errs[i]
			}
			if err == nil {
				err = &FetchError{URL: m.name, Err: ctx.Err()}
			}
			out = append(out, notReadyError{err})
		}
	}
	return errors.Join(out...)
}

// notReadyError marks the last error of a remote source without a
// document; the error names the URL already.
type notReadyError struct{ err error }

func (e notReadyError) Error() string   { return e.err.Error() }
func (e notReadyError) Unwrap() []error { return []error{ErrRemoteNotReady, e.err} }

// Start runs one refresh loop per remote source until ctx is done or the
// ring is closed, and returns at once. Each loop fetches when the last
// answer's Cache-Control (or the backoff after a failure) says so, and a
// changed document rebuilds the snapshot (serialised with Reload and
// Reconfigure; unchanged documents keep the generation). Sources added
// later by Reconfigure get a loop too while ctx lasts. Calling Start while
// loops run is a no-op; after ctx ended, Start may be called again.
func (r *Ring) Start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runCtx != nil && r.runCtx.Err() == nil {
		return
	}
	r.runCtx = ctx
	for _, m := range r.remotes {
		if m != nil {
			m.startLoop(ctx)
		}
	}
}

// Close stops the refresh loops and any fetch in flight and waits for the
// loops to return. The ring keeps serving its last snapshot; Reload still
// works from the documents in memory, but remote sources are fetched no
// more.
func (r *Ring) Close() error {
	r.stopAll()
	r.loops.Wait()
	return nil
}

// stopAll ends every remote source of the ring.
func (r *Ring) stopAll() {
	r.cancel()
	if list := r.remoteList.Load(); list != nil {
		stopRemotes(*list, nil)
	}
}

// Refetch asks the remote sources of issuer for their current keys, for a
// token whose kid the snapshot does not hold (a provider that rotated in a
// new key before the refresh loop saw it). The sources are those whose
// Issuer equals issuer, or, if there are none, those without an issuer.
//
// Each source is fetched at most once per RefetchInterval: callers that
// arrive while a fetch is in flight wait for it (or for ctx) and share its
// result, and callers within the interval after it return false at once
// without any I/O, so a flood of tokens with made-up kids costs one fetch
// per interval. The fetch itself runs on the ring's context, not ctx: a
// caller that gives up does not cancel it for the others.
//
// Refetch returns true if the ring got a new generation from the fetch;
// look the key up again in Snapshot() then. It does not allocate when it
// is rate-limited.
func (r *Ring) Refetch(ctx context.Context, issuer []byte) (changed bool) {
	list := r.remoteList.Load()
	if list == nil {
		return false
	}
	target := ""
	for _, m := range *list {
		if m.cfg.Issuer != "" && m.cfg.Issuer == string(issuer) {
			target = m.cfg.Issuer
			break
		}
	}
	var first *remote
	n := 0
	for _, m := range *list {
		if m.cfg.Issuer == target {
			if first == nil {
				first = m
			}
			n++
		}
	}
	switch n {
	case 0:
		return false
	case 1:
		return first.refetch(ctx)
	}
	var hit atomic.Bool
	var wg sync.WaitGroup
	for _, m := range *list {
		if m.cfg.Issuer == target {
			wg.Go(func() {
				if m.refetch(ctx) {
					hit.Store(true)
				}
			})
		}
	}
	wg.Wait()
	return hit.Load()
}

// RefreshRemotes fetches every remote source now (rediscovering), ignoring
// RefetchInterval and the schedule, and rebuilds the snapshot if a document
// changed: for an operator's "reload keys now". It waits for the fetches
// (or ctx) and returns the errors of those that failed; their last good
// documents stay in use.
func (r *Ring) RefreshRemotes(ctx context.Context) error {
	list := r.remoteList.Load()
	if list == nil {
		return nil
	}
	errs := make([]error, len(*list))
	var wg sync.WaitGroup
	for i, m := range *list {
		wg.Go(func() {
			res, _ := m.shared(ctx, func() fetchResult { return m.fetch(m.ctx, true, true) })
			errs[i] = res.err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Ready reports whether the ring has a snapshot and every remote source
// has fetched a document at least once. A source whose later fetches fail
// stays ready: its last good keys are in use (see Status for the errors).
// It never blocks.
func (r *Ring) Ready() bool {
	if r.snap.Load() == nil {
		return false
	}
	if list := r.remoteList.Load(); list != nil {
		for _, m := range *list {
			if !m.ready() {
				return false
			}
		}
	}
	return true
}

func (r *Ring) remoteStatuses() []RemoteStatus {
	list := r.remoteList.Load()
	if list == nil || len(*list) == 0 {
		return nil
	}
	out := make([]RemoteStatus, len(*list))
	for i, m := range *list {
		out[i] = m.status()
	}
	return out
}

// publishRemotes makes the remote sources of r.remotes visible to the
// lock-free readers (Status, Ready, Refetch). Called under r.mu (or before
// the ring is shared).
func (r *Ring) publishRemotes() {
	var list []*remote
	for _, m := range r.remotes {
		if m != nil {
			list = append(list, m)
		}
	}
	r.remoteList.Store(&list)
}

// remoteInput is what a remote source contributes to the reload digest:
// its JWK Set URL and document, or nil before the first success.
func remoteInput(s *remoteState) []byte {
	if s.doc == nil {
		return nil
	}
	b := make([]byte, 0, len(s.jwksURL)+1+len(s.doc))
	b = append(b, s.jwksURL...)
	b = append(b, 0)
	return append(b, s.doc...)
}
