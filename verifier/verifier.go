// Package verifier verifies compact JWS JSON Web Tokens (RFC 7515, RFC 7519)
// against a keyring, with the defaults of RFC 8725 (JWT Best Current
// Practices):
//
//   - the key decides the algorithm: every key is bound to one "alg" when it
//     is loaded and a header naming another is rejected; "none" does not exist;
//   - keys come only from the keyring: "jwk", "jku", "x5u" and "x5c" header
//     parameters are never used to find or fetch a key, and "crit" and "b64"
//     (RFC 7797) are rejected;
//   - strict base64url, strict JSON (no duplicate member names, RFC 7515
//     §5.2), and limits on token size, JSON depth and member counts, checked
//     before any other work;
//   - claims policy: "exp" required by default, "nbf", "iat", a maximum
//     lifetime, issuer, audience, explicit "typ" (RFC 8725 §3.11), ID
//     tokens refused as access tokens, required claims;
//   - claim paths name one place: a token in which a path the caller reads
//     resolves two ways is refused (see Path).
//
// Claim shapes. A token is refused for the shape of a registered claim
// only where something acts on that claim whatever the configuration:
// "iss" (it selects the keys and the policy), "exp", "nbf" and "iat" (a
// time that cannot be read could be one that must be refused) must have
// their RFC 7519 types, and so must "sub" and "jti", because revocation
// rules match them: a "sub": 42 read as "no subject" would slip past a
// cutoff written for subject "42". The claims whose use depends on the
// configuration are read leniently: "aud" of another shape than a string
// or an array of strings is refused only where an audience check applies
// ("aud": [] names no audience, like a missing one), and "scope" and
// "scp" are each a space-separated string or an array of strings, any
// other shape granting no scope (a scope rule then fails closed). Every
// other claim is read only through a Path, whatever its shape.
//
// Verify allocates nothing for HMAC and EdDSA tokens once its Result has
// been used; RSA and ECDSA allocate only inside crypto/rsa and crypto/ecdsa.
// Every failure is a package-level *Error, so the failure path does not
// allocate either.
package verifier

import (
	"bytes"
	"errors"
	"sync/atomic"
	"time"

	"github.com/tokengate/tokengate/internal/jsonx"
	"github.com/tokengate/tokengate/keyring"
)

// DefaultMaxTokenSize is the largest token accepted unless Options says
// otherwise.
const DefaultMaxTokenSize = 8 << 10

// KeySet is where keys come from: a *keyring.Ring (hot-reloaded) or a
// static *keyring.Snapshot. Snapshot must be cheap and never block.
type KeySet interface {
	Snapshot() *keyring.Snapshot
}

// Options configure a Verifier.
type Options struct {
	// Policy is the claims policy; the zero Policy requires "exp" only.
	// Use DefaultPolicy() for the recommended defaults.
	Policy Policy
	// MaxTokenSize rejects longer tokens before any other work.
	// 0 means DefaultMaxTokenSize.
	MaxTokenSize int
	// Claims bounds the claims JSON; zero fields take the defaults
	// (depth 16, 1024 values, 256 members per object or array).
	Claims jsonx.Limits
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ClaimPaths are the claim paths the caller will read from a verified
	// Result (header mappings, route rules). Verify refuses a token in
	// which one of them names two places (ErrAmbiguousClaim: a top-level
	// claim named "a.b" next to a nested a.b), so every later
	// Result.Claim of these paths reads the one place the path names.
	// Policy.RequiredClaims are checked the same way.
	ClaimPaths []Path
}

// Verifier verifies tokens. It is safe for concurrent use; SetPolicy swaps
// the policy atomically while requests are in flight.
type Verifier struct {
	keys    KeySet
	policy  atomic.Pointer[compiledPolicy]
	now     func() time.Time
	maxSize int
	claims  jsonx.Limits
	// paths are the Options.ClaimPaths that can name two places.
	paths []Path
}

// headerLimits bound the JOSE header: it holds a handful of short members.
var headerLimits = jsonx.Limits{MaxDepth: 4, MaxNodes: 64, MaxMembers: 32}

// New returns a Verifier using keys and opts.
func New(keys KeySet, opts Options) (*Verifier, error) {
	if keys == nil {
		return nil, errors.New("verifier: no key set")
	}
	v := &Verifier{keys: keys, now: opts.Now, maxSize: opts.MaxTokenSize, claims: opts.Claims}
	if v.now == nil {
		v.now = time.Now
	}
	if v.maxSize == 0 {
		v.maxSize = DefaultMaxTokenSize
	}
	if v.maxSize < 0 {
		return nil, errors.New("verifier: negative MaxTokenSize")
	}
	if v.claims.MaxDepth == 0 {
		v.claims.MaxDepth = 16
	}
	if v.claims.MaxNodes == 0 {
		v.claims.MaxNodes = 1024
	}
	if v.claims.MaxMembers == 0 {
		v.claims.MaxMembers = 256
	}
	v.paths = ambiguousPaths(nil, opts.ClaimPaths)
	if err := v.SetPolicy(opts.Policy); err != nil {
		return nil, err
	}
	return v, nil
}

// SetPolicy validates p and makes it the policy for every later Verify.
// On error the previous policy stays.
func (v *Verifier) SetPolicy(p Policy) error {
	c, err := compilePolicy(p)
	if err != nil {
		return err
	}
	v.policy.Store(c)
	return nil
}

// MaxTokenSize is the size limit in force.
func (v *Verifier) MaxTokenSize() int { return v.maxSize }

// Split cuts a compact JWS into its three segments without copying: each is
// a sub-slice of token. It rejects anything but exactly three non-empty
// segments (RFC 7515 §7.1; an empty signature would be an unsecured JWS),
// saying which: an opaque (reference) token, an encrypted one (JWE: five
// segments), or a malformed one.
func Split(token []byte) (header, payload, signature []byte, err error) {
	i := bytes.IndexByte(token, '.')
	if i <= 0 {
		return nil, nil, nil, segmentsError(token)
	}
	j := bytes.IndexByte(token[i+1:], '.')
	if j <= 0 {
		return nil, nil, nil, segmentsError(token)
	}
	j += i + 1
	sig := token[j+1:]
	if len(sig) == 0 || bytes.IndexByte(sig, '.') >= 0 {
		return nil, nil, nil, segmentsError(token)
	}
	return token[:i], token[i+1 : j], sig, nil
}

// segmentsError tells why token is not three non-empty segments. Fewer
// than two dots is an opaque token (Ory Hydra's "ory_at_…" has one; most
// providers' default access tokens are such references, which only the
// provider's introspection endpoint can judge), unless it begins like a
// JOSE header ("eyJ", base64url of `{"`): a JWT with a part missing. Four
// dots is the shape of a JWE (RFC 7516 §7.1).
func segmentsError(token []byte) error {
	switch bytes.Count(token, []byte{'.'}) {
	case 0, 1:
		if !bytes.HasPrefix(token, []byte("eyJ")) {
			return errOpaque
		}
	case 4:
		return errEncrypted
	}
	return errSegments
}

// Verify checks token and fills r. On success it returns nil; otherwise a
// *Error (test its class with errors.Is) and r holds partial data that
// must not be trusted.
func (v *Verifier) Verify(r *Result, token []byte) error {
	if err := v.verifyJWS(r, token, true); err != nil {
		return err
	}
	return v.checkClaims(r)
}

// VerifySignature checks only the JWS layer (RFC 7515 §5.2): segments,
// strict base64url, header, key lookup by kid among keys not restricted to
// an issuer, alg binding and signature. The payload may be any non-empty
// bytes (Result.Payload returns it; three non-empty segments are required,
// as by Verify) and no claim is read or checked: use it for
// JWS objects that are not JWTs, never to authenticate a request.
func (v *Verifier) VerifySignature(r *Result, token []byte) error {
	return v.verifyJWS(r, token, false)
}

func (v *Verifier) verifyJWS(r *Result, token []byte, jwt bool) error {
	r.reset()
	if len(token) == 0 {
		return errEmpty
	}
	// The size limit comes before any other work: an attacker controls it.
	if len(token) > v.maxSize {
		return ErrTokenTooLarge
	}
	h64, p64, s64, err := Split(token)
	if err != nil {
		return err
	}
	signingInput := token[:len(h64)+1+len(p64)]

	var ok bool
	if r.hbuf, ok = appendDecode(r.hbuf[:0], h64); !ok {
		return errBase64Header
	}
	if err := v.parseHeader(r); err != nil {
		return err
	}
	if r.pbuf, ok = appendDecode(r.pbuf[:0], p64); !ok {
		return errBase64Payload
	}
	if r.sbuf, ok = appendDecode(r.sbuf[:0], s64); !ok {
		return errBase64Sig
	}
	if jwt {
		// The claims are parsed before the signature is checked because
		// "iss" selects the key scope. The parser is strict, bounded and
		// fuzzed; nothing read here is trusted or reported until the
		// signature holds.
		if err := r.claims.Parse(r.pbuf, v.claims); err != nil || r.claims.Root().Kind() != jsonx.Object {
			return jsonError(err, errClaimsJSON)
		}
		if err := r.readRegistered(); err != nil {
			return err
		}
	}

	snap := v.keys.Snapshot()
	key, found := snap.Find(r.iss, r.kid, r.alg)
	if !found {
		if !snap.HasKeysFor(r.iss) {
			return errNoIssuerKeys
		}
		return ErrUnknownKey
	}
	// RFC 8725 §3.1: the key, not the token, decides the algorithm.
	if key.Alg() != r.alg {
		return errAlgMismatch
	}
	if !key.Verify(signingInput, r.sbuf) {
		return ErrSignature
	}
	r.key, r.generation = key, snap.Generation()
	return nil
}

func jsonError(err error, fallback *Error) error {
	switch {
	case errors.Is(err, jsonx.ErrDuplicateName):
		return errDuplicate
	case errors.Is(err, jsonx.ErrDepth), errors.Is(err, jsonx.ErrTooManyNodes), errors.Is(err, jsonx.ErrTooManyMembers):
		return errJSONLimits
	}
	return fallback
}

// parseHeader reads the JOSE header (RFC 7515 §4) from r.hbuf.
func (v *Verifier) parseHeader(r *Result) error {
	if err := r.header.Parse(r.hbuf, headerLimits); err != nil || r.header.Root().Kind() != jsonx.Object {
		return jsonError(err, errHeaderJSON)
	}
	var alg jsonx.Value
	for m := r.header.Root().First(); m.Exists(); m = m.Next() {
		switch string(m.Name()) {
		case "alg":
			alg = m
		case "kid":
			if m.Kind() != jsonx.String {
				return errHeaderKid
			}
			// A present kid, even "", must match a key exactly: keep
			// it distinct from a missing one (nil) for Snapshot.Find.
			if r.kid = m.Str(); r.kid == nil {
				r.kid = []byte{}
			}
		case "typ":
			if m.Kind() != jsonx.String {
				return errHeaderTyp
			}
			r.typ = m.Str()
		case "crit":
			// RFC 7515 §4.1.11: a recipient MUST reject a JWS whose
			// "crit" lists an extension it does not understand.
			// tokengate understands none, and an empty or malformed
			// "crit" is invalid on its own.
			return errCrit
		case "b64":
			// RFC 7797 unencoded payloads change what is signed.
			return errB64
		}
		// "jwk", "jku", "x5u", "x5c" (RFC 7515 §4.1.2-§4.1.6) are ignored
		// on purpose: keys come from the keyring only (RFC 8725 §3.10).
	}
	if alg.Kind() != jsonx.String {
		return errHeaderAlg
	}
	var ok bool
	if r.alg, ok = keyring.LookupAlgorithm(alg.Str()); !ok {
		// RFC 8725 §3.1: "none" is refused in every spelling.
		if isNone(alg.Str()) {
			return errAlgNone
		}
		return ErrUnsupportedAlg
	}
	return nil
}

// isNone reports whether b is "none" in any letter case.
func isNone(b []byte) bool {
	return len(b) == 4 && (b[0]|0x20) == 'n' && (b[1]|0x20) == 'o' && (b[2]|0x20) == 'n' && (b[3]|0x20) == 'e'
}
