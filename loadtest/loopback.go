package loadtest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrNotLoopback is returned for a URL or address outside the loopback
// range: the load generator never sends traffic to another machine.
var ErrNotLoopback = errors.New("loadtest: refusing a target that is not loopback (127.0.0.0/8, ::1, localhost)")

// IsLoopbackHost reports whether host (a name or an IP literal, brackets
// allowed) is loopback: "localhost", an address in 127.0.0.0/8 or ::1
// (IPv4-mapped forms included). No name is resolved here; connections are
// checked again after resolution (see loopbackDial).
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.EqualFold(host, "localhost.") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return false
	}
	return ip.Unmap().IsLoopback()
}

// CheckLoopbackURL parses an http:// URL and refuses it unless its host is
// loopback.
func CheckLoopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("loadtest: bad URL %q: %w", raw, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("loadtest: URL %q: only http:// is supported", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("loadtest: URL %q: credentials in the URL are not supported", raw)
	}
	if !IsLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, u.Host)
	}
	return u, nil
}

// loopbackDial dials TCP and refuses, before connecting, any resolved
// address that is not loopback (a "localhost" that resolves elsewhere).
func loopbackDial(timeout time.Duration) func(addr string) (net.Conn, error) {
	d := &net.Dialer{
		Timeout: timeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !ip.Unmap().IsLoopback() {
				return fmt.Errorf("%w: resolved to %s", ErrNotLoopback, address)
			}
			return nil
		},
	}
	return func(addr string) (net.Conn, error) { return d.Dial("tcp", addr) }
}
