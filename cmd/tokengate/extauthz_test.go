package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestServeExtAuthzGRPC runs the binary with listen.ext_authz_grpc: the
// Envoy Authorization service answers on its own listener from the gate
// /verify asks, and its decisions are counted in the one /metrics.
func TestServeExtAuthzGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildWithKey(t, dir)
	verifyAddr, adminAddr, grpcAddr := freePort(t), freePort(t), freePort(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`listen: {verify: %q, admin: %q, ext_authz_grpc: %q}
keys: [{file: k1.jwks.json}]
routes: [{prefix: /admin, scopes: [admin]}]
`, verifyAddr, adminAddr, grpcAddr))
	startServe(t, bin, cfg, adminAddr)
	_, tok, _ := runCLI("mint", "--key", filepath.Join(dir, "k1.key.pem"), "--claims", `{"sub":"alice","scope":"read"}`)
	tok = strings.TrimSpace(tok)

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := authv3.NewAuthorizationClient(conn)
	check := func(path string) *authv3.CheckResponse {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := client.Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
			Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: path, Headers: map[string]string{"authorization": "Bearer " + tok}},
		}}})
		if err != nil {
			t.Fatalf("Check %s: %v", path, err)
		}
		return resp
	}
	before := okCount(t, adminAddr)
	ok := check("/orders/7").GetOkResponse()
	if ok == nil {
		t.Fatal("Check /orders/7: not allowed")
	}
	var sub string
	for _, h := range ok.GetHeaders() {
		if strings.EqualFold(h.GetHeader().GetKey(), "X-Auth-Subject") {
			sub = h.GetHeader().GetValue()
		}
	}
	if sub != "alice" {
		t.Errorf("X-Auth-Subject %q, want alice", sub)
	}
	if d := check("/admin/x").GetDeniedResponse(); d == nil || d.GetStatus().GetCode() != 403 {
		t.Errorf("Check /admin/x: %v, want a 403 denial", d)
	}
	if after := okCount(t, adminAddr); after != before+1 {
		t.Errorf(`tokengate_requests_total{result="ok"}: %d before, %d after one allowed Check; want +1 (one registry for every front end)`, before, after)
	}
}

var okSeries = regexp.MustCompile(`(?m)^tokengate_requests_total\{reason="none",result="ok"\} (\d+)$`)

func okCount(t *testing.T, adminAddr string) int {
	t.Helper()
	r, err := http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	m := okSeries.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no ok counter in /metrics:\n%s", body)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}
