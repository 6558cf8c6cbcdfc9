package middleware_test

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/config"
)

// TestHotReload: the middleware asks the gate that build.Parts.Reload
// (SIGHUP) reconfigures. While requests keep coming, the configuration
// flips between one without and one with a rule for /reports: every
// answer is one of the two configurations' answers, and after the last
// reload every request gets the new one.
func TestHotReload(t *testing.T) {
	f := newFixture(t)
	tok := f.env.Token(t, map[string]any{"scope": "read"})
	without := *f.env.Config
	with := without
	with.Routes = append(slices.Clone(without.Routes), config.Route{Prefix: "/reports", Scopes: []string{"admin"}})

	client := &http.Client{Timeout: 10 * time.Second}
	get := func() int {
		req, _ := http.NewRequest("GET", "http://"+f.addr+"/reports/1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != 200 {
		t.Fatalf("before any reload: %d", s)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var odd atomic.Int64
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				if s := get(); s != 200 && s != 403 {
					odd.Add(1)
				}
			}
		})
	}
	for i := range 20 {
		next := &without
		if i%2 == 0 {
			next = &with
		}
		if err := f.env.Parts.Reload(next); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.env.Parts.Reload(&with); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	if n := odd.Load(); n > 0 {
		t.Errorf("%d answers were neither configuration's", n)
	}
	for range 5 {
		if s := get(); s != 403 {
			t.Fatalf("after the reload: %d, want the new rule's 403", s)
		}
	}
}
