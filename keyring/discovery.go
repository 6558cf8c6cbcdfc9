package keyring

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// discover returns the "jwks_uri" of the OpenID Provider configuration
// (OIDC Discovery §3, §4).
func (m *remote) discover(ctx context.Context) (string, error) {
	u := m.name
	resp, err := m.get1(ctx, u, "application/json", "")
	if err != nil {
		return "", err
	}
	if resp.code == http.StatusNotModified {
		return "", &FetchError{URL: u, StatusCode: resp.code, Err: errors.New("304 Not Modified to an unconditional request")}
	}
	jwks, err := parseDiscovery(resp.body, m.cfg.Issuer, m.cfg.AllowHTTP)
	if err != nil {
		return "", &FetchError{URL: u, Err: err}
	}
	return jwks, nil
}

// parseDiscovery reads an OpenID Provider configuration (OIDC Discovery
// 1.0 §3) and returns its "jwks_uri", after checking that its "issuer" is
// the configured one and that the URI may be fetched.
func parseDiscovery(body []byte, issuer string, allowHTTP bool) (string, error) {
	var d jsonx.Doc
	if err := d.Parse(body, jsonLimits); err != nil {
		return "", &detail{kind: ErrMalformed, msg: "invalid JSON in the OpenID Provider configuration", err: err}
	}
	root := d.Root()
	if root.Kind() != jsonx.Object {
		return "", errf(ErrMalformed, "OpenID Provider configuration is not a JSON object")
	}
	// OIDC Discovery §4.3: "The issuer value returned MUST be identical
	// to the Issuer URL that was used as the prefix to
	// /.well-known/openid-configuration". Otherwise one provider could
	// publish keys for another's tokens.
	iss := root.Get("issuer")
	if iss.Kind() != jsonx.String {
		return "", errf(ErrMalformed, `no "issuer" string in the OpenID Provider configuration`)
	}
	if string(iss.Str()) != issuer {
		return "", errf(ErrIssuerMismatch, "document names issuer %q, configured %q", clip(iss.Str()), issuer)
	}
	ju := root.Get("jwks_uri")
	if ju.Kind() != jsonx.String {
		return "", errf(ErrMalformed, `no "jwks_uri" string in the OpenID Provider configuration`)
	}
	jwks := string(ju.Str())
	if err := checkRawURL(jwks, allowHTTP); err != nil {
		return "", fmt.Errorf("jwks_uri %q: %w", clip(ju.Str()), err)
	}
	return jwks, nil
}
