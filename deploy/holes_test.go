//go:build unix

package deploy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Holes found by probing tokengate through its own recipes, with an
// application behind them that reads requests as frameworks do (issue
// 12). Each request is written on the wire by hand (rawRequest), so the
// method and target reach the proxy exactly as an attacker sends them.

// TestRecipesMethodRulesIgnoreCase: with a rule on [DELETE, POST, PUT]
// for /reports, "delete /reports/7" from a user without the admin scope
// went through the Caddy recipe and the application (which upper-cases
// methods) deleted the report; HEAD went past a [GET] rule. Now no
// spelling of a guarded method reaches the application without the scope.
func TestRecipesMethodRulesIgnoreCase(t *testing.T) {
	for _, r := range recipes {
		t.Run(r.name, func(t *testing.T) {
			bin := lookBinary(t, r.name)
			t.Parallel()
			g := newGate(t)
			_, base := r.start(t, bin, g)
			n := 0
			send := func(method, target, token string) (int, seenRequest, bool) {
				n++
				id := fmt.Sprintf("method-%d", n)
				resp, _ := rawRequest(t, base, method, target, [][2]string{{"X-Test-Id", id}, {"Authorization", "Bearer " + token}})
				seen, reached := g.app.request(id)
				return resp.StatusCode, seen, reached
			}
			for _, c := range []struct{ method, target string }{
				{"DELETE", "/reports/7"}, {"delete", "/reports/7"}, {"Delete", "/reports/7"}, {"dElEtE", "/reports/7"},
				{"post", "/reports"}, {"Put", "/reports/7"},
				{"HEAD", "/secrets/1"}, {"head", "/secrets/1"}, {"get", "/secrets/1"},
			} {
				status, seen, reached := send(c.method, c.target, g.good)
				if reached || status < 400 || status >= 500 {
					t.Errorf("%s %s without the admin scope: status %d, the app saw %q; want a 4xx that never reaches it", c.method, c.target, status, seen.route)
				}
			}
			// The rule still lets the admin through, and other methods past.
			if status, seen, reached := send("DELETE", "/reports/7", g.admin); !reached || status != 200 || seen.route != "DELETE /reports/7" {
				t.Errorf("DELETE with the admin scope: %d, reached %v as %q", status, reached, seen.route)
			}
			if status, _, reached := send("GET", "/reports/7", g.good); !reached || status != 200 {
				t.Errorf("GET /reports/7 (not guarded): %d, reached %v", status, reached)
			}
		})
	}
}

// TestRecipesRefuseTwoAuthorizationHeaders: nginx answers 400 to two
// Authorization headers, but Caddy forwarded both to the application
// while tokengate verified the first, so the application could read the
// other one. Through both recipes such a request now ends before the app.
func TestRecipesRefuseTwoAuthorizationHeaders(t *testing.T) {
	for _, r := range recipes {
		t.Run(r.name, func(t *testing.T) {
			bin := lookBinary(t, r.name)
			t.Parallel()
			g := newGate(t)
			_, base := r.start(t, bin, g)
			for i, pair := range [][2]string{{g.good, g.admin}, {g.admin, g.good}, {g.good, g.good}, {"garbage", g.admin}} {
				id := fmt.Sprintf("dup-%d", i)
				resp, body := rawRequest(t, base, http.MethodGet, "/orders/7", [][2]string{
					{"X-Test-Id", id}, {"Authorization", "Bearer " + pair[0]}, {"Authorization", "Bearer " + pair[1]},
				})
				if seen, reached := g.app.request(id); reached || resp.StatusCode < 400 || resp.StatusCode >= 500 {
					t.Errorf("two Authorization headers (%d): status %d %q, app saw %v; want a 4xx before the app", i, resp.StatusCode, body, seen.header["Authorization"])
				}
			}
		})
	}
}

// TestRecipesStampRequestStart: both recipes tell tokengate when the
// proxy took the request (X-Request-Start), so that under overload a
// request that waited past limits.max_queue_time is refused unverified
// instead of delaying the ones behind it (sidecar TestStaleRequestsShed
// covers the refusal). The proxies here ask a recorder in tokengate's
// place, which checks the stamp reads as a time within seconds of now.
func TestRecipesStampRequestStart(t *testing.T) {
	for _, r := range recipes {
		t.Run(r.name, func(t *testing.T) {
			bin := lookBinary(t, r.name)
			t.Parallel()
			g := newGate(t)
			stamps := make(chan string, 16)
			rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				uri := req.Header.Get("X-Original-URI") + req.Header.Get("X-Forwarded-Uri")
				if strings.HasPrefix(uri, "/orders/") {
					stamps <- req.Header.Get("X-Request-Start")
				}
				w.WriteHeader(http.StatusOK)
			}))
			t.Cleanup(rec.Close)
			g.verifyAddr = rec.Listener.Addr().String()
			_, base := r.start(t, bin, g)
			// A client's own stamp is replaced by the proxy's.
			before := time.Now()
			resp, _ := rawRequest(t, base, http.MethodGet, "/orders/7", [][2]string{{"X-Request-Start", "t=1"}})
			after := time.Now()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			stamp := <-stamps
			sec, err := strconv.ParseFloat(strings.TrimPrefix(stamp, "t="), 64)
			if err == nil && sec > 1e11 { // milliseconds
				sec /= 1e3
			}
			at := time.Unix(0, int64(sec*1e9))
			if err != nil || !strings.HasPrefix(stamp, "t=") || at.Before(before.Add(-time.Second)) || at.After(after.Add(time.Second)) {
				t.Errorf("X-Request-Start %q (%v), want the time the proxy took the request (%v…%v)", stamp, at, before, after)
			}
		})
	}
}
