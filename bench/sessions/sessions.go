// Package sessions is the server-side session check that the benchmark
// suite (bench/) and the load generator's session servers (loadtest/)
// compare with verifying a token: find the record for a session id, decode
// it, check its expiry and render the same headers the sidecar renders for
// a token (subject, issuer, scopes, expiry). Both use this one
// implementation, so the in-process and the HTTP figures measure the same
// work.
//
// The data set is deterministic: session n is For(n), with a 32-byte
// pseudo-random id (43 base64url characters, like an id from crypto/rand)
// and a record about the size of an access token's claims (user id, e-mail,
// name, tenant, roles, scopes, client, CSRF secret, creation and expiry:
// 300-450 bytes of JSON). Every record is valid at the fixed instant Now
// and expires a day after it was created. Stores hold the first N sessions
// and are filled once, idempotently: Redis under a key prefix of its own,
// PostgreSQL in a table per size (EnsureRedis, EnsureTable).
//
// This is benchmark code: it never handles real sessions.
package sessions

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Now is the fixed instant at which every session of the data set is
// valid; checks use it instead of the wall clock so that results do not
// depend on the date.
var Now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Issuer is what the session check renders as X-Auth-Issuer, as the
// sidecar renders a token's "iss".
const Issuer = "https://login.example.com/realms/tokengate"

// DefaultRows is the size of the main data set: one million sessions.
const DefaultRows = 1_000_000

var roleNames = [...]string{"admin", "auditor", "support", "billing"}

// Record is a server-side session: what an access token carries, kept by
// the server instead.
type Record struct {
	UserID    string   `json:"uid"`
	Email     string   `json:"email"`
	Name      string   `json:"name"`
	Tenant    string   `json:"tenant"`
	Roles     []string `json:"roles"`
	Scopes    []string `json:"scopes"`
	Client    string   `json:"client"`
	CSRF      string   `json:"csrf"`
	CreatedAt int64    `json:"iat"`
	ExpiresAt int64    `json:"exp"`
}

// ID returns the id of session n: base64url of SHA-256("tokengate-bench-
// session-<n>"), 43 characters. The SQL that fills PostgreSQL computes the
// same (see fillSQL).
func ID(n int) string {
	sum := sha256.Sum256([]byte("tokengate-bench-session-" + strconv.Itoa(n)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// For returns session n's record; see the package comment.
func For(n int) Record {
	created := Now.Add(-5*time.Minute - time.Duration(n%3600)*time.Second).Unix()
	uid := fmt.Sprintf("user-%07d", n)
	csrf := sha256.Sum256([]byte("csrf-" + strconv.Itoa(n)))
	return Record{
		UserID:    uid,
		Email:     uid + "@customers.example.com",
		Name:      "Customer " + strconv.Itoa(n),
		Tenant:    "tenant-" + strconv.Itoa(n%97),
		Roles:     []string{"member", roleNames[n%4]},
		Scopes:    []string{"openid", "profile", "email", "orders:read", "orders:write", "profile:read", "tenant:" + strconv.Itoa(n%97)},
		Client:    "web-frontend",
		CSRF:      base64.RawURLEncoding.EncodeToString(csrf[:16]),
		CreatedAt: created,
		ExpiresAt: created + 24*3600,
	}
}

// JSON is the record as stored in Redis.
func (r *Record) JSON() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // a Record always encodes
	}
	return b
}

// Errors of a check.
var (
	ErrNotFound = errors.New("sessions: no such session")
	ErrExpired  = errors.New("sessions: session expired")
)

// Header is one rendered header.
type Header struct{ Name, Value []byte }

// Header names, as the sidecar's default configuration renders them.
var (
	hdrSubject = []byte("X-Auth-Subject")
	hdrIssuer  = []byte("X-Auth-Issuer")
	hdrScope   = []byte("X-Auth-Scope")
	hdrExpires = []byte("X-Auth-Expires")
)

// Rendered holds the headers of one check; reuse it across checks (one per
// goroutine) so that rendering allocates nothing once its buffer has grown.
type Rendered struct {
	Headers []Header
	buf     []byte
}

// Render checks r's expiry at now and renders its headers into out.
func Render(r *Record, now time.Time, out *Rendered) error {
	if now.Unix() >= r.ExpiresAt {
		return ErrExpired
	}
	b := out.buf[:0]
	b = append(b, r.UserID...)
	nSub := len(b)
	b = append(b, Issuer...)
	nIss := len(b)
	for i, s := range r.Scopes {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, s...)
	}
	nScope := len(b)
	b = strconv.AppendInt(b, r.ExpiresAt, 10)
	out.buf = b
	out.Headers = append(out.Headers[:0],
		Header{hdrSubject, b[:nSub]},
		Header{hdrIssuer, b[nSub:nIss]},
		Header{hdrScope, b[nIss:nScope]},
		Header{hdrExpires, b[nScope:]})
	return nil
}

// Same reports whether two records are equal, for tests that check every
// store returns what For made.
func Same(a, b Record) bool {
	return a.UserID == b.UserID && a.Email == b.Email && a.Name == b.Name && a.Tenant == b.Tenant &&
		strings.Join(a.Roles, " ") == strings.Join(b.Roles, " ") &&
		strings.Join(a.Scopes, " ") == strings.Join(b.Scopes, " ") &&
		a.Client == b.Client && a.CSRF == b.CSRF && a.CreatedAt == b.CreatedAt && a.ExpiresAt == b.ExpiresAt
}
