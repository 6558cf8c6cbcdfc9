package gate

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is what the decision depends on, apart from keys, revocations and
// decryption keys (Options): where tokens come from, route rules, which
// claims become headers, and the cache. The config package fills it from
// YAML and the environment; tests and embedders build it directly. A
// Config is validated by New and Apply and never changed afterwards (a
// reload builds a new one).
type Config struct {
	// Realm is the realm of WWW-Authenticate challenges (RFC 6750 §3).
	Realm string
	// Token says where a request's token may come from.
	Token TokenSources
	// Headers map claims to headers set on an allowed request.
	Headers []HeaderMapping
	// ClientHeader and KeyIDHeader carry the verifying key's client label
	// and kid ("" disables each).
	ClientHeader string
	KeyIDHeader  string
	// PayloadHeader, when set, carries the verified token's payload
	// segment as it was signed (base64url JSON, every claim), for
	// upstreams that want all claims (like Envoy's forward_payload_header).
	// It is not bounded by MaxHeaderValue; the token size limit bounds it.
	PayloadHeader string
	// MaxHeaderValue bounds each claim header value in bytes. A value
	// longer than this is never cut: the token is refused.
	MaxHeaderValue int
	// Routes are checked in order against the request's method and
	// normalised path; the first whose prefix and method match applies.
	Routes []Route
	// AllowASCIILookalikes accepts paths holding non-ASCII characters
	// whose compatibility normalisation (NFKC) contains ASCII, such as
	// full-width letters. By default they are refused: an application
	// that normalises paths with NFKC reads "/ａdmin" as "/admin".
	AllowASCIILookalikes bool
	// Cache of verified tokens.
	Cache CacheConfig
}

// TokenSources lists where a token may come from. A request may carry its
// token in one of them only (RFC 6750 §2: clients MUST NOT use more than
// one method); a request with two is refused.
type TokenSources struct {
	// Header reads "Authorization: Bearer <token>" (RFC 6750 §2.1).
	Header bool
	// Cookie is a cookie name holding the token (httpOnly-cookie
	// sessions); "" disables it.
	Cookie string
	// Query is a query parameter of the request target holding the token
	// (RFC 6750 §2.3, discouraged: URIs end up in logs); "" disables it.
	Query string
}

// HeaderMapping copies one claim into one header.
type HeaderMapping struct {
	// Claim is a claim path ("sub", "realm_access.roles"); the special
	// name "scope" renders the token's scopes ("scope" or "scp").
	Claim string
	// Header is the header name.
	Header string
	// Format is how the claim's value is written into the header; see
	// HeaderFormat. "" is FormatText.
	Format HeaderFormat
}

// HeaderFormat is how a claim value is written into a header. A value is
// forwarded exactly or not at all: whatever a format cannot write without
// changing it (or without two values reading the same) makes the token
// refused (401), never trimmed, cut or cleaned.
type HeaderFormat string

// The header formats.
const (
	// FormatText writes a string as it is, a number as its JSON text,
	// true/false, and an array of those joined by ","; the scopes are
	// joined by " ". Refused: a control character, leading or trailing
	// white space, an object or nested array, an array element that is
	// empty or holds ",", a scope that is not an RFC 6749 scope-token. An
	// empty string, null or [] is written as no header, like an absent
	// claim. Types are not told apart ("1" and 1 read the same).
	FormatText HeaderFormat = "text"
	// FormatJSON writes the claim as compact JSON (strings quoted, control
	// characters and DEL escaped, other characters as they are): any
	// value, reversibly, with its type.
	FormatJSON HeaderFormat = "json"
	// FormatSF writes an RFC 8941 structured field: a string as an
	// sf-string, an integer as an sf-integer, true/false as ?1/?0, an
	// array of those as an sf-list. Refused: non-ASCII, a fraction or
	// exponent, an integer beyond 15 digits, an object or nested array.
	FormatSF HeaderFormat = "sf"
)

// Route is an authorisation rule for a path prefix.
type Route struct {
	// Prefix is a path prefix, matched on whole segments after the path is
	// normalised ("/admin" matches "/admin" and "/admin/x", not "/administrator").
	Prefix string
	// Methods restricts the rule to these methods; empty means all.
	Methods []string
	// Public routes need no token at all.
	Public bool
	// Scopes must all be present in the token.
	Scopes []string
	// Claims maps a claim path to accepted values: the claim (or one of
	// its array elements) must equal one of them.
	Claims map[string][]string
}

// CacheConfig sizes the verified-token cache.
type CacheConfig struct {
	// MaxBytes is the byte budget; 0 disables the cache.
	MaxBytes int64
	// NegativeTTL caches bad signatures this long; 0 disables.
	NegativeTTL time.Duration
	// AdmitFirstUse stores a verified token the first time it is seen.
	// By default a token is stored when it is seen a second time (a
	// doorkeeper remembers first sightings): tokens used once then cost
	// no cache entry, at the price of a second verification for tokens
	// used again.
	AdmitFirstUse bool
}

// DefaultConfig is the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		Realm: "tokengate",
		Token: TokenSources{Header: true},
		Headers: []HeaderMapping{
			{Claim: "sub", Header: "X-Auth-Subject"},
			{Claim: "iss", Header: "X-Auth-Issuer"},
			{Claim: "scope", Header: "X-Auth-Scope"},
			{Claim: "exp", Header: "X-Auth-Expires"},
		},
		ClientHeader:   "X-Auth-Client",
		KeyIDHeader:    "X-Auth-Key-Id",
		MaxHeaderValue: 1024,
		Cache:          CacheConfig{MaxBytes: 64 << 20, NegativeTTL: 5 * time.Second},
	}
}

// Validate checks a Config and names every field that is wrong.
func (c Config) Validate() error {
	var errs []error
	if c.Realm == "" || strings.ContainsAny(c.Realm, "\"\\\r\n") {
		errs = append(errs, errors.New(`gate: realm: must be non-empty without quotes, backslashes or line breaks`))
	}
	if !c.Token.Header && c.Token.Cookie == "" && c.Token.Query == "" {
		errs = append(errs, errors.New("gate: token: no token source enabled"))
	}
	seen := map[string]bool{}
	for i, h := range c.Headers {
		if !ValidHeaderName(h.Header) {
			errs = append(errs, fmt.Errorf("gate: headers[%d].header: %q is not a valid header name", i, h.Header))
		}
		if seen[strings.ToLower(h.Header)] {
			errs = append(errs, fmt.Errorf("gate: headers[%d].header: %q is mapped twice", i, h.Header))
		}
		seen[strings.ToLower(h.Header)] = true
		if h.Claim == "" {
			errs = append(errs, fmt.Errorf("gate: headers[%d].claim: empty", i))
		}
		switch h.Format {
		case "", FormatText, FormatJSON, FormatSF:
		default:
			errs = append(errs, fmt.Errorf("gate: headers[%d].format: %q is not one of text, json, sf", i, h.Format))
		}
	}
	for _, h := range []string{c.ClientHeader, c.KeyIDHeader, c.PayloadHeader} {
		if h != "" && !ValidHeaderName(h) {
			errs = append(errs, fmt.Errorf("gate: %q is not a valid header name", h))
		}
	}
	if c.MaxHeaderValue < 16 {
		errs = append(errs, errors.New("gate: headers.max_value_length: must be at least 16 bytes"))
	}
	for i, r := range c.Routes {
		errs = append(errs, r.validate(i)...)
	}
	if c.Cache.MaxBytes < 0 || c.Cache.NegativeTTL < 0 {
		errs = append(errs, errors.New("gate: cache: sizes and durations must not be negative"))
	}
	return errors.Join(errs...)
}

func (r Route) validate(i int) []error {
	var errs []error
	if !strings.HasPrefix(r.Prefix, "/") {
		errs = append(errs, fmt.Errorf("gate: routes[%d].prefix: %q must start with /", i, r.Prefix))
	} else if norm, ok := normalizePath(nil, []byte(r.Prefix), false); !ok || (string(norm) != strings.TrimSuffix(r.Prefix, "/") && r.Prefix != "/") {
		errs = append(errs, fmt.Errorf("gate: routes[%d].prefix: %q is not a normalised path (want %q)", i, r.Prefix, norm))
	}
	for _, m := range r.Methods {
		if m == "" || strings.ToUpper(m) != m || !ValidHeaderName(m) {
			errs = append(errs, fmt.Errorf("gate: routes[%d].methods: %q must be an upper-case method", i, m))
		}
	}
	for _, sc := range r.Scopes {
		if !isScopeToken([]byte(sc)) {
			errs = append(errs, fmt.Errorf("gate: routes[%d].scopes: %q is not a scope (RFC 6749 §3.3: printable ASCII without space, '\"' or '\\')", i, sc))
		}
	}
	if r.Public && (len(r.Scopes) > 0 || len(r.Claims) > 0) {
		errs = append(errs, fmt.Errorf("gate: routes[%d]: a public route cannot require scopes or claims", i))
	}
	return errs
}

// ValidHeaderName reports whether s is an RFC 9110 §5.1 field-name (a
// token); methods are tokens too (§9.1).
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// isTchar: RFC 9110 §5.6.2 tchar.
func isTchar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
