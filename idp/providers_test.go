package idp_test

import (
	"cmp"
	"maps"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// provider is an identity provider as the test serves it: JSON documents by
// path on its host (discovery, JWK Set) and tokens it issued, each with
// what tokengate must answer.
type provider struct {
	host   string
	docs   map[string]any
	tokens []tokenCase
}

type tokenCase struct {
	name         string
	token        string
	method, path string // the original request (GET / when empty)
	status       int
	auth         map[string]string // on 200: exactly these X-Auth-* headers
}

// TestProviders runs tokengate with each provider's README configuration
// against a server publishing that provider's documents, and checks every
// token's answer and X-Auth-* headers. The shapes (header members, claims,
// key members) follow each provider's documentation and published
// examples; see each builder.
func TestProviders(t *testing.T) {
	configs := readmeConfigs(t)
	for _, tc := range []struct {
		name  string // README.md "### " title
		build func(*testing.T) provider
	}{
		{"Microsoft Entra ID", entraID},
		{"Keycloak", keycloak},
		{"Auth0", auth0},
		{"Okta", okta},
		{"Spring Authorization Server", springAuthorizationServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config, ok := configs[tc.name]
			if !ok {
				t.Fatalf("README.md: Providers has no %q subsection with a yaml block", tc.name)
			}
			p := tc.build(t)
			mux := http.NewServeMux()
			for path, doc := range p.docs {
				mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, "application/json", doc)
				})
			}
			g := startGateway(t, config, newInternet(t, map[string]http.Handler{p.host: mux}))
			for _, c := range p.tokens {
				t.Run(c.name, func(t *testing.T) {
					a := g.verify(t, c.token, c.method, c.path)
					if a.status != c.status {
						t.Fatalf("%s %s: status %d (%s), want %d", cmp.Or(c.method, "GET"), cmp.Or(c.path, "/"), a.status, a.challenge, c.status)
					}
					if c.status == http.StatusOK && !maps.Equal(a.auth, c.auth) {
						t.Errorf("X-Auth-* headers:\n got %v\nwant %v", a.auth, c.auth)
					}
				})
			}
		})
	}
}

// epoch is a token's time claims: issued now, valid for an hour.
type epoch struct{ iat, exp int64 }

func now() epoch {
	n := time.Now().Unix()
	return epoch{iat: n, exp: n + 3600}
}

func (e epoch) expires() string { return strconv.FormatInt(e.exp, 10) }

// entraID is Microsoft Entra ID's v2.0 endpoint for one tenant: the
// discovery document, a key set whose RSA keys have no "alg" but "x5c",
// "x5t" (equal to the kid) and an "issuer" member, and v2.0 access tokens
// for an API whose application ID is the audience (learn.microsoft.com:
// "Access token claims reference", "ID token claims reference").
func entraID(t *testing.T) provider {
	const (
		tenant = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
		api    = "00001111-aaaa-2222-bbbb-3333cccc4444" // the API's application (client) ID
		app    = "11112222-bbbb-3333-cccc-4444dddd5555" // the calling client's
		user   = "7d3a0c4e-89b1-4d1c-9d1f-2c8a0f4b3e21" // a user's object ID
		svc    = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d" // the client's service principal
	)
	base := "https://login.microsoftonline.com/" + tenant
	iss := base + "/v2.0"
	current, next := newRSAKey(t, "", "login.microsoftonline.com"), newRSAKey(t, "", "login.microsoftonline.com")
	forger := newRSAKey(t, current.kid, "login.microsoftonline.com")
	jwk := func(k *rsaKey) map[string]any {
		return map[string]any{"kty": "RSA", "use": "sig", "kid": k.kid, "x5t": k.x5t(), "n": k.n(), "e": k.e(),
			"x5c": k.x5c(), "cloud_instance_name": "microsoftonline.com", "issuer": iss}
	}
	e := now()
	header := func(k *rsaKey) string { return object("typ", "JWT", "alg", "RS256", "kid", k.kid) }
	delegated := func(aud string) map[string]any {
		return map[string]any{"aud": aud, "iss": iss, "iat": e.iat, "nbf": e.iat, "exp": e.exp,
			"aio": "AXQAi/8TAAAAr0L9Wm3mJ7QG1Q", "azp": app, "azpacr": "0", "name": "Megan Bowen",
			"oid": user, "preferred_username": "meganb@contoso.example", "rh": "0.ARoAv4j5cvGGr0GRqy180BHbR1",
			"scp": "Orders.Read Orders.Write", "sid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
			"sub": "n3X8lS6o3Qq9vJ2uGk1hXyZtR0pWcAeBdFgHiJkLmNo", "tid": tenant, "uti": "Cv7nL2kQ9E6pXn0bT3AAAA", "ver": "2.0"}
	}
	application := map[string]any{"aud": api, "iss": iss, "iat": e.iat, "nbf": e.iat, "exp": e.exp,
		"aio": "E2NgYJj9Z2kNvGm8", "azp": app, "azpacr": "1", "idtyp": "app", "oid": svc, "rh": "0.ARoAv4j5cvGGr0GRqy180BHbR1",
		"roles": []string{"Orders.Admin"}, "sub": svc, "tid": tenant, "uti": "kX2mP9qL4E6pXn0bT3BBBB", "ver": "2.0"}
	// An ID token of the API's own app registration (a single-page app
	// calling its own API): its aud is the API's ID too.
	idToken := map[string]any{"aud": api, "iss": iss, "iat": e.iat, "nbf": e.iat, "exp": e.exp,
		"aio": "AXQAi/8TAAAAr0L9Wm3mJ7QG1Q", "name": "Megan Bowen", "nonce": "2b8f4c1e9d7a",
		"oid": user, "preferred_username": "meganb@contoso.example", "rh": "0.ARoAv4j5cvGGr0GRqy180BHbR1",
		"sid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "sub": "n3X8lS6o3Qq9vJ2uGk1hXyZtR0pWcAeBdFgHiJkLmNo",
		"tid": tenant, "uti": "Zq1nL2kQ9E6pXn0bT3CCCC", "ver": "2.0"}
	v1 := delegated("api://orders")
	v1["iss"], v1["ver"] = "https://sts.windows.net/"+tenant+"/", "1.0"
	userAuth := func(k *rsaKey) map[string]string {
		return map[string]string{"x-auth-subject": "n3X8lS6o3Qq9vJ2uGk1hXyZtR0pWcAeBdFgHiJkLmNo", "x-auth-object-id": user,
			"x-auth-tenant": tenant, "x-auth-scope": "Orders.Read Orders.Write", "x-auth-key-id": k.kid}
	}
	return provider{
		host: "login.microsoftonline.com",
		docs: map[string]any{
			"/" + tenant + "/v2.0/.well-known/openid-configuration": map[string]any{
				"token_endpoint": base + "/oauth2/v2.0/token", "jwks_uri": base + "/discovery/v2.0/keys",
				"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
				"response_modes_supported":              []string{"query", "fragment", "form_post"},
				"subject_types_supported":               []string{"pairwise"},
				"id_token_signing_alg_values_supported": []string{"RS256"},
				"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
				"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
				"issuer":                                iss, "request_uri_parameter_supported": false,
				"userinfo_endpoint":      "https://graph.microsoft.com/oidc/userinfo",
				"authorization_endpoint": base + "/oauth2/v2.0/authorize", "end_session_endpoint": base + "/oauth2/v2.0/logout",
				"tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com", "msgraph_host": "graph.microsoft.com",
			},
			"/" + tenant + "/discovery/v2.0/keys": map[string]any{"keys": []any{jwk(current), jwk(next)}},
		},
		tokens: []tokenCase{
			{name: "delegated access token", token: current.sign(t, header(current), delegated(api)), status: 200, auth: userAuth(current)},
			{name: "token of the next published key", token: next.sign(t, header(next), delegated(api)), status: 200, auth: userAuth(next)},
			{name: "application token meets the roles rule", token: current.sign(t, header(current), application), path: "/admin", status: 200,
				auth: map[string]string{"x-auth-subject": svc, "x-auth-object-id": svc, "x-auth-tenant": tenant,
					"x-auth-roles": "Orders.Admin", "x-auth-key-id": current.kid}},
			{name: "delegated token lacks the role", token: current.sign(t, header(current), delegated(api)), path: "/admin", status: 403},
			{name: "token for Microsoft Graph", token: current.sign(t, header(current), delegated("00000003-0000-0000-c000-000000000000")), status: 401},
			{name: "v1.0 token", token: current.sign(t, header(current), v1), status: 401},
			{name: "ID token", token: current.sign(t, header(current), idToken), status: 401},
			{name: "forged with the current kid", token: forger.sign(t, header(forger), delegated(api)), status: 401},
		},
	}
}

// keycloak is a Keycloak realm: the discovery document, a key set with the
// realm's RS256 signing key (with "alg", "x5c", "x5t", "x5t#S256") and its
// RSA-OAEP encryption key, and access tokens whose payload "typ" is
// "Bearer", roles in realm_access and resource_access, and an audience
// mapper adding "orders-api" (keycloak.org server admin guide, "Audience
// support"; decoded tokens of Keycloak 26).
func keycloak(t *testing.T) provider {
	iss := "https://keycloak.example.com/realms/shop"
	sig := newRSAKey(t, "Zx3v0u6S1kO0qU9wH0m3tVdN8b2aQ7YpE5rL4cJ6fXg", "shop")
	enc := newRSAKey(t, "q1W2e3R4t5Y6u7I8o9P0aSdFgHjKlZxCvBnM1234567", "shop")
	jwk := func(k *rsaKey, alg, use string) map[string]any {
		return map[string]any{"kid": k.kid, "kty": "RSA", "alg": alg, "use": use, "n": k.n(), "e": k.e(),
			"x5c": k.x5c(), "x5t": k.x5t(), "x5t#S256": k.x5tS256()}
	}
	e := now()
	header := object("alg", "RS256", "typ", "JWT", "kid", sig.kid)
	user := func(aud any, realmRoles ...string) map[string]any {
		return map[string]any{"exp": e.exp, "iat": e.iat, "jti": "onrtac:2f1c9a7e-4b3d-4e8a-9c6f-1a2b3c4d5e6f",
			"iss": iss, "aud": aud, "sub": "f3c1a2b4-5d6e-4f70-8a9b-0c1d2e3f4a5b", "typ": "Bearer", "azp": "orders-web",
			"sid": "8d7c6b5a-4f3e-4d2c-1b0a-9f8e7d6c5b4a", "acr": "1", "allowed-origins": []string{"https://shop.example.com"},
			"realm_access":    map[string]any{"roles": realmRoles},
			"resource_access": map[string]any{"orders-api": map[string]any{"roles": []string{"orders-reader"}}, "account": map[string]any{"roles": []string{"manage-account", "view-profile"}}},
			"scope":           "openid profile email", "email_verified": true, "name": "Alice Liddell", "preferred_username": "alice",
			"given_name": "Alice", "family_name": "Liddell", "email": "alice@example.com"}
	}
	service := map[string]any{"exp": e.exp, "iat": e.iat, "jti": "trtcc:6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d",
		"iss": iss, "aud": "orders-api", "sub": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "typ": "Bearer", "azp": "orders-batch",
		"acr": "1", "realm_access": map[string]any{"roles": []string{"default-roles-shop"}},
		"scope": "profile email", "clientHost": "10.0.4.17", "email_verified": false,
		"preferred_username": "service-account-orders-batch", "clientAddress": "10.0.4.17", "client_id": "orders-batch"}
	idToken := map[string]any{"exp": e.exp, "iat": e.iat, "auth_time": e.iat - 30, "jti": "ofrtac:5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b",
		"iss": iss, "aud": "orders-web", "sub": "f3c1a2b4-5d6e-4f70-8a9b-0c1d2e3f4a5b", "typ": "ID", "azp": "orders-web",
		"nonce": "b7f3c1d9", "sid": "8d7c6b5a-4f3e-4d2c-1b0a-9f8e7d6c5b4a", "at_hash": "Xh2bVx6q8dWbZk3vN0cF7A", "acr": "1",
		"email_verified": true, "name": "Alice Liddell", "preferred_username": "alice", "email": "alice@example.com"}
	roles := []string{"default-roles-shop", "offline_access", "uma_authorization"}
	admin := append(roles[:len(roles):len(roles)], "admin")
	auth := func(realmRoles string) map[string]string {
		return map[string]string{"x-auth-subject": "f3c1a2b4-5d6e-4f70-8a9b-0c1d2e3f4a5b", "x-auth-user": "alice",
			"x-auth-scope": "openid profile email", "x-auth-roles": realmRoles, "x-auth-api-roles": "orders-reader",
			"x-auth-key-id": sig.kid}
	}
	return provider{
		host: "keycloak.example.com",
		docs: map[string]any{
			"/realms/shop/.well-known/openid-configuration": map[string]any{
				"issuer": iss, "authorization_endpoint": iss + "/protocol/openid-connect/auth",
				"token_endpoint": iss + "/protocol/openid-connect/token", "introspection_endpoint": iss + "/protocol/openid-connect/token/introspect",
				"userinfo_endpoint": iss + "/protocol/openid-connect/userinfo", "end_session_endpoint": iss + "/protocol/openid-connect/logout",
				"jwks_uri":                              iss + "/protocol/openid-connect/certs",
				"grant_types_supported":                 []string{"authorization_code", "implicit", "refresh_token", "password", "client_credentials"},
				"response_types_supported":              []string{"code", "none", "id_token", "token", "id_token token", "code id_token"},
				"subject_types_supported":               []string{"public", "pairwise"},
				"id_token_signing_alg_values_supported": []string{"PS384", "RS384", "EdDSA", "ES384", "HS256", "HS512", "ES256", "RS256", "HS384", "ES512", "PS256", "PS512", "RS512"},
				"scopes_supported":                      []string{"openid", "profile", "email", "roles", "web-origins", "acr", "offline_access"},
			},
			"/realms/shop/protocol/openid-connect/certs": map[string]any{"keys": []any{jwk(enc, "RSA-OAEP", "enc"), jwk(sig, "RS256", "sig")}},
		},
		tokens: []tokenCase{
			{name: "user access token", token: sig.sign(t, header, user([]string{"orders-api", "account"}, roles...)), status: 200,
				auth: auth("default-roles-shop,offline_access,uma_authorization")},
			{name: "realm role admin meets the /admin rule", token: sig.sign(t, header, user([]string{"orders-api", "account"}, admin...)), path: "/admin", status: 200,
				auth: auth("default-roles-shop,offline_access,uma_authorization,admin")},
			{name: "no realm role admin", token: sig.sign(t, header, user([]string{"orders-api", "account"}, roles...)), path: "/admin", status: 403},
			{name: "service account token", token: sig.sign(t, header, service), path: "/orders", status: 200,
				auth: map[string]string{"x-auth-subject": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "x-auth-user": "service-account-orders-batch",
					"x-auth-scope": "profile email", "x-auth-roles": "default-roles-shop", "x-auth-key-id": sig.kid}},
			{name: "aud account only (no audience mapper)", token: sig.sign(t, header, user("account", roles...)), status: 401},
			{name: "ID token", token: sig.sign(t, header, idToken), status: 401},
			{name: "signed with the realm's encryption key", token: enc.sign(t, object("alg", "RS256", "typ", "JWT", "kid", enc.kid), user([]string{"orders-api"}, admin...)), status: 401},
		},
	}
}

// auth0 is an Auth0 tenant: the discovery document, a key set of two
// RS256 keys with "alg", "x5c" and "x5t" (the current and the next), and
// access tokens of the default (Auth0) token profile with RBAC: "scope" a
// string, "permissions" an array, a namespaced custom claim, and "aud" an
// array naming the userinfo endpoint too (auth0.com/docs: "Access Token
// Profiles", "Create Custom Claims").
func auth0(t *testing.T) provider {
	iss := "https://example.us.auth0.com/"
	const client = "7mYvX3kQ9zR2pL5nB8cD1eF4gH6jK0aS"
	current, next := newRSAKey(t, "pQ3vXz9nK2mLr8sT1uW4yA", "example.us.auth0.com"), newRSAKey(t, "bN7cD2fG5hJ8kL1mP4qR6s", "example.us.auth0.com")
	jwk := func(k *rsaKey) map[string]any {
		return map[string]any{"kty": "RSA", "use": "sig", "n": k.n(), "e": k.e(), "kid": k.kid, "x5t": k.x5t(), "x5c": k.x5c(), "alg": "RS256"}
	}
	e := now()
	header := object("alg", "RS256", "typ", "JWT", "kid", current.kid)
	user := map[string]any{"https://example.com/roles": []string{"orders-admin"}, "iss": iss, "sub": "auth0|64f1c2a9e3b7d1a2b3c4d5e6",
		"aud": []string{"https://api.example.com/orders", iss + "userinfo"}, "iat": e.iat, "exp": e.exp,
		"scope": "openid profile email read:orders write:orders", "azp": client, "permissions": []string{"read:orders", "write:orders"}}
	m2m := map[string]any{"iss": iss, "sub": client + "@clients", "aud": "https://api.example.com/orders", "iat": e.iat, "exp": e.exp,
		"scope": "read:orders delete:orders", "gty": "client-credentials", "azp": client, "permissions": []string{"read:orders", "delete:orders"}}
	other := maps.Clone(m2m)
	other["aud"] = "https://api.example.com/billing"
	noSlash := maps.Clone(m2m)
	noSlash["iss"] = "https://example.us.auth0.com"
	idToken := map[string]any{"iss": iss, "sub": "auth0|64f1c2a9e3b7d1a2b3c4d5e6", "aud": client, "iat": e.iat, "exp": e.exp,
		"sid": "Xk3p9QvL2mN8rT5wY1zA4bC7dE0fG6hJ", "nonce": "c2f9e1a7b3d5", "name": "Jane Doe", "email": "jane@example.com",
		"https://example.com/roles": []string{"orders-admin"}}
	userAuth := map[string]string{"x-auth-subject": "auth0|64f1c2a9e3b7d1a2b3c4d5e6", "x-auth-scope": "openid profile email read:orders write:orders",
		"x-auth-permissions": "read:orders,write:orders", "x-auth-roles": "orders-admin", "x-auth-key-id": current.kid}
	return provider{
		host: "example.us.auth0.com",
		docs: map[string]any{
			"/.well-known/openid-configuration": map[string]any{
				"issuer": iss, "authorization_endpoint": iss + "authorize", "token_endpoint": iss + "oauth/token",
				"device_authorization_endpoint": iss + "oauth/device/code", "userinfo_endpoint": iss + "userinfo",
				"mfa_challenge_endpoint": iss + "mfa/challenge", "jwks_uri": iss + ".well-known/jwks.json",
				"registration_endpoint": iss + "oidc/register", "revocation_endpoint": iss + "oauth/revoke",
				"scopes_supported":                      []string{"openid", "profile", "offline_access", "name", "email"},
				"response_types_supported":              []string{"code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token"},
				"subject_types_supported":               []string{"public"},
				"id_token_signing_alg_values_supported": []string{"HS256", "RS256", "PS256"},
			},
			"/.well-known/jwks.json": map[string]any{"keys": []any{jwk(current), jwk(next)}},
		},
		tokens: []tokenCase{
			{name: "user access token", token: current.sign(t, header, user), status: 200, auth: userAuth},
			{name: "user token without delete:orders", token: current.sign(t, header, user), method: "DELETE", path: "/orders/17", status: 403},
			{name: "machine-to-machine token", token: current.sign(t, header, m2m), method: "DELETE", path: "/orders/17", status: 200,
				auth: map[string]string{"x-auth-subject": client + "@clients", "x-auth-scope": "read:orders delete:orders",
					"x-auth-permissions": "read:orders,delete:orders", "x-auth-key-id": current.kid}},
			{name: "token for another API", token: current.sign(t, header, other), status: 401},
			{name: "iss without the trailing slash", token: current.sign(t, header, noSlash), status: 401},
			{name: "ID token", token: current.sign(t, header, idToken), status: 401},
		},
	}
}

// okta is an Okta custom authorization server ("default"): the discovery
// document, a key set with "alg" and no certificates, and access tokens
// whose header has no "typ", with "ver", "cid", "uid", "scp" (an array)
// and "auth_time" (developer.okta.com: "Validate access tokens", "Tokens";
// decoded Okta tokens).
func okta(t *testing.T) provider {
	iss := "https://example.okta.com/oauth2/default"
	const client = "0oa8f5j3ecb5w3dF35d7"
	key := newRSAKey(t, "ZkvelLN_seik7w4pc_prCcfUf-h2hFfiwkDeCrs0iU", "example.okta.com")
	e := now()
	header := object("kid", key.kid, "alg", "RS256")
	user := map[string]any{"ver": 1, "jti": "AT.MNAoEQ_jbKqoinrQo1D0XKjMX28U5d7ZszBceot7-Ts", "iss": iss, "aud": "api://default",
		"iat": e.iat, "exp": e.exp, "cid": client, "uid": "00u1a2b3c4D5E6f7G8h9", "scp": []string{"openid", "profile", "orders.read"},
		"auth_time": e.iat - 120, "sub": "alice@example.com", "groups": []string{"Everyone", "Orders Admins"}}
	service := map[string]any{"ver": 1, "jti": "AT.q8RrT0lM3nBvC1xZ2aS4dF6gH8jK0lP9oI7uY5tR3eW", "iss": iss, "aud": "api://default",
		"iat": e.iat, "exp": e.exp, "cid": client, "scp": []string{"orders.write"}, "sub": client}
	org := maps.Clone(user)
	org["iss"], org["aud"] = "https://example.okta.com", "https://example.okta.com"
	idToken := map[string]any{"sub": "00u1a2b3c4D5E6f7G8h9", "name": "Alice Liddell", "email": "alice@example.com", "ver": 1,
		"iss": iss, "aud": client, "iat": e.iat, "exp": e.exp, "jti": "ID.radCQMOQUmyvcTBmmIL0J6BaS60apUEiC7-vI7pOmkw",
		"amr": []string{"pwd"}, "idp": "00o1a2b3c4D5E6f7G8h9", "nonce": "a8d2f6c4", "preferred_username": "alice@example.com",
		"auth_time": e.iat - 120, "at_hash": "fPlsvVszI29LU2UhDyJ9vg"}
	return provider{
		host: "example.okta.com",
		docs: map[string]any{
			"/oauth2/default/.well-known/openid-configuration": map[string]any{
				"issuer": iss, "authorization_endpoint": iss + "/v1/authorize", "token_endpoint": iss + "/v1/token",
				"userinfo_endpoint": iss + "/v1/userinfo", "registration_endpoint": "https://example.okta.com/oauth2/v1/clients",
				"jwks_uri":                 iss + "/v1/keys",
				"response_types_supported": []string{"code", "id_token", "code id_token", "code token", "id_token token", "code id_token token"},
				"grant_types_supported":    []string{"authorization_code", "implicit", "refresh_token", "password", "client_credentials"},
				"subject_types_supported":  []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
				"scopes_supported": []string{"openid", "profile", "email", "address", "phone", "offline_access", "groups"},
			},
			"/oauth2/default/v1/keys": map[string]any{"keys": []any{
				map[string]any{"kty": "RSA", "alg": "RS256", "kid": key.kid, "use": "sig", "e": key.e(), "n": key.n()},
			}},
		},
		tokens: []tokenCase{
			{name: "user access token", token: key.sign(t, header, user), status: 200,
				auth: map[string]string{"x-auth-subject": "alice@example.com", "x-auth-client-id": client,
					"x-auth-scope": "openid profile orders.read", "x-auth-groups": "Everyone,Orders Admins", "x-auth-key-id": key.kid}},
			{name: "user token without orders.write", token: key.sign(t, header, user), method: "POST", path: "/orders", status: 403},
			{name: "client-credentials token", token: key.sign(t, header, service), method: "POST", path: "/orders", status: 200,
				auth: map[string]string{"x-auth-subject": client, "x-auth-client-id": client, "x-auth-scope": "orders.write", "x-auth-key-id": key.kid}},
			{name: "org authorization server token", token: key.sign(t, header, org), status: 401},
			{name: "ID token", token: key.sign(t, header, idToken), status: 401},
		},
	}
}

// springAuthorizationServer is Spring Authorization Server with the
// reference configuration's key source: an RSA key with a UUID kid and no
// "alg" or "use". Its JwtGenerator writes access tokens with "aud" the
// client ID (one element: a string), "nbf", "scope" as an array, a UUID
// "jti", and a header without "typ"; ID tokens carry the same "aud" with
// "azp", "nonce", "sid" and "auth_time" (spring-authorization-server:
// JwtGenerator.java; "Getting Started").
func springAuthorizationServer(t *testing.T) provider {
	iss := "https://auth.example.com"
	key := newRSAKey(t, "5b2d8c1e-7f3a-4e6b-9d0c-2a1f8e7d6c5b", "auth.example.com")
	e := now()
	header := object("kid", key.kid, "alg", "RS256")
	access := func(sub, client string, scopes ...string) map[string]any {
		return map[string]any{"sub": sub, "aud": client, "nbf": e.iat, "scope": scopes, "iss": iss,
			"exp": e.exp, "iat": e.iat, "jti": "c7a1e5d9-3b2f-4c8e-a6d0-1f9b7e5c3a2d"}
	}
	idToken := map[string]any{"sub": "alice", "aud": "orders-web", "azp": "orders-web", "auth_time": e.iat - 60, "iss": iss,
		"exp": e.exp, "iat": e.iat, "nonce": "f1e2d3c4b5a6", "jti": "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a", "sid": "tQ3wE5rT7yU9iO1pA3sD5fG7hJ9kL1zX3cV5bN7mQ9w"}
	return provider{
		host: "auth.example.com",
		docs: map[string]any{
			"/.well-known/openid-configuration": map[string]any{
				"issuer": iss, "authorization_endpoint": iss + "/oauth2/authorize", "device_authorization_endpoint": iss + "/oauth2/device_authorization",
				"token_endpoint": iss + "/oauth2/token", "jwks_uri": iss + "/oauth2/jwks", "userinfo_endpoint": iss + "/userinfo",
				"end_session_endpoint": iss + "/connect/logout", "response_types_supported": []string{"code"},
				"grant_types_supported":                 []string{"authorization_code", "client_credentials", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"},
				"subject_types_supported":               []string{"public"},
				"id_token_signing_alg_values_supported": []string{"RS256"}, "scopes_supported": []string{"openid"},
			},
			"/oauth2/jwks": map[string]any{"keys": []any{map[string]any{"kty": "RSA", "e": key.e(), "kid": key.kid, "n": key.n()}}},
		},
		tokens: []tokenCase{
			{name: "user access token", token: key.sign(t, header, access("alice", "orders-web", "openid", "profile", "orders.read")), status: 200,
				auth: map[string]string{"x-auth-subject": "alice", "x-auth-issuer": iss, "x-auth-scope": "openid profile orders.read",
					"x-auth-expires": e.expires(), "x-auth-key-id": key.kid}},
			{name: "user token without orders.write", token: key.sign(t, header, access("alice", "orders-web", "openid", "orders.read")), method: "POST", path: "/orders", status: 403},
			{name: "client-credentials token", token: key.sign(t, header, access("orders-batch", "orders-batch", "orders.write")), method: "POST", path: "/orders", status: 200,
				auth: map[string]string{"x-auth-subject": "orders-batch", "x-auth-issuer": iss, "x-auth-scope": "orders.write",
					"x-auth-expires": e.expires(), "x-auth-key-id": key.kid}},
			{name: "token of another client", token: key.sign(t, header, access("reports", "reports", "orders.read")), status: 401},
			{name: "ID token", token: key.sign(t, header, idToken), status: 401},
		},
	}
}
