package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/internal/proccpu"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/loadtest"
)

// httpPlan sets the HTTP measurements: closed-loop rounds (each target
// once per round, the order rotated between rounds), then open-loop steps
// at fractions of each target's closed-loop capacity.
type httpPlan struct {
	rounds        int
	closedFor     time.Duration
	connections   int // closed loop; also the session servers' pool size
	openFor       time.Duration
	openFractions []float64
	// freshTokens per algorithm: enough that no token repeats within one
	// run at the target's capacity.
	freshTokens map[string]int
	// warmup precedes every measurement (the generator's --warmup):
	// connections open, the cache of the repeated-token run filled.
	warmup time.Duration
}

// openInFlight bounds the requests in flight in the open loop (the
// generator's workers): far above what any target keeps busy, so that
// queueing shows in the latency instead of in unsent requests.
const openInFlight = 128

// httpTarget is one server measured over HTTP.
type httpTarget struct {
	Key, Label string
	// start returns the server's command line.
	start func(env *environment, keyDir, cfgDir string) ([]string, error)
	// tokens is the token file (or session id file) the generator cycles.
	tokens string
	// fresh says every token must be new to the server: a run that sends
	// more requests than the file holds is flagged.
	fresh bool
	// session: the generator sends cookies; store names the store's
	// server processes, whose CPU is charged to the target.
	session bool
	store   []string
}

func httpTargets(p httpPlan, rows int) []httpTarget {
	loadtestServe := func(kind string) func(*environment, string, string) ([]string, error) {
		return func(env *environment, _, _ string) ([]string, error) {
			return []string{env.tokengate, "loadtest", "--serve", "--target", kind, "--rows", strconv.Itoa(rows), "--connections", strconv.Itoa(p.connections)}, nil
		}
	}
	sidecar := func(cache string) func(*environment, string, string) ([]string, error) {
		return func(env *environment, keyDir, cfgDir string) ([]string, error) {
			path := filepath.Join(cfgDir, "tokengate-cache-"+cache+".yaml")
			err := os.WriteFile(path, []byte(sidecarConfig(keyDir, cache)), 0o600)
			return []string{env.tokengate, "serve", "--config", path}, err
		}
	}
	naive := func(env *environment, keyDir, _ string) ([]string, error) {
		return []string{env.naive, "--key-dir", keyDir}, nil
	}
	return []httpTarget{
		{Key: "noop", Label: "no-op fasthttp server (the HTTP floor)", start: loadtestServe("noop"), tokens: "repeat.txt"},
		{Key: "tokengate-repeat", Label: "tokengate, 1,000 ES256 tokens, each seen before (cache hits)", start: sidecar("64MiB"), tokens: "repeat.txt"},
		{Key: "tokengate-new-HS256", Label: "tokengate, every HS256 token new", start: sidecar("64MiB"), tokens: "new-HS256.txt", fresh: true},
		{Key: "tokengate-new-ES256", Label: "tokengate, every ES256 token new", start: sidecar("64MiB"), tokens: "new-ES256.txt", fresh: true},
		{Key: "tokengate-new-EdDSA", Label: "tokengate, every Ed25519 token new", start: sidecar("64MiB"), tokens: "new-EdDSA.txt", fresh: true},
		{Key: "tokengate-nocache-ES256", Label: "tokengate with the cache off, every ES256 token new", start: sidecar("0"), tokens: "new-ES256.txt", fresh: true},
		{Key: "naive-HS256", Label: "naive net/http + golang-jwt sidecar, HS256", start: naive, tokens: "new-HS256.txt"},
		{Key: "naive-ES256", Label: "naive net/http + golang-jwt sidecar, ES256", start: naive, tokens: "new-ES256.txt"},
		{Key: "session-redis", Label: "session check in Redis (GET + JSON), ids uniform over the table", start: loadtestServe("session-redis"), tokens: "sessions.txt", session: true, store: []string{"redis-server"}},
		{Key: "session-postgres", Label: "session check in PostgreSQL (prepared SELECT by key), ids uniform over the table", start: loadtestServe("session-postgres"), tokens: "sessions.txt", session: true, store: []string{"postgres"}},
	}
}

// sidecarConfig is the sidecar's configuration for the runs: the
// generator's keys, the cache size given, everything else default.
func sidecarConfig(keyDir, cache string) string {
	return fmt.Sprintf(`listen: {verify: "127.0.0.1:0", admin: "127.0.0.1:0"}
keys:
  - file: %s/keys.jwks.json
    algs: [ES256, EdDSA]
  - secret_file: %s/loadtest-hs256.secret
    encoding: base64url
    alg: HS256
    kid: loadtest-hs256
watch_keys: false
cache: {max_size: %s}
`, keyDir, keyDir, cache)
}

// httpRecord is one line of http-closed.jsonl / http-open.jsonl.
type httpRecord struct {
	Target  string           `json:"target"`
	Label   string           `json:"label"`
	Round   int              `json:"round,omitempty"`
	Offered float64          `json:"offered_rps,omitempty"`
	Pinned  bool             `json:"pinned"` // server on CPU 0, generator on CPU 1
	Server  float64          `json:"server_cpu_s"`
	Store   float64          `json:"store_cpu_s,omitempty"`
	Tokens  int              `json:"tokens_in_file"`
	Fresh   bool             `json:"fresh,omitempty"`
	Report  *loadtest.Report `json:"report"`
}

// ServerUS is the server's CPU per answered request, in µs (store
// included when the target has one).
func (r httpRecord) ServerUS() float64 {
	if r.Report == nil || r.Report.Completed == 0 {
		return 0
	}
	return (r.Server + r.Store) * 1e6 / float64(r.Report.Completed)
}

// GeneratorBound reports a run in which the generator used at least 90 %
// of its core: the generator, not the server, may have been the limit.
func (r httpRecord) GeneratorBound() bool {
	return r.Report != nil && r.Report.ElapsedSeconds > 0 && r.Report.GeneratorCPU/r.Report.ElapsedSeconds >= 0.9
}

// Repeated reports a run that needed new tokens but cycled its file.
func (r httpRecord) Repeated() bool {
	return r.Fresh && r.Report != nil && r.Report.Sent > int64(r.Tokens)
}

// prepare builds the binaries and mints the token files (once per run).
func (e *environment) prepareHTTP(ctx context.Context, p httpPlan) (keyDir string, err error) {
	if err := e.build(ctx); err != nil {
		return "", err
	}
	keyDir = filepath.Join(e.work, "keys")
	if _, err := os.Stat(filepath.Join(e.work, "tokens", "sessions.txt")); err == nil {
		return keyDir, nil
	}
	tokDir := filepath.Join(e.work, "tokens")
	if err := os.MkdirAll(tokDir, 0o700); err != nil {
		return "", err
	}
	start := time.Now()
	var mix []loadtest.AlgWeight
	total := 0
	for _, alg := range []string{"HS256", "ES256", "EdDSA"} {
		n := p.freshTokens[alg]
		if alg == "ES256" {
			n += 1000 // the repeated ones
		}
		mix = append(mix, loadtest.AlgWeight{Alg: loadtestAlg(alg), Weight: float64(n)})
		total += n
	}
	w, err := loadtest.NewWorkload(loadtest.Config{Tokens: total, Algs: mix, KeyDir: keyDir})
	if err != nil {
		return "", err
	}
	files := map[string]*strings.Builder{}
	repeated := 0
	for _, c := range w.Creds {
		name := "new-" + string(c.Alg) + ".txt"
		if c.Alg == "ES256" && repeated < 1000 {
			name, repeated = "repeat.txt", repeated+1
		}
		if files[name] == nil {
			files[name] = &strings.Builder{}
		}
		files[name].WriteString(c.Value + "\n")
	}
	sw, err := loadtest.NewWorkload(loadtest.Config{Target: loadtest.TargetSessionRedis, Tokens: min(e.plan.rows, 1<<20), Rows: e.plan.rows})
	if err != nil {
		return "", err
	}
	files["sessions.txt"] = &strings.Builder{}
	for _, c := range sw.Creds {
		files["sessions.txt"].WriteString(c.Value + "\n")
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tokDir, name), []byte(b.String()), 0o600); err != nil {
			return "", err
		}
	}
	logf("  minted %d tokens and %d session ids in %s", total, len(sw.Creds), time.Since(start).Round(time.Millisecond))
	return keyDir, nil
}

func loadtestAlg(a string) keyring.Algorithm { return keyring.Algorithm(a) }

// server is a started target process.
type server struct {
	cmd *exec.Cmd
	url string
}

// pinned reports whether server and generator get a core each.
func pinned() bool {
	_, err := exec.LookPath("taskset")
	return err == nil && runtime.NumCPU() >= 2
}

// onCPU prefixes argv with taskset when pinning is possible.
func onCPU(cpu int, argv []string) []string {
	if !pinned() {
		return argv
	}
	return append([]string{"taskset", "-c", strconv.Itoa(cpu)}, argv...)
}

// startServer starts t on CPU 0 and waits for the line that gives its
// address: "serving … at URL" on stdout, or the sidecar's "tokengate
// ready" log line (verify=ADDR) on stderr.
func startServer(ctx context.Context, env *environment, t httpTarget, keyDir string) (*server, error) {
	argv, err := t.start(env, keyDir, env.work)
	if err != nil {
		return nil, err
	}
	argv = onCPU(0, argv)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 2)
	scan := func(r io.Reader) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, " at http://"); strings.HasPrefix(line, "serving ") && i > 0 {
				found <- line[i+4:]
			}
			if strings.Contains(line, "tokengate ready") {
				for f := range strings.FieldsSeq(line) {
					if a, ok := strings.CutPrefix(f, "verify="); ok {
						found <- "http://" + a + "/verify"
					}
				}
			}
			if strings.Contains(line, "level=ERROR") || strings.Contains(line, "tokengate serve:") {
				fmt.Fprintln(os.Stderr, "  server:", line)
			}
		}
	}
	go scan(out)
	go scan(errOut)
	select {
	case u := <-found:
		return &server{cmd: cmd, url: u}, nil
	case <-time.After(60 * time.Second):
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, fmt.Errorf("%s did not say where it listens within 60 s", t.Key)
}

// stop ends the server with SIGTERM (SIGKILL after 5 s).
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// generate runs the load generator on CPU 1 against s and returns its
// report; args are the mode's flags. mark is called when the generator
// starts and ends its measured interval (after its warm-up).
func generate(ctx context.Context, env *environment, t httpTarget, s *server, mark func(event string), args ...string) (*loadtest.Report, error) {
	out := filepath.Join(env.work, "report.json")
	argv := []string{env.tokengate, "loadtest", "--url", s.url, "--token-file", filepath.Join(env.work, "tokens", t.tokens),
		"--warmup", env.plan.http.warmup.String(), "--marks", "--quiet", "--json", out, "--markdown", os.DevNull}
	if t.session {
		argv = append(argv, "--target", "session-redis") // session cookies
	}
	argv = onCPU(1, append(argv, args...))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "loadtest: measurement "); ok {
			mark(ev)
		} else {
			fmt.Fprintln(os.Stderr, "  generator:", sc.Text())
		}
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("load generator for %s: %w", t.Key, err)
	}
	f, err := os.Open(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return loadtest.ReadJSON(f)
}

// measureOnce starts t, applies one load and returns the record with the
// server's (and the store's) CPU over the generator's measured interval.
func measureOnce(ctx context.Context, env *environment, t httpTarget, keyDir string, args ...string) (httpRecord, error) {
	rec := httpRecord{Target: t.Key, Label: t.Label, Pinned: pinned(), Fresh: t.fresh}
	s, err := startServer(ctx, env, t, keyDir)
	if err != nil {
		return rec, err
	}
	defer s.stop()
	var store *proccpu.Group
	if t.store != nil {
		store = proccpu.NewGroup(t.store...)
	}
	var server, stored [2]time.Duration
	var markErr error
	mark := func(ev string) {
		i := 0
		if ev == "end" {
			i = 1
		}
		var err error
		if server[i], err = proccpu.Of(s.cmd.Process.Pid); err != nil {
			markErr = err
		}
		if store != nil {
			stored[i], _ = store.Total()
		}
	}
	rep, err := generate(ctx, env, t, s, mark, args...)
	if err != nil {
		return rec, err
	}
	if markErr != nil || server[1] == 0 {
		return rec, fmt.Errorf("reading the CPU of %s: %v", t.Key, markErr)
	}
	rec.Server, rec.Store, rec.Report = (server[1] - server[0]).Seconds(), (stored[1] - stored[0]).Seconds(), rep
	if b, err := os.ReadFile(filepath.Join(env.work, "tokens", t.tokens)); err == nil {
		rec.Tokens = strings.Count(string(b), "\n")
	}
	return rec, nil
}

// httpClosed measures every target closed loop, in rounds.
func httpClosed(ctx context.Context, env *environment, p httpPlan, out string) error {
	keyDir, err := env.prepareHTTP(ctx, p)
	if err != nil {
		return err
	}
	w, err := newJSONL(filepath.Join(out, "http-closed.jsonl"))
	if err != nil {
		return err
	}
	defer w.Close()
	targets := httpTargets(p, env.plan.rows)
	for round := 1; round <= p.rounds; round++ {
		for i := range targets {
			t := targets[(i+round-1)%len(targets)] // alternate the order between rounds
			rec, err := measureOnce(ctx, env, t, keyDir, "--connections", strconv.Itoa(p.connections), "--duration", p.closedFor.String())
			if err != nil {
				return err
			}
			rec.Round = round
			logf("  round %d/%d %-24s %8.0f req/s  server %5.1f µs/req  p99 %s", round, p.rounds, t.Key, rec.Report.Throughput, rec.ServerUS(), fmtUS(rec.Report.Latency.P99))
			if err := w.write(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// httpOpen measures every target open loop at fractions of the capacity
// the closed-loop phase found.
func httpOpen(ctx context.Context, env *environment, p httpPlan, out string) error {
	capacity, err := closedCapacity(out)
	if err != nil {
		return err
	}
	keyDir, err := env.prepareHTTP(ctx, p)
	if err != nil {
		return err
	}
	w, err := newJSONL(filepath.Join(out, "http-open.jsonl"))
	if err != nil {
		return err
	}
	defer w.Close()
	for _, t := range httpTargets(p, env.plan.rows) {
		for _, f := range p.openFractions {
			rate := float64(int(capacity[t.Key]*f/100+0.5) * 100)
			if rate <= 0 {
				return fmt.Errorf("no closed-loop capacity for %s", t.Key)
			}
			rec, err := measureOnce(ctx, env, t, keyDir, "--mode", "open", "--rate", strconv.FormatFloat(rate, 'f', 0, 64),
				"--connections", strconv.Itoa(openInFlight), "--duration", p.openFor.String(), "--timeout", "2s")
			if err != nil {
				return err
			}
			rec.Offered = rate
			l := rec.Report.Latency
			logf("  %-24s offered %7.0f/s  served %7.0f/s  p50 %s  p99 %s", t.Key, rate, rec.Report.Throughput, fmtUS(l.P50), fmtUS(l.P99))
			if err := w.write(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// closedCapacity is each target's median closed-loop throughput.
func closedCapacity(out string) (map[string]float64, error) {
	recs, err := readJSONL(filepath.Join(out, "http-closed.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("the open-loop steps need the closed-loop capacity: %w", err)
	}
	by := map[string][]float64{}
	for _, r := range recs {
		by[r.Target] = append(by[r.Target], r.Report.Throughput)
	}
	m := map[string]float64{}
	for k, v := range by {
		m[k] = newStat(v).Median
	}
	return m, nil
}

type jsonl struct {
	f   *os.File
	enc *json.Encoder
}

func newJSONL(path string) (*jsonl, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &jsonl{f: f, enc: json.NewEncoder(f)}, nil
}

func (j *jsonl) write(r httpRecord) error { return j.enc.Encode(r) }
func (j *jsonl) Close() error             { return j.f.Close() }

func readJSONL(path string) ([]httpRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []httpRecord
	dec := json.NewDecoder(f)
	for {
		var r httpRecord
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: %w", path, errNoData)
	}
	return recs, nil
}

// fmtUS formats microseconds for logs and tables.
var fmtUS = loadtest.FormatMicros
