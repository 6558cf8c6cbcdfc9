package gate

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizePath turns the original request target into the canonical path
// that route rules are matched against, appending it to dst. ok is false
// for anything that cannot be normalised without guessing; such requests
// are denied, never matched loosely (Istio CVE-2020-8595, Envoy
// CVE-2023-27487 were rule bypasses through paths the proxy and the rule
// engine read differently).
//
// Steps (RFC 3986 §6.2.2):
//   - the query and fragment are cut off (§3.4, §3.5);
//   - percent-encoded unreserved characters (§2.3) are decoded, in either
//     hex case; every other encoding is kept, with upper-case hex (§6.2.2.1);
//   - a raw byte that may not appear in a path (§3.3: non-ASCII bytes,
//     '"', '<', '>', '[', ']', '^', '`', '{', '|', '}') is percent-encoded,
//     so a raw and an encoded spelling normalise alike;
//   - repeated slashes are collapsed;
//   - "." and ".." segments are resolved after decoding, so "%2e%2e" is
//     "..", as servers that decode first read it (§5.2.4); ".." above the
//     root is denied;
//   - a trailing slash is dropped: rules match on whole segments, so "/a/"
//     and "/a" are the same.
//
// Denied, because application servers disagree on what they mean and a
// guess could pick another route:
//   - an encoded '/' (%2F) or '\' (%5C), and a raw '\' (Windows servers,
//     IIS and some frameworks read '\' as '/': "/public/..\admin");
//   - ';', raw or encoded (%3B): Tomcat, Jetty and Spring drop ";params"
//     from each segment, so "/public/..;/admin" is "/admin" to them and
//     "/admin;x" is "/admin";
//   - an encoded '%' (%25): a server that decodes twice reads "/%2561dmin"
//     as "/admin";
//   - an encoded '#' or '?' (%23, %3F): a server that decodes before it
//     splits reads "/admin%3Fx" as "/admin" with a query, and "/admin%23"
//     as "/admin" with a fragment;
//   - bytes that are not valid UTF-8 once decoded, raw or encoded (RFC
//     3629 §3): overlong forms such as %C0%AE ('.') and %C0%AF ('/') are
//     read as those characters by lenient decoders (the IIS "Unicode"
//     traversal);
//   - a segment that ends in '.' or a space, raw or encoded ("/admin.",
//     "/admin%2e", "/admin%20"): Windows and IIS drop them, so "/admin."
//     is "/admin" there ("." and ".." segments are resolved, not refused);
//   - with refuseLookalikes, a non-ASCII character whose compatibility
//     normalisation (NFKC, UAX #15) contains ASCII: the full-width
//     "%EF%BD%81dmin" is "admin" to an application that normalises with
//     NFKC (and so is "ſ" for "s", the Kelvin sign for "K");
//   - control characters and spaces, raw or encoded (%00 cuts the path
//     short in C code), except an encoded space (%20), kept as is;
//   - an invalid or truncated encoding ("%", "%2", "%G1");
//   - anything that is not an origin-form path (RFC 9112 §3.2.1): the
//     absolute form "http://host/admin", "*", "".
//
// The four non-ASCII letters that Unicode case mapping turns into ASCII
// ones — 'İ' (U+0130) and 'ı' (U+0131) into 'i', 'ſ' (U+017F) into 's',
// the Kelvin sign (U+212A) into 'k' — are replaced by that ASCII letter:
// Java's equalsIgnoreCase and .NET's OrdinalIgnoreCase match "/admın"
// with "/admin". Segments are then compared case-insensitively
// (matchPrefix).
//
// normalizePath allocates only when dst must grow.
func normalizePath(dst, target []byte, refuseLookalikes bool) ([]byte, bool) {
	// A request target never carries a fragment (RFC 9112 §3.2; "#" is
	// not allowed raw in a path or query, RFC 3986 §3.3-3.4). A raw "#"
	// means a proxy passed something a browser would not send, and
	// applications disagree about it (nginx forwards it, Go's file server
	// reads past it): refuse rather than guess.
	if bytes.IndexByte(target, '#') >= 0 {
		return dst, false
	}
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	if len(target) == 0 || target[0] != '/' {
		return dst, false
	}
	start := len(dst)
	// segStarts remembers where each output segment begins so ".." can
	// drop the last one; a fixed array keeps this allocation-free and
	// bounds the depth an attacker can ask for.
	var segStarts [64]int
	depth := 0
	for i := 0; i < len(target); {
		if target[i] == '/' { // repeated slashes collapse
			i++
			continue
		}
		segStart := len(dst)
		dst = append(dst, '/')
		nonASCII := false // the segment holds an encoded byte >= 0x80
		var u utf8State
		for i < len(target) && target[i] != '/' {
			c := target[i]
			if c == '%' {
				if i+2 >= len(target) || unhex(target[i+1]) < 0 || unhex(target[i+2]) < 0 {
					return dst[:start], false
				}
				d := byte(unhex(target[i+1])<<4 | unhex(target[i+2]))
				if d == '#' || d == '?' || !u.next(d) {
					return dst[:start], false
				}
				switch pathClass[d] {
				case classRaw:
					if !isUnreserved(d) {
						// Encoded sub-delims, ':' and '@' stay encoded:
						// RFC 3986 §2.2 makes them differ from the raw
						// character.
						dst = append(dst, '%', upperHex[d>>4], upperHex[d&15])
					} else {
						dst = append(dst, d)
					}
				case classEncode:
					dst = append(dst, '%', upperHex[d>>4], upperHex[d&15])
					nonASCII = nonASCII || d >= 0x80
				default:
					if d != ' ' {
						return dst[:start], false
					}
					dst = append(dst, "%20"...)
				}
				i += 3
				continue
			}
			if !u.next(c) {
				return dst[:start], false
			}
			switch pathClass[c] {
			case classRaw:
				dst = append(dst, c)
			case classEncode:
				dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
				nonASCII = nonASCII || c >= 0x80
			default:
				return dst[:start], false
			}
			i++
		}
		if !u.complete() {
			return dst[:start], false
		}
		if nonASCII {
			if refuseLookalikes && hasASCIILookalike(dst[segStart+1:]) {
				return dst[:start], false
			}
			dst = dst[:segStart+1+foldLookalikes(dst[segStart+1:])]
		}
		switch seg := dst[segStart+1:]; {
		case len(seg) == 1 && seg[0] == '.':
			dst = dst[:segStart]
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			if depth == 0 {
				return dst[:start], false
			}
			depth--
			dst = dst[:segStarts[depth]]
		case trimmedByWindows(seg):
			return dst[:start], false
		default:
			if depth == len(segStarts) {
				return dst[:start], false
			}
			segStarts[depth] = segStart
			depth++
		}
	}
	if len(dst) == start {
		dst = append(dst, '/')
	}
	return dst, true
}

// foldLookalikes replaces, in place, each (canonically encoded) non-ASCII
// letter that a case mapping turns into an ASCII one by that letter, and
// returns the segment's new length. No other code point maps to ASCII
// under Unicode's simple case mappings or case folding.
func foldLookalikes(seg []byte) int {
	w := 0
	for r := 0; r < len(seg); {
		if seg[r] == '%' {
			var c byte
			var n int
			switch rest := seg[r:]; {
			case len(rest) >= 6 && (string(rest[:6]) == "%C4%B0" || string(rest[:6]) == "%C4%B1"):
				c, n = 'i', 6
			case len(rest) >= 6 && string(rest[:6]) == "%C5%BF":
				c, n = 's', 6
			case len(rest) >= 9 && string(rest[:9]) == "%E2%84%AA":
				c, n = 'k', 9
			}
			if n > 0 {
				seg[w] = c
				w++
				r += n
				continue
			}
		}
		seg[w] = seg[r]
		w++
		r++
	}
	return w
}

// Byte classes of a path segment, raw or percent-decoded.
const (
	classDeny   = iota // never in a path we match: deny the request
	classRaw           // pchar (RFC 3986 §3.3) but ';'
	classEncode        // not allowed raw in a path: percent-encode it
)

// pathClass is the class of each byte. '%' is classDeny: a raw '%' starts
// an encoding (handled before the lookup), an encoded one (%25) is denied.
var pathClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch b := byte(c); {
		case b <= ' ' || b == 0x7f || b == '\\' || b == ';' || b == '%' || b == '/':
			t[c] = classDeny
		case isUnreserved(b) || bytes.IndexByte([]byte("!$&'()*+,=:@"), b) >= 0:
			t[c] = classRaw
		default:
			t[c] = classEncode
		}
	}
	return t
}()

const upperHex = "0123456789ABCDEF"

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// isUnreserved: RFC 3986 §2.3.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// matchPrefix reports whether the normalised path is prefix or lies below
// it, on whole segments: "/admin" matches "/admin" and "/admin/x", not
// "/administrator".
//
// ASCII letters compare case-insensitively, although RFC 3986 §6.2.2.1
// makes paths case-sensitive: Express, ASP.NET Core and IIS route "/ADMIN"
// to "/admin" by default, and a case-sensitive rule would let "/ADMIN"
// escape the "/admin" rule there. The cost is the other way round: on a
// case-sensitive application "/PUBLIC/x" gets the "/public" rule too.
// Other non-ASCII letters compare exactly (normalizePath folds only those
// that case mapping turns into ASCII): a rule on a non-ASCII prefix does
// not cover its other-case spellings ("/CAF%C3%89" is not "/caf%C3%A9").
func matchPrefix(path []byte, prefix string) bool {
	if prefix == "/" {
		return true
	}
	if len(path) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		a, b := path[i], prefix[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return len(path) == len(prefix) || path[len(prefix)] == '/'
}

// trimmedByWindows reports whether Windows and IIS would drop the end of a
// (canonically encoded) segment: a trailing '.' or space. The "." and
// ".." segments are handled before this is asked.
func trimmedByWindows(seg []byte) bool {
	n := len(seg)
	return n > 0 && seg[n-1] == '.' || n >= 3 && string(seg[n-3:]) == "%20"
}

// utf8State validates a segment's decoded bytes as UTF-8 one byte at a
// time (RFC 3629 §4 syntax: no overlong forms, no surrogates, nothing
// above U+10FFFF), without decoding into a buffer.
type utf8State struct {
	need   uint8 // continuation bytes still expected
	lo, hi byte  // range of the next continuation byte
}

func (u *utf8State) next(b byte) bool {
	if u.need > 0 {
		if b < u.lo || b > u.hi {
			return false
		}
		u.need--
		u.lo, u.hi = 0x80, 0xBF
		return true
	}
	u.lo, u.hi = 0x80, 0xBF
	switch {
	case b < 0x80:
	case b >= 0xC2 && b <= 0xDF:
		u.need = 1
	case b == 0xE0:
		u.need, u.lo = 2, 0xA0
	case b >= 0xE1 && b <= 0xEC, b == 0xEE, b == 0xEF:
		u.need = 2
	case b == 0xED:
		u.need, u.hi = 2, 0x9F
	case b == 0xF0:
		u.need, u.lo = 3, 0x90
	case b >= 0xF1 && b <= 0xF3:
		u.need = 3
	case b == 0xF4:
		u.need, u.hi = 3, 0x8F
	default: // a continuation byte first, C0, C1, F5 and above
		return false
	}
	return true
}

func (u *utf8State) complete() bool { return u.need == 0 }

// hasASCIILookalike reports whether a (canonically encoded, valid UTF-8)
// segment holds a non-ASCII character whose compatibility decomposition
// (NFKC, UAX #15) contains an ASCII character: full-width and other
// compatibility forms of letters, digits and punctuation ("ａ" is "a",
// "①" is "1", "℡" is "TEL"). Each character is normalised on its own,
// which is conservative: one that would recombine with a following mark
// into a non-ASCII letter is refused too.
func hasASCIILookalike(seg []byte) bool {
	var buf [utf8.UTFMax]byte
	for r := 0; r < len(seg); {
		if seg[r] != '%' {
			r++
			continue
		}
		// Decode one encoded character: its lead byte says how many
		// encoded bytes follow (validated by utf8State already).
		n := 0
		for n < len(buf) && r+2 < len(seg) && seg[r] == '%' {
			b := byte(unhex(seg[r+1])<<4 | unhex(seg[r+2]))
			if n > 0 && b&0xC0 != 0x80 {
				break
			}
			if n == 0 && b < 0x80 {
				break
			}
			buf[n] = b
			n++
			r += 3
			if utf8.FullRune(buf[:n]) {
				break
			}
		}
		if n == 0 {
			r += 3 // an encoded ASCII byte
			continue
		}
		if norm.NFKC.IsNormal(buf[:n]) {
			continue // its NFKC form is itself: not ASCII
		}
		var out [4 * utf8.UTFMax]byte
		for _, c := range norm.NFKC.Append(out[:0], buf[:n]...) {
			if c < 0x80 {
				return true
			}
		}
	}
	return false
}
