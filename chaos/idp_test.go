package chaos_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/internal/sidecartest"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/verifier"
)

// idpFaults are the answers the faulty identity provider cycles through.
var idpFaults = []string{"good", "slow", "500", "garbage", "truncated", "oversized", "oversized-chunked", "no-keys", "html-200"}

// TestIdentityProviderFaults: a JWK Set endpoint that cycles, every
// 100 ms, through answers slower than the fetch timeout, 500s, garbage,
// truncated JSON, documents over the size limit (with and without a
// Content-Length), a key set without keys, an HTML page, and the good key
// set. The refresh loop runs every 20 ms and unknown-kid tokens trigger
// refetches; the provider's last good keys must keep verifying its tokens
// throughout, and nothing forged may pass.
func TestIdentityProviderFaults(t *testing.T) {
	dur := length(3*time.Second, 30*time.Second)
	const maxSize = 16 << 10
	const timeout = 100 * time.Millisecond
	sgood, kgood := newES256(t, "idp-1")
	good := jwks(t, kgood)
	var mode atomic.Int64
	served := make([]atomic.Int64, len(idpFaults))
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := int(mode.Load()) % len(idpFaults)
		served[m].Add(1)
		w.Header().Set("Cache-Control", "max-age=0")
		switch idpFaults[m] {
		case "good":
			w.Header().Set("Content-Type", "application/jwk-set+json")
			w.Write(good)
		case "slow": // beyond the fetch timeout, then the good document
			select {
			case <-time.After(3 * timeout):
			case <-r.Context().Done():
				return
			}
			w.Write(good)
		case "500":
			http.Error(w, "internal error", http.StatusInternalServerError)
		case "garbage":
			w.Write([]byte("\x7fELF\x02\x01\x01\x00 garbage {{{"))
		case "truncated":
			w.Write(good[:len(good)*2/3])
		case "oversized": // valid JSON, padded past MaxSize, with Content-Length
			doc := append(bytes.Clone(good[:len(good)-1]), bytes.Repeat([]byte(" "), 2*maxSize)...)
			w.Header().Set("Content-Length", strconv.Itoa(len(doc)+1))
			w.Write(append(doc, '}'))
		case "oversized-chunked": // the same without Content-Length: caught while reading
			w.Write(good[:len(good)-1])
			for range 4 {
				w.Write(bytes.Repeat([]byte(" "), maxSize))
				w.(http.Flusher).Flush()
			}
			w.Write([]byte("}"))
		case "no-keys":
			w.Write([]byte(`{"keys":[]}`))
		case "html-200":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><body>Please log in</body></html>"))
		}
	}))
	t.Cleanup(p.Close)

	const iss = "https://idp.chaos.invalid"
	ring, err := keyring.New(keyring.Config{Logger: quiet, Sources: []keyring.Source{{Remote: &keyring.RemoteConfig{
		JWKSURL: p.URL + "/keys", Issuer: iss, Algs: []keyring.Algorithm{keyring.ES256}, AllowHTTP: true,
		MinRefresh: 20 * time.Millisecond, MaxRefresh: 50 * time.Millisecond, DefaultRefresh: 20 * time.Millisecond,
		RefetchInterval: 50 * time.Millisecond, Timeout: timeout, MaxSize: maxSize,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ring.Start(ctx)
	t.Cleanup(func() { cancel(); ring.Close() })
	srv := sidecartest.New(t, gate.DefaultConfig(), sidecar.DefaultConfig(), verifier.Options{Policy: verifier.DefaultPolicy()},
		gate.Options{Refetch: ring.Refetch}, sidecar.Options{Keys: ring, Logger: quiet})
	addr, _ := serve(t, srv)

	var goodCreds, unknown, forged []cred
	for i := range 32 {
		goodCreds = append(goodCreds, cred{hdr: bearer(mustSign(t, sgood, claims(iss, "user", "g"+strconv.Itoa(i), time.Hour))), want: wantOK, class: 0})
	}
	for i := range 32 { // kids the provider never published: each a refetch, rate-limited
		s, _ := newES256(t, fmt.Sprintf("unknown-%d", i))
		unknown = append(unknown, cred{hdr: bearer(mustSign(t, s, claims(iss, "user", "u", time.Hour))), want: wantDeny, class: 1})
	}
	impostor, _ := newES256(t, "idp-1")
	c := claims(iss, "user", "f", time.Hour)
	for _, tok := range []string{
		tamper(mustSign(t, sgood, c)), // the provider's kid, bad signature
		mustSign(t, impostor, c),      // another key claiming its kid
		mustSign(t, sgood, claims("https://other.invalid", "user", "f", time.Hour)), // its key, another issuer
		unsigned("idp-1", c),
	} {
		for range 8 {
			forged = append(forged, cred{hdr: bearer(tok), want: wantDeny, class: 2})
		}
	}
	creds := interleave(goodCreds, unknown, forged)

	stop := make(chan struct{})
	cycled := make(chan struct{})
	go func() {
		defer close(cycled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				mode.Add(1)
			}
		}
	}()
	mem := sampleMem(50 * time.Millisecond)
	res := run(load{addr: addr, creds: creds, classes: []string{"good", "unknown-kid", "forged"}, workers: 16, dur: dur})
	close(stop)
	<-cycled
	heap, rssPeak := mem.end()
	rs := ring.Status().Remotes[0]
	var faults []string
	var nFaults int64
	for i, f := range idpFaults {
		n := served[i].Load()
		faults = append(faults, fmt.Sprintf("%s:%d", f, n))
		if f != "good" {
			nFaults += n
		}
	}
	t.Logf("identity-provider faults (%s, %v): sent=%d %.0f rps outcomes: %s | faults: %d bad answers served [%s], fetches=%d fetch errors=%d refetches=%d suppressed=%d ready=%v keys=%d | wrong=%d no-answer=%d | p50=%v p99=%v | peak heap=%s rss=%s",
		form(), dur, res.sent, res.rps(), res.outcomes(), nFaults, strings.Join(faults, " "), rs.Fetches, rs.FetchErrors,
		rs.Refetches, rs.RefetchesSuppressed, rs.Ready, rs.Keys, res.wrong, res.errTotal, res.p(50), res.p(99), mib(heap), mib(rssPeak))
	res.check(t, "identity-provider faults", false)
	if rs.FetchErrors == 0 || rs.Refetches == 0 {
		t.Errorf("the faults did not reach the keyring: %d fetch errors, %d refetches", rs.FetchErrors, rs.Refetches)
	}
	for i, f := range idpFaults {
		if served[i].Load() == 0 {
			t.Errorf("fault %q was never served", f)
		}
	}
}
