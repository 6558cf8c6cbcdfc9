package gate

import (
	"bytes"
	"sync"
	"time"
)

// Request is what a front end hands to Check: the method and request
// target of the request being authorised (the original one, when a proxy
// asks on its behalf) and the credentials it carries. Every byte slice is
// borrowed for the duration of Check only; Check keeps none of them.
//
// A Request is reused: Reset it (or take one from AcquireRequest) before
// filling it for the next request. It is not safe for concurrent use.
type Request struct {
	// Method is the request method as the client sent it (any case).
	Method []byte
	// Target is the raw request target: an origin-form path with an
	// optional query ("/orders/7?x=1"), before any decoding.
	Target []byte
	// TraceParent and RequestID are the W3C traceparent and X-Request-Id
	// header values when the proxy sends them (nil otherwise), for access
	// logs; they play no part in the decision.
	TraceParent []byte
	RequestID   []byte
	// Received is when the front end took the request (its one clock
	// read), for latencies in access logs; Check sets it to its now when
	// the front end left it zero.
	Received time.Time

	// auth holds the Authorization header values: the first, and how
	// many there were (two are refused, so only the count matters past
	// the first).
	auth  []byte
	nAuth int
	// cookies are the Cookie header values, as sent (HTTP/2 may split
	// them into several).
	cookies [][]byte
}

// Reset empties r for the next request, keeping its buffers.
func (r *Request) Reset() {
	r.Method, r.Target, r.TraceParent, r.RequestID, r.auth, r.nAuth = nil, nil, nil, nil, nil, 0
	r.Received = time.Time{}
	clear(r.cookies)
	r.cookies = r.cookies[:0]
}

// AddAuthorization records one Authorization header value. Call it once
// per header line: a request with two Authorization headers is refused,
// since the proxy, tokengate and the application may each read a
// different one.
//
// A value may also hold several credentials: RFC 9110 §5.3 lets an
// intermediary combine field lines into one, separated by commas, and
// Envoy's ext_authz does so with duplicate headers (the gRPC headers map,
// and the HTTP authorization request built from it). Each comma followed
// by another credential's scheme ("…,Bearer x", "…, Basic y") counts as
// one more credential. A comma inside a token is not a separator: the
// token is then malformed (a Bearer token never holds one, RFC 6750
// §2.1) and fails verification.
func (r *Request) AddAuthorization(v []byte) {
	if r.nAuth == 0 {
		r.auth = v
	}
	r.nAuth += 1 + combinedCredentials(v)
}

// combinedCredentials counts the commas in v followed by optional white
// space, an auth-scheme (RFC 9110 §11.1: a token) and a space: the
// credentials a combined field line holds after its first.
func combinedCredentials(v []byte) int {
	n := 0
	for {
		i := bytes.IndexByte(v, ',')
		if i < 0 {
			return n
		}
		v = bytes.TrimLeft(v[i+1:], " \t")
		j := 0
		for j < len(v) && isTchar(v[j]) {
			j++
		}
		if j > 0 && j < len(v) && v[j] == ' ' {
			n++
		}
	}
}

// AddCookieHeader records one Cookie header value ("a=1; b=2").
func (r *Request) AddCookieHeader(v []byte) {
	r.cookies = append(r.cookies, v)
}

var requestPool = sync.Pool{New: func() any { return new(Request) }}

// AcquireRequest returns an empty Request from a pool; pair it with
// ReleaseRequest.
func AcquireRequest() *Request { return requestPool.Get().(*Request) }

// ReleaseRequest resets r and returns it to the pool.
func ReleaseRequest(r *Request) {
	r.Reset()
	requestPool.Put(r)
}

var bearerPrefix = []byte("bearer ")

// tokenResult says what extractToken found.
type tokenResult uint8

const (
	tokenNone tokenResult = iota
	tokenFound
	tokenAmbiguous // two credentials: refused
)

// extractToken finds the request's one token among the configured sources:
// the Authorization header with the Bearer scheme (RFC 6750 §2.1, the
// scheme compared case-insensitively), the cookie, the query parameter
// (RFC 6750 §2.3). RFC 6750 §2 forbids more than one method per request,
// and a second credential is where a proxy, tokengate and the application
// can disagree about which one counts, so two Authorization headers, a
// token in two sources, or a cookie or parameter given twice is ambiguous.
func (st *state) extractToken(r *Request) ([]byte, tokenResult) {
	var token []byte
	n := 0
	src := &st.cfg.Token
	if r.nAuth > 1 {
		return nil, tokenAmbiguous
	}
	if src.Header && r.nAuth == 1 {
		if tok, ok := bearerToken(r.auth); ok {
			token = tok
			n++
		}
	}
	if src.Cookie != "" {
		for _, h := range r.cookies {
			k, v := cookieValue(h, src.Cookie)
			if k > 0 {
				token = v
			}
			n += k
		}
	}
	if src.Query != "" {
		k, v := queryValue(r.Target, src.Query)
		if k > 0 {
			token = v
		}
		n += k
	}
	switch n {
	case 0:
		return nil, tokenNone
	case 1:
		return token, tokenFound
	}
	return nil, tokenAmbiguous
}

// bearerToken returns the credentials of an Authorization header value
// with the Bearer scheme. Spaces around the token are dropped; anything
// else is kept and fails verification.
func bearerToken(auth []byte) ([]byte, bool) {
	if len(auth) <= len(bearerPrefix) || !asciiEqualFold(auth[:len(bearerPrefix)], bearerPrefix) {
		return nil, false
	}
	tok := bytes.Trim(auth[len(bearerPrefix):], " ")
	return tok, len(tok) > 0
}

// cookieValue counts the non-empty values of the cookies called name in
// one Cookie header value (RFC 6265 §5.4: "name=value" pairs separated by
// ";") and returns the last. Names compare exactly; spaces around pairs
// are skipped, and a value in double quotes (§4.1.1) loses them.
//
// A comma separates pairs too: a cookie value never holds one (§4.1.1,
// cookie-octet), so a comma means two Cookie lines combined into one (RFC
// 9110 §5.3), as Envoy's ext_authz does with duplicate headers before it
// asks; read as two lines, the same request gets the same decision
// through every front end.
func cookieValue(h []byte, name string) (n int, value []byte) {
	for len(h) > 0 {
		pair := h
		if i := bytes.IndexAny(h, ";,"); i >= 0 {
			pair, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		pair = bytes.Trim(pair, " \t")
		if len(pair) > len(name) && pair[len(name)] == '=' && string(pair[:len(name)]) == name {
			v := pair[len(name)+1:]
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if len(v) > 0 {
				n, value = n+1, v
			}
		}
	}
	return n, value
}

// queryValue counts the non-empty raw values of the parameters called
// name in target's query and returns the last. Tokens are base64url and
// dots, which need no percent-decoding; an encoded value is passed on as
// is and fails verification.
func queryValue(target []byte, name string) (n int, value []byte) {
	q := bytes.IndexByte(target, '?')
	if q < 0 {
		return 0, nil
	}
	query := target[q+1:]
	if h := bytes.IndexByte(query, '#'); h >= 0 {
		query = query[:h]
	}
	for len(query) > 0 {
		pair := query
		if amp := bytes.IndexByte(query, '&'); amp >= 0 {
			pair, query = query[:amp], query[amp+1:]
		} else {
			query = nil
		}
		if len(pair) > len(name)+1 && pair[len(name)] == '=' && string(pair[:len(name)]) == name {
			n, value = n+1, pair[len(name)+1:]
		}
	}
	return n, value
}

func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i]|0x20 != b[i]|0x20 {
			return false
		}
	}
	return true
}
