package sidecar_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
	"golang.org/x/text/unicode/norm"

	"github.com/tokengate/tokengate/gate"
)

// Route rules fooled by the path: the request target the proxy forwards
// is read one way by the rule engine and another by the application, and
// a protected path slips into a public rule. Istio CVE-2020-8595 (an exact
// path rule bypassed with "?" or "#"), Envoy CVE-2023-27487 (a forged
// original-path header), Spring Security's StrictHttpFirewall list (";",
// "\", "%25", "%2F", "%00") and the Tomcat "..;/" reading are the sources
// of the cases below.

// bypassRoutes is the rule set the attacks aim at: "/admin" (and "/keys"
// and a non-ASCII path) need the admin scope, everything else is public. A path
// that misses the "/admin" rule falls into the public one, so any
// mis-normalisation shows up as a 200 without a token.
func bypassRoutes(c *serverConfig) {
	c.Routes = []gate.Route{
		{Prefix: "/admin", Scopes: []string{"admin"}},
		{Prefix: "/caf%C3%A9", Scopes: []string{"admin"}}, // "/café"
		{Prefix: "/keys", Scopes: []string{"admin"}},
		{Prefix: "/", Public: true},
	}
}

// outcome is what a path must come to.
type outcome int

const (
	adminRule outcome = iota // the "/admin" rule applies: 401, 403, 200 by token
	denied                   // refused whatever the token: 403 invalid_request
	public                   // the public rule (controls only)
)

var bypassCases = []struct {
	name, path string
	want       outcome
}{
	{"control: /admin", "/admin", adminRule},
	{"control: public path", "/public/x", public},
	{"control: /administrator is not /admin", "/administrator", public},

	// Istio CVE-2020-8595: query and fragment cut before matching.
	{"query", "/admin?x", adminRule},
	{"query hiding dot segments", "/admin?x=/../public", adminRule},
	{"fragment", "/admin#x", denied},
	{"empty query and fragment", "/admin?#", denied},
	{"fragment hiding dot segments", "/public/x#/../../admin", denied},

	// Slashes and dot segments (RFC 3986 §5.2.4).
	{"trailing slash", "/admin/", adminRule},
	{"double leading slash", "//admin", adminRule},
	{"repeated slashes", "///admin//users", adminRule},
	{"dot segment", "/./admin", adminRule},
	{"dot-dot out of a public path", "/public/../admin", adminRule},
	{"dot segments mixed", "/public/./../admin/./x", adminRule},
	{"dot-dot above the root", "/../admin", denied},
	{"dot-dot above the root from a public path", "/public/../../admin", denied},

	// Percent-encoding: unreserved characters decoded in either hex case
	// (RFC 3986 §2.3, §6.2.2.2), dot segments resolved after decoding.
	{"encoded letter", "/%61dmin", adminRule},
	{"all letters encoded, upper-case hex", "/%61%64%6D%69%6E", adminRule},
	{"all letters encoded, lower-case hex", "/%61%64%6d%69%6e/users", adminRule},
	{"encoded dot-dot", "/public/%2e%2e/admin", adminRule},
	{"encoded dot-dot, mixed case", "/public/%2E%2e/admin", adminRule},
	{"half-encoded dot-dot", "/public/.%2e/admin", adminRule},
	{"encoded dot segment", "/%2e/admin", adminRule},
	{"encoded dot-dot above the root", "/%2e%2e/admin", denied},

	// Encoded separators: never decoded into a '/', never guessed.
	{"encoded slash after the prefix", "/admin%2F..", denied},
	{"encoded slash, lower case", "/admin%2f", denied},
	{"encoded slash escaping a public path", "/public/..%2fadmin", denied},
	{"encoded slash escaping a public path, upper case", "/public%2F..%2Fadmin", denied},
	{"encoded backslash", "/public/..%5Cadmin", denied},
	{"raw backslash", "/public/..\\admin", denied},
	{"raw backslashes only", "/public\\..\\admin", denied},

	// Matrix parameters (Tomcat, Jetty, Spring drop ";..." per segment).
	{"matrix parameter", "/admin;x", denied},
	{"session id parameter", "/admin;jsessionid=1/users", denied},
	{"Tomcat ..;/", "/public/..;/admin", denied},
	{"encoded semicolon", "/public/..%3B/admin", denied},

	// Double encoding: "%2561" is "%61" once decoded, "a" twice.
	{"double-encoded letter", "/%2561dmin", denied},
	{"double-encoded dot-dot", "/public/%252e%252e/admin", denied},

	// Control bytes and NUL, raw or encoded.
	{"encoded NUL", "/admin%00", denied},
	{"raw NUL", "/admin\x00", denied},
	{"encoded NUL before a public suffix", "/admin%00/../public", denied},
	{"encoded newline", "/admin%0a", denied},
	{"raw tab", "/admin\t", denied},
	{"encoded DEL", "/admin%7F", denied},
	{"raw space", "/admin /x", denied},

	// Invalid percent-encoding.
	{"lone percent", "/admin%", denied},
	{"truncated encoding", "/admin%2", denied},
	{"non-hex encoding", "/admin%G1", denied},
	{"non-hex encoding at the start", "/%G1/admin", denied},

	// Not origin-form (RFC 9112 §3.2): refused rather than parsed here.
	{"absolute form", "http://host/admin", denied},
	{"absolute form hiding dot segments", "http://host/public/../admin", denied},
	{"absolute form, upper-case scheme", "HTTP://host/admin", denied},
	{"asterisk form", "*", denied},
	{"relative path", "admin", denied},

	// Case: segments compare ASCII case-insensitively (matchPrefix), as
	// Express, ASP.NET Core and IIS route them.
	{"upper case", "/ADMIN", adminRule},
	{"mixed case below the prefix", "/Admin/users", adminRule},
	{"upper case from an encoded letter", "/%41DMIN", adminRule},

	// Non-ASCII: a raw byte and its encoding normalise alike.
	{"non-ASCII, encoded", "/caf%C3%A9/menu", adminRule},
	{"non-ASCII, encoded lower-case hex", "/caf%c3%a9", adminRule},
	{"non-ASCII, raw", "/caf\xc3\xa9/menu", adminRule},
	{"non-ASCII, raw, through dot segments", "/public/../caf\xc3\xa9", adminRule},
	{"non-ASCII letter is another path", "/adm\xc3\xaen", public}, // î

	// The non-ASCII letters that case mapping turns into ASCII ones.
	{"dotless i, raw", "/adm\xc4\xb1n", adminRule},         // ı → I
	{"dotless i, encoded", "/adm%c4%b1n", adminRule},       // ı → I
	{"dotted capital I", "/ADM\xc4\xb0N/users", adminRule}, // İ → i
	// ſ and K also have ASCII compatibility forms (NFKC), which are
	// refused by default (see below).
	{"long s", "/key\xc5\xbf", denied},                      // ſ → S, NFKC s
	{"Kelvin sign, half encoded", "/\xe2%84%aaeys", denied}, // K → k, NFKC K

	// Issue 12 item 12: paths tokengate matched as public that
	// applications read as /admin.
	{"encoded fragment", "/admin%23", denied},
	{"encoded fragment hiding dot segments", "/public/x%23/../../admin", denied},
	{"encoded question mark", "/admin%3Fx", denied},
	{"encoded question mark, lower case", "/admin%3fx=/../public", denied},
	{"trailing dot (IIS)", "/admin.", denied},
	{"trailing dots (IIS)", "/admin../users", denied},
	{"encoded trailing dot (IIS)", "/admin%2e", denied},
	{"trailing space, encoded (IIS)", "/admin%20", denied},
	{"trailing space and dot, encoded", "/admin%20.", denied},
	{"overlong dot", "/public/%c0%ae%c0%ae/admin", denied},
	{"overlong slash", "/public/..%c0%afadmin", denied},
	{"overlong dot, three bytes", "/public/%e0%80%ae%e0%80%ae/admin", denied},
	{"raw overlong dot", "/public/\xc0\xae\xc0\xae/admin", denied},
	{"lone continuation byte", "/admin%80", denied},
	{"truncated sequence", "/adm%c3", denied},
	{"encoded surrogate", "/admin%ed%a0%80", denied},
	{"above U+10FFFF", "/admin%f4%90%80%80", denied},
	{"full-width a (NFKC)", "/%EF%BD%81dmin", denied},
	{"full-width ADMIN, raw (NFKC)", "/\xef\xbc\xa1\xef\xbc\xa4\xef\xbc\xad\xef\xbc\xa9\xef\xbc\xae", denied},
	{"circled digit (NFKC)", "/keys%E2%91%A0", denied},
	{"segment with a dot inside is fine", "/admin.v2", public},
}

// TestRouteRulesNotBypassedByPathTricks sends each attack as the original
// URI in every way a proxy passes it — X-Original-URI (nginx),
// X-Forwarded-Uri (Caddy, Traefik), the request line (an application
// calling /verify with its own path) — with no token, a token without the
// admin scope and an admin token. A path must come to the "/admin" rule
// or be denied outright; it never reaches the public rule.
func TestRouteRulesNotBypassedByPathTricks(t *testing.T) {
	f := newFixture(t, bypassRoutes)
	user := sign(t, f.es, nil)
	admin := sign(t, f.es, map[string]any{"scope": "admin"})
	transports := []struct {
		name string
		set  func(*fasthttp.Request, string)
	}{
		{"X-Original-URI", func(r *fasthttp.Request, p string) { r.Header.Set("X-Original-URI", p) }},
		{"X-Forwarded-Uri", func(r *fasthttp.Request, p string) { r.Header.Set("X-Forwarded-Uri", p) }},
		{"request line", func(r *fasthttp.Request, p string) { r.SetRequestURI(p) }},
	}
	for _, tc := range bypassCases {
		for _, tr := range transports {
			t.Run(tr.name+"/"+tc.name, func(t *testing.T) {
				send := func(token string) *fasthttp.Response {
					return do(f, func(r *fasthttp.Request) {
						tr.set(r, tc.path)
						if token != "" {
							r.Header.Set("Authorization", "Bearer "+token)
						}
					})
				}
				anon, usr, adm := send(""), send(user), send(admin)
				challenge := func(r *fasthttp.Response) string { return string(r.Header.Peek("WWW-Authenticate")) }
				switch tc.want {
				case adminRule:
					if anon.StatusCode() != 401 || strings.Contains(challenge(anon), "error=") {
						t.Errorf("%q without a token: %d %q, want 401 without an error code (RFC 6750 §3.1)", tc.path, anon.StatusCode(), challenge(anon))
					}
					if usr.StatusCode() != 403 || !strings.Contains(challenge(usr), `error="insufficient_scope"`) {
						t.Errorf("%q with a user token: %d %q, want 403 insufficient_scope", tc.path, usr.StatusCode(), challenge(usr))
					}
					if adm.StatusCode() != 200 {
						t.Errorf("%q with an admin token: %d %q, want 200", tc.path, adm.StatusCode(), challenge(adm))
					}
				case denied:
					for _, r := range []*fasthttp.Response{anon, usr, adm} {
						if r.StatusCode() != 403 || !strings.Contains(challenge(r), `error="invalid_request"`) {
							t.Errorf("%q: %d %q, want 403 invalid_request", tc.path, r.StatusCode(), challenge(r))
						}
					}
				case public:
					if anon.StatusCode() != 200 {
						t.Errorf("%q without a token: %d %q, want 200 (public)", tc.path, anon.StatusCode(), challenge(anon))
					}
				}
			})
		}
	}
}

// TestRoutePrefixesNeedNormalisedForm checks the other half of matching:
// a rule's prefix is compared with normalised paths, so a prefix that is
// not itself normalised (raw non-ASCII, a ';', an encoded letter) would
// never match and is refused when the configuration is loaded.
func TestRoutePrefixesNeedNormalisedForm(t *testing.T) {
	for _, prefix := range []string{"/caf\xc3\xa9", "/admin;x", "/%61dmin", "/a\\b", "/a%2Fb", "/a/../b"} {
		cfg := gate.DefaultConfig()
		cfg.Routes = []gate.Route{{Prefix: prefix, Scopes: []string{"admin"}}}
		if err := cfg.Validate(); err == nil {
			t.Errorf("route prefix %q accepted", prefix)
		}
	}
}

// FuzzRouteBypass checks the property behind the table: whenever
// tokengate applies the public rule, no reasonable application reads the
// path as a protected one. lenientReadings models what servers do with a
// target — decode once or more, '\' as '/', drop ";params", cut at NUL,
// resolve dot segments (clamped at the root), ignore case — and every
// reading must stay out of the protected prefixes.
func FuzzRouteBypass(f *testing.F) {
	for _, tc := range bypassCases {
		f.Add(tc.path)
	}
	fx := newFixture(f, bypassRoutes)
	f.Fuzz(func(t *testing.T, target string) {
		if target == "" || len(target) > 512 {
			return
		}
		resp := do(fx, func(r *fasthttp.Request) { r.Header.Set("X-Original-URI", target) })
		if resp.StatusCode() != 200 {
			return // a token was asked for, or the path was denied
		}
		for _, p := range lenientReadings(target) {
			if underProtected(p) {
				t.Fatalf("%q got the public rule; an application may read it as %q", target, p)
			}
		}
	})
}

// lenientReadings returns the paths an application might make of target.
func lenientReadings(target string) []string {
	if i := strings.IndexAny(target, "?#"); i >= 0 {
		target = target[:i]
	}
	if i := strings.Index(target, "://"); i > 0 && isScheme(target[:i]) {
		rest := target[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			target = rest[j:]
		} else {
			target = "/"
		}
	}
	var out []string
	for s, n := target, 0; n < 4; n++ {
		// A decoder may split the query and fragment off after decoding,
		// decode overlong UTF-8, or normalise with NFKC.
		for _, v := range []string{s, cutQueryFragment(s), decodeOverlong(s), norm.NFKC.String(s), norm.NFKC.String(decodeOverlong(s))} {
			out = append(out, cleanLenient(v))
		}
		next := percentDecode(s)
		if next == s {
			break
		}
		s = next
	}
	return out
}

func cutQueryFragment(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i]
	}
	return s
}

// decodeOverlong reads overlong UTF-8 forms of ASCII characters as those
// characters, as lenient decoders do ("\xc0\xae" is ".").
func decodeOverlong(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case i+1 < len(s) && (s[i] == 0xc0 || s[i] == 0xc1) && s[i+1]&0xc0 == 0x80:
			b.WriteByte((s[i]&0x1f)<<6 | s[i+1]&0x3f)
			i++
		case i+2 < len(s) && s[i] == 0xe0 && s[i+1] < 0xa0 && s[i+1]&0xc0 == 0x80 && s[i+2]&0xc0 == 0x80:
			b.WriteByte((s[i+1]&0x3f)<<6 | s[i+2]&0x3f)
			i += 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// isScheme: RFC 3986 §3.1.
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !('a' <= c && c <= 'z' || i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.')) {
			return false
		}
	}
	return true
}

func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(hexVal(s[i+1])<<4 | hexVal(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// cleanLenient: '\' is '/', NUL ends the path, ";..." is dropped from each
// segment, trailing dots and spaces are dropped from each segment (IIS),
// dot segments resolve without ever going above the root, and the result
// is lower case.
func cleanLenient(p string) string {
	if i := strings.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	p = strings.ReplaceAll(p, "\\", "/")
	var segs []string
	for _, seg := range strings.Split(p, "/") {
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		if seg != "." && seg != ".." {
			seg = strings.TrimRight(seg, ". ")
		}
		switch seg {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, seg)
		}
	}
	// Lower case after upper case: "ı" → "I" → "i", as Java's
	// equalsIgnoreCase and .NET's OrdinalIgnoreCase compare. Only a fold
	// into ASCII is modelled: tokengate compares other non-ASCII letters
	// exactly ("/CAFÉ" is not "/café"; see matchPrefix).
	return strings.Map(func(r rune) rune {
		if f := unicode.ToLower(unicode.ToUpper(r)); f < utf8.RuneSelf {
			return f
		}
		return r
	}, "/"+strings.Join(segs, "/"))
}

// underProtected: the reading lies under one of bypassRoutes' protected
// prefixes.
func underProtected(p string) bool {
	for _, prefix := range []string{"/admin", "/keys", "/caf\u00e9"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}
