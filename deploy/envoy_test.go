//go:build unix

package deploy_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tokengate/tokengate/extauthz"
)

// No Envoy binary can be installed where these tests run. envoyProxy
// stands in for Envoy running deploy/envoy/envoy.yaml: it does what
// Envoy's HTTP connection manager and ext_authz filter do with the values
// of the recipe (read with Envoy's API types by loadEnvoyRecipe), shaped
// as Envoy's documentation and source describe them
// (ext_authz_http_impl.cc, check_request_utils.cc, ext_authz.cc), and
// talks to a real tokengate — the gRPC service or /verify — and a real
// application:
//
//   - headers_with_underscores_action DROP_HEADER drops X_Auth_Subject;
//   - the check carries the original method and raw path, and the
//     headers allowed_headers lets through, lower case, the lines of a
//     name combined with "," (gRPC: the headers map; HTTP: the
//     authorization request's headers, with Authorization always, and
//     path_prefix before the path);
//   - allowed: gRPC headers are set (every copy replaced), then
//     headers_to_remove removed; HTTP: the 200's headers matching
//     allowed_upstream_headers are set, then
//     X-Envoy-Auth-Headers-To-Remove's names removed;
//   - denied: the status, the headers (HTTP: allowed_client_headers) and
//     the body go to the client; tokengate unreachable or a 5xx:
//     status_on_error.
//
// What it does not do: Envoy's own path normalisation (the application
// gets the raw path, which is the harder case for the recipe).
type envoyProxy struct {
	l          *envoyListener
	grpc       authv3.AuthorizationClient // gRPC mode
	verifyAddr string                     // HTTP mode: where tokengate_http points in the test
	appAddr    string
	client     *http.Client
}

func (p *envoyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := r.Header.Clone()
	if a := p.l.hcm.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction(); a != corev3.HttpProtocolOptions_ALLOW {
		for name := range hdr {
			if strings.Contains(name, "_") {
				if a == corev3.HttpProtocolOptions_REJECT_REQUEST {
					http.Error(w, "underscore in a header name", http.StatusBadRequest)
					return
				}
				delete(hdr, name)
			}
		}
	}
	var set map[string]string
	var remove []string
	var ok bool
	if p.grpc != nil {
		set, remove, ok = p.checkGRPC(w, r, hdr)
	} else {
		set, remove, ok = p.checkHTTP(w, r, hdr)
	}
	if !ok {
		return
	}
	for name, v := range set { // Envoy: setCopy, every copy replaced
		delHeader(hdr, name)
		hdr.Set(name, v)
	}
	for _, name := range remove { // then the removals
		delHeader(hdr, name)
	}
	forwardToApp(w, r, p.client, p.appAddr, r.RequestURI, hdr)
}

// delHeader deletes every line of name, in any letter case.
func delHeader(h http.Header, name string) {
	for k := range h {
		if strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
}

// envoyHeaders are the request's headers as Envoy's check request
// carries them: lower-case names, the lines of one name joined with ",",
// only those allowed_headers matches (all when it is not set).
func (p *envoyProxy) envoyHeaders(hdr http.Header) map[string]string {
	m := map[string]string{}
	allowed := p.l.authz.GetAllowedHeaders()
	if allowed == nil { // the older field Istio still writes
		//lint:ignore SA1019 istiod still writes authorization_request.allowed_headers, and Envoy still reads it
		allowed = p.l.authz.GetHttpService().GetAuthorizationRequest().GetAllowedHeaders()
	}
	for name, vals := range hdr {
		n := strings.ToLower(name)
		if allowed != nil && !matchesAny(allowed, n) && !(p.grpc == nil && n == "authorization") { // HTTP mode always sends Authorization
			continue
		}
		m[n] = strings.Join(vals, ",")
	}
	return m
}

func (p *envoyProxy) checkGRPC(w http.ResponseWriter, r *http.Request, hdr http.Header) (map[string]string, []string, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	resp, err := p.grpc.Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: r.Method, Path: r.RequestURI, Host: r.Host, Scheme: "http", Protocol: r.Proto, Headers: p.envoyHeaders(hdr)},
	}}})
	if err != nil {
		w.WriteHeader(int(p.l.authz.GetStatusOnError().GetCode()))
		return nil, nil, false
	}
	if d := resp.GetDeniedResponse(); resp.GetStatus().GetCode() != 0 {
		for _, h := range d.GetHeaders() {
			w.Header().Set(h.GetHeader().GetKey(), h.GetHeader().GetValue())
		}
		w.WriteHeader(int(d.GetStatus().GetCode()))
		io.WriteString(w, d.GetBody())
		return nil, nil, false
	}
	set := map[string]string{}
	for _, h := range resp.GetOkResponse().GetHeaders() {
		set[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	return set, resp.GetOkResponse().GetHeadersToRemove(), true
}

func (p *envoyProxy) checkHTTP(w http.ResponseWriter, r *http.Request, hdr http.Header) (map[string]string, []string, bool) {
	hs := p.l.authz.GetHttpService()
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.verifyAddr+"/", nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, nil, false
	}
	path, query, _ := strings.Cut(hs.GetPathPrefix()+r.RequestURI, "?")
	req.URL.Opaque, req.URL.RawQuery = path, query
	for name, v := range p.envoyHeaders(hdr) {
		req.Header[name] = []string{v}
	}
	req.Host = r.Host
	resp, err := p.client.Do(req)
	if err != nil {
		w.WriteHeader(int(p.l.authz.GetStatusOnError().GetCode()))
		return nil, nil, false
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ar := hs.GetAuthorizationResponse()
	switch {
	case resp.StatusCode >= 500:
		w.WriteHeader(int(p.l.authz.GetStatusOnError().GetCode()))
		return nil, nil, false
	case resp.StatusCode != http.StatusOK:
		for name, vals := range resp.Header {
			if matchesAny(ar.GetAllowedClientHeaders(), strings.ToLower(name)) {
				w.Header()[name] = vals
			}
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
		return nil, nil, false
	}
	set := map[string]string{}
	for name, vals := range resp.Header {
		if matchesAny(ar.GetAllowedUpstreamHeaders(), strings.ToLower(name)) {
			set[name] = vals[0]
		}
	}
	var remove []string
	for _, v := range resp.Header.Values("X-Envoy-Auth-Headers-To-Remove") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				remove = append(remove, name)
			}
		}
	}
	return set, remove, true
}

// startEnvoy serves envoyProxy for the recipe's gRPC or HTTP listener in
// front of g and returns a client and its base URL. tokengate runs with
// the recipe's path prefix; in gRPC mode its Authorization service runs
// next to /verify over the same gate, and g.stop stops both.
func startEnvoy(t *testing.T, grpcMode bool) (*gate, *http.Client, string) {
	t.Helper()
	recipe := loadEnvoyRecipe(t)
	prefix := recipe.listener(t, false).authz.GetHttpService().GetPathPrefix()
	return startEnvoyProxy(t, recipe.listener(t, grpcMode), prefix)
}

// startEnvoyProxy serves envoyProxy with the ext_authz filter of l in
// front of a tokengate whose listen.verify_path_prefix is prefix.
func startEnvoyProxy(t *testing.T, l *envoyListener, prefix string) (*gate, *http.Client, string) {
	t.Helper()
	g := newGateListen(t, "  verify_path_prefix: "+prefix+"\n")
	p := &envoyProxy{l: l, verifyAddr: g.verifyAddr, appAddr: g.app.addr, client: newClient(t)}
	if l.authz.GetGrpcService() != nil {
		srv, err := extauthz.New(g.parts.Gate, extauthz.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		stopSidecar := g.stop
		g.stop = func() {
			stopSidecar()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		}
		t.Cleanup(g.stop)
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		p.grpc = authv3.NewAuthorizationClient(conn)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return g, newClient(t), "http://" + ln.Addr().String()
}

// TestEnvoyRecipe sends the recipes' request table (good, forged and
// expired tokens, route and method rules, spoofed X-Auth-* and
// X-Original-* headers, dot segments, public routes) through Envoy
// running deploy/envoy/envoy.yaml, in both modes, then stops tokengate:
// Envoy must refuse with status_on_error.
func TestEnvoyRecipe(t *testing.T) {
	for _, mode := range []struct {
		name string
		grpc bool
	}{{"gRPC", true}, {"HTTP", false}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			g, client, base := startEnvoy(t, mode.grpc)
			goodAuth := g.goodAuth()
			cases := append(g.cases(),
				proxyCase{name: "two Authorization headers", path: "/orders/7", token: g.good,
					header: map[string]string{"authorization": "Bearer " + g.admin}, status: 401, challenge: `error="invalid_request"`},
				proxyCase{name: "lower-case method on a method rule", method: "delete", path: "/reports/3", token: g.good, status: 403, challenge: `error="insufficient_scope"`},
				proxyCase{name: "X-Auth-Client forged for a token without a client", path: "/orders/7", token: g.good,
					header: map[string]string{"X-Auth-Client": "billing-batch", "x-auth-key-id": "billing"}, status: 200, auth: goodAuth},
			)
			g.run(t, client, base, cases)
			g.failsClosed(t, client, base, http.StatusServiceUnavailable)
		})
	}
}
