package deploy_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tokengate/tokengate/config"
)

// envoyRecipe is deploy/envoy/envoy.yaml read with Envoy's own API types
// (go-control-plane): an unknown field, a wrong type or a value Envoy's
// validation rules refuse fails the test, as it would fail Envoy's start.
type envoyRecipe struct {
	listeners map[string]*envoyListener // by name
	clusters  map[string]string         // name → host:port of its one endpoint
}

// envoyListener is one listener's HTTP connection manager and its
// ext_authz filter.
type envoyListener struct {
	hcm   *hcmv3.HttpConnectionManager
	authz *extauthzv3.ExtAuthz
}

func loadEnvoyRecipe(t *testing.T) *envoyRecipe {
	t.Helper()
	data, err := os.ReadFile("envoy/envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("envoy.yaml: %v", err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("envoy.yaml: %v", err)
	}
	boot := &bootstrapv3.Bootstrap{}
	if err := protojson.Unmarshal(js, boot); err != nil {
		t.Fatalf("envoy.yaml is not an Envoy v3 bootstrap: %v", err)
	}
	if err := boot.ValidateAll(); err != nil {
		t.Fatalf("envoy.yaml: %v", err)
	}
	r := &envoyRecipe{listeners: map[string]*envoyListener{}, clusters: map[string]string{}}
	for _, l := range boot.GetStaticResources().GetListeners() {
		el := &envoyListener{hcm: &hcmv3.HttpConnectionManager{}}
		filters := l.GetFilterChains()[0].GetFilters()
		if len(filters) != 1 || filters[0].GetTypedConfig().UnmarshalTo(el.hcm) != nil {
			t.Fatalf("listener %s: want one HTTP connection manager", l.GetName())
		}
		if err := el.hcm.ValidateAll(); err != nil {
			t.Fatalf("listener %s: %v", l.GetName(), err)
		}
		for i, f := range el.hcm.GetHttpFilters() {
			if f.GetName() != "envoy.filters.http.ext_authz" {
				continue
			}
			if i != 0 {
				t.Errorf("listener %s: ext_authz is filter %d; it must run first", l.GetName(), i)
			}
			el.authz = &extauthzv3.ExtAuthz{}
			if err := f.GetTypedConfig().UnmarshalTo(el.authz); err != nil {
				t.Fatalf("listener %s: %v", l.GetName(), err)
			}
			if err := el.authz.ValidateAll(); err != nil {
				t.Fatalf("listener %s: %v", l.GetName(), err)
			}
			for _, list := range headerMatchers(el.authz) {
				for _, m := range list.GetPatterns() {
					switch m.GetMatchPattern().(type) {
					case *matcherv3.StringMatcher_Exact, *matcherv3.StringMatcher_Prefix, *matcherv3.StringMatcher_Suffix, *matcherv3.StringMatcher_Contains:
					default:
						t.Fatalf("listener %s: matcher %v: the tests read exact, prefix, suffix and contains only", l.GetName(), m)
					}
				}
			}
		}
		if el.authz == nil {
			t.Fatalf("listener %s has no ext_authz filter", l.GetName())
		}
		r.listeners[l.GetName()] = el
	}
	for _, c := range boot.GetStaticResources().GetClusters() {
		sa := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
		r.clusters[c.GetName()] = net.JoinHostPort(sa.GetAddress(), fmt.Sprint(sa.GetPortValue()))
	}
	return r
}

// listener returns the listener whose ext_authz filter talks gRPC (grpc
// true) or HTTP.
func (r *envoyRecipe) listener(t *testing.T, grpc bool) *envoyListener {
	t.Helper()
	for _, l := range r.listeners {
		if (l.authz.GetGrpcService() != nil) == grpc {
			return l
		}
	}
	t.Fatalf("envoy.yaml has no listener with a %s ext_authz service", map[bool]string{true: "gRPC", false: "HTTP"}[grpc])
	return nil
}

// loadTokengateSide is deploy/envoy/tokengate.yaml, the configuration the
// Envoy and Istio recipes are written against, loaded as serve loads it.
func loadTokengateSide(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load("envoy/tokengate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// matches is Envoy's StringMatcher on a (lower-case) header name, for
// the kinds of pattern the recipe uses (loadEnvoyRecipe refuses others).
func matches(m *matcherv3.StringMatcher, s string) bool {
	fold := func(p string) string {
		if m.GetIgnoreCase() {
			return strings.ToLower(p)
		}
		return p
	}
	v := fold(s)
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		return v == fold(p.Exact)
	case *matcherv3.StringMatcher_Prefix:
		return strings.HasPrefix(v, fold(p.Prefix))
	case *matcherv3.StringMatcher_Suffix:
		return strings.HasSuffix(v, fold(p.Suffix))
	case *matcherv3.StringMatcher_Contains:
		return strings.Contains(v, fold(p.Contains))
	}
	return false
}

func matchesAny(l *matcherv3.ListStringMatcher, s string) bool {
	for _, m := range l.GetPatterns() {
		if matches(m, s) {
			return true
		}
	}
	return false
}

// headerMatchers are the header name lists of an ext_authz filter.
func headerMatchers(a *extauthzv3.ExtAuthz) []*matcherv3.ListStringMatcher {
	ar := a.GetHttpService().GetAuthorizationResponse()
	return []*matcherv3.ListStringMatcher{a.GetAllowedHeaders(), a.GetDisallowedHeaders(),
		//lint:ignore SA1019 istiod still writes authorization_request.allowed_headers, and Envoy still reads it
		a.GetHttpService().GetAuthorizationRequest().GetAllowedHeaders(),
		ar.GetAllowedUpstreamHeaders(), ar.GetAllowedUpstreamHeadersToAppend(), ar.GetAllowedClientHeaders(), ar.GetAllowedClientHeadersOnSuccess()}
}

// TestEnvoyRecipeMatchesTokengate: envoy.yaml and tokengate.yaml agree on
// the addresses and the path prefix, fail closed, and pass tokengate what
// it reads and nothing it would read as the original request.
func TestEnvoyRecipeMatchesTokengate(t *testing.T) {
	r, cfg := loadEnvoyRecipe(t), loadTokengateSide(t)
	g := r.listener(t, true).authz
	if addr := r.clusters[g.GetGrpcService().GetEnvoyGrpc().GetClusterName()]; addr != cfg.Listen.ExtAuthzGRPC {
		t.Errorf("gRPC cluster at %s, tokengate's listen.ext_authz_grpc is %s", addr, cfg.Listen.ExtAuthzGRPC)
	}
	h := r.listener(t, false).authz
	hs := h.GetHttpService()
	if addr := r.clusters[hs.GetServerUri().GetCluster()]; addr != cfg.Listen.Verify {
		t.Errorf("HTTP cluster at %s, tokengate's listen.verify is %s", addr, cfg.Listen.Verify)
	}
	if hs.GetServerUri().GetUri() != "http://"+cfg.Listen.Verify {
		t.Errorf("server_uri %s, want http://%s", hs.GetServerUri().GetUri(), cfg.Listen.Verify)
	}
	if hs.GetPathPrefix() != cfg.Listen.VerifyPathPrefix || hs.GetPathOverride() != "" {
		t.Errorf("path_prefix %q (path_override %q), tokengate strips listen.verify_path_prefix %q", hs.GetPathPrefix(), hs.GetPathOverride(), cfg.Listen.VerifyPathPrefix)
	}
	for name, a := range map[string]*extauthzv3.ExtAuthz{"gRPC": g, "HTTP": h} {
		if a.GetFailureModeAllow() || a.GetStatusOnError().GetCode() < 500 {
			t.Errorf("%s: failure_mode_allow %v, status_on_error %v: tokengate down must refuse with a 5xx", name, a.GetFailureModeAllow(), a.GetStatusOnError().GetCode())
		}
		if a.GetWithRequestBody() != nil {
			t.Errorf("%s: with_request_body: tokengate reads no body", name)
		}
		for _, hdr := range []string{"cookie", "traceparent", "x-request-id"} {
			if !matchesAny(a.GetAllowedHeaders(), hdr) {
				t.Errorf("%s: allowed_headers lacks %s", name, hdr)
			}
		}
		for _, hdr := range []string{"x-original-uri", "x-original-method", "x-forwarded-uri", "x-forwarded-method", "x-auth-subject"} {
			if matchesAny(a.GetAllowedHeaders(), hdr) {
				t.Errorf("%s: allowed_headers passes %s to tokengate", name, hdr)
			}
		}
	}
	if name := "authorization"; !matchesAny(g.GetAllowedHeaders(), name) {
		t.Errorf("gRPC: allowed_headers lacks authorization")
	}
	if !matchesAny(hs.GetAuthorizationResponse().GetAllowedClientHeaders(), "www-authenticate") {
		t.Errorf("HTTP: allowed_client_headers lacks www-authenticate")
	}
	for _, name := range []string{"x-auth-subject", "x-auth-scope", "x-auth-key-id"} {
		if !matchesAny(hs.GetAuthorizationResponse().GetAllowedUpstreamHeaders(), name) {
			t.Errorf("HTTP: allowed_upstream_headers lacks %s", name)
		}
	}
	for _, l := range r.listeners {
		if !l.hcm.GetNormalizePath().GetValue() || !l.hcm.GetMergeSlashes() {
			t.Errorf("listener %s: normalize_path and merge_slashes must be on", l.hcm.GetStatPrefix())
		}
		if a := l.hcm.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction(); a.String() == "ALLOW" {
			t.Errorf("listener %s: headers with underscores are allowed (X_Auth_Subject)", l.hcm.GetStatPrefix())
		}
	}
	if r.clusters["app"] != recipeApp {
		t.Errorf("app cluster at %s, want the recipes' %s", r.clusters["app"], recipeApp)
	}
}
