package extauthz_test

import (
	"context"
	"net"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tokengate/tokengate/extauthz"
)

// noopServer answers every Check with a fixed OK: the floor of a gRPC
// Check over the same connection.
type noopServer struct {
	authv3.UnimplementedAuthorizationServer
}

var okResponse = &authv3.CheckResponse{Status: &rpcstatus.Status{}, HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}}}

func (noopServer) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return okResponse, nil
}

// BenchmarkCheck: a Check over a real TCP connection (one client, one
// call at a time) to a no-op Authorization server, and to tokengate with
// the token in the cache, refused without a token and refused as forged
// (negative cache); then the adapter alone (Server.Check called
// directly, no transport), which is what tokengate adds to gRPC's own
// cost.
func BenchmarkCheck(b *testing.B) {
	s := newService(b, extauthz.Options{})
	tok := s.env.Token(b, map[string]any{"scope": "read"})
	envoyHeaders := func(auth string) map[string]string {
		h := map[string]string{
			":authority": "app.example", ":method": "GET", ":path": "/orders/7", ":scheme": "https",
			"user-agent": "curl/8.5.0", "accept": "*/*", "x-forwarded-proto": "https",
			"x-request-id": "3f1c8e0a-5b7d-4c1e-9a2f-6d8b0e4c7a19",
		}
		if auth != "" {
			h["authorization"] = auth
		}
		return h
	}
	cached := checkRequest("GET", "/orders/7", envoyHeaders("Bearer "+tok))
	noToken := checkRequest("GET", "/orders/7", envoyHeaders(""))
	forged := checkRequest("GET", "/orders/7", envoyHeaders("Bearer "+s.env.Forged(b, nil)))

	noopAddr := serveNoop(b)
	noop := dial(b, noopAddr)
	tg := dial(b, s.addr)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		client authv3.AuthorizationClient
		req    *authv3.CheckRequest
		want   int32
	}{
		{"grpc-noop", noop, cached, 0},
		{"grpc-cached", tg, cached, 0},
		{"grpc-no-token", tg, noToken, 16},
		{"grpc-forged", tg, forged, 16},
	} {
		b.Run(c.name, func(b *testing.B) {
			call := func() {
				resp, err := c.client.Check(ctx, c.req)
				if err != nil || resp.GetStatus().GetCode() != c.want {
					b.Fatalf("Check: %v, status %v", err, resp.GetStatus())
				}
			}
			call()
			call() // the token is cached by now (or its failure, negatively)
			b.ReportAllocs()
			for b.Loop() {
				call()
			}
		})
	}
	for _, c := range []struct {
		name string
		req  *authv3.CheckRequest
		want int32
	}{
		{"direct-cached", cached, 0},
		{"direct-no-token", noToken, 16},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if resp, _ := s.srv.Check(ctx, c.req); resp.GetStatus().GetCode() != c.want {
					b.Fatalf("status %v", resp.GetStatus())
				}
			}
		})
	}
}

func serveNoop(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	authv3.RegisterAuthorizationServer(srv, noopServer{})
	go srv.Serve(ln)
	b.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func dial(b *testing.B, addr string) authv3.AuthorizationClient {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}
