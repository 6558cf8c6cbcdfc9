package keyring

import (
	"net/url"
	"testing"
)

// FuzzParseDiscovery: an OpenID Provider configuration is attacker-shaped
// input when the provider or the path to it is hostile. No input panics,
// and whatever is accepted names exactly the configured issuer and a
// jwks_uri that is an absolute https URL (http only for loopback hosts when
// allowed).
func FuzzParseDiscovery(f *testing.F) {
	const iss = "https://login.example.com/realms/main"
	for _, s := range []string{
		`{"issuer":"https://login.example.com/realms/main","jwks_uri":"https://login.example.com/realms/main/certs"}`,
		`{"issuer":"https://login.example.com/realms/main/","jwks_uri":"https://x/certs"}`,
		`{"issuer":"https://login.example.com/realms/main","jwks_uri":"http://127.0.0.1:8080/certs"}`,
		`{"issuer":"https://login.example.com/realms/main","jwks_uri":"https://user:pw@x/certs"}`,
		`{"issuer":"https://login.example.com/realms/main","jwks_uri":"//x/certs"}`,
		`{"issuer":"https://login.example.com/realms/main","issuer":"https://evil"}`,
		`{"issuer":1,"jwks_uri":[]}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, allowHTTP bool) {
		u, err := parseDiscovery(body, iss, allowHTTP)
		if err != nil {
			return
		}
		p, perr := url.Parse(u)
		if perr != nil || p.Host == "" || p.User != nil {
			t.Fatalf("accepted jwks_uri %q", u)
		}
		switch p.Scheme {
		case "https":
		case "http":
			if !allowHTTP || !isLoopback(p.Hostname()) {
				t.Fatalf("accepted plain http jwks_uri %q (allowHTTP %v)", u, allowHTTP)
			}
		default:
			t.Fatalf("accepted jwks_uri scheme %q", p.Scheme)
		}
	})
}
