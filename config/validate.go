package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/verifier"
)

// Bounds enforced by Validate.
const (
	MinTokenSize      = 1 * KiB
	MaxTokenSize      = 1 * MiB
	MaxHeaderSize     = 16 * MiB
	MaxHeaderValueLen = 64 * KiB
	MaxLeeway         = 10 * time.Minute // the verifier refuses more
)

// Validate checks the whole configuration and returns every problem at
// once (errors.Join of *FieldError, each naming the key path). It reads no
// files and no environment variables: whether key files exist and parse is
// the keyring's check when it loads them. A Config that does not validate
// must not be used.
func (c *Config) Validate() error {
	var v validator
	c.validateListen(&v)
	c.validateToken(&v)
	c.validateLimits(&v)
	c.validateKeys(&v)
	c.validatePolicy(&v)
	c.validateHeaders(&v)
	c.validateRoutes(&v)
	c.validateCache(&v)
	c.validateRevocation(&v)
	c.validateJWKS(&v)
	c.validateDecryption(&v)
	c.validateLog(&v)
	return fromEnv(errors.Join(v.errs...), c.env)
}

type validator struct{ errs []error }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
}

func (c *Config) validateListen(v *validator) {
	checkAddr(v, "listen.verify", c.Listen.Verify)
	checkAddr(v, "listen.admin", c.Listen.Admin)
	if c.Listen.Admin != "" && c.Listen.Admin == c.Listen.Verify && !strings.HasSuffix(c.Listen.Admin, ":0") {
		v.add("listen.admin", "same address as listen.verify")
	}
	if g := c.Listen.ExtAuthzGRPC; g != "" {
		checkAddr(v, "listen.ext_authz_grpc", g)
		if (g == c.Listen.Verify || g == c.Listen.Admin) && !strings.HasSuffix(g, ":0") {
			v.add("listen.ext_authz_grpc", "same address as listen.verify or listen.admin")
		}
	}
	if p := c.Listen.VerifyPathPrefix; p != "" && !isPathPrefix(p) {
		v.add("listen.verify_path_prefix", "%q must be a path of one or more segments of letters, digits and -._~ (like /verify), without a trailing /", p)
	}
	// The realm is sent as a quoted-string (RFC 6750 §3, RFC 9110 §5.6.4);
	// refusing '"' and '\' keeps it free of escapes.
	if c.Realm == "" {
		v.add("realm", "must not be empty")
	} else if i := strings.IndexFunc(c.Realm, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '"' || r == '\\' }); i >= 0 {
		v.add("realm", "invalid character %q (printable ASCII without \" and \\)", c.Realm[i:i+1])
	}
}

// isPathPrefix accepts "/a/b": segments of unreserved characters (RFC
// 3986 §2.3), none of them "." or "..". Such a prefix reads the same
// before and after any normalisation, so stripping it cannot change how
// the rest of the path is read.
func isPathPrefix(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !isAlnum(c) && !strings.ContainsRune("-._~", rune(c)) {
				return false
			}
		}
	}
	return true
}

// checkAddr requires host:port with a numeric port. The host may be empty
// (all interfaces), an IP address or a host name.
func checkAddr(v *validator, field, addr string) {
	if addr == "" {
		v.add(field, "must not be empty (host:port)")
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(field, "%q is not host:port", addr)
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		v.add(field, "%q: port must be a number from 0 to 65535", addr)
	}
	if host != "" && net.ParseIP(host) == nil && !isHostname(host) {
		v.add(field, "%q: invalid host", addr)
	}
}

func isHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if ch := label[i]; !isAlnum(ch) && ch != '-' {
				return false
			}
		}
	}
	return true
}

func (c *Config) validateToken(v *validator) {
	t := c.Token
	if !t.Header && t.Cookie == "" && t.Query == "" {
		v.add("token", "no token source enabled (header, cookie or query)")
	}
	// RFC 6265 §4.1.1: a cookie-name is an RFC 2616 token.
	if t.Cookie != "" && !isToken(t.Cookie) {
		v.add("token.cookie", "%q is not a valid cookie name", t.Cookie)
	}
	if t.Query != "" && !isQueryName(t.Query) {
		v.add("token.query", "%q is not a plain parameter name (letters, digits, -._~)", t.Query)
	}
}

func isQueryName(s string) bool {
	for i := 0; i < len(s); i++ {
		if ch := s[i]; !isAlnum(ch) && !strings.ContainsRune("-._~", rune(ch)) {
			return false
		}
	}
	return s != ""
}

func (c *Config) validateLimits(v *validator) {
	l := c.Limits
	if l.MaxTokenSize < MinTokenSize || l.MaxTokenSize > MaxTokenSize {
		v.add("limits.max_token_size", "%s is not between %s and %s", l.MaxTokenSize, MinTokenSize, MaxTokenSize)
	}
	switch {
	case l.MaxHeaderSize < l.MaxTokenSize:
		// The token arrives in a header: a smaller header limit would
		// make max_token_size a lie.
		v.add("limits.max_header_size", "%s is less than limits.max_token_size (%s)", l.MaxHeaderSize, l.MaxTokenSize)
	case l.MaxHeaderSize > MaxHeaderSize:
		v.add("limits.max_header_size", "%s is more than %s", l.MaxHeaderSize, MaxHeaderSize)
	}
	// Without read and write timeouts one slow client holds a connection
	// forever.
	if l.ReadTimeout <= 0 {
		v.add("limits.read_timeout", "must be positive, not %s", l.ReadTimeout)
	}
	if l.WriteTimeout <= 0 {
		v.add("limits.write_timeout", "must be positive, not %s", l.WriteTimeout)
	}
	if l.IdleTimeout < 0 {
		v.add("limits.idle_timeout", "must not be negative (%s)", l.IdleTimeout)
	}
	if l.MaxConnsPerIP < 0 {
		v.add("limits.max_conns_per_ip", "must not be negative (%d)", l.MaxConnsPerIP)
	}
	if l.Concurrency < 0 {
		v.add("limits.concurrency", "must not be negative (%d)", l.Concurrency)
	}
	// A connection carries one request at a time: an in-flight limit
	// above the connection limit would never shed, and is a mistake.
	// (concurrency 0 is fasthttp's default of 262,144 connections.)
	switch {
	case l.MaxInFlight < 0:
		v.add("limits.max_in_flight", "must not be negative (%d)", l.MaxInFlight)
	case l.MaxQueueTime < 0:
		v.add("limits.max_queue_time", "must not be negative (%s)", l.MaxQueueTime)
	case l.Concurrency > 0 && l.MaxInFlight > l.Concurrency:
		v.add("limits.max_in_flight", "%d is more than limits.concurrency (%d)", l.MaxInFlight, l.Concurrency)
	}
}

func (c *Config) validateKeys(v *validator) {
	remote := false
	for _, is := range c.Issuers {
		remote = remote || is.JWKSURL != "" || is.Discovery
	}
	if len(c.Keys) == 0 && c.Dev.KeysDir == "" && !remote {
		v.add("keys", "no key sources (add one, give an issuer discovery or jwks_url, or set dev.keys_dir for development)")
	}
	for i, k := range c.Keys {
		f := fmt.Sprintf("keys[%d]", i)
		var set []string
		for _, m := range []struct{ name, val string }{
			{"file", k.File}, {"secret_file", k.SecretFile}, {"secret_env", k.SecretEnv}, {"jwks", k.JWKS},
		} {
			if m.val != "" {
				set = append(set, m.name)
			}
		}
		if len(set) != 1 {
			if len(set) == 0 {
				v.add(f, "needs one of file, secret_file, secret_env and jwks")
			} else {
				v.add(f, "has %s: set exactly one of file, secret_file, secret_env and jwks", strings.Join(set, " and "))
			}
			continue
		}
		secret := k.SecretFile != "" || k.SecretEnv != ""

		var alg keyring.Algorithm
		if k.Alg != "" {
			a, err := keyring.ParseAlgorithm(k.Alg)
			if err != nil {
				v.add(f+".alg", "unsupported algorithm %q", k.Alg)
			}
			alg = a
		}
		var algs []keyring.Algorithm
		for j, s := range k.Algs {
			a, err := keyring.ParseAlgorithm(s)
			if err != nil {
				v.add(fmt.Sprintf("%s.algs[%d]", f, j), "unsupported algorithm %q", s)
				continue
			}
			if secret && a.Family() != keyring.FamilyHMAC {
				v.add(fmt.Sprintf("%s.algs[%d]", f, j), "%s is not an HMAC algorithm; a secret verifies HS256, HS384 or HS512 only", a)
			}
			algs = append(algs, a)
		}
		if alg != "" && len(k.Algs) > 0 && !containsAlg(algs, alg) {
			v.add(f+".alg", "%s is not in %s.algs", alg, f)
		}
		if secret {
			// The key decides the algorithm: a secret carries no alg of
			// its own, so the configuration must bind one (RFC 8725 §3.1).
			switch {
			case k.Alg == "":
				v.add(f+".alg", "required for an HMAC secret (HS256, HS384 or HS512)")
			case alg != "" && alg.Family() != keyring.FamilyHMAC:
				v.add(f+".alg", "%s is not an HMAC algorithm (HS256, HS384 or HS512)", alg)
			}
			if _, err := keyring.ParseSecretEncoding(k.Encoding); err != nil {
				v.add(f+".encoding", "unknown encoding %q (raw, base64, base64url or hex)", k.Encoding)
			}
		} else if k.Encoding != "" {
			v.add(f+".encoding", "applies to secret_file and secret_env only")
		}
		if k.SecretEnv != "" && !isEnvName(k.SecretEnv) {
			v.add(f+".secret_env", "%q is not an environment variable name", k.SecretEnv)
		}
		for _, m := range []struct{ name, val string }{{"kid", k.KID}, {"issuer", k.Issuer}} {
			if strings.IndexFunc(m.val, isControl) >= 0 {
				v.add(f+"."+m.name, "contains a control character")
			}
		}
		// The client label is sent as a response header value.
		if k.Client != "" && !isHeaderValue(k.Client) {
			v.add(f+".client", "must be printable ASCII without leading or trailing space")
		}
		if k.JWKS != "" {
			checkInlineKeys(v, f+".jwks", k, alg)
		}
	}
}

// checkInlineKeys parses an inline document as the keyring will and
// refuses secrets: an HMAC key in the configuration would be a secret in a
// file that is copied, committed and printed. Private members fail the
// parse already (ErrPrivateKey).
func checkInlineKeys(v *validator, field string, k Key, alg keyring.Algorithm) {
	keys, err := keyring.ParseKeys([]byte(k.JWKS), keyring.Options{ID: k.KID, Alg: alg, Issuer: k.Issuer, Client: k.Client})
	if err != nil {
		v.add(field, "%w", err)
		return
	}
	for _, key := range keys {
		if key.Alg().Family() == keyring.FamilyHMAC {
			v.add(field, "holds an HMAC secret: secrets belong in secret_file or secret_env, never inline")
			return
		}
	}
}

func containsAlg(algs []keyring.Algorithm, a keyring.Algorithm) bool {
	for _, x := range algs {
		if x == a {
			return true
		}
	}
	return false
}

func isEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch != '_' && !isAlnum(ch) || i == 0 && ch >= '0' && ch <= '9' {
			return false
		}
	}
	return s != ""
}

func (c *Config) validatePolicy(v *validator) {
	p := c.Policy
	checkList(v, "policy.issuers", p.Issuers)
	checkList(v, "policy.audiences", p.Audiences)
	if p.Leeway < 0 || p.Leeway > MaxLeeway {
		v.add("policy.leeway", "%s is not between 0s and %s", p.Leeway, MaxLeeway)
	}
	// "typ" is a media type (RFC 7515 §4.1.9): token chars and one '/'.
	if p.Type != "" {
		typ, sub, _ := strings.Cut(p.Type, "/")
		if !isToken(typ) || strings.Contains(p.Type, "/") && !isToken(sub) {
			v.add("policy.type", "%q is not a media type such as at+jwt", p.Type)
		}
	}
	for i, claim := range p.RequiredClaims {
		checkClaimPath(v, fmt.Sprintf("policy.required_claims[%d]", i), claim)
	}
	seen := map[string]bool{}
	for i, is := range c.Issuers {
		field := fmt.Sprintf("issuers[%d]", i)
		if is.Issuer == "" {
			v.add(field+".issuer", "required")
		} else if seen[is.Issuer] {
			v.add(field+".issuer", "%q is listed twice", is.Issuer)
		}
		seen[is.Issuer] = true
		checkList(v, field+".audiences", is.Audiences)
		if is.Leeway != nil && (*is.Leeway < 0 || *is.Leeway > MaxLeeway) {
			v.add(field+".leeway", "%s is not between 0s and %s", *is.Leeway, MaxLeeway)
		}
		if is.CheckAudience != nil && !*is.CheckAudience {
			// Contradictions are errors, not silently resolved.
			if len(is.Audiences) > 0 {
				v.add(field+".check_audience", "false, but %s.audiences lists audiences to check", field)
			}
			if is.AllowMissingAud {
				v.add(field+".allow_missing_aud", "has no effect with %s.check_audience: false", field)
			}
		}
		c.validateRemote(v, field, is)
		for j, claim := range is.RequiredClaims {
			checkClaimPath(v, fmt.Sprintf("%s.required_claims[%d]", field, j), claim)
		}
	}
}

// checkClaimPath requires a claim path the verifier can parse: dotted
// ("realm_access.roles") or an RFC 6901 JSON Pointer ("/realm_access/roles").
func checkClaimPath(v *validator, field, path string) {
	if _, err := verifier.ParsePath(path); err != nil {
		v.add(field, "%s", strings.TrimPrefix(err.Error(), "verifier: "))
	}
}

// checkList requires non-empty, distinct values.
func checkList(v *validator, field string, list []string) {
	seen := make(map[string]bool, len(list))
	for i, s := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case s == "":
			v.add(f, "must not be empty")
		case strings.IndexFunc(s, isControl) >= 0:
			v.add(f, "contains a control character")
		case seen[s]:
			v.add(f, "duplicate %q", s)
		}
		seen[s] = true
	}
}

// reservedHeaders are response headers the sidecar or HTTP itself owns; a
// claim copied into one of them would corrupt the response or the proxy's
// view of it.
var reservedHeaders = map[string]bool{
	"connection": true, "content-length": true, "content-type": true, "date": true,
	"keep-alive": true, "proxy-connection": true, "server": true, "set-cookie": true,
	"te": true, "trailer": true, "transfer-encoding": true, "upgrade": true,
	"www-authenticate": true, "host": true,
}

func (c *Config) validateHeaders(v *validator) {
	h := c.Headers
	seen := map[string]string{}
	header := func(field, name string) {
		lower := strings.ToLower(name)
		switch {
		case !isToken(name):
			// RFC 9110 §5.1: a field name is a token.
			v.add(field, "%q is not a valid header name", name)
		case reservedHeaders[lower]:
			v.add(field, "%q is a reserved header", name)
		case seen[lower] != "":
			// Field names are case-insensitive (RFC 9110 §5.1).
			v.add(field, "%q is already used by %s", name, seen[lower])
		default:
			seen[lower] = field
		}
	}
	for i, m := range h.Claims {
		f := fmt.Sprintf("headers.claims[%d]", i)
		checkClaimPath(v, f+".claim", m.Claim)
		switch gate.HeaderFormat(m.Format) {
		case "", gate.FormatText, gate.FormatJSON, gate.FormatSF:
		default:
			v.add(f+".format", "%q is not one of text, json, sf", m.Format)
		}
		header(f+".header", m.Header)
	}
	if h.Client != "" {
		header("headers.client", h.Client)
	}
	if h.KeyID != "" {
		header("headers.key_id", h.KeyID)
	}
	if h.Payload != "" {
		header("headers.payload", h.Payload)
	}
	if h.MaxValueLength < 1 || h.MaxValueLength > MaxHeaderValueLen {
		v.add("headers.max_value_length", "%s is not between 1 and %s", h.MaxValueLength, MaxHeaderValueLen)
	}
}

func (c *Config) validateRoutes(v *validator) {
	for i, r := range c.Routes {
		f := fmt.Sprintf("routes[%d]", i)
		switch {
		case !strings.HasPrefix(r.Prefix, "/"):
			v.add(f+".prefix", "must start with /")
		case strings.ContainsAny(r.Prefix, "?#") || strings.IndexFunc(r.Prefix, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
			v.add(f+".prefix", "%q is not a plain path (no query, fragment, space or control characters)", r.Prefix)
		}
		seen := map[string]bool{}
		for j, m := range r.Methods {
			mf := fmt.Sprintf("%s.methods[%d]", f, j)
			switch {
			case !isToken(m) || strings.ToUpper(m) != m:
				// Methods are tokens (RFC 9110 §9.1), written in
				// upper case here; requests match them ignoring case
				// (as applications route them), HEAD as GET.
				v.add(mf, "%q is not an upper-case method name", m)
			case seen[m]:
				v.add(mf, "duplicate %q", m)
			}
			seen[m] = true
		}
		for j, s := range r.Scopes {
			// RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E.
			if s == "" || strings.IndexFunc(s, func(r rune) bool { return r <= 0x20 || r >= 0x7f || r == '"' || r == '\\' }) >= 0 {
				v.add(fmt.Sprintf("%s.scopes[%d]", f, j), "%q is not a scope token", s)
			}
		}
		for _, name := range sortedKeys(r.Claims) {
			cf := fmt.Sprintf("%s.claims[%q]", f, name)
			checkClaimPath(v, cf, name)
			if len(r.Claims[name]) == 0 {
				v.add(cf, "no accepted values (the route could never be satisfied)")
			}
		}
		if r.Public && (len(r.Scopes) > 0 || len(r.Claims) > 0) {
			v.add(f+".public", "a public route cannot require scopes or claims")
		}
	}
}

func (c *Config) validateCache(v *validator) {
	if c.Cache.MaxSize < 0 {
		v.add("cache.max_size", "must not be negative (%d)", int64(c.Cache.MaxSize))
	}
	if c.Cache.NegativeTTL < 0 {
		v.add("cache.negative_ttl", "must not be negative (%s)", c.Cache.NegativeTTL)
	}
}

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
)

func (c *Config) validateLog(v *validator) {
	if !containsFold(logLevels, c.Log.Level) {
		v.add("log.level", "unknown level %q (debug, info, warn or error)", c.Log.Level)
	}
	if !containsFold(logFormats, c.Log.Format) {
		v.add("log.format", "unknown format %q (text or json)", c.Log.Format)
	}
	if !containsFold([]string{"off", "denied", "all"}, c.Log.Access) {
		v.add("log.access", "unknown mode %q (off, denied or all)", c.Log.Access)
	}
	if c.Log.AccessPerSecond < 1 || c.Log.AccessPerSecond > 1_000_000 {
		v.add("log.access_per_second", "%d is not between 1 and 1000000", c.Log.AccessPerSecond)
	}
	if !containsFold([]string{"hash", "plain", "off"}, c.Log.AccessSubject) {
		v.add("log.access_subject", "unknown mode %q (hash, plain or off)", c.Log.AccessSubject)
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// isToken reports whether s is an RFC 9110 §5.6.2 token:
// 1*tchar, tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
// "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if ch := s[i]; !isAlnum(ch) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(ch)) {
			return false
		}
	}
	return s != ""
}

// isHeaderValue accepts visible ASCII and inner spaces (RFC 9110 §5.5
// field-value, restricted to ASCII).
func isHeaderValue(s string) bool {
	if strings.TrimSpace(s) != s {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func isAlnum(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
}

func (c *Config) validateRevocation(v *validator) {
	if c.Admin.TokenFile != "" && c.Admin.TokenEnv != "" {
		v.add("admin.token_env", "set token_file or token_env, not both")
	}
	if c.Admin.TokenEnv != "" && !isEnvName(c.Admin.TokenEnv) {
		v.add("admin.token_env", "%q is not an environment variable name", c.Admin.TokenEnv)
	}
	r := c.Revocation
	if r.MaxTokenLifetime < time.Minute || r.MaxTokenLifetime > 366*24*time.Hour {
		v.add("revocation.max_token_lifetime", "%s is not between 1m and 8784h", r.MaxTokenLifetime)
	}
	if r.MaxRules < 1 {
		v.add("revocation.max_rules", "must be at least 1 (%d)", r.MaxRules)
	}
	rd := r.Redis
	if rd.Addr != "" {
		checkAddr(v, "revocation.redis.addr", rd.Addr)
	}
	if rd.PasswordEnv != "" && !isEnvName(rd.PasswordEnv) {
		v.add("revocation.redis.password_env", "%q is not an environment variable name", rd.PasswordEnv)
	}
	if rd.DB < 0 || rd.DB > 15 {
		v.add("revocation.redis.db", "%d is not between 0 and 15", rd.DB)
	}
	if rd.Prefix == "" || strings.IndexFunc(rd.Prefix, isControl) >= 0 {
		v.add("revocation.redis.prefix", "must be non-empty printable text")
	}
	if rd.ResyncInterval < time.Second {
		v.add("revocation.redis.resync_interval", "%s is shorter than 1s", rd.ResyncInterval)
	}
	if rd.Timeout <= 0 || rd.Timeout > time.Minute {
		v.add("revocation.redis.timeout", "%s is not between 0s (exclusive) and 1m", rd.Timeout)
	}
	if rd.StartupWait < 0 {
		v.add("revocation.redis.startup_wait", "must not be negative (%s)", rd.StartupWait)
	}
}

// validateRemote checks an issuer's identity-provider settings with the
// keyring's own rules, naming the field.
func (c *Config) validateRemote(v *validator, field string, is Issuer) {
	if is.JWKSURL == "" && !is.Discovery {
		for name, set := range map[string]bool{"algs": len(is.Algs) > 0, "alg": is.Alg != "", "client": is.Client != ""} {
			if set {
				v.add(field+"."+name, "applies to fetched keys only: set discovery or jwks_url (keys[] entries carry their own)")
			}
		}
		return
	}
	if is.JWKSURL != "" && is.Discovery {
		v.add(field+".jwks_url", "set jwks_url or discovery, not both")
		return
	}
	if len(is.Algs) == 0 {
		v.add(field+".algs", "required with discovery or jwks_url: the algorithms this issuer signs with, e.g. [RS256]")
	}
	for j, a := range is.Algs {
		if alg, ok := keyring.LookupAlgorithm([]byte(a)); !ok {
			v.add(fmt.Sprintf("%s.algs[%d]", field, j), "unsupported alg %q", a)
		} else if alg.Family() == keyring.FamilyHMAC {
			v.add(fmt.Sprintf("%s.algs[%d]", field, j), "%s: a published key set holds public keys only", a)
		}
	}
	if err := c.remoteConfig(is).Validate(); err != nil {
		v.add(field, "%v", err)
	}
}

func (c *Config) validateJWKS(v *validator) {
	j := c.JWKS
	pos := func(name string, d time.Duration) {
		if d <= 0 {
			v.add("jwks."+name, "must be positive (%s)", d)
		}
	}
	pos("min_refresh", j.MinRefresh)
	pos("max_refresh", j.MaxRefresh)
	pos("default_refresh", j.DefaultRefresh)
	pos("refetch_interval", j.RefetchInterval)
	pos("timeout", j.Timeout)
	pos("min_backoff", j.MinBackoff)
	pos("max_backoff", j.MaxBackoff)
	pos("startup_timeout", j.StartupTimeout)
	if j.MaxRefresh < j.MinRefresh {
		v.add("jwks.max_refresh", "%s is less than jwks.min_refresh (%s)", j.MaxRefresh, j.MinRefresh)
	}
	if j.MaxBackoff < j.MinBackoff {
		v.add("jwks.max_backoff", "%s is less than jwks.min_backoff (%s)", j.MaxBackoff, j.MinBackoff)
	}
	if j.MaxSize < 1 || j.MaxSize > keyring.MaxDocumentSize {
		v.add("jwks.max_size", "%s is not between 1 and %s", j.MaxSize, Size(keyring.MaxDocumentSize))
	}
	if !containsFold([]string{"wait", "not_ready"}, j.Startup) {
		v.add("jwks.startup", "unknown value %q (wait or not_ready)", j.Startup)
	}
	if strings.IndexFunc(j.UserAgent, isControl) >= 0 {
		v.add("jwks.user_agent", "contains a control character")
	}
}

func (c *Config) validateDecryption(v *validator) {
	d := c.Decryption
	if d.Require && len(d.Keys) == 0 {
		v.add("decryption.require", "needs decryption.keys")
	}
	for i, k := range d.Keys {
		f := fmt.Sprintf("decryption.keys[%d]", i)
		if k.File == "" {
			v.add(f+".file", "required")
		}
		if _, ok := jwe.ParseKeyAlgorithm(k.Alg); !ok {
			v.add(f+".alg", "%q is not a supported key management algorithm (dir, A128KW, A256KW, ECDH-ES, ECDH-ES+A128KW, ECDH-ES+A256KW, RSA-OAEP-256)", k.Alg)
		}
	}
	for i, e := range d.Encs {
		if _, ok := jwe.ParseContentEncryption(e); !ok {
			v.add(fmt.Sprintf("decryption.encs[%d]", i), "%q is not a supported content encryption (A128GCM, A256GCM, A128CBC-HS256, A256CBC-HS512)", e)
		}
	}
}
