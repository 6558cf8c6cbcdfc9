//go:build unix

package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The Istio recipe's objects, the fields it uses, read strictly (a
// misspelt key fails the test).
type istioOperator struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		MeshConfig struct {
			ExtensionProviders []istioProvider `yaml:"extensionProviders"`
		} `yaml:"meshConfig"`
	} `yaml:"spec"`
}

type istioProvider struct {
	Name string `yaml:"name"`
	GRPC *struct {
		istioProviderCommon `yaml:",inline"`
	} `yaml:"envoyExtAuthzGrpc"`
	HTTP *struct {
		istioProviderCommon          `yaml:",inline"`
		PathPrefix                   string   `yaml:"pathPrefix"`
		IncludeRequestHeadersInCheck []string `yaml:"includeRequestHeadersInCheck"`
		HeadersToUpstreamOnAllow     []string `yaml:"headersToUpstreamOnAllow"`
		HeadersToDownstreamOnDeny    []string `yaml:"headersToDownstreamOnDeny"`
	} `yaml:"envoyExtAuthzHttp"`
}

type istioProviderCommon struct {
	Service       string `yaml:"service"`
	Port          uint32 `yaml:"port"`
	Timeout       string `yaml:"timeout"`
	FailOpen      bool   `yaml:"failOpen"`
	StatusOnError string `yaml:"statusOnError"`
}

type istioObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		// ServiceEntry
		Hosts     []string `yaml:"hosts"`
		Endpoints []struct {
			Address string `yaml:"address"`
		} `yaml:"endpoints"`
		Ports []struct {
			Name     string `yaml:"name"`
			Number   uint32 `yaml:"number"`
			Protocol string `yaml:"protocol"`
		} `yaml:"ports"`
		Resolution string `yaml:"resolution"`
		// AuthorizationPolicy
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Action   string `yaml:"action"`
		Provider struct {
			Name string `yaml:"name"`
		} `yaml:"provider"`
		Rules []map[string]any `yaml:"rules"`
	} `yaml:"spec"`
}

// decodeStrict decodes every document of a YAML file into a new T.
func decodeStrict[T any](t *testing.T, path string) []*T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var out []*T
	for {
		v := new(T)
		err := dec.Decode(v)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
}

type istioRecipe struct {
	providers    map[string]istioProvider
	serviceEntry *istioObject
	policy       *istioObject
}

func loadIstioRecipe(t *testing.T) *istioRecipe {
	t.Helper()
	ops := decodeStrict[istioOperator](t, "istio/meshconfig.yaml")
	if len(ops) != 1 || ops[0].Kind != "IstioOperator" {
		t.Fatalf("istio/meshconfig.yaml: want one IstioOperator")
	}
	r := &istioRecipe{providers: map[string]istioProvider{}}
	for _, p := range ops[0].Spec.MeshConfig.ExtensionProviders {
		r.providers[p.Name] = p
	}
	for _, o := range decodeStrict[istioObject](t, "istio/authorizationpolicy.yaml") {
		switch o.Kind {
		case "ServiceEntry":
			r.serviceEntry = o
		case "AuthorizationPolicy":
			r.policy = o
		}
	}
	if r.serviceEntry == nil || r.policy == nil {
		t.Fatal("istio/authorizationpolicy.yaml: want a ServiceEntry and an AuthorizationPolicy")
	}
	return r
}

// TestIstioRecipeMatchesTokengate: the providers reach the in-pod
// tokengate of ../envoy/tokengate.yaml through the ServiceEntry, fail
// closed, pass tokengate what it reads, and the policy sends every
// request of the application's pods through a provider.
func TestIstioRecipeMatchesTokengate(t *testing.T) {
	r, cfg := loadIstioRecipe(t), loadTokengateSide(t)
	se := r.serviceEntry
	if len(se.Spec.Endpoints) != 1 || se.Spec.Resolution != "STATIC" {
		t.Fatalf("ServiceEntry: want one STATIC endpoint, got %+v", se.Spec)
	}
	port := func(addr string) uint32 {
		host, p, _ := net.SplitHostPort(addr)
		if host != se.Spec.Endpoints[0].Address {
			t.Errorf("tokengate listens on %s, the ServiceEntry sends to %s", addr, se.Spec.Endpoints[0].Address)
		}
		n, _ := strconv.Atoi(p)
		return uint32(n)
	}
	sePort := func(number uint32, protocol string) {
		for _, p := range se.Spec.Ports {
			if p.Number == number && p.Protocol == protocol {
				return
			}
		}
		t.Errorf("ServiceEntry has no %s port %d", protocol, number)
	}
	grpcP, httpP := r.providers["tokengate-grpc"].GRPC, r.providers["tokengate-http"].HTTP
	if grpcP == nil || httpP == nil {
		t.Fatalf("want providers tokengate-grpc (envoyExtAuthzGrpc) and tokengate-http (envoyExtAuthzHttp), got %v", r.providers)
	}
	for name, c := range map[string]istioProviderCommon{"gRPC": grpcP.istioProviderCommon, "HTTP": httpP.istioProviderCommon} {
		if !slices.Contains(se.Spec.Hosts, c.Service) {
			t.Errorf("%s provider: service %s is not the ServiceEntry's host %v", name, c.Service, se.Spec.Hosts)
		}
		if d, err := time.ParseDuration(c.Timeout); err != nil || d <= 0 || d > 5*time.Second {
			t.Errorf("%s provider: timeout %q: set one of a few seconds at most (Istio's default is 10 minutes)", name, c.Timeout)
		}
		if code, _ := strconv.Atoi(c.StatusOnError); c.FailOpen || code < 500 {
			t.Errorf("%s provider: failOpen %v, statusOnError %q: tokengate down must refuse with a 5xx", name, c.FailOpen, c.StatusOnError)
		}
	}
	if grpcP.Port != port(cfg.Listen.ExtAuthzGRPC) {
		t.Errorf("gRPC provider port %d, tokengate's listen.ext_authz_grpc %s", grpcP.Port, cfg.Listen.ExtAuthzGRPC)
	}
	sePort(grpcP.Port, "GRPC")
	if httpP.Port != port(cfg.Listen.Verify) || httpP.PathPrefix != cfg.Listen.VerifyPathPrefix {
		t.Errorf("HTTP provider port %d, path prefix %q; tokengate's /verify %s, listen.verify_path_prefix %q", httpP.Port, httpP.PathPrefix, cfg.Listen.Verify, cfg.Listen.VerifyPathPrefix)
	}
	sePort(httpP.Port, "HTTP")
	a := istioExtAuthz(t, r.providers["tokengate-http"])
	for _, h := range []string{"authorization", "cookie"} {
		//lint:ignore SA1019 istiod still writes authorization_request.allowed_headers, and Envoy still reads it
		if !matchesAny(a.GetHttpService().GetAuthorizationRequest().GetAllowedHeaders(), h) {
			t.Errorf("HTTP provider: includeRequestHeadersInCheck lacks %s", h)
		}
	}
	for _, h := range []string{"x-original-uri", "x-forwarded-uri", "x-forwarded-method"} {
		//lint:ignore SA1019 istiod still writes authorization_request.allowed_headers, and Envoy still reads it
		if matchesAny(a.GetHttpService().GetAuthorizationRequest().GetAllowedHeaders(), h) {
			t.Errorf("HTTP provider: includeRequestHeadersInCheck passes the client's %s", h)
		}
	}

	p := r.policy.Spec
	if p.Action != "CUSTOM" || len(p.Rules) == 0 {
		t.Errorf("AuthorizationPolicy: action %s with %d rules; want CUSTOM with a rule", p.Action, len(p.Rules))
	}
	if _, ok := r.providers[p.Provider.Name]; !ok {
		t.Errorf("AuthorizationPolicy: provider %q is not in meshconfig.yaml", p.Provider.Name)
	}
	labels := deploymentPodLabels(t)
	for k, v := range p.Selector.MatchLabels {
		if labels[k] != v {
			t.Errorf("AuthorizationPolicy selects %s=%s; the pods of kubernetes/deployment.yaml have %v", k, v, labels)
		}
	}
}

func deploymentPodLabels(t *testing.T) map[string]string {
	t.Helper()
	type deployment struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Template struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	data, err := os.ReadFile("kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d deployment
	if err := yaml.Unmarshal(data, &d); err != nil || d.Kind != "Deployment" {
		t.Fatalf("kubernetes/deployment.yaml: %v (kind %q)", err, d.Kind)
	}
	return d.Spec.Template.Metadata.Labels
}

// istioExtAuthz is the ext_authz filter istiod generates for a provider
// (pilot/pkg/security/authz/builder/extauthz.go: generateGRPCConfig,
// generateHTTPConfig, generateHeaders), validated with Envoy's rules.
func istioExtAuthz(t *testing.T, p istioProvider) *extauthzv3.ExtAuthz {
	t.Helper()
	headers := func(names []string) *matcherv3.ListStringMatcher {
		if len(names) == 0 {
			return nil
		}
		l := &matcherv3.ListStringMatcher{}
		for _, h := range names {
			m := &matcherv3.StringMatcher{IgnoreCase: true}
			switch {
			case strings.HasPrefix(h, "*"):
				m.MatchPattern = &matcherv3.StringMatcher_Suffix{Suffix: strings.TrimPrefix(h, "*")}
			case strings.HasSuffix(h, "*"):
				m.MatchPattern = &matcherv3.StringMatcher_Prefix{Prefix: strings.TrimSuffix(h, "*")}
			default:
				m.MatchPattern = &matcherv3.StringMatcher_Exact{Exact: h}
			}
			l.Patterns = append(l.Patterns, m)
		}
		return l
	}
	common := func(c istioProviderCommon) (*typev3.HttpStatus, *durationpb.Duration) {
		code, err := strconv.Atoi(c.StatusOnError)
		if err != nil {
			t.Fatalf("provider %s: statusOnError %q", p.Name, c.StatusOnError)
		}
		d, err := time.ParseDuration(c.Timeout)
		if err != nil {
			t.Fatalf("provider %s: timeout %q", p.Name, c.Timeout)
		}
		return &typev3.HttpStatus{Code: typev3.StatusCode(code)}, durationpb.New(d)
	}
	a := &extauthzv3.ExtAuthz{TransportApiVersion: corev3.ApiVersion_V3}
	switch {
	case p.GRPC != nil:
		var timeout *durationpb.Duration
		a.StatusOnError, timeout = common(p.GRPC.istioProviderCommon)
		a.FailureModeAllow = p.GRPC.FailOpen
		a.Services = &extauthzv3.ExtAuthz_GrpcService{GrpcService: &corev3.GrpcService{
			TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: "outbound|9191||" + p.GRPC.Service}},
			Timeout:         timeout,
		}}
	case p.HTTP != nil:
		var timeout *durationpb.Duration
		a.StatusOnError, timeout = common(p.HTTP.istioProviderCommon)
		a.FailureModeAllow = p.HTTP.FailOpen
		hs := &extauthzv3.HttpService{
			PathPrefix: p.HTTP.PathPrefix,
			ServerUri: &corev3.HttpUri{Uri: "http://" + p.HTTP.Service, Timeout: timeout,
				HttpUpstreamType: &corev3.HttpUri_Cluster{Cluster: "outbound|8181||" + p.HTTP.Service}},
		}
		if h := headers(p.HTTP.IncludeRequestHeadersInCheck); h != nil {
			//lint:ignore SA1019 istiod still writes authorization_request.allowed_headers, and Envoy still reads it
			hs.AuthorizationRequest = &extauthzv3.AuthorizationRequest{AllowedHeaders: h}
		}
		hs.AuthorizationResponse = &extauthzv3.AuthorizationResponse{
			AllowedUpstreamHeaders: headers(p.HTTP.HeadersToUpstreamOnAllow),
			AllowedClientHeaders:   headers(p.HTTP.HeadersToDownstreamOnDeny),
		}
		a.Services = &extauthzv3.ExtAuthz_HttpService{HttpService: hs}
	default:
		t.Fatalf("provider %s is neither envoyExtAuthzGrpc nor envoyExtAuthzHttp", p.Name)
	}
	if err := a.ValidateAll(); err != nil {
		t.Fatalf("provider %s: %v", p.Name, err)
	}
	return a
}

// TestIstioRecipe sends the recipes' request table through Envoy with the
// filter istiod builds from each provider, on a sidecar that lets headers
// with underscores through (Istio's default): tokengate's removal lists
// name the X_Auth_* spellings, so a forged X_Auth_Subject still never
// reaches the application.
func TestIstioRecipe(t *testing.T) {
	r := loadIstioRecipe(t)
	for _, name := range []string{"tokengate-grpc", "tokengate-http"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := r.providers[name]
			l := &envoyListener{hcm: &hcmv3.HttpConnectionManager{}, authz: istioExtAuthz(t, p)}
			prefix := ""
			if p.HTTP != nil {
				prefix = p.HTTP.PathPrefix
			}
			g, client, base := startEnvoyProxy(t, l, prefix)
			g.run(t, client, base, append(g.cases(),
				proxyCase{name: "two Authorization headers", path: "/orders/7", token: g.good,
					header: map[string]string{"authorization": "Bearer " + g.admin}, status: 401, challenge: `error="invalid_request"`},
			))
			g.failsClosed(t, client, base, http.StatusServiceUnavailable)
		})
	}
}
