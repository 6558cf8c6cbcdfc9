// Package extauthz serves tokengate's decision as Envoy's external
// authorisation service over gRPC: envoy.service.auth.v3.Authorization
// /Check (Envoy's ext_authz HTTP filter with a grpc_service, Istio's
// envoyExtAuthzGrpc extension provider for AuthorizationPolicy action
// CUSTOM), with the API types of go-control-plane.
//
// The adapter decides nothing. It reads the request Envoy describes in
// attributes.request.http — method, path (the raw request target with its
// query) and headers — asks the gate, and writes the Decision:
//
//   - allowed: status OK and an OkHttpResponse whose headers set each
//     claim header (OVERWRITE_IF_EXISTS_OR_ADD, replacing every copy the
//     client sent) and whose headers_to_remove names every other header
//     tokengate may set, so no client copy of one reaches the upstream.
//     Envoy applies headers_to_remove after the headers it sets, so a name
//     tokengate sets is never in it.
//   - refused: status UNAUTHENTICATED (401) or PERMISSION_DENIED (403) and
//     a DeniedHttpResponse with the same status, WWW-Authenticate challenge
//     (RFC 6750 §3) and body as /verify.
//
// Headers come from attributes.request.http.header_map when Envoy fills
// it (encode_raw_headers: every header line on its own), else from the
// headers map, where Envoy has combined duplicate lines with ","
// (RFC 9110 §5.3). The gate reads such values as the lines they were:
// two Authorization headers arrive as one value with two credentials,
// refused as two lines are; the cookies of two Cookie lines are all
// found (a cookie never holds a comma, RFC 6265 §4.1.1). Header names are
// compared case-insensitively
// (Envoy sends them in lower case), so a differently spelt duplicate is
// counted, not skipped.
//
// Security: the listener is as trusted as /verify — only the proxy may
// reach it, since the request it describes is believed. A CheckRequest
// without HTTP attributes (a network-filter check) has no method and no
// path, and is refused.
package extauthz

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/internal/gatereq"
)

// Latency records how long the adapter took for one Check
// (*metrics.Registry is one).
type Latency interface {
	ObserveLatency(start time.Time)
}

// Options configure a Server.
type Options struct {
	// Now is the clock of requests; nil means time.Now. It must be the
	// clock the gate was built with.
	Now func() time.Time
	// Latency, when set, is told the duration of every Check.
	Latency Latency
	// MaxRequestBytes bounds one CheckRequest message; a larger one is
	// refused by gRPC (RESOURCE_EXHAUSTED, which Envoy treats as an error:
	// status_on_error, 403 by default). 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int
	// MaxConcurrentStreams bounds the Checks being handled at once per
	// connection; 0 leaves gRPC's default.
	MaxConcurrentStreams uint32
}

// DefaultMaxRequestBytes bounds a CheckRequest when Options leave it 0:
// the request headers (16 KiB by default in tokengate's limits, and a
// token up to 1 MiB) and Envoy's attributes around them.
const DefaultMaxRequestBytes = 1<<20 + 64<<10

// Server is the Authorization service over one gate. It is safe for
// concurrent use; the gate's Apply changes the configuration of the
// Checks that follow.
type Server struct {
	authv3.UnimplementedAuthorizationServer

	gate    *gate.Gate
	now     func() time.Time
	latency Latency
	opts    Options

	mu   sync.Mutex
	grpc *grpc.Server
}

// New builds a Server that asks g.
func New(g *gate.Gate, o Options) (*Server, error) {
	if g == nil {
		return nil, errors.New("extauthz: a gate is required")
	}
	if o.MaxRequestBytes < 0 {
		return nil, errors.New("extauthz: MaxRequestBytes must not be negative")
	}
	if o.MaxRequestBytes == 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	s := &Server{gate: g, now: o.Now, latency: o.Latency, opts: o}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Check answers one authorisation request (the gRPC method).
func (s *Server) Check(_ context.Context, cr *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	start := time.Now()
	b := gatereq.Acquire()
	d := gate.AcquireDecision()
	s.gate.Check(read(b, cr.GetAttributes().GetRequest().GetHttp()), s.now(), d)
	resp := response(d)
	gate.ReleaseDecision(d)
	gatereq.Release(b)
	if s.latency != nil {
		s.latency.ObserveLatency(start)
	}
	return resp, nil
}

// Register adds the Authorization service to a gRPC server of the
// caller's (to serve it next to other services).
func (s *Server) Register(r grpc.ServiceRegistrar) {
	authv3.RegisterAuthorizationServer(r, s)
}

// Serve serves the Authorization service on ln until Shutdown, with the
// limits of Options.
func (s *Server) Serve(ln net.Listener) error {
	opts := []grpc.ServerOption{grpc.MaxRecvMsgSize(s.opts.MaxRequestBytes)}
	if s.opts.MaxConcurrentStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(s.opts.MaxConcurrentStreams))
	}
	srv := grpc.NewServer(opts...)
	s.Register(srv)
	s.mu.Lock()
	if s.grpc != nil {
		s.mu.Unlock()
		return errors.New("extauthz: Serve called twice")
	}
	s.grpc = srv
	s.mu.Unlock()
	return srv.Serve(ln)
}

// Shutdown stops accepting connections and waits for the Checks in
// flight, or until ctx ends, when it closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv := s.grpc
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	done := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		srv.Stop()
		<-done
		return ctx.Err()
	}
}
