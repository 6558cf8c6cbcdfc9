package verifier

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultLeeway is the clock skew allowed by DefaultPolicy.
const DefaultLeeway = 30 * time.Second

// Policy is what a verified token's claims must satisfy (RFC 7519 §4.1,
// RFC 8725 §3.8-§3.11). The zero Policy requires "exp", allows no clock
// skew and checks nothing else; start from DefaultPolicy.
type Policy struct {
	// Issuers, when not empty, lists the accepted "iss" values (exact,
	// case-sensitive match, RFC 7519 §4.1.1). A token without "iss" is
	// then rejected.
	Issuers []string
	// Audiences, when not empty, lists accepted audiences: at least one of
	// the token's "aud" values (a string or an array, RFC 7519 §4.1.3)
	// must be in it. A token without "aud" is then rejected, unless
	// AllowMissingAudience is set.
	Audiences []string
	// AllowMissingAudience accepts a token that names no audience: no
	// "aud" member, or "aud": [] (Ory Hydra's when none was requested),
	// while a token that names one must still match Audiences (an "aud"
	// naming only other audiences, or "", still fails). Off by default
	// (RFC 8725 §3.9: a token without an audience can be replayed at any
	// service trusting its issuer); meant for one issuer in PerIssuer
	// whose provider omits "aud". It changes nothing when Audiences is
	// empty. (To switch the audience check off for one issuer, give it a
	// PerIssuer policy without Audiences.)
	AllowMissingAudience bool
	// Leeway is the clock skew tolerated on "exp", "nbf" and "iat".
	Leeway time.Duration
	// AllowMissingExp accepts tokens without "exp". Off by default: a
	// token that never expires cannot be contained. With MaxLifetime
	// set, such a token expires MaxLifetime after its "iat" (and one
	// without "iat" either is refused).
	AllowMissingExp bool
	// MaxLifetime, when set, refuses a token that lives longer: whose
	// exp - iat exceeds it, or, without "iat", whose exp - now does (its
	// issue time is unknown, so only the remaining lifetime is bounded);
	// a token without "exp" (AllowMissingExp) expires MaxLifetime after
	// its "iat", and one with neither is refused. A revocation store that
	// forgets a rule MaxLifetime (plus the leeway) after the tokens it
	// matches were issued relies on it: no token outlives its rule. It
	// bounds PerIssuer policies too: each uses the shorter of its own and
	// this one.
	MaxLifetime time.Duration
	// Type, when set, is the required header "typ" (RFC 8725 §3.11
	// explicit typing), for example "at+jwt" (RFC 9068 §2.1) so a refresh
	// or ID token cannot pass as an access token. Compared as a media type:
	// case-insensitively, with the "application/" prefix optional
	// (RFC 7515 §4.1.9).
	Type string
	// RefuseIDTokens refuses a token that carries "nonce", "at_hash" or
	// "c_hash": claims OpenID Connect puts in ID tokens only (OpenID
	// Connect Core §2, §3.1.3.6, §3.3.2.11), so an ID token cannot pass
	// as an access token where the provider types both "JWT" (Ory Hydra,
	// Keycloak by default, Entra ID). "auth_time" is not among them: RFC
	// 9068 §2.2.1 allows it in access tokens. An ID token carries none of
	// the three in some flows (code flow without nonce): where the
	// provider's access tokens carry a claim its ID tokens lack
	// ("client_id" for Hydra and RFC 9068 profiles), require it too.
	RefuseIDTokens bool
	// RequiredClaims lists claims that must be present and not null,
	// as paths ("tenant", "realm_access.roles", "/realm_access/roles").
	RequiredClaims []string
	// PerIssuer gives issuers their own rules: a token whose "iss" is a
	// key here is checked against that Policy instead of this one (its own
	// audiences, leeway, type, required claims). Its issuers are accepted
	// in addition to Issuers; nested PerIssuer and Issuers are ignored.
	// The lookup is one map access, whatever the number of issuers.
	PerIssuer map[string]Policy
}

// DefaultPolicy requires "exp" and allows DefaultLeeway of clock skew.
func DefaultPolicy() Policy { return Policy{Leeway: DefaultLeeway} }

// MaxLeeway is the largest clock skew p tolerates for any token: the
// largest of Leeway and every PerIssuer Leeway. A token verifies until
// its exp plus this at most, so a revocation rule must be kept that long.
func (p Policy) MaxLeeway() time.Duration {
	m := p.Leeway
	for _, ip := range p.PerIssuer {
		m = max(m, ip.Leeway)
	}
	return m
}

// compiledPolicy is a Policy prepared for the request path: sets as maps,
// paths split, durations as float seconds. Immutable once built.
type compiledPolicy struct {
	issuers    map[string]struct{}
	audiences  map[string]struct{}
	allowNoAud bool
	leeway     float64
	allowNoExp bool
	// maxLifetime is MaxLifetime in seconds (0: unbounded).
	maxLifetime float64
	typ         string // lower case, without "application/"
	// refuseIDTokens refuses tokens carrying ID-token-only claims.
	refuseIDTokens bool
	required       []Path
	// byIssuer holds the compiled PerIssuer policies.
	byIssuer map[string]*compiledPolicy
}

func compilePolicy(p Policy) (*compiledPolicy, error) {
	var errs []error
	if p.Leeway < 0 {
		errs = append(errs, fmt.Errorf("verifier: policy: leeway %s is negative", p.Leeway))
	}
	if p.Leeway > 10*time.Minute {
		errs = append(errs, fmt.Errorf("verifier: policy: leeway %s is more than 10m", p.Leeway))
	}
	if p.MaxLifetime < 0 {
		errs = append(errs, fmt.Errorf("verifier: policy: max lifetime %s is negative", p.MaxLifetime))
	}
	c := &compiledPolicy{
		leeway:         p.Leeway.Seconds(),
		allowNoExp:     p.AllowMissingExp,
		allowNoAud:     p.AllowMissingAudience,
		typ:            normalizeType(p.Type),
		maxLifetime:    p.MaxLifetime.Seconds(),
		refuseIDTokens: p.RefuseIDTokens,
	}
	if len(p.Issuers) > 0 {
		c.issuers = make(map[string]struct{}, len(p.Issuers))
		for _, s := range p.Issuers {
			if s == "" {
				errs = append(errs, errors.New("verifier: policy: empty issuer"))
			}
			c.issuers[s] = struct{}{}
		}
	}
	if len(p.Audiences) > 0 {
		c.audiences = make(map[string]struct{}, len(p.Audiences))
		for _, s := range p.Audiences {
			if s == "" {
				errs = append(errs, errors.New("verifier: policy: empty audience"))
			}
			c.audiences[s] = struct{}{}
		}
	}
	for _, r := range p.RequiredClaims {
		path, err := ParsePath(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("verifier: policy: required claim: %w", err))
			continue
		}
		c.required = append(c.required, path)
	}
	if len(p.PerIssuer) > 0 {
		c.byIssuer = make(map[string]*compiledPolicy, len(p.PerIssuer))
		if c.issuers == nil {
			c.issuers = make(map[string]struct{}, len(p.PerIssuer))
		}
		for iss, ip := range p.PerIssuer {
			if iss == "" {
				errs = append(errs, errors.New("verifier: policy: per-issuer policy for an empty issuer"))
				continue
			}
			ip.Issuers, ip.PerIssuer = nil, nil
			if p.MaxLifetime > 0 && (ip.MaxLifetime == 0 || ip.MaxLifetime > p.MaxLifetime) {
				ip.MaxLifetime = p.MaxLifetime
			}
			sub, err := compilePolicy(ip)
			if err != nil {
				errs = append(errs, fmt.Errorf("verifier: policy for issuer %q: %w", iss, err))
				continue
			}
			c.byIssuer[iss] = sub
			c.issuers[iss] = struct{}{}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// normalizeType applies RFC 7515 §4.1.9: media type names compare
// case-insensitively and "application/" may be omitted.
func normalizeType(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	return strings.TrimPrefix(t, "application/")
}

// typeMatches compares a header "typ" with a normalised required type,
// without allocating.
func typeMatches(got []byte, want string) bool {
	const prefix = "application/"
	if len(got) > len(prefix) && strings.EqualFold(string(got[:len(prefix)]), prefix) {
		got = got[len(prefix):]
	}
	return strings.EqualFold(string(got), want)
}
