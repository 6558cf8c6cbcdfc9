package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tokengate/tokengate/extauthz"
	"github.com/tokengate/tokengate/internal/frontendtest"
	"github.com/tokengate/tokengate/middleware"
)

// frontEnds are every front end over the gate of one configuration: the
// fasthttp sidecar (/verify), the Envoy ext_authz gRPC service and the
// net/http middleware share build.New's parts, as serve wires them; the
// CLI builds its own from the same file.
type frontEnds struct {
	env        *frontendtest.Env
	verifyAddr string
	mwAddr     string
	grpc       authv3.AuthorizationClient
	prefix     string
	names      []string // the configured header names, lower case
}

func newFrontEnds(t *testing.T) *frontEnds {
	t.Helper()
	env := frontendtest.New(t, diffConfig, "revoked-1")
	fe := &frontEnds{env: env, prefix: env.Config.Listen.VerifyPathPrefix}
	gc := env.Parts.Gate.Config()
	for _, h := range gc.Headers {
		fe.names = append(fe.names, strings.ToLower(h.Header))
	}
	fe.names = append(fe.names, strings.ToLower(gc.ClientHeader), strings.ToLower(gc.KeyIDHeader))

	srv, err := env.Parts.Sidecar()
	if err != nil {
		t.Fatal(err)
	}
	vln, aln := listenLocal(t), listenLocal(t)
	go srv.Serve(vln, aln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	fe.verifyAddr = vln.Addr().String()

	ext, err := extauthz.New(env.Parts.Gate, extauthz.Options{Latency: env.Parts.Metrics})
	if err != nil {
		t.Fatal(err)
	}
	eln := listenLocal(t)
	go ext.Serve(eln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ext.Shutdown(ctx)
	})
	conn, err := grpc.NewClient(eln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fe.grpc = authv3.NewAuthorizationClient(conn)

	// The application behind the middleware answers with the headers it
	// was given under the configured names.
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen := map[string]string{}
		for _, n := range fe.names {
			if v := r.Header.Values(n); len(v) > 0 {
				seen[n] = strings.Join(v, " | ")
			}
		}
		json.NewEncoder(w).Encode(seen)
	})
	mw := httptest.NewServer(middleware.New(env.Parts.Gate, app, middleware.Options{}))
	t.Cleanup(mw.Close)
	fe.mwAddr = mw.Listener.Addr().String()
	return fe
}

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

type namedOutcome struct {
	name string
	o    outcome
}

// run sends r through every front end; the first is the reference.
func (fe *frontEnds) run(t *testing.T, r diffRow) []namedOutcome {
	t.Helper()
	return []namedOutcome{
		{"fasthttp /verify (nginx)", fe.nginx(t, r)},
		{"CLI verify", fe.cli(t, r)},
		{"net/http middleware", fe.middleware(t, r)},
		{"ext_authz gRPC", fe.extAuthz(t, r)},
		{"Envoy HTTP mode", fe.envoyHTTP(t, r)},
		{"Traefik ForwardAuth", fe.traefik(t, r)},
	}
}

// nginx: /verify as the nginx recipe calls it.
func (fe *frontEnds) nginx(t *testing.T, r diffRow) outcome {
	h := [][2]string{{"X-Original-URI", r.target}, {"X-Original-Method", r.method}}
	resp, body := frontendtest.RawHTTP(t, fe.verifyAddr, "GET", "/verify", credentials(h, r.auth, r.cookies))
	return fe.verifyOutcome(resp, body, "GET")
}

// envoyHTTP: the authorization request of Envoy's ext_authz HTTP service:
// the original method, path_prefix + the original path, and the lines of
// each allowed header combined with ",".
func (fe *frontEnds) envoyHTTP(t *testing.T, r diffRow) outcome {
	h := [][2]string{{"Content-Length", "0"}}
	if len(r.auth) > 0 {
		h = append(h, [2]string{"authorization", strings.Join(r.auth, ",")})
	}
	if len(r.cookies) > 0 {
		h = append(h, [2]string{"cookie", strings.Join(r.cookies, ",")})
	}
	resp, body := frontendtest.RawHTTP(t, fe.verifyAddr, r.method, fe.prefix+r.target, h)
	return fe.verifyOutcome(resp, body, r.method)
}

// traefik: ForwardAuth's GET with the original request in X-Forwarded-*;
// the URI is Go's reading of the request target (Traefik is a Go server).
func (fe *frontEnds) traefik(t *testing.T, r diffRow) outcome {
	u, err := url.ParseRequestURI(r.target)
	if err != nil {
		return outcome{skipped: "Traefik's server refuses the target"}
	}
	h := [][2]string{
		{"X-Forwarded-For", "127.0.0.1"}, {"X-Forwarded-Method", r.method}, {"X-Forwarded-Proto", "http"},
		{"X-Forwarded-Port", "80"}, {"X-Forwarded-Host", "app.example"}, {"X-Forwarded-Uri", u.RequestURI()},
	}
	resp, body := frontendtest.RawHTTP(t, fe.verifyAddr, "GET", "/verify", credentials(h, r.auth, r.cookies))
	return fe.verifyOutcome(resp, body, "GET")
}

// refusalReason is the reason of a refusal: its body, or, in the answer
// to a HEAD request (which has none), the challenge's error_description,
// which holds the same text (RFC 6750 §3).
func refusalReason(resp *http.Response, body, method string) string {
	if method != "HEAD" {
		return strings.TrimSuffix(body, "\n")
	}
	_, desc, ok := strings.Cut(resp.Header.Get("WWW-Authenticate"), `error_description="`)
	if !ok {
		return ""
	}
	desc, _, _ = strings.Cut(desc, `"`)
	return desc
}

func credentials(h [][2]string, auth, cookies []string) [][2]string {
	for _, a := range auth {
		h = append(h, [2]string{"Authorization", a})
	}
	for _, c := range cookies {
		h = append(h, [2]string{"Cookie", c})
	}
	return h
}

// verifyOutcome reads /verify's answer to a request with method: a 200's
// claim headers, or the refusal's challenge and reason.
func (fe *frontEnds) verifyOutcome(resp *http.Response, body, method string) outcome {
	o := outcome{status: resp.StatusCode}
	if o.status != 200 {
		o.reason, o.challenge = refusalReason(resp, body, method), resp.Header.Get("WWW-Authenticate")
		return o
	}
	o.headers = map[string]string{}
	for _, n := range fe.names {
		if v := resp.Header.Values(n); len(v) > 0 {
			o.headers[n] = strings.Join(v, " | ")
		}
	}
	return o
}

// middleware: the request itself, to a Go server wrapped by the
// middleware.
func (fe *frontEnds) middleware(t *testing.T, r diffRow) outcome {
	resp, body := frontendtest.RawHTTP(t, fe.mwAddr, r.method, r.target, credentials(nil, r.auth, r.cookies))
	o := outcome{status: resp.StatusCode}
	if o.status != 200 {
		o.reason, o.challenge = refusalReason(resp, body, r.method), resp.Header.Get("WWW-Authenticate")
		return o
	}
	if r.method == "HEAD" || r.method == "head" {
		return outcome{skipped: "a HEAD answer has no body to report the headers in"}
	}
	if err := json.Unmarshal([]byte(body), &o.headers); err != nil {
		t.Fatalf("%s: the application's answer %q: %v", r.name, body, err)
	}
	return o
}

// extAuthz: Check over gRPC, with the headers map Envoy builds (lower-case
// names, the lines of a name combined with ",").
func (fe *frontEnds) extAuthz(t *testing.T, r diffRow) outcome {
	headers := map[string]string{"host": "app.example", "user-agent": "curl/8.5.0"}
	if len(r.auth) > 0 {
		headers["authorization"] = strings.Join(r.auth, ",")
	}
	if len(r.cookies) > 0 {
		headers["cookie"] = strings.Join(r.cookies, ",")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := fe.grpc.Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: r.method, Path: r.target, Host: "app.example", Scheme: "http", Headers: headers},
	}}})
	if err != nil {
		t.Fatalf("%s: Check: %v", r.name, err)
	}
	if ok := resp.GetOkResponse(); ok != nil {
		o := outcome{status: 200, headers: map[string]string{}}
		for _, h := range ok.GetHeaders() {
			o.headers[strings.ToLower(h.GetHeader().GetKey())] = h.GetHeader().GetValue()
		}
		return o
	}
	d := resp.GetDeniedResponse()
	o := outcome{status: int(d.GetStatus().GetCode()), reason: strings.TrimSuffix(d.GetBody(), "\n")}
	for _, h := range d.GetHeaders() {
		if strings.EqualFold(h.GetHeader().GetKey(), "WWW-Authenticate") {
			o.challenge = h.GetHeader().GetValue()
		}
	}
	return o
}

// cli: tokengate verify --config FILE --method M --path TARGET --json
// TOKEN, for a row whose one credential is an Authorization Bearer line
// (the CLI puts its token there).
func (fe *frontEnds) cli(t *testing.T, r diffRow) outcome {
	if len(r.auth) != 1 || len(r.cookies) != 0 || !strings.HasPrefix(r.auth[0], "Bearer ") || strings.Contains(r.target, "access_token=") {
		return outcome{skipped: "the CLI takes one token, placed in Authorization: Bearer"}
	}
	_, stdout, stderr := runCLI("verify", "--config", fe.env.ConfigPath, "--method", r.method, "--path", r.target, "--json", strings.TrimPrefix(r.auth[0], "Bearer "))
	var d decisionJSON
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("%s: tokengate verify printed %q (stderr %q): %v", r.name, stdout, stderr, err)
	}
	o := outcome{status: d.Status, reason: d.Reason, challenge: d.Challenge}
	if d.Allow {
		o.reason, o.headers = "", map[string]string{}
		for k, v := range d.Headers {
			o.headers[strings.ToLower(k)] = v
		}
	}
	return o
}
