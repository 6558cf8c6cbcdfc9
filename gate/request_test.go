package gate_test

import (
	"errors"
	"testing"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/verifier"
)

// TestCombinedAuthorizationIsTwoCredentials: Envoy's ext_authz combines
// duplicate Authorization headers into one value separated by commas
// (RFC 9110 §5.3) before it asks, over gRPC and in HTTP mode alike. Such a
// value is as ambiguous as the two header lines it came from, and is
// refused the same way, whichever front end it came through.
func TestCombinedAuthorizationIsTwoCredentials(t *testing.T) {
	e := newEnv(t, nil)
	tok, other := sign(t, e.es, nil), sign(t, e.es, map[string]any{"sub": "admin"})
	for name, auth := range map[string]string{
		"two tokens":              "Bearer " + tok + ",Bearer " + other,
		"two tokens, a space":     "Bearer " + tok + ", Bearer " + other,
		"the same token twice":    "Bearer " + tok + ",Bearer " + tok,
		"Bearer and Basic":        "Bearer " + tok + ",Basic YTpi",
		"a tab before the second": "Bearer " + tok + ",\tBearer " + other,
		"an empty one between":    "Bearer " + tok + ",,Bearer " + other,
	} {
		d := e.check(req{auth: []string{auth}})
		if d.Allow || d.Status != 401 || d.Code != verifier.CodeInvalidRequest || !errors.Is(d.Err, gate.ErrTwoCredentials) {
			t.Errorf("%s: %d %q %q, want 401 invalid_request", name, d.Status, d.Code, d.Reason)
		}
	}
	if d := e.check(bearer(tok)); d.Status != 200 {
		t.Errorf("one token: %d %q", d.Status, d.Reason)
	}
	// A comma that does not start another credential is part of the one
	// credential there is: a malformed token, refused as one.
	for name, auth := range map[string]string{
		"a comma in the token": "Bearer " + tok[:10] + "," + tok[10:],
		"a trailing comma":     "Bearer " + tok + ",",
		"auth-params":          `Bearer ` + tok + `, realm="x"`,
	} {
		d := e.check(req{auth: []string{auth}})
		if d.Allow || d.Status != 401 || d.Code != verifier.CodeInvalidToken {
			t.Errorf("%s: %d %q %q, want 401 invalid_token", name, d.Status, d.Code, d.Reason)
		}
	}
}

// TestCombinedCookieLines: two Cookie lines that Envoy combined with ","
// read as the two lines they were: a token among other cookies is found,
// the token in both is two credentials.
func TestCombinedCookieLines(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) { c.Token = gate.TokenSources{Cookie: "at"} })
	tok, other := sign(t, e.es, nil), sign(t, e.es, map[string]any{"sub": "admin"})
	if d := e.check(req{cookies: []string{"a=1; b=2,at=" + tok}}); d.Status != 200 {
		t.Errorf("token in the second combined line: %d %q", d.Status, d.Reason)
	}
	if d := e.check(req{cookies: []string{"at=" + tok + ",at=" + other}}); d.Status != 401 || !errors.Is(d.Err, gate.ErrTwoCredentials) {
		t.Errorf("token in both combined lines: %d %q, want two credentials", d.Status, d.Reason)
	}
}
