package verifier_test

// Holes other JWT libraries and gateways fell into, each pinned by a test
// named after what it guards against. TestErrorsNeverContainSecrets runs
// every token built here (and TestAttacks' table) once more to check that
// no error text carries key material or token bytes.

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/verifier"
)

// tokenCase is a token, the verifier that judges it and the expected
// outcome: nil for accepted, else the error class. check, when set, looks
// at the Result after Verify (whatever its outcome) and returns what is
// wrong with it, or "".
type tokenCase struct {
	name  string
	v     *verifier.Verifier
	token []byte
	want  error
	check func(r *verifier.Result, err error) string
}

func runTokenCases(t *testing.T, cases []tokenCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			err := tc.v.Verify(r, tc.token)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.want != nil && err == nil:
				t.Fatalf("accepted, want %v", tc.want)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want class %v", err, tc.want)
			}
			if tc.check != nil {
				if msg := tc.check(r, err); msg != "" {
					t.Fatal(msg)
				}
			}
		})
	}
}

// otherHMACSecret is a second HS256 secret (deterministic, 64 bytes), for a
// key set where a kid-less token cannot pick a key.
var otherHMACSecret = func() []byte { s := sha512.Sum512([]byte("tokengate test: kid-b")); return s[:] }()

// caseVariantCases: RFC 7515 §4 and RFC 7519 §4 names are case-sensitive.
// Go's encoding/json matches struct fields case-insensitively, so a
// verifier decoding into a struct lets "SUB":"admin" override "sub" (and
// the last of two spellings win); tokengate compares names byte for byte,
// so every case variant is just another, unregistered member.
func caseVariantCases(t *testing.T) []tokenCase {
	t.Helper()
	hs := caseFor(t, "HS256")
	now := testNow.Unix()
	base := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy())
	withIss := newVerifier(t, snapshotOf(t, hs.key), verifier.Policy{Issuers: []string{"https://idp.example.com"}})
	withAud := newVerifier(t, snapshotOf(t, hs.key), verifier.Policy{Audiences: []string{"api://orders"}})
	withTyp := newVerifier(t, snapshotOf(t, hs.key), verifier.Policy{Type: "at+jwt"})

	// Two HS256 keys: a token without "kid" cannot choose between them.
	keyA, err := keyring.NewKey(fixturePrivate["HS256"].([]byte), keyring.Options{ID: "kid-a", Alg: keyring.HS256})
	if err != nil {
		t.Fatal(err)
	}
	keyB, err := keyring.NewKey(otherHMACSecret, keyring.Options{ID: "kid-b", Alg: keyring.HS256})
	if err != nil {
		t.Fatal(err)
	}
	twoKeys := newVerifier(t, snapshotOf(t, keyA, keyB), verifier.DefaultPolicy())

	tok := func(over map[string]any) []byte { return mint(t, hs, claims(over)) }
	hdr := func(h string) []byte { return mintRaw(t, hs, h, claims(nil)) }
	subject := func(want string) func(*verifier.Result, error) string {
		return func(r *verifier.Result, _ error) string {
			if string(r.Subject()) != want {
				return "Subject " + strconv.Quote(string(r.Subject())) + ", want " + strconv.Quote(want)
			}
			return ""
		}
	}
	return []tokenCase{
		{"SUB and Sub do not override sub", base, tok(map[string]any{"SUB": "admin", "Sub": "root"}), nil, subject("user-42")},
		{"SUB alone is not a subject", base, tok(map[string]any{"sub": nil, "SUB": "admin"}), nil, func(r *verifier.Result, _ error) string {
			if r.Subject() != nil {
				return "Subject " + string(r.Subject()) + " from SUB"
			}
			return ""
		}},
		{"EXP and Exp in the past do not expire a valid exp", base, tok(map[string]any{"EXP": now - 3600, "Exp": now - 3600}), nil, func(r *verifier.Result, _ error) string {
			if exp, ok := r.Expiry(); !ok || !exp.Equal(testNow.Add(10*time.Minute)) {
				return "Expiry " + exp.String() + " is not exp's"
			}
			return ""
		}},
		{"EXP in the future does not extend an expired exp", base, tok(map[string]any{"exp": now - 3600, "EXP": now + 3600}), verifier.ErrExpired, nil},
		{"Exp alone is a missing exp", base, tok(map[string]any{"exp": nil, "Exp": now + 600}), verifier.ErrMissingClaim, nil},
		{"EXP alone is a missing exp", base, tok(map[string]any{"exp": nil, "EXP": now + 600}), verifier.ErrMissingClaim, nil},
		{"NBF and Nbf in the future are not nbf", base, tok(map[string]any{"NBF": now + 3600, "Nbf": now + 3600}), nil, nil},
		{"NBF in the past does not make a future nbf valid", base, tok(map[string]any{"nbf": now + 3600, "NBF": now - 3600}), verifier.ErrNotYetValid, nil},
		{"IAT in the future is not iat", base, tok(map[string]any{"IAT": now + 86400}), nil, nil},
		{"ISS does not satisfy an issuer policy", withIss, tok(map[string]any{"iss": nil, "ISS": "https://idp.example.com", "Iss": "https://idp.example.com"}), verifier.ErrIssuer, nil},
		{"ISS does not replace a wrong iss", withIss, tok(map[string]any{"iss": "https://evil.example", "ISS": "https://idp.example.com"}), verifier.ErrIssuer, nil},
		{"Aud and AUD do not satisfy an audience policy", withAud, tok(map[string]any{"aud": nil, "Aud": "api://orders", "AUD": []string{"api://orders"}}), verifier.ErrAudience, nil},
		{"Aud does not replace a wrong aud", withAud, tok(map[string]any{"aud": "api://other", "Aud": "api://orders"}), verifier.ErrAudience, nil},
		{"JTI and Jti are not the token ID", base, tok(map[string]any{"jti": nil, "JTI": "forged", "Jti": "forged"}), nil, func(r *verifier.Result, _ error) string {
			if r.ID() != nil {
				return "ID " + string(r.ID()) + " from a case variant"
			}
			return ""
		}},
		{"Scope, SCOPE and SCP grant nothing", base, tok(map[string]any{"Scope": "admin", "SCOPE": "admin", "SCP": []string{"admin"}, "Scp": "admin"}), nil, func(r *verifier.Result, _ error) string {
			if r.HasScope("admin") || joinBytes(r.Scopes()) != "orders:read,orders:write" {
				return "scopes " + joinBytes(r.Scopes())
			}
			return ""
		}},
		// Header parameter names (RFC 7515 §4) are case-sensitive too.
		{"ALG none next to alg", base, hdr(`{"alg":"HS256","ALG":"none","Alg":"none","kid":"kid-HS256"}`), nil, func(r *verifier.Result, _ error) string {
			if r.Alg() != keyring.HS256 {
				return "Alg " + string(r.Alg())
			}
			return ""
		}},
		{"ALG alone is a missing alg", base, hdr(`{"ALG":"HS256","kid":"kid-HS256"}`), verifier.ErrMalformed, nil},
		{"Alg alone is a missing alg", base, hdr(`{"Alg":"HS256","kid":"kid-HS256"}`), verifier.ErrMalformed, nil},
		{"KID is not a kid", base, hdr(`{"alg":"HS256","KID":"no-such-key"}`), nil, func(r *verifier.Result, _ error) string {
			if r.KeyID() != nil {
				return "KeyID " + string(r.KeyID()) + " from KID"
			}
			return ""
		}},
		{"Kid cannot choose among two keys", twoKeys, hdr(`{"alg":"HS256","Kid":"kid-a"}`), verifier.ErrUnknownKey, nil},
		{"Kid does not override kid", twoKeys, hdr(`{"alg":"HS256","kid":"kid-b","Kid":"kid-a"}`), verifier.ErrSignature, nil},
		{"Typ does not satisfy a type policy", withTyp, hdr(`{"alg":"HS256","kid":"kid-HS256","typ":"JWT","Typ":"at+jwt","TYP":"at+jwt"}`), verifier.ErrType, nil},
		{"TYP alone is a missing typ", withTyp, hdr(`{"alg":"HS256","kid":"kid-HS256","TYP":"at+jwt"}`), verifier.ErrType, nil},
	}
}

// TestCaseInsensitiveClaimNamesIgnored: case variants of registered claim
// and header names ("SUB", "Exp", "ISS", "Aud", "ALG", "Kid", ...) are
// never read as the registered ones.
func TestCaseInsensitiveClaimNamesIgnored(t *testing.T) {
	runTokenCases(t, caseVariantCases(t))
}

// duplicateCases: RFC 7515 §5.2 and RFC 7519 §7.2 let a parser reject
// duplicate member names, and tokengate does, in header and claims alike
// (a lenient parser keeps the last value, another component the first).
// Names are compared after unescaping and byte for byte: "sub" and "SUB"
// are two distinct members, not duplicates (RFC 8259 §8.3), which is why
// TestCaseInsensitiveClaimNamesIgnored can rely on the exact spelling.
func duplicateCases(t *testing.T) []tokenCase {
	t.Helper()
	hs := caseFor(t, "HS256")
	v := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy())
	exp := jsonInt(testNow.Unix() + 600)
	h := header("HS256", hs.key.ID(), "")
	payload := func(members string) []byte { return mintRaw(t, hs, h, []byte(`{"exp":`+exp+`,`+members+`}`)) }
	duplicate := func(_ *verifier.Result, err error) string {
		var ve *verifier.Error
		if !errors.As(err, &ve) || ve.Label() != "duplicate" {
			return "not reported as a duplicate member: " + err.Error()
		}
		return ""
	}
	return []tokenCase{
		{"duplicate sub", v, payload(`"sub":"user-42","sub":"admin"`), verifier.ErrMalformed, duplicate},
		{"duplicate iss, one escaped", v, payload(`"iss":"https://idp.example.com","\u0069ss":"https://evil.example"`), verifier.ErrMalformed, duplicate},
		{"duplicate aud", v, payload(`"aud":"api://orders","aud":"api://admin"`), verifier.ErrMalformed, duplicate},
		{"duplicate unregistered claim", v, payload(`"role":"user","role":"admin"`), verifier.ErrMalformed, duplicate},
		{"duplicate nested member", v, payload(`"realm_access":{"roles":["a"],"roles":["admin"]}`), verifier.ErrMalformed, duplicate},
		{"duplicate kid in header", v, mintRaw(t, hs, `{"alg":"HS256","kid":"kid-HS256","kid":"other"}`, claims(nil)), verifier.ErrMalformed, duplicate},
		{"duplicate typ in header", v, mintRaw(t, hs, `{"alg":"HS256","kid":"kid-HS256","typ":"JWT","typ":"at+jwt"}`, claims(nil)), verifier.ErrMalformed, duplicate},
		{"case variants are distinct members, in claims", v, payload(`"sub":"user-42","SUB":"admin","Sub":"root"`), nil, func(r *verifier.Result, _ error) string {
			if string(r.Subject()) != "user-42" {
				return "Subject " + string(r.Subject())
			}
			return ""
		}},
		{"case variants are distinct members, in the header", v, mintRaw(t, hs, `{"alg":"HS256","Alg":"none","kid":"kid-HS256","KID":"x"}`, claims(nil)), nil, nil},
	}
}

// TestDuplicateMemberNamesRejected: an exact duplicate (even spelled with
// an escape) is malformed; case variants are distinct members.
func TestDuplicateMemberNamesRejected(t *testing.T) {
	runTokenCases(t, duplicateCases(t))
}

// timeClaimCases feeds "exp", "nbf" and "iat" every out-of-range or
// mistyped value we know of. libjwt #283: an "exp" too large for the
// int64 the library converted it to wrapped around and the token never
// expired. A NumericDate (RFC 7519 §2) here is a JSON number in
// [0, 253402300799] (up to 9999-12-31T23:59:59Z); anything else is
// malformed, never clamped, and a value in range is compared as is.
func timeClaimCases(t *testing.T) []tokenCase {
	t.Helper()
	hs := caseFor(t, "HS256")
	v := newVerifier(t, snapshotOf(t, hs.key), verifier.DefaultPolicy()) // 30 s leeway
	now := testNow.Unix()
	year9999 := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	tok := func(claim, literal string) []byte {
		return mint(t, hs, claims(map[string]any{claim: rawJSON(literal)}))
	}
	// absent: a time claim that was rejected is not reported as present.
	absent := func(get func(*verifier.Result) (time.Time, bool)) func(*verifier.Result, error) string {
		return func(r *verifier.Result, _ error) string {
			if tm, ok := get(r); ok {
				return "a rejected time claim reads back as " + tm.String()
			}
			return ""
		}
	}
	at := func(get func(*verifier.Result) (time.Time, bool), want time.Time) func(*verifier.Result, error) string {
		return func(r *verifier.Result, _ error) string {
			if tm, ok := get(r); !ok || !tm.Equal(want) {
				return "reads back as " + tm.UTC().String() + ", want " + want.String()
			}
			return ""
		}
	}
	exp := (*verifier.Result).Expiry
	nbf := (*verifier.Result).NotBefore
	iat := (*verifier.Result).IssuedAt

	var cases []tokenCase
	malformed := []string{
		"1e300", "-1e300", "1e400", "1e99999999999999999999",
		"9223372036854775807", "9223372036854775808", "18446744073709551616",
		"253402300800", "253402300799.5e1", "-1", "-0.000001",
		`"1e10"`, `"0"`, "true", "false", "null", "[]", "[9999999999]", "{}", `{"$date":9999999999}`,
	}
	for _, claim := range []string{"exp", "nbf", "iat"} {
		get := map[string]func(*verifier.Result) (time.Time, bool){"exp": exp, "nbf": nbf, "iat": iat}[claim]
		for _, lit := range malformed {
			cases = append(cases, tokenCase{claim + " " + lit, v, tok(claim, lit), verifier.ErrMalformed, absent(get)})
		}
	}
	cases = append(cases,
		// In range: compared with the clock as RFC 7519 §4.1.4 says.
		tokenCase{"exp 0", v, tok("exp", "0"), verifier.ErrExpired, at(exp, time.Unix(0, 0))},
		tokenCase{"exp -0", v, tok("exp", "-0"), verifier.ErrExpired, at(exp, time.Unix(0, 0))},
		tokenCase{"exp 1e-300", v, tok("exp", "1e-300"), verifier.ErrExpired, at(exp, time.Unix(0, 0))},
		tokenCase{"exp 1.5", v, tok("exp", "1.5"), verifier.ErrExpired, at(exp, time.Unix(1, 5e8))},
		tokenCase{"exp 1e9 (2001)", v, tok("exp", "1e9"), verifier.ErrExpired, at(exp, time.Unix(1e9, 0))},
		tokenCase{"exp 1e10 (2286)", v, tok("exp", "1e10"), nil, at(exp, time.Unix(1e10, 0))},
		tokenCase{"exp 253402300799 (9999-12-31)", v, tok("exp", "253402300799"), nil, at(exp, year9999)},
		tokenCase{"exp just outside the leeway", v, tok("exp", jsonInt(now-30)), verifier.ErrExpired, nil},
		tokenCase{"nbf 0", v, tok("nbf", "0"), nil, at(nbf, time.Unix(0, 0))},
		tokenCase{"nbf 253402300799 is never valid", v, tok("nbf", "253402300799"), verifier.ErrNotYetValid, at(nbf, year9999)},
		tokenCase{"nbf just outside the leeway", v, tok("nbf", jsonInt(now+31)), verifier.ErrNotYetValid, nil},
		tokenCase{"iat 0", v, tok("iat", "0"), nil, at(iat, time.Unix(0, 0))},
		tokenCase{"iat within the leeway", v, tok("iat", jsonInt(now+29)), nil, nil},
		tokenCase{"iat beyond the leeway", v, tok("iat", jsonInt(now+31)), verifier.ErrNotYetValid, nil},
		tokenCase{"iat 253402300799", v, tok("iat", "253402300799"), verifier.ErrNotYetValid, at(iat, year9999)},
	)
	return cases
}

// TestOutOfRangeTimesNeverAccepted: no "exp", "nbf" or "iat" outside the
// NumericDate range or of the wrong JSON type is accepted, clamped or
// wrapped; Expiry, NotBefore and IssuedAt only ever report times in
// [1970, 9999] that the token really carries.
func TestOutOfRangeTimesNeverAccepted(t *testing.T) {
	cases := timeClaimCases(t)
	lo, hi := time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	for i := range cases {
		check := cases[i].check
		cases[i].check = func(r *verifier.Result, err error) string {
			for name, get := range map[string]func() (time.Time, bool){"Expiry": r.Expiry, "NotBefore": r.NotBefore, "IssuedAt": r.IssuedAt} {
				if tm, ok := get(); ok && (tm.Before(lo) || tm.After(hi)) {
					return name + " out of range: " + tm.String()
				}
			}
			if err == nil {
				if exp, ok := r.Expiry(); !ok || !exp.After(testNow.Add(-verifier.DefaultLeeway)) {
					return "accepted with Expiry " + exp.String()
				}
			}
			if check != nil {
				return check(r, err)
			}
			return ""
		}
	}
	runTokenCases(t, cases)
}

// audienceCases: RFC 7519 §4.1.3. Some providers issue access tokens with
// no "aud" at all, or put their own URL in it. Accepting a missing "aud"
// must be a per-issuer opt-in (Policy.AllowMissingAudience), never the
// default, and never a way around a present, wrong "aud".
func audienceCases(t *testing.T) []tokenCase {
	t.Helper()
	hs := caseFor(t, "HS256")
	const issA, issB, issC = "https://a.example", "https://b.example", "https://c.example"
	p := verifier.DefaultPolicy()
	p.Issuers = []string{"https://idp.example.com"}
	p.Audiences = []string{"api://orders"}
	p.PerIssuer = map[string]verifier.Policy{
		issA: {Audiences: []string{"api://orders"}, AllowMissingAudience: true},
		issB: {Audiences: []string{"api://orders"}},
		// This provider puts its issuer URL in "aud": list it.
		issC: {Audiences: []string{issC}},
	}
	v := newVerifier(t, snapshotOf(t, hs.key), p)
	// Opt-in without Audiences changes nothing: every aud was accepted.
	loose := newVerifier(t, snapshotOf(t, hs.key), verifier.Policy{AllowMissingAudience: true})
	tok := func(iss string, aud any) []byte { return mint(t, hs, claims(map[string]any{"iss": iss, "aud": aud})) }
	none := any(nil)
	return []tokenCase{
		{"default: missing aud rejected", v, tok("https://idp.example.com", none), verifier.ErrAudience, nil},
		{"default: matching aud accepted", v, tok("https://idp.example.com", "api://orders"), nil, nil},
		{"opted-in issuer A: missing aud accepted", v, tok(issA, none), nil, nil},
		{"opted-in issuer A: matching aud accepted", v, tok(issA, []string{"api://orders"}), nil, nil},
		{"opted-in issuer A: other aud still rejected", v, tok(issA, "api://admin"), verifier.ErrAudience, nil},
		{"opted-in issuer A: empty aud array names no audience, like a missing aud (Hydra)", v, tok(issA, []string{}), nil, nil},
		{"issuer B did not opt in: empty aud array rejected", v, tok(issB, []string{}), verifier.ErrAudience, nil},
		{"opted-in issuer A: empty aud string is not a missing aud", v, tok(issA, ""), verifier.ErrAudience, nil},
		{"opted-in issuer A: malformed aud still malformed", v, tok(issA, 7), verifier.ErrMalformed, nil},
		{"opted-in issuer A: Aud variant is not aud", v, mint(t, hs, claims(map[string]any{"iss": issA, "aud": "api://admin", "Aud": "api://orders"})), verifier.ErrAudience, nil},
		{"issuer B did not opt in: missing aud rejected", v, tok(issB, none), verifier.ErrAudience, nil},
		{"issuer C: its own URL as aud accepted", v, tok(issC, issC), nil, nil},
		{"issuer C: missing aud rejected", v, tok(issC, none), verifier.ErrAudience, nil},
		{"issuer C: another issuer's URL rejected", v, tok(issC, issA), verifier.ErrAudience, nil},
		{"no Audiences: opt-in changes nothing, any aud", loose, tok("https://idp.example.com", "api://anything"), nil, nil},
		{"no Audiences: opt-in changes nothing, no aud", loose, tok("https://idp.example.com", none), nil, nil},
	}
}

// TestMissingAudienceRequiresPerIssuerOptIn: a token without "aud" passes
// only for an issuer whose policy sets AllowMissingAudience, and a present
// "aud" is always checked.
func TestMissingAudienceRequiresPerIssuerOptIn(t *testing.T) {
	runTokenCases(t, audienceCases(t))
}

// TestErrorsNeverContainSecrets guards against APISIX CVE-2022-29266,
// where a verification error echoed the HMAC secret to the client: for
// every rejected token of this package's attack and hole tables, the
// error text, Reason, Code and Label hold no HMAC secret (raw, base64,
// base64url or hex, nor a 16-character piece of one), no whole token and
// no token segment. Errors are package-level values, so the same token
// gets the identical error value every time.
func TestErrorsNeverContainSecrets(t *testing.T) {
	var cases []tokenCase
	av, attacks := attackCases(t)
	for _, a := range attacks {
		cases = append(cases, tokenCase{name: "attack: " + a.name, v: av, token: a.token, want: a.want})
	}
	cases = append(cases, caseVariantCases(t)...)
	cases = append(cases, duplicateCases(t)...)
	cases = append(cases, timeClaimCases(t)...)
	cases = append(cases, audienceCases(t)...)

	var secrets [][]byte
	for _, name := range []string{"HS256", "HS384", "HS512"} {
		secrets = append(secrets, fixturePrivate[name].([]byte))
	}
	secrets = append(secrets, otherHMACSecret)
	var forbidden []string
	for _, s := range secrets {
		forms := []string{
			string(s),
			base64.StdEncoding.EncodeToString(s),
			base64.RawStdEncoding.EncodeToString(s),
			base64.URLEncoding.EncodeToString(s),
			base64.RawURLEncoding.EncodeToString(s),
			hex.EncodeToString(s),
			strings.ToUpper(hex.EncodeToString(s)),
		}
		for _, f := range forms {
			forbidden = append(forbidden, f)
			for i := 0; i+16 <= len(f); i++ {
				forbidden = append(forbidden, f[i:i+16])
			}
		}
	}

	rejected := 0
	for _, tc := range cases {
		r := verifier.AcquireResult()
		err := tc.v.Verify(r, tc.token)
		again := tc.v.Verify(r, tc.token)
		verifier.ReleaseResult(r)
		if err == nil {
			continue
		}
		rejected++
		if again != err {
			t.Errorf("%s: the error is not a package-level value (%p, then %p)", tc.name, err, again)
		}
		var ve *verifier.Error
		if !errors.As(err, &ve) {
			t.Errorf("%s: %T is not a *verifier.Error", tc.name, err)
			continue
		}
		texts := []string{err.Error(), verifier.Reason(err), verifier.Code(err), ve.Label()}
		tokenParts := []string{string(tc.token)}
		if len(bytes.Split(tc.token, []byte("."))) > 1 {
			for _, seg := range bytes.Split(tc.token, []byte(".")) {
				// Short segments ("e30", "AAAA") are not token-specific.
				if len(seg) >= 8 {
					tokenParts = append(tokenParts, string(seg))
				}
			}
		}
		for _, text := range texts {
			for _, f := range forbidden {
				if strings.Contains(text, f) {
					t.Errorf("%s: error text %q contains (part of) an HMAC secret", tc.name, text)
				}
			}
			for _, p := range tokenParts {
				if p != "" && strings.Contains(text, p) {
					t.Errorf("%s: error text %q contains the token or a segment of it", tc.name, text)
				}
			}
		}
	}
	if rejected < 100 {
		t.Fatalf("only %d rejected tokens checked", rejected)
	}
	t.Logf("%d rejected tokens, %d forbidden strings", rejected, len(forbidden))
}
