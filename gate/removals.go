package gate

import "bytes"

// appendRemovals appends to dst, separated by ", ", the header names a
// proxy must remove from an allowed request after it has set set (as
// Envoy's ext_authz does: it removes after it sets): every name of remove
// that set does not hold, and the "_" spelling of every name of remove
// ("X_Auth_Subject"), which CGI-style application servers (PHP, WSGI,
// Rack) read as the same header and which tokengate never sets. It runs
// when a Token is rendered and when a configuration is built, never per
// request.
func appendRemovals(dst []byte, remove [][]byte, set []Header) []byte {
	for _, name := range remove {
		if !holds(set, name) {
			dst = appendListItem(dst, name)
		}
		if bytes.IndexByte(name, '-') >= 0 {
			if len(dst) > 0 {
				dst = append(dst, ", "...)
			}
			for _, c := range name {
				if c == '-' {
					c = '_'
				}
				dst = append(dst, c)
			}
		}
	}
	return dst
}

func appendListItem(dst, name []byte) []byte {
	if len(dst) > 0 {
		dst = append(dst, ", "...)
	}
	return append(dst, name...)
}

// holds reports whether set has a header called name (both canonical).
func holds(set []Header, name []byte) bool {
	for _, h := range set {
		if bytes.Equal(h.Name, name) {
			return true
		}
	}
	return false
}
