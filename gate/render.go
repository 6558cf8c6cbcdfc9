package gate

import (
	"bytes"

	"github.com/tokengate/tokengate/verifier"
)

// Rendering claims into header values. Each function appends to dst and
// reports false when the value cannot be written in its format without
// changing it or making it read like another value; the caller then
// refuses the token. Nothing is ever dropped, trimmed or cut.

// appendClaim appends claim c in format f.
func appendClaim(dst []byte, c verifier.Claim, f HeaderFormat) ([]byte, bool) {
	switch f {
	case FormatJSON:
		return appendCompactJSON(dst, c.Raw()), true
	case FormatSF:
		return appendSF(dst, c)
	}
	return appendText(dst, c)
}

// appendScopes appends the token's scopes in format f.
func appendScopes(dst []byte, scopes [][]byte, f HeaderFormat) ([]byte, bool) {
	if len(scopes) == 0 {
		return dst, true
	}
	for i, s := range scopes {
		switch f {
		case FormatJSON:
			if i == 0 {
				dst = append(dst, '[')
			} else {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, s)
		case FormatSF:
			if i > 0 {
				dst = append(dst, ", "...)
			}
			var ok bool
			if dst, ok = appendSFString(dst, s); !ok {
				return dst, false
			}
		default:
			// Scopes are joined by spaces (RFC 6749 §3.3), so one that
			// holds a space (an "scp" array element) would read as two.
			if !isScopeToken(s) {
				return dst, false
			}
			if i > 0 {
				dst = append(dst, ' ')
			}
			dst = append(dst, s...)
		}
	}
	if f == FormatJSON {
		dst = append(dst, ']')
	}
	return dst, true
}

// appendText appends c as plain text: a string as it is, a number as its
// JSON text, true/false, null as nothing, an array of scalars joined by
// ",".
func appendText(dst []byte, c verifier.Claim) ([]byte, bool) {
	switch c.Kind() {
	case verifier.KindArray:
		for i := 0; i < c.Len(); i++ {
			e := c.Index(i)
			if i > 0 {
				dst = append(dst, ',')
			}
			start := len(dst)
			var ok bool
			if dst, ok = appendScalarText(dst, e); !ok {
				return dst, false
			}
			// An element that is empty or holds the separator would
			// change how many elements a reader splits out.
			if el := dst[start:]; len(el) == 0 || bytes.IndexByte(el, ',') >= 0 {
				return dst, false
			}
		}
		return dst, true
	case verifier.KindNull:
		return dst, true
	}
	return appendScalarText(dst, c)
}

func appendScalarText(dst []byte, c verifier.Claim) ([]byte, bool) {
	switch c.Kind() {
	case verifier.KindString:
		s := c.Str()
		if !textSafe(s) {
			return dst, false
		}
		return append(dst, s...), true
	case verifier.KindNumber:
		return append(dst, c.Raw()...), true
	case verifier.KindTrue:
		return append(dst, "true"...), true
	case verifier.KindFalse:
		return append(dst, "false"...), true
	}
	return dst, false // object, nested array, null inside an array
}

// textSafe reports whether s can be a header value exactly: no control
// character or DEL (RFC 9110 §5.5: CR and LF would inject headers, NUL
// cuts C strings, and proxies drop or reject the others), and no white
// space at either end (§5.5: parsers strip it, so " admin" would arrive
// as "admin"). Non-ASCII UTF-8 passes as it is.
func textSafe(s []byte) bool {
	if len(s) > 0 && (s[0] == ' ' || s[len(s)-1] == ' ') {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// appendCompactJSON appends the JSON text raw (valid JSON, from the strict
// parser) without the white space between tokens, and with DEL inside
// strings escaped: the result has no control characters, and decoding it
// gives the claim's value exactly. (Raw JSON strings hold no control
// characters: the parser refuses them unescaped.)
func appendCompactJSON(dst, raw []byte) []byte {
	inString, escaped := false, false
	for _, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			case c == 0x7f:
				dst = append(dst, `\u007f`...)
				continue
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// appendJSONString appends s as a JSON string, escaping '"', '\', control
// characters and DEL.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// appendSF appends c as an RFC 8941 structured field: an Item for a
// scalar, a List for an array of scalars.
func appendSF(dst []byte, c verifier.Claim) ([]byte, bool) {
	switch c.Kind() {
	case verifier.KindNull:
		return dst, true
	case verifier.KindArray:
		for i := 0; i < c.Len(); i++ {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			var ok bool
			if dst, ok = appendSFItem(dst, c.Index(i)); !ok {
				return dst, false
			}
		}
		return dst, true
	}
	return appendSFItem(dst, c)
}

func appendSFItem(dst []byte, c verifier.Claim) ([]byte, bool) {
	switch c.Kind() {
	case verifier.KindString:
		return appendSFString(dst, c.Str())
	case verifier.KindNumber:
		// RFC 8941 §3.3.1: an Integer has at most 15 digits. JSON
		// fractions and exponents are refused rather than rounded.
		raw := c.Raw()
		digits := bytes.TrimPrefix(raw, []byte{'-'})
		if len(digits) == 0 || len(digits) > 15 {
			return dst, false
		}
		for _, d := range digits {
			if d < '0' || d > '9' {
				return dst, false
			}
		}
		return append(dst, raw...), true
	case verifier.KindTrue:
		return append(dst, "?1"...), true
	case verifier.KindFalse:
		return append(dst, "?0"...), true
	}
	return dst, false
}

// appendSFString appends an RFC 8941 §3.3.3 String: printable ASCII only,
// with '"' and '\' escaped.
func appendSFString(dst, s []byte) ([]byte, bool) {
	dst = append(dst, '"')
	for _, c := range s {
		if c < 0x20 || c > 0x7e {
			return dst, false
		}
		if c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return append(dst, '"'), true
}
