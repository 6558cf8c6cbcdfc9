package verifier

// Reading the registered claims (RFC 7519 §4.1) and applying the claims
// policy to them.

import (
	"bytes"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// stringClaim reads a registered StringOrURI claim (RFC 7519 §4.1).
func stringClaim(v jsonx.Value) ([]byte, error) {
	if v.Kind() != jsonx.String {
		return nil, errClaimType
	}
	return v.Str(), nil
}

// readRegistered reads the registered claims tokengate uses in one pass
// over the top-level members (names are compared exactly: RFC 7519 §4
// claim names are case-sensitive, so "SUB" or "Exp" are other claims).
//
// Which shapes are refused (see the package comment): iss, sub, jti, exp,
// nbf and iat must have their RFC 7519 types; aud, scope and scp of
// another shape are only recorded as unusable, because whether anything
// reads them depends on the policy and the caller's rules.
func (r *Result) readRegistered() error {
	var err error
	for m := r.claims.Root().First(); m.Exists(); m = m.Next() {
		switch string(m.Name()) {
		case "iss":
			r.iss, err = stringClaim(m)
		case "sub":
			r.sub, err = stringClaim(m)
		case "jti":
			r.jti, err = stringClaim(m)
		// A time claim counts as present only once it is valid, so a
		// rejected Result never reports a made-up time.
		case "exp":
			r.exp, err = numericDate(m)
			r.hasExp = err == nil
		case "nbf":
			r.nbf, err = numericDate(m)
			r.hasNbf = err == nil
		case "iat":
			r.iat, err = numericDate(m)
			r.hasIat = err == nil
		case "aud":
			r.readAudiences(m)
		case "scope", "scp":
			// "scope": RFC 8693 §4.2 (and RFC 9068 §2.2.3) a
			// space-separated string; Spring Authorization Server and
			// others send an array, and "scp" (Okta, Entra, Hydra) is
			// either. Another shape grants nothing.
			r.scopes = appendScopes(r.scopes, m)
		case "nonce", "at_hash", "c_hash":
			// Claims only ID tokens carry (OpenID Connect Core §2,
			// §3.1.3.6, §3.3.2.11), whatever their value.
			r.idToken = true
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Bounds of a NumericDate (RFC 7519 §2): seconds since the epoch, possibly
// fractional. Values outside [0, year 9999] are rejected as malformed
// rather than clamped, so an absurd "exp" can never mean "valid forever":
// libjwt #283 accepted an "exp" whose conversion to a 64-bit time
// overflowed. Within these bounds float64 seconds convert to time.Time
// (int64 nanoseconds up to year 2262, seconds beyond) without overflow.
const maxNumericDate = 253402300799 // 9999-12-31T23:59:59Z

// numericDate reads a NumericDate: a JSON number, never a string, bool,
// null, array or object, and within [0, maxNumericDate].
func numericDate(v jsonx.Value) (float64, error) {
	if v.Kind() != jsonx.Number {
		return 0, errNumericDate
	}
	f, ok := v.Float()
	// Written so that NaN fails too: every comparison with NaN is false.
	if !ok || !(f >= 0 && f <= maxNumericDate) {
		return 0, errNumericDate
	}
	return f, nil
}

// checkClaims applies the policy to the claims readRegistered found.
func (v *Verifier) checkClaims(r *Result) error {
	p := v.policy.Load()
	if r.iss != nil && p.byIssuer != nil {
		// The token's issuer selects its rules (one map lookup).
		if ip, ok := p.byIssuer[string(r.iss)]; ok {
			if err := p.checkIssuer(r); err != nil {
				return err
			}
			p = ip
		}
	}
	now := v.now()
	if err := p.checkTimes(r, float64(now.Unix())+float64(now.Nanosecond())/1e9); err != nil {
		return err
	}
	if err := p.checkIssuer(r); err != nil {
		return err
	}
	// RFC 7519 §4.1.3: a token that names audiences must name one of
	// ours. Only a token that names none ("aud" absent, or "aud": [])
	// may pass unchecked, and only where the policy opts in.
	if p.audiences != nil {
		if r.audBad {
			return errClaimType
		}
		if !r.hasAud {
			if !p.allowNoAud {
				return errNoAudience
			}
		} else if !r.audienceIn(p.audiences) {
			return ErrAudience
		}
	}
	if p.typ != "" {
		if r.typ == nil {
			return errNoType
		}
		if !typeMatches(r.typ, p.typ) {
			return ErrType
		}
	}
	if p.refuseIDTokens && r.idToken {
		return errIDToken
	}
	return v.checkPaths(r, p)
}

// checkTimes applies "exp", "nbf", "iat" (with the leeway) and the
// maximum lifetime at time t (seconds since the epoch), and records until
// when the token is valid.
func (p *compiledPolicy) checkTimes(r *Result, t float64) error {
	// RFC 7519 §4.1.4: the current time MUST be before "exp".
	if r.hasExp {
		if t >= r.exp+p.leeway {
			return ErrExpired
		}
		r.until, r.hasUntil = r.exp, true
	} else if !p.allowNoExp {
		return errNoExp
	}
	// RFC 7519 §4.1.5: not before "nbf".
	if r.hasNbf && t+p.leeway < r.nbf {
		return ErrNotYetValid
	}
	// A token "issued" in the future was minted by a skewed or hostile
	// issuer (RFC 7519 §4.1.6 gives iat no rule; RFC 8725 §3.8 asks for
	// sanity checks on time claims).
	if r.hasIat && r.iat > t+p.leeway {
		return errIssuedInFuture
	}
	if p.maxLifetime > 0 {
		return p.checkLifetime(r, t)
	}
	return nil
}

// checkLifetime bounds how long a token lives, so that a revocation rule
// kept for maxLifetime (plus the leeway) after a token's issue outlives
// every moment the token verifies (revocation.Options.MaxTokenLifetime).
func (p *compiledPolicy) checkLifetime(r *Result, t float64) error {
	switch {
	case r.hasExp && r.hasIat:
		if r.exp-r.iat > p.maxLifetime {
			return ErrLifetime
		}
	case r.hasExp:
		// No issue time: nothing says how long the token has lived. Its
		// remaining lifetime (exp − now) is not enough: a token minted
		// with a far exp would be refused now but accepted once its exp
		// came within maxLifetime, by which time a subject cutoff made
		// against it may have been forgotten.
		return errNoIatLifetime
	case r.hasIat:
		// No "exp" (the policy allows that): the token expires
		// maxLifetime after its issue, like one whose exp said so.
		r.until, r.hasUntil = r.iat+p.maxLifetime, true
		if t >= r.until+p.leeway {
			return errOlderThanMaxLifetime
		}
	default:
		return errUnboundedLifetime
	}
	return nil
}

// checkPaths refuses a token in which a path the caller reads names two
// places (a top-level claim "a.b" and a nested a.b): whichever one a
// reader chose, the token would have chosen it. Then the required claims
// must be present and not null.
func (v *Verifier) checkPaths(r *Result, p *compiledPolicy) error {
	root := r.claims.Root()
	for _, path := range v.paths {
		if _, places := path.resolve(root); places > 1 {
			return ErrAmbiguousClaim
		}
	}
	for _, path := range p.required {
		c, places := path.resolve(root)
		if places > 1 {
			return ErrAmbiguousClaim
		}
		if places == 0 || c.Kind() == jsonx.Null {
			return ErrMissingClaim
		}
	}
	return nil
}

// ambiguousPaths appends to dst the distinct paths of ps that can name
// two places in a token.
func ambiguousPaths(dst, ps []Path) []Path {
next:
	for _, p := range ps {
		if !p.mayBeAmbiguous() {
			continue
		}
		for _, q := range dst {
			if q.raw == p.raw {
				continue next
			}
		}
		dst = append(dst, p)
	}
	return dst
}

// checkIssuer applies the accepted-issuers list (RFC 7519 §4.1.1).
func (p *compiledPolicy) checkIssuer(r *Result) error {
	if p.issuers == nil {
		return nil
	}
	if r.iss == nil {
		return errNoIssuer
	}
	if _, ok := p.issuers[string(r.iss)]; !ok {
		return ErrIssuer
	}
	return nil
}

func (r *Result) audienceIn(set map[string]struct{}) bool {
	for _, a := range r.aud {
		if _, ok := set[string(a)]; ok {
			return true
		}
	}
	return false
}

// readAudiences reads "aud": a string or an array of strings (RFC 7519
// §4.1.3). "aud": [] names no audience, like a missing "aud". Any other
// shape is recorded (audBad), and refused only where an audience check
// applies.
func (r *Result) readAudiences(v jsonx.Value) {
	switch v.Kind() {
	case jsonx.String:
		r.aud = append(r.aud, v.Str())
		r.hasAud = true
		return
	case jsonx.Array:
		if allStrings(v) {
			for e := v.First(); e.Exists(); e = e.Next() {
				r.aud = append(r.aud, e.Str())
			}
			r.hasAud = len(r.aud) > 0
			return
		}
	}
	r.audBad = true
}

// appendScopes appends the scopes of a "scope" or "scp" claim: the
// fields of a space-separated string, or the elements of an array of
// strings. Any other shape, including an array holding a non-string,
// appends nothing: a scope rule then fails closed.
func appendScopes(dst [][]byte, v jsonx.Value) [][]byte {
	switch v.Kind() {
	case jsonx.String:
		return appendFields(dst, v.Str())
	case jsonx.Array:
		if !allStrings(v) {
			return dst
		}
		for e := v.First(); e.Exists(); e = e.Next() {
			dst = append(dst, e.Str())
		}
	}
	return dst
}

func allStrings(v jsonx.Value) bool {
	for e := v.First(); e.Exists(); e = e.Next() {
		if e.Kind() != jsonx.String {
			return false
		}
	}
	return true
}

// appendFields appends the space-separated fields of s (sub-slices of s).
func appendFields(dst [][]byte, s []byte) [][]byte {
	for len(s) > 0 {
		i := bytes.IndexByte(s, ' ')
		if i < 0 {
			i = len(s)
		}
		if i > 0 {
			dst = append(dst, s[:i])
		}
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return dst
}
