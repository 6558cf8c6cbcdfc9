package gate

import (
	"context"
	"errors"
	"time"

	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/verifier"
)

// HTTP statuses of decisions.
const (
	statusOK           = 200
	statusUnauthorized = 401
	statusForbidden    = 403
)

// Check decides on req at time now (read by the caller from the clock of
// Options.Now, once per request) and fills d. A cache hit allocates
// nothing. Check never keeps req's bytes.
func (g *Gate) Check(req *Request, now time.Time, d *Decision) {
	st := g.state.Load()
	d.reset(st)
	if req.Received.IsZero() {
		req.Received = now
	}
	g.check(st, req, now, d)
	if g.opts.Observer != nil {
		g.opts.Observer.Observe(req, d)
	}
}

func (g *Gate) check(st *state, req *Request, now time.Time, d *Decision) {
	var ok bool
	d.path, ok = normalizePath(d.path[:0], req.Target, !st.cfg.AllowASCIILookalikes)
	if !ok {
		g.refuse(st, d, BadRequest, statusForbidden, ErrBadPath)
		return
	}
	d.Path = d.path
	if !ValidHeaderName(string(req.Method)) { // no allocation: the conversion does not escape
		g.refuse(st, d, BadRequest, statusForbidden, ErrBadMethod)
		return
	}
	rt := st.matchRoute(req.Method, d.path)
	if rt != nil && rt.public {
		d.Allow, d.Status, d.Outcome, d.Unset = true, statusOK, Public, st.unset
		return
	}
	token, found := st.extractToken(req)
	switch found {
	case tokenNone:
		// RFC 6750 §3.1: no error code when the request has no token.
		d.Status, d.Outcome, d.Reason = statusUnauthorized, NoToken, "missing bearer token"
		d.buf = append(d.buf[:0], st.challenge...)
		d.Challenge = d.buf
		return
	case tokenAmbiguous:
		g.refuse(st, d, BadRequest, statusUnauthorized, ErrTwoCredentials)
		return
	}

	gen := g.opts.Keys.Snapshot().Generation()
	if st.cache != nil {
		if hit, ok := st.cache.LookupAt(token, gen, now); ok {
			if hit.Err != nil {
				d.Cache = CacheNegative
				g.refuse(st, d, Rejected, statusUnauthorized, hit.Err)
				return
			}
			d.Cache = CacheHit
			g.decide(st, rt, hit.Value, now, d)
			return
		}
		d.Cache = CacheMiss
	}
	t, err := g.verify(st, token, gen, now, d)
	if err != nil {
		g.refuse(st, d, Rejected, statusUnauthorized, err)
		return
	}
	g.decide(st, rt, t, now, d)
}

// decide finishes a decision for a verified token: revocation, then the
// route's rule.
func (g *Gate) decide(st *state, rt *route, t *Token, now time.Time, d *Decision) {
	d.Token = t
	if g.opts.Revocations != nil && g.opts.Revocations.Revoked(t.iss, t.sub, t.jti, t.iat, t.hasIat, now) {
		g.refuse(st, d, Rejected, statusUnauthorized, verifier.ErrRevoked)
		return
	}
	if rt != nil {
		if why, ok := rt.permits(t); !ok {
			d.Outcome, d.Err, d.Status = Forbidden, why.err, statusForbidden
			d.Code, _ = describe(why.err)
			d.Reason, d.Challenge = why.reason, why.challenge
			return
		}
	}
	d.Allow, d.Status, d.Outcome = true, statusOK, Allowed
	d.Set, d.Unset = t.headers, t.unset
}

// verify decrypts (for a JWE) and verifies token, renders what the
// decision needs into a Token and offers it to the cache.
func (g *Gate) verify(st *state, token []byte, gen uint64, now time.Time, d *Decision) (*Token, error) {
	signed := token
	if g.opts.Decrypter != nil && jwe.IsJWE(token) {
		sc := acquireScratch()
		defer releaseScratch(sc)
		var err error
		if sc.plain, _, err = g.opts.Decrypter.AppendDecrypt(sc.plain[:0], token); err != nil {
			return nil, err
		}
		signed = sc.plain
	} else if g.opts.RequireEncryption {
		return nil, jwe.ErrNotEncrypted
	}

	r := verifier.AcquireResult()
	defer verifier.ReleaseResult(r)
	err := st.verifier.Verify(r, signed)
	if err != nil && g.opts.Refetch != nil && errors.Is(err, verifier.ErrUnknownKey) && g.refetch(r.Issuer(), r.KeyID()) {
		d.Refetched = true
		err = st.verifier.Verify(r, signed)
	}
	if err != nil {
		if st.cache != nil && errors.Is(err, verifier.ErrSignature) {
			// A flood of one forged token costs one signature check.
			st.cache.SetNegative(token, gen, err)
		}
		return nil, err
	}
	d.Verified = true
	t, err := st.newToken(r, g.opts.KeepClaims)
	if err != nil {
		return nil, err
	}
	if st.cache != nil {
		// ValidUntil, not Expiry: a token without exp that a maximum
		// lifetime bounds stops verifying at iat + max lifetime.
		exp, hasExp := r.ValidUntil()
		if !hasExp || exp.After(now.Add(maxCacheTTL)) {
			exp = now.Add(maxCacheTTL)
		}
		// Cached even when revoked or forbidden: both are checked on every
		// hit, and the token works again at once if a rule is removed.
		st.cache.Set(token, r.Generation(), exp, t)
	}
	return t, nil
}

// refetchTimeout bounds how long a request with an unknown kid waits for
// the identity provider.
const refetchTimeout = 3 * time.Second

// refetch asks the keyring to refresh issuer's keys for a token whose kid
// it does not know (kid nil: a token without one). Only this rare path waits; the keyring limits how
// often it really fetches, however many random kids an attacker sends.
func (g *Gate) refetch(issuer, kid []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), refetchTimeout)
	defer cancel()
	return g.opts.Refetch(ctx, issuer, kid)
}

// maxCacheTTL bounds how long a verified token is cached even when it has
// a later (or no) expiry, so policy-relevant time (nbf, iat) stays fresh.
const maxCacheTTL = 10 * time.Minute

// refuse fills a refusal: `WWW-Authenticate: Bearer realm="…",
// error="…", error_description="…"` (RFC 6750 §3). Reasons are fixed,
// client-safe strings: never token bytes or key material.
func (g *Gate) refuse(st *state, d *Decision, o Outcome, status int, err error) {
	d.Allow, d.Outcome, d.Status, d.Err = false, o, status, err
	d.Code, d.Reason = describe(err)
	b := append(d.buf[:0], st.challenge...)
	b = append(b, `, error="`...)
	b = append(b, d.Code...)
	b = append(b, `", error_description="`...)
	b = append(b, d.Reason...)
	b = append(b, '"')
	d.buf = b
	d.Challenge = b
}
