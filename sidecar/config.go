package sidecar

import (
	"time"
)

// Config is the typed configuration of the sidecar's HTTP side. The config
// package fills it from YAML and the environment; tests build it directly.
// A Config is validated by New; it is never changed after that (a reload
// builds a new one).
type Config struct {
	// VerifyAddr and AdminAddr are the listen addresses (defaults
	// 127.0.0.1:8181 and 127.0.0.1:8182).
	VerifyAddr string
	AdminAddr  string
	// Realm is the realm of WWW-Authenticate challenges (RFC 6750 §3).
	Realm string
	// Token says where /verify looks for the token.
	Token TokenSources
	// Headers map claims to response headers on 200.
	Headers []HeaderMapping
	// ClientHeader and KeyIDHeader carry the verifying key's client label
	// and kid ("" disables each).
	ClientHeader string
	KeyIDHeader  string
	// PayloadHeader, when set, carries the verified token's payload
	// segment as it was signed (base64url JSON, every claim), for
	// upstreams that want all claims (like Envoy's forward_payload_header).
	// It is not cut to MaxHeaderValue: a truncated payload is garbage; the
	// token size limit bounds it.
	PayloadHeader string
	// MaxHeaderValue bounds each response header value in bytes.
	MaxHeaderValue int
	// Routes are checked in order against the original request's method
	// and path; the first whose prefix and method match applies.
	Routes []Route
	// Cache of verified tokens.
	Cache CacheConfig
	// Limits of the HTTP servers.
	Limits Limits
}

// TokenSources lists where a token may come from, tried in this order:
// the Authorization header, the cookie, the query parameter.
type TokenSources struct {
	// Header reads "Authorization: Bearer <token>" (RFC 6750 §2.1).
	Header bool
	// Cookie is a cookie name holding the token (httpOnly-cookie
	// sessions); "" disables it.
	Cookie string
	// Query is a query parameter of the original URI holding the token
	// (RFC 6750 §2.3, discouraged: URIs end up in logs); "" disables it.
	Query string
}

// HeaderMapping copies one claim into one response header.
type HeaderMapping struct {
	// Claim is a claim path ("sub", "realm_access.roles"); the special
	// name "scope" renders the token's scopes ("scope" or "scp").
	Claim string
	// Header is the response header name.
	Header string
}

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
}

// DefaultConfig is the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		VerifyAddr: "127.0.0.1:8181",
		AdminAddr:  "127.0.0.1:8182",
		Realm:      "tokengate",
		Token:      TokenSources{Header: true},
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
		Limits: Limits{
			ReadTimeout:    5 * time.Second,
			WriteTimeout:   5 * time.Second,
			IdleTimeout:    60 * time.Second,
			MaxHeaderBytes: 16 << 10,
			Concurrency:    4096,
			MaxInFlight:    256,
		},
	}
}
