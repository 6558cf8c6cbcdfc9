package verifier

import (
	"sync"
	"time"

	"github.com/tokengate/tokengate/internal/jsonx"
	"github.com/tokengate/tokengate/keyring"
)

// Result is what Verify learned from a token. It owns its buffers and is
// reused across calls to avoid allocation: everything it returns (byte
// slices, Claims) stays valid only until the Result is passed to Verify
// again or released. A Result is not safe for concurrent use.
type Result struct {
	hbuf, pbuf, sbuf []byte // decoded header, payload, signature
	header, claims   jsonx.Doc

	key        *keyring.Key
	generation uint64
	alg        keyring.Algorithm
	kid, typ   []byte

	sub, iss, jti []byte
	aud, scopes   [][]byte
	exp, nbf, iat float64
	until         float64 // ValidUntil, set by the policy check
	hasExp        bool
	hasUntil      bool
	hasNbf        bool
	hasIat        bool
	hasAud        bool
	audBad        bool // "aud" present in a shape that names no audience list
	idToken       bool // carries nonce, at_hash or c_hash
}

var resultPool = sync.Pool{New: func() any { return new(Result) }}

// AcquireResult returns an empty Result from a pool. Pair with ReleaseResult.
func AcquireResult() *Result { return resultPool.Get().(*Result) }

// ReleaseResult returns r to the pool; r and everything it returned must not
// be used afterwards.
func ReleaseResult(r *Result) {
	r.reset()
	resultPool.Put(r)
}

// maxPooledBuffer keeps one huge token from pinning memory in the pool.
const maxPooledBuffer = 64 << 10

func (r *Result) reset() {
	if cap(r.hbuf) > maxPooledBuffer || cap(r.pbuf) > maxPooledBuffer || cap(r.sbuf) > maxPooledBuffer {
		*r = Result{}
		return
	}
	r.hbuf, r.pbuf, r.sbuf = r.hbuf[:0], r.pbuf[:0], r.sbuf[:0]
	r.header.Reset()
	r.claims.Reset()
	r.key, r.generation, r.alg = nil, 0, ""
	r.kid, r.typ, r.sub, r.iss, r.jti = nil, nil, nil, nil, nil
	r.aud, r.scopes = r.aud[:0], r.scopes[:0]
	r.exp, r.nbf, r.iat, r.until = 0, 0, 0, 0
	r.hasExp, r.hasNbf, r.hasIat, r.hasAud, r.hasUntil = false, false, false, false, false
	r.audBad, r.idToken = false, false
}

// Key is the keyring key that verified the token.
func (r *Result) Key() *keyring.Key { return r.key }

// Generation is the keyring generation the token was verified under.
func (r *Result) Generation() uint64 { return r.generation }

// Alg is the token's algorithm (always the key's).
func (r *Result) Alg() keyring.Algorithm { return r.alg }

// KeyID is the header "kid" (empty when the token had none; Key().ID()
// names the key that was used).
func (r *Result) KeyID() []byte { return r.kid }

// Type is the header "typ", or nil.
func (r *Result) Type() []byte { return r.typ }

// Subject is the "sub" claim, or nil.
func (r *Result) Subject() []byte { return r.sub }

// Issuer is the "iss" claim, or nil.
func (r *Result) Issuer() []byte { return r.iss }

// ID is the "jti" claim, or nil.
func (r *Result) ID() []byte { return r.jti }

// Audiences are the "aud" values (a single string becomes one element;
// empty when "aud" is absent, [] or of another shape).
func (r *Result) Audiences() [][]byte { return r.aud }

// Scopes are the scopes of the "scope" and "scp" claims: the fields of a
// space-separated string (RFC 8693 §4.2) or the elements of an array of
// strings, either claim in either shape. A claim of another shape grants
// none.
func (r *Result) Scopes() [][]byte { return r.scopes }

// HasScope reports whether s is one of Scopes.
func (r *Result) HasScope(s string) bool {
	for _, x := range r.scopes {
		if string(x) == s {
			return true
		}
	}
	return false
}

// Expiry is "exp"; ok is false when the token has none.
func (r *Result) Expiry() (t time.Time, ok bool) { return numericTime(r.exp), r.hasExp }

// NotBefore is "nbf"; ok is false when the token has none.
func (r *Result) NotBefore() (t time.Time, ok bool) { return numericTime(r.nbf), r.hasNbf }

// ValidUntil is when the token stops being valid under the policy that
// accepted it, before the leeway: its "exp", or for a token without "exp"
// that Policy.MaxLifetime bounds, "iat" + MaxLifetime. ok is false when
// nothing bounds it (a token without exp that the policy allows, and no
// MaxLifetime). Use it, not Expiry, to bound how long a verification
// result may be reused.
func (r *Result) ValidUntil() (t time.Time, ok bool) { return numericTime(r.until), r.hasUntil }

// IssuedAt is "iat"; ok is false when the token has none.
func (r *Result) IssuedAt() (t time.Time, ok bool) { return numericTime(r.iat), r.hasIat }

// IssuedAtSeconds is "iat" as seconds since the epoch (possibly
// fractional); ok is false when the token has none.
func (r *Result) IssuedAtSeconds() (sec float64, ok bool) { return r.iat, r.hasIat }

// Payload is the decoded claims JSON.
func (r *Result) Payload() []byte { return r.pbuf }

// Claim looks a claim up by path (see Path for the two syntaxes). A
// dotted path that names two places in this token (a top-level claim of
// that exact name and the nested claim) finds nothing: Verify refuses such
// a token for the paths in Options.ClaimPaths and Policy.RequiredClaims,
// and any other caller fails closed. Names are case-sensitive (RFC 7519 §4).
func (r *Result) Claim(p Path) (Claim, bool) {
	v, places := p.resolve(r.claims.Root())
	if places != 1 {
		return Claim{}, false
	}
	return Claim{v}, true
}

// numericTime converts a NumericDate that numericDate accepted. Anything
// outside its bounds (which Verify never stores) becomes the zero Time
// rather than the wrapped result of an overflowing conversion.
func numericTime(f float64) time.Time {
	if !(f >= 0 && f <= maxNumericDate) {
		return time.Time{}
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9))
}

// Kind is the JSON type of a claim.
type Kind = jsonx.Kind

// The claim kinds.
const (
	KindNull   = jsonx.Null
	KindFalse  = jsonx.False
	KindTrue   = jsonx.True
	KindNumber = jsonx.Number
	KindString = jsonx.String
	KindObject = jsonx.Object
	KindArray  = jsonx.Array
)

// Claim is one claim value of a Result, valid as long as the Result is.
type Claim struct{ v jsonx.Value }

// Kind is the JSON type of the claim.
func (c Claim) Kind() Kind { return c.v.Kind() }

// Str is the unescaped content of a string claim, or nil.
func (c Claim) Str() []byte { return c.v.Str() }

// Float is a number claim's value.
func (c Claim) Float() (float64, bool) { return c.v.Float() }

// Raw is the claim's JSON text.
func (c Claim) Raw() []byte { return c.v.Raw() }

// Len is the number of elements of an array (members of an object).
func (c Claim) Len() int { return c.v.Len() }

// Index is element i of an array claim.
func (c Claim) Index(i int) Claim { return Claim{c.v.Index(i)} }

// AppendText appends a plain-text rendering of the claim for a header: a
// string's content, a number's JSON text, "true"/"false", nothing for null,
// an array's elements rendered the same way and joined by sep, and an
// object's JSON text. The caller sanitises the result for its transport.
func (c Claim) AppendText(dst []byte, sep byte) []byte {
	switch c.v.Kind() {
	case jsonx.String:
		return append(dst, c.v.Str()...)
	case jsonx.Number, jsonx.Object:
		return append(dst, c.v.Raw()...)
	case jsonx.True:
		return append(dst, "true"...)
	case jsonx.False:
		return append(dst, "false"...)
	case jsonx.Array:
		for e := c.v.First(); e.Exists(); e = e.Next() {
			if e != c.v.First() {
				dst = append(dst, sep)
			}
			dst = Claim{e}.AppendText(dst, sep)
		}
	}
	return dst
}
