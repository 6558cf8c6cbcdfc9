package chaos_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	"github.com/tokengate/tokengate/verifier"
)

// redisServerBinary finds redis-server, or skips (fails under
// TOKENGATE_INTEGRATION=require).
func redisServerBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/sbin/redis-server"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	testenv.Missing(t, "redis-server not found in PATH, /usr/bin or /usr/sbin")
	return ""
}

// redisProc is a private redis-server without persistence (--save ""
// --appendonly no): every stop loses all its data, the worst case of a
// Redis restart. It is stopped when the test ends.
type redisProc struct {
	bin, dir, addr string
	port           int
	log            string // the server's output, all runs appended

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func newRedisProc(t *testing.T, bin string) *redisProc {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	p := &redisProc{bin: bin, dir: dir, port: port, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), log: filepath.Join(dir, "redis.log")}
	t.Cleanup(func() {
		p.mu.Lock()
		cmd, exited := p.cmd, p.exited
		p.mu.Unlock()
		if cmd != nil {
			cmd.Process.Kill()
			<-exited
		}
	})
	return p
}

// start runs redis-server on p.port and waits until it answers PING.
func (p *redisProc) start(t *testing.T) {
	t.Helper()
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(p.bin, "--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", p.dir, "--daemonize", "no",
		"--protected-mode", "no", "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()

	c := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("redis-server on %s exited at start: %s", p.addr, p.tail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s not answering: %v; log: %s", p.addr, err, p.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the process to exit.
func (p *redisProc) stop(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd, p.exited = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		t.Fatal("redis-server is not running")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM redis-server: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("redis-server ignored SIGTERM for 15s: %s", p.tail())
	}
}

func (p *redisProc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// syncedReplica is one sidecar with its own revocation Store and Sync and
// a short ResyncInterval.
type syncedReplica struct {
	sync                  *revocation.Sync
	verifyAddr, adminAddr string
}

func newSyncedReplica(t *testing.T, addr, prefix, name string, src keyring.Source) *syncedReplica {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ClientName: name})
	store := revocation.NewStore(revocation.Options{MaxTokenLifetime: time.Hour})
	sy, err := revocation.NewSync(store, revocation.SyncOptions{Client: c, Prefix: prefix, ResyncInterval: 500 * time.Millisecond, Logger: quiet})
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
	r := &syncedReplica{sync: sy}
	r.verifyAddr, r.adminAddr = serve(t, srv)
	t.Cleanup(func() { cancel(); <-done; c.Close() }) // runs before the server's Shutdown
	return r
}

// postRule POSTs a rule to /revocations and returns the status and body.
func (r *syncedReplica) postRule(t *testing.T, body string) (int, string) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + r.adminAddr + "/revocations")
	req.Header.SetMethod("POST")
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	req.SetBodyString(body)
	if err := fasthttp.DoTimeout(req, resp, 15*time.Second); err != nil {
		t.Fatalf("POST /revocations %s: %v", body, err)
	}
	return resp.StatusCode(), string(resp.Body())
}

// redisRuleKeys reads every rule stored under prefix, by content (not by
// key name): the keys of the rules Redis holds.
func redisRuleKeys(c *redis.Client, prefix string) (map[revocation.Key]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		return nil, err
	}
	out := map[revocation.Key]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix+"jti:") && !strings.HasPrefix(k, prefix+"sub:") {
			continue // the epoch marker, the index
		}
		v, err := c.Get(ctx, k).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if e, err := revocation.ParseEntry([]byte(v), revocation.ParseOptions{}); err == nil {
			out[e.Key()] = true
		}
	}
	return out, nil
}

// missingRules lists the rules of want that Redis does not hold.
func missingRules(c *redis.Client, prefix string, want []revocation.Key) ([]string, error) {
	have, err := redisRuleKeys(c, prefix)
	if err != nil {
		return nil, err
	}
	var miss []string
	for _, k := range want {
		if !have[k] {
			miss = append(miss, k.String())
		}
	}
	return miss, nil
}

// TestRedisRestartKeepsRevocations: two sidecars share revocations through
// a private redis-server without persistence. Tokens are revoked through
// A (jtis and a subject cutoff); once B denies them, A and B are loaded
// with revoked and good tokens while Redis is stopped (SIGTERM), left down
// for a second and started again empty, a few times. A rule revoked
// through A while Redis is down is in force on A at once and reaches B
// after Redis returns. After every restart the replicas write their rules
// back (the epoch marker shows Redis lost them), so Redis holds them again
// and a new replica loads them. Not one wrong answer is allowed.
func TestRedisRestartKeepsRevocations(t *testing.T) {
	bin := redisServerBinary(t)
	const (
		down  = time.Second            // Redis down per cycle
		minUp = 500 * time.Millisecond // Redis up per cycle, at least
		// slow bounds waiting on a reconnection: Sync's backoff reaches
		// 5s, and a loaded 2-core machine under -race is slow.
		slow = 30 * time.Second
	)
	total := length(0*time.Second, 30*time.Second) // full: cycles for this long
	minCycles := length(2, 1)

	rp := newRedisProc(t, bin)
	rp.start(t)
	admin := redis.NewClient(&redis.Options{Addr: rp.addr, MaxRetries: -1})
	t.Cleanup(func() { admin.Close() })

	var rnd [6]byte
	rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	prefix := "tokengate-chaos-restart:" + id + ":"
	src, s := hmacKeys(t, "hs")
	a := newSyncedReplica(t, rp.addr, prefix, "tg-restart-a-"+id, src)
	b := newSyncedReplica(t, rp.addr, prefix, "tg-restart-b-"+id, src)
	testenv.Eventually(t, slow, "initial sync", func() bool { return a.sync.Status().Resyncs > 0 && b.sync.Status().Resyncs > 0 })

	const iss = "https://issuer.chaos.invalid"
	exp := time.Now().Add(time.Hour)
	var good, revJTI, revSub []cred
	var rules []revocation.Key
	for i := range 64 {
		good = append(good, cred{hdr: bearer(mustSign(t, s, claims(iss, "user", fmt.Sprintf("good-%d", i), time.Hour))), want: wantOK, class: 0})
	}
	for i := range 16 {
		jti := fmt.Sprintf("revoked-%d", i)
		revJTI = append(revJTI, cred{hdr: bearer(mustSign(t, s, claims(iss, "user", jti, time.Hour))), want: wantDeny, class: 1})
		rules = append(rules, revocation.Key{Kind: revocation.KindJTI, Value: jti})
	}
	for i := range 16 {
		revSub = append(revSub, cred{hdr: bearer(mustSign(t, s, claims(iss, "user-cut", fmt.Sprintf("cut-%d", i), time.Hour))), want: wantDeny, class: 2})
	}
	rules = append(rules, revocation.Key{Kind: revocation.KindSubject, Value: "user-cut"})
	queuedTok := bearer(mustSign(t, s, claims(iss, "user", "queued-1", time.Hour)))
	// Cached on both replicas first, so every denial must hold on cache
	// hits too.
	for _, r := range []*syncedReplica{a, b} {
		for _, c := range slices.Concat(good, revJTI, revSub, []cred{{hdr: queuedTok}}) {
			if code, err := verifyOnce(r.verifyAddr, c.hdr); err != nil || code != 200 {
				t.Fatalf("before revocation: %d %v", code, err)
			}
		}
	}
	for i := range revJTI {
		if code, body := a.postRule(t, fmt.Sprintf(`{"jti":"revoked-%d","exp":%d}`, i, exp.Unix())); code != 201 || !strings.Contains(body, `"shared": true`) {
			t.Fatalf("POST jti through A = %d %s", code, body)
		}
	}
	if code, body := a.postRule(t, `{"sub":"user-cut","reason":"log out everywhere"}`); code != 201 || !strings.Contains(body, `"shared": true`) {
		t.Fatalf("POST sub through A = %d %s", code, body)
	}
	testenv.Eventually(t, slow, "B denies the tokens revoked through A", func() bool {
		for _, c := range slices.Concat(revJTI, revSub) {
			if code, err := verifyOnce(b.verifyAddr, c.hdr); err != nil || code != 401 {
				return false
			}
		}
		return true
	})

	// Steady load on both replicas until the cycles and the checks after
	// them are done.
	stop := make(chan struct{})
	var stopOnce sync.Once
	endLoad := func() { stopOnce.Do(func() { close(stop) }) }
	t.Cleanup(endLoad)
	creds := interleave(good, revJTI, revSub)
	classes := []string{"good", "revoked-jti", "revoked-sub"}
	settleMemory()
	mem := sampleMem(50 * time.Millisecond)
	var resA, resB *result
	var loadWG sync.WaitGroup
	loadWG.Go(func() {
		resA = run(load{addr: a.verifyAddr, creds: creds, classes: classes, workers: 4, dur: 10 * time.Minute, stop: stop})
	})
	loadWG.Go(func() {
		resB = run(load{addr: b.verifyAddr, creds: creds, classes: classes, workers: 4, dur: 10 * time.Minute, stop: stop})
	})

	stA0, stB0 := a.sync.Status(), b.sync.Status()
	var (
		stops, starts int
		downFor       time.Duration
		learnedAfter  time.Duration // from the restart to B denying the queued rule
		queuedTook    time.Duration // the 202 to the POST with Redis down
		upMax         time.Duration // longest restart-to-rules-back-in-Redis
	)
	start := time.Now()
	for i := 0; i < minCycles || time.Since(start) < total; i++ {
		reA, reB := a.sync.Status().Reseeds, b.sync.Status().Reseeds
		rp.stop(t)
		stops++
		downAt := time.Now()
		if i == 0 {
			// Revoked through A with Redis down: in force on A at once,
			// queued for the others.
			t0 := time.Now()
			code, body := a.postRule(t, fmt.Sprintf(`{"jti":"queued-1","exp":%d}`, exp.Unix()))
			queuedTook = time.Since(t0)
			if code != 202 || !strings.Contains(body, `"shared": false`) {
				t.Fatalf("POST jti through A with Redis down = %d %s, want 202 and shared false", code, body)
			}
			if code, err := verifyOnce(a.verifyAddr, queuedTok); err != nil || code != 401 {
				t.Fatalf("A answers %d %v to the token it revoked with Redis down, want 401 at once", code, err)
			}
			if code, err := verifyOnce(b.verifyAddr, queuedTok); err != nil || code != 200 {
				t.Fatalf("B answers %d %v to a rule it cannot have learned yet", code, err)
			}
			if p := a.sync.Status().Pending; p != 1 {
				t.Errorf("A has %d rules pending, want 1", p)
			}
			rules = append(rules, revocation.Key{Kind: revocation.KindJTI, Value: "queued-1"})
		}
		time.Sleep(time.Until(downAt.Add(down))) // the fault's length, not a wait for an event
		rp.start(t)
		starts++
		downFor += time.Since(downAt)
		upAt := time.Now()
		// Both replicas notice the empty Redis and write their rules back.
		testenv.Eventually(t, slow, fmt.Sprintf("cycle %d: A and B write their rules back", i), func() bool {
			sa, sb := a.sync.Status(), b.sync.Status()
			return sa.Connected && sb.Connected && sa.Reseeds > reA && sb.Reseeds > reB && sa.Pending == 0
		})
		testenv.Eventually(t, slow, fmt.Sprintf("cycle %d: Redis holds every rule again", i), func() bool {
			miss, err := missingRules(admin, prefix, rules)
			return err == nil && len(miss) == 0
		})
		upMax = max(upMax, time.Since(upAt))
		if i == 0 {
			testenv.Eventually(t, slow, "B learns the rule queued while Redis was down", func() bool {
				code, err := verifyOnce(b.verifyAddr, queuedTok)
				return err == nil && code == 401
			})
			learnedAfter = time.Since(upAt)
		}
		time.Sleep(time.Until(upAt.Add(minUp)))
	}
	cyclesFor := time.Since(start)
	endLoad()
	loadWG.Wait()
	heap, rssPeak := mem.end()
	stA, stB := a.sync.Status(), b.sync.Status()
	t.Logf("redis restart (%s, %d cycles in %v): A sent=%d %.0f rps %s | B sent=%d %.0f rps %s | faults: %d stops, %d starts, Redis down %v in all (stop to answering again), rules back in Redis ≤%v after a start; reseeds A=%d B=%d, resyncs A=%d B=%d, failures A=%d B=%d; queued rule: A 202 in %v and denying at once, B denying %v after the start | wrong=%d no-answer=%d | peak heap=%s rss=%s",
		form(), stops, cyclesFor.Round(time.Millisecond), resA.sent, resA.rps(), resA.outcomes(), resB.sent, resB.rps(), resB.outcomes(),
		stops, starts, downFor.Round(time.Millisecond), upMax.Round(time.Millisecond),
		stA.Reseeds-stA0.Reseeds, stB.Reseeds-stB0.Reseeds, stA.Resyncs-stA0.Resyncs, stB.Resyncs-stB0.Resyncs, stA.Failures-stA0.Failures, stB.Failures-stB0.Failures,
		queuedTook.Round(time.Millisecond), learnedAfter.Round(time.Millisecond), resA.wrong+resB.wrong, resA.errTotal+resB.errTotal, mib(heap), mib(rssPeak))
	resA.check(t, "redis restart, replica A", false)
	resB.check(t, "redis restart, replica B", false)

	// After the last restart Redis holds every rule (written back from
	// memory), and a new replica loads them from there alone.
	if miss, err := missingRules(admin, prefix, rules); err != nil || len(miss) > 0 {
		t.Fatalf("after the last restart Redis lacks rules %v (%v)", miss, err)
	}
	c := newSyncedReplica(t, rp.addr, prefix, "tg-restart-c-"+id, src)
	testenv.Eventually(t, slow, "C loads the rules", func() bool { return c.sync.Status().Resyncs > 0 })
	if st := c.sync.Status(); st.Reseeds != 0 {
		t.Errorf("new replica C wrote back %d times: it has nothing of its own to write back", st.Reseeds)
	}
	for _, r := range []struct {
		name string
		r    *syncedReplica
	}{{"A", a}, {"B", b}, {"C", c}} {
		for _, cr := range slices.Concat(good, revJTI, revSub, []cred{{hdr: queuedTok, want: wantDeny}}) {
			want := 200
			if cr.want == wantDeny {
				want = 401
			}
			if code, err := verifyOnce(r.r.verifyAddr, cr.hdr); err != nil || code != want {
				t.Fatalf("after the restarts replica %s answers %d %v, want %d", r.name, code, err, want)
			}
		}
	}
}
