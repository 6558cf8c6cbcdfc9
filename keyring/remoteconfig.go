package keyring

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults of RemoteConfig and Config for remote key sources.
const (
	DefaultMinRefresh           = time.Minute
	DefaultMaxRefresh           = 24 * time.Hour
	DefaultRefresh              = 15 * time.Minute
	DefaultRefetchInterval      = 3 * time.Second
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
	// Alg binds keys that have no "alg" member and can use it (Entra ID
	// omits "alg" on its RSA keys); it must be in Algs. Without it, an
	// RSA key without "alg" is bound to the one RSA algorithm Algs
	// admits, and refused if Algs admits several. A key whose "alg" is
	// given keeps it; EC and OKP keys take theirs from their curve.
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
	// (Ring.Refetch) of this source, measured on Config.Now; a new kid
	// within it is fetched when it ends, so it is also the longest a key
	// the provider rotated in waits (with random kids sprayed meanwhile).
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

// Validate checks c and returns every problem, each naming the key that
// sets the field in tokengate's configuration: issuers[].jwks_url,
// issuers[].issuer, issuers[].discovery, issuers[].alg, issuers[].algs for
// an issuer's own settings, jwks.* (allow_http, min_refresh, ca_file...)
// for those shared by every provider.
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
		bad("issuers[].jwks_url and issuers[].discovery are exclusive: discovery finds the JWK Set URL")
	case c.Discover && c.Issuer == "":
		bad("issuers[].issuer is required with issuers[].discovery: it is the discovery base URL")
	case !c.Discover && c.JWKSURL == "":
		bad("issuers[].jwks_url is required (or set issuers[].discovery)")
	}
	if c.JWKSURL != "" {
		if err := checkRawURL(c.JWKSURL, c.AllowHTTP); err != nil {
			bad("issuers[].jwks_url: %w", err)
		}
	}
	if c.Discover && c.Issuer != "" {
		// OIDC Core §2 ("iss"): a case-sensitive https URL with scheme,
		// host and optionally port and path, no query or fragment.
		if err := checkRawURL(c.Issuer, c.AllowHTTP); err != nil {
			bad("issuers[].issuer: %w", err)
		} else if u, _ := url.Parse(c.Issuer); u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(c.Issuer, "?#") {
			bad("issuers[].issuer: an OpenID issuer has no query or fragment")
		}
	}
	if len(c.Algs) == 0 {
		bad("issuers[].algs: an allow-list is required for fetched keys (for example [RS256])")
	}
	for _, a := range c.Algs {
		alg, ok := LookupAlgorithm([]byte(a))
		switch {
		case !ok:
			bad("issuers[].algs: unsupported alg %q", string(a))
		case alg.Family() == FamilyHMAC:
			bad("issuers[].algs: %s: a published JWK Set holds public keys, never HMAC secrets", a)
		}
	}
	if c.Alg != "" {
		if _, ok := LookupAlgorithm([]byte(c.Alg)); !ok {
			bad("issuers[].alg: unsupported alg %q", string(c.Alg))
		} else if len(c.Algs) > 0 && !algAllowed(c.Algs, c.Alg) {
			bad("issuers[].alg: %s is not in issuers[].algs", c.Alg)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"jwks.min_refresh", c.MinRefresh}, {"jwks.max_refresh", c.MaxRefresh}, {"jwks.default_refresh", c.DefaultRefresh},
		{"jwks.refetch_interval", c.RefetchInterval}, {"jwks.timeout", c.Timeout},
		{"jwks.min_backoff", c.MinBackoff}, {"jwks.max_backoff", c.MaxBackoff},
	} {
		if d.v < 0 {
			bad("%s is negative (%s)", d.name, d.v)
		}
	}
	n := c.withDefaults()
	if n.MinRefresh > n.MaxRefresh {
		bad("jwks.min_refresh (%s) is greater than jwks.max_refresh (%s)", n.MinRefresh, n.MaxRefresh)
	}
	if n.MinBackoff > n.MaxBackoff {
		bad("jwks.min_backoff (%s) is greater than jwks.max_backoff (%s)", n.MinBackoff, n.MaxBackoff)
	}
	if c.MaxSize < 0 || c.MaxSize > MaxDocumentSize {
		bad("jwks.max_size %d is outside 1..%d bytes", c.MaxSize, MaxDocumentSize)
	}
	if c.CAFile != "" && c.HTTPClient != nil {
		bad("jwks.ca_file cannot be combined with an HTTPClient: configure the client's TLS roots instead")
	}
	if strings.ContainsFunc(c.UserAgent, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		bad("jwks.user_agent contains control characters")
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
			return fmt.Errorf("%w: plain http is refused; use https (jwks.allow_http: true permits a loopback development server)", ErrInsecureURL)
		}
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%w: plain http is allowed for loopback hosts only (jwks.allow_http), not %q", ErrInsecureURL, u.Hostname())
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
