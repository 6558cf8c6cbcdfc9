package chaos_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/internal/sidecartest"
	"github.com/tokengate/tokengate/internal/testenv"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/revocation"
	"github.com/tokengate/tokengate/sidecar"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

const adminSecret = "chaos-admin-secret-0123456789"

// hmacKeys writes an HS256 secret and returns its keyring source and signer.
func hmacKeys(t testing.TB, kid string) (keyring.Source, *signer.Signer) {
	t.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	path := filepath.Join(t.TempDir(), kid+".secret")
	if err := os.WriteFile(path, []byte(hex.EncodeToString(secret)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := signer.New(keyring.HS256, secret, kid)
	if err != nil {
		t.Fatal(err)
	}
	return keyring.Source{Path: path, Secret: true, Encoding: keyring.SecretHex, Alg: keyring.HS256, ID: kid}, s
}

// replica is one sidecar with its own revocation store and Redis link
// (as sidecar/revocation_test.go builds them).
type replica struct {
	sync                  *revocation.Sync
	verifyAddr, adminAddr string
	clientName            string
}

func newReplica(t *testing.T, addr, prefix, name string, src keyring.Source) *replica {
	c := redis.NewClient(&redis.Options{Addr: addr, ClientName: name})
	store := revocation.NewStore(revocation.Options{MaxTokenLifetime: time.Hour})
	sy, err := revocation.NewSync(store, revocation.SyncOptions{Client: c, Prefix: prefix, ResyncInterval: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sy.Run(ctx); close(done) }()
	ring, err := keyring.New(keyring.Config{Sources: []keyring.Source{src}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv := sidecartest.New(t, gate.DefaultConfig(), sidecar.DefaultConfig(), verifier.Options{Policy: verifier.DefaultPolicy()}, gate.Options{},
		sidecar.Options{Keys: ring, Logger: quiet, Revocations: store, RevocationSync: sy, AdminToken: []byte(adminSecret)})
	r := &replica{sync: sy, clientName: name}
	r.verifyAddr, r.adminAddr = serve(t, srv)
	t.Cleanup(func() { cancel(); <-done; c.Close() }) // runs before the server's Shutdown
	return r
}

func verifyOnce(addr string, hdr []byte) (int, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + "/verify")
	req.Header.SetBytesV("Authorization", hdr)
	err := fasthttp.DoTimeout(req, resp, 5*time.Second)
	return resp.StatusCode(), err
}

func (r *replica) revoke(t *testing.T, jti string, exp int64) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + r.adminAddr + "/revocations")
	req.Header.SetMethod("POST")
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	req.SetBodyString(fmt.Sprintf(`{"jti":%q,"exp":%d}`, jti, exp))
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 201 || !bytes.Contains(resp.Body(), []byte(`"shared": true`)) {
		t.Fatalf("POST /revocations %s = %d %s", jti, resp.StatusCode(), resp.Body())
	}
}

// TestRedisFaultsKeepRevocations: two sidecars share revocations through
// Redis. Tokens are revoked through A; once B denies every one of them,
// B is loaded with revoked and good tokens while its Redis connections are
// killed every 200 ms. A revoked token B has learned must never pass, and
// a good token must never fail: the request path does not touch Redis.
func TestRedisFaultsKeepRevocations(t *testing.T) {
	addr := testenv.RedisAddr(t)
	dur := length(3*time.Second, 30*time.Second)
	var rnd [6]byte
	rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	prefix := "tokengate-chaos:" + id + ":"
	admin := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() {
		if keys, _ := admin.Keys(context.Background(), prefix+"*").Result(); len(keys) > 0 {
			admin.Del(context.Background(), keys...)
		}
		admin.Close()
	})
	src, s := hmacKeys(t, "hs")
	a := newReplica(t, addr, prefix, "tg-chaos-a-"+id, src)
	b := newReplica(t, addr, prefix, "tg-chaos-b-"+id, src)
	testenv.Eventually(t, 5*time.Second, "initial sync", func() bool { return a.sync.Status().Resyncs > 0 && b.sync.Status().Resyncs > 0 })

	const iss = "https://issuer.chaos.invalid"
	exp := time.Now().Add(time.Hour)
	var good, revoked []cred
	for i := range 64 {
		jti := fmt.Sprintf("good-%d", i)
		good = append(good, cred{hdr: bearer(mustSign(t, s, claims(iss, "user", jti, time.Hour))), want: wantOK, class: 0})
	}
	for i := range 32 {
		jti := fmt.Sprintf("revoked-%d", i)
		c := cred{hdr: bearer(mustSign(t, s, claims(iss, "user", jti, time.Hour))), want: wantDeny, class: 1}
		// Cached on B first, so the denial must hold on cache hits too.
		if code, err := verifyOnce(b.verifyAddr, c.hdr); err != nil || code != 200 {
			t.Fatalf("before revocation: %d %v", code, err)
		}
		a.revoke(t, jti, exp.Unix())
		revoked = append(revoked, c)
	}
	for _, c := range revoked {
		testenv.Eventually(t, 5*time.Second, "B denies the tokens revoked through A", func() bool {
			code, err := verifyOnce(b.verifyAddr, c.hdr)
			return err == nil && code == 401
		})
	}

	var kills, killRounds atomic.Int64
	var killErr atomic.Pointer[error]
	stop := make(chan struct{})
	killerDone := make(chan struct{})
	st0 := b.sync.Status()
	go func() {
		defer close(killerDone)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			n, err := testenv.KillRedisClient(context.Background(), admin, b.clientName)
			if err != nil {
				killErr.Store(&err)
			}
			kills.Add(int64(n))
			killRounds.Add(1)
		}
	}()
	mem := sampleMem(50 * time.Millisecond)
	res := run(load{addr: b.verifyAddr, creds: interleave(good, revoked, revoked), classes: []string{"good", "revoked"}, workers: 16, dur: dur})
	close(stop)
	<-killerDone
	heap, rssPeak := mem.end()
	st := b.sync.Status()
	t.Logf("redis faults (%s, %v): sent=%d %.0f rps outcomes: %s | faults: %d kill rounds, %d connections of B killed; B resyncs=%d failures=%d connected=%v | wrong=%d no-answer=%d | p50=%v p99=%v | peak heap=%s rss=%s",
		form(), dur, res.sent, res.rps(), res.outcomes(), killRounds.Load(), kills.Load(), st.Resyncs-st0.Resyncs, st.Failures-st0.Failures, st.Connected,
		res.wrong, res.errTotal, res.p(50), res.p(99), mib(heap), mib(rssPeak))
	res.check(t, "redis faults", false)
	if e := killErr.Load(); e != nil {
		t.Errorf("CLIENT KILL: %v", *e)
	}
	if kills.Load() == 0 {
		t.Error("no connection of B was killed: the scenario injected no fault")
	}
	// B comes back: reconnected, and still denying what it learned.
	testenv.Eventually(t, 15*time.Second, "B reconnects", func() bool { return b.sync.Status().Connected })
	for _, c := range revoked {
		if code, err := verifyOnce(b.verifyAddr, c.hdr); err != nil || code != 401 {
			t.Fatalf("after the faults a revoked token got %d %v", code, err)
		}
	}
}
