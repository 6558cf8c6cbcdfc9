package sidecar

import "bytes"

// normalizePath turns the original request target into the canonical path
// that route rules are matched against, appending it to dst. ok is false
// for anything that cannot be normalised without guessing; such requests
// are denied, never matched loosely (Istio CVE-2020-8595, Envoy
// CVE-2023-27487 were rule bypasses through paths the proxy and the rule
// engine read differently).
//
// Steps (RFC 3986 §6.2.2): the query and fragment are cut off; percent-
// encoded unreserved characters are decoded and other encodings kept with
// upper-case hex; an encoded '/' or '\' and an invalid encoding are denied;
// repeated slashes are collapsed; "." and ".." segments are resolved
// (§5.2.4), and ".." above the root is denied. A trailing slash is
// dropped: rules match on whole segments, so "/a/" and "/a" are the same.
func normalizePath(dst, target []byte) ([]byte, bool) {
	if i := bytes.IndexAny(target, "?#"); i >= 0 {
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
		for i < len(target) && target[i] != '/' {
			c := target[i]
			if c == '%' {
				if i+2 >= len(target) || unhex(target[i+1]) < 0 || unhex(target[i+2]) < 0 {
					return dst[:start], false
				}
				d := byte(unhex(target[i+1])<<4 | unhex(target[i+2]))
				switch {
				case d == '/' || d == '\\':
					return dst[:start], false
				case isUnreserved(d):
					dst = append(dst, d)
				default:
					dst = append(dst, '%', upperHex[d>>4], upperHex[d&15])
				}
				i += 3
				continue
			}
			if c < 0x21 || c == 0x7f {
				return dst[:start], false // raw control characters or spaces
			}
			dst = append(dst, c)
			i++
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
func matchPrefix(path []byte, prefix string) bool {
	if prefix == "/" {
		return true
	}
	if len(path) < len(prefix) || string(path[:len(prefix)]) != prefix {
		return false
	}
	return len(path) == len(prefix) || path[len(prefix)] == '/'
}
