package gatereq

import (
	"bytes"

	"github.com/tokengate/tokengate/gate"
)

// AppendRemovals appends to dst, separated by ", ", the header names a
// proxy must remove from an allowed request after it has set d.Set (as
// Envoy's ext_authz does: it removes after it sets): every name of
// d.Remove that d does not set, and the "_" spelling of every name of
// d.Remove ("X_Auth_Subject"), which CGI-style application servers (PHP,
// WSGI, Rack) read as the same header and which tokengate never sets.
// It allocates only when dst must grow.
func AppendRemovals(dst []byte, d *gate.Decision) []byte {
	for _, name := range d.Remove {
		if !isSet(d, name) {
			dst = appendName(dst, name)
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

func appendName(dst, name []byte) []byte {
	if len(dst) > 0 {
		dst = append(dst, ", "...)
	}
	return append(dst, name...)
}

// isSet reports whether d sets the header called name (both canonical).
func isSet(d *gate.Decision, name []byte) bool {
	for _, h := range d.Set {
		if bytes.Equal(h.Name, name) {
			return true
		}
	}
	return false
}
