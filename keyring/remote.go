package keyring

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokengate/tokengate/internal/jsonx"
	"golang.org/x/sync/singleflight"
)

// RemoteStatus describes one remote key source.
type RemoteStatus struct {
	URL     string // configured URL: the JWK Set URL or the discovery document URL
	Issuer  string // issuer the keys are scoped to ("" = global)
	JWKSURL string // JWK Set URL in use (discovered), "" until known
	// Ready reports that the source has a document: its keys are in the
	// ring. A source that fails later stays ready with its last good keys.
	Ready bool
	Keys  int // keys in the last good document (allow-list applied)
	// Refused lists the members of the last good document that were not
	// loaded because they are not usable keys (too weak, malformed, a
	// duplicate kid, private material...), each naming its kid and
	// reason. The document's other keys are in use.
	Refused []*KeyError

	LastAttempt time.Time // start of the last fetch
	LastSuccess time.Time // last fetch that succeeded (304 included)
	// LastError is the error of the last fetch, nil if it succeeded. The
	// last good document stays in use.
	LastError   error
	NextRefresh time.Time // when the refresh loop fetches next

	Fetches     uint64 // fetch attempts (a discovery and its JWK Set count once)
	FetchErrors uint64 // failed attempts
	NotModified uint64 // 304 answers to a conditional request
	// Refetches counts unknown-kid fetches made; RefetchesSuppressed the
	// Refetch calls answered without one (rate-limited, or sharing the
	// result of a fetch in flight).
	Refetches, RefetchesSuppressed uint64
	ConsecutiveFailures            int // failed attempts since the last success
}

// remote fetches one remote source. Every fetch runs through sf under one
// key, so fetches of a source never overlap and concurrent callers share
// one; the published state is immutable.
type remote struct {
	cfg    RemoteConfig // with defaults
	name   string       // cfg.URL()
	client *http.Client
	ownTr  *http.Transport // the default transport, closed on stop; nil with HTTPClient
	ring   *Ring

	ctx    context.Context // ends when the source is removed or the ring closed
	cancel context.CancelFunc

	sf    singleflight.Group
	kick  chan struct{} // wakes the refresh loop after a fetch rescheduled it
	state atomic.Pointer[remoteState]

	rf refetcher // unknown-kid refetches (refetch.go)

	loopMu  sync.Mutex      // guards loopCtx
	loopCtx context.Context // of the running loop, nil if none was started
}

// remoteState is what one fetch published.
type remoteState struct {
	fetched bool                // a document was accepted at least once
	keys    []*Key              // of the last good JWK Set, allow-list applied
	kids    map[string]struct{} // the kids of keys
	refused []*KeyError         // members of that set that were refused
	sum     [sha256.Size]byte   // digestKeys of keys: what a change is
	jwksURL string              // URL the document came from
	etag    string              // its ETag, for If-None-Match
	next    time.Time
	status  RemoteStatus
}

func (r *Ring) newRemote(c RemoteConfig) (*remote, error) {
	c = c.withDefaults()
	c.Algs = slices.Clone(c.Algs)
	m := &remote{cfg: c, name: c.URL(), ring: r, kick: make(chan struct{}, 1)}
	if c.HTTPClient != nil {
		cl := *c.HTTPClient
		m.client = &cl
	} else {
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("jwks.ca_file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("jwks.ca_file %s: no PEM certificate in it", c.CAFile)
			}
			tlsCfg.RootCAs = pool
		}
		m.ownTr = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: c.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       tlsCfg,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   c.Timeout,
			ExpectContinueTimeout: time.Second,
		}
		m.client = &http.Client{Transport: m.ownTr}
	}
	m.client.CheckRedirect = m.checkRedirect
	m.ctx, m.cancel = context.WithCancel(r.ctx)
	m.state.Store(&remoteState{status: RemoteStatus{URL: m.name, Issuer: c.Issuer, JWKSURL: c.JWKSURL}})
	return m, nil
}

// stop ends the source's loop and any fetch in flight.
func (m *remote) stop() {
	m.cancel()
	m.stopRefetches()
	if m.ownTr != nil {
		m.ownTr.CloseIdleConnections()
	}
}

func (m *remote) status() RemoteStatus {
	st := m.state.Load().status
	st.Refetches = m.rf.refetches.Load()
	st.RefetchesSuppressed = m.rf.suppressed.Load()
	return st
}

func (m *remote) ready() bool { return m.state.Load().fetched }

// has reports whether the last good document holds a key with kid.
func (s *remoteState) has(kid []byte) bool {
	_, ok := s.kids[string(kid)]
	return ok
}

// current returns the keys of the last good document, parsed when it was
// fetched; nothing before the first success (Ready reports that).
// Its refused keys and fetch errors are in RemoteStatus, not here.
func (m *remote) current() sourceKeys { return sourceKeys{keys: m.state.Load().keys} }

// fetchResult is the outcome of one fetch, shared by the callers that
// waited for it.
type fetchResult struct {
	err        error
	changed    bool // a new document (or JWK Set URL) was accepted
	genChanged bool // and the ring got a new generation from it
}

// shared runs fn as the source's fetch, or joins the one in flight, and
// waits for it until wait is done. ours reports whether fn ran.
func (m *remote) shared(wait context.Context, fn func() fetchResult) (res fetchResult, ours bool) {
	ran := false // written by fn before the result is sent, read after
	ch := m.sf.DoChan("fetch", func() (any, error) {
		ran = true
		return fn(), nil
	})
	select {
	case v := <-ch:
		return v.Val.(fetchResult), ran
	case <-wait.Done():
		return fetchResult{err: &FetchError{URL: m.name, Err: wait.Err()}}, false
	}
}

// fetch fetches the document (discovering the JWK Set URL first if
// rediscover or not yet known), publishes the new state and, if apply and
// the document changed, rebuilds the ring.
func (m *remote) fetch(ctx context.Context, rediscover, apply bool) fetchResult {
	r := m.ring
	prev := m.state.Load()
	now := r.now()
	next := *prev
	st := &next.status
	st.LastAttempt = now
	st.Fetches++

	got, err := m.get(ctx, prev, rediscover)
	delay := got.delay
	if err != nil {
		st.FetchErrors++
		st.ConsecutiveFailures++
		st.LastError = err
		delay = m.backoff(st.ConsecutiveFailures)
		r.log.Warn("keyring: remote key fetch failed; keeping the last good keys",
			"url", m.name, "error", err, "failures", st.ConsecutiveFailures, "retry_in", delay)
	} else {
		st.LastSuccess = now
		st.LastError = nil
		st.ConsecutiveFailures = 0
		if got.notModified {
			st.NotModified++
		} else {
			next.fetched, next.keys, next.refused, next.sum = true, got.set.keys, got.set.refused, digestKeys(nil, got.set.keys)
			next.kids = make(map[string]struct{}, len(next.keys))
			for _, k := range next.keys {
				next.kids[k.ID()] = struct{}{}
			}
		}
		next.jwksURL, next.etag = got.jwksURL, got.etag
		st.JWKSURL, st.Ready, st.Keys, st.Refused = got.jwksURL, true, len(next.keys), next.refused
	}
	st.NextRefresh = now.Add(delay)
	next.next = time.Now().Add(delay)
	m.state.Store(&next)
	select {
	case m.kick <- struct{}{}:
	default:
	}

	res := fetchResult{err: err}
	// The keys, not the bytes: a provider that lists its keys in another
	// order (Ory Hydra does) has not changed them.
	if err == nil && !got.notModified && (!prev.fetched || next.sum != prev.sum) {
		res.changed = true
		m.removedKIDs(prev, &next)
		r.log.Info("keyring: remote keys fetched", "url", m.name, "jwks_url", got.jwksURL, "keys", len(next.keys), "refused", len(next.refused))
		for _, sk := range got.set.skipped {
			r.log.Info("keyring: JWK skipped", "source", sk.Source, "index", sk.Index, "kid", sk.KID, "reason", sk.Reason)
		}
	}
	if err == nil && !got.notModified && (res.changed || !sameErrors(next.refused, prev.refused)) {
		for _, e := range next.refused {
			r.log.Warn("keyring: key refused; the other keys of the set are in use", "url", m.name, "error", e)
		}
	}
	if res.changed && apply {
		res.genChanged = r.rebuild()
	}
	return res
}

// got is the outcome of one successful fetch.
type got struct {
	set         keySet // the new document's keys; empty on 304
	jwksURL     string // the JWK Set URL and ETag to keep
	etag        string
	notModified bool
	delay       time.Duration // until the next refresh
}

// get performs one fetch: discovery if needed, then the JWK Set with a
// conditional request.
func (m *remote) get(ctx context.Context, prev *remoteState, rediscover bool) (g got, err error) {
	g.jwksURL = m.cfg.JWKSURL
	if m.cfg.Discover {
		g.jwksURL = prev.jwksURL
		if g.jwksURL == "" || rediscover {
			if g.jwksURL, err = m.discover(ctx); err != nil {
				return g, err
			}
		}
	}
	inm := ""
	if prev.fetched && prev.jwksURL == g.jwksURL {
		inm = prev.etag
	}
	resp, err := m.get1(ctx, g.jwksURL, "application/jwk-set+json, application/json", inm)
	if err != nil {
		return g, err
	}
	g.delay = m.refreshDelay(resp.header)
	g.etag = resp.header.Get("ETag")
	if resp.code == http.StatusNotModified {
		if inm == "" {
			return g, &FetchError{URL: g.jwksURL, StatusCode: resp.code, Err: errors.New("304 Not Modified to an unconditional request")}
		}
		if g.etag == "" {
			g.etag = prev.etag
		}
		g.notModified = true
		return g, nil
	}
	g.set, err = m.parse(resp.body, g.jwksURL)
	return g, err
}

// parse accepts a JWK Set only. A member that is not a usable key is
// refused on its own (and reported); members not for signatures and keys
// whose alg is not in the allow-list are skipped. The document fails as a
// whole only when it is not a JWK Set or leaves no key with an allowed alg.
func (m *remote) parse(data []byte, src string) (keySet, error) {
	o := Options{Alg: m.cfg.Alg, Issuer: m.cfg.Issuer, Client: m.cfg.Client, Source: src, published: true, algs: m.cfg.Algs}
	var d jsonx.Doc
	root, err := parseJSON(&d, data, o)
	if err != nil {
		return keySet{}, err
	}
	set, err := parseJWKSValue(root, o)
	if err != nil {
		return keySet{}, err
	}
	allowed := set.keys[:0:0]
	for _, k := range set.keys {
		if algAllowed(m.cfg.Algs, k.Alg()) {
			allowed = append(allowed, k)
			continue
		}
		set.skipped = append(set.skipped, Skipped{Source: src, Index: -1, KID: k.ID(), Reason: fmt.Sprintf("alg %s is not in the allow-list %v", k.Alg(), m.cfg.Algs)})
	}
	if len(allowed) == 0 {
		return keySet{}, noKeys(o, set, "JWK Set has no key with an alg in %v (%d keys of other algs, %d skipped, %d refused)",
			m.cfg.Algs, len(set.keys), len(set.skipped)-len(set.keys), len(set.refused))
	}
	set.keys = allowed
	return set, nil
}

// sameErrors reports whether two lists of errors read the same.
func sameErrors(a, b []*KeyError) bool {
	return slices.EqualFunc(a, b, func(x, y *KeyError) bool { return x.Error() == y.Error() })
}

// startLoop runs the refresh loop until ctx or the source ends. r.loops
// counts it.
func (m *remote) startLoop(ctx context.Context) {
	m.loopMu.Lock()
	defer m.loopMu.Unlock()
	if m.loopCtx != nil && m.loopCtx.Err() == nil {
		return // running (a loop whose context ended is on its way out)
	}
	m.loopCtx = ctx
	m.ring.loops.Add(1)
	go func() {
		defer m.ring.loops.Done()
		m.loop(ctx)
	}()
}

func (m *remote) loop(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(m.ctx, cancel)
	defer stop()
	timer := time.NewTimer(time.Until(m.state.Load().next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
			timer.Reset(time.Until(m.state.Load().next))
		case <-timer.C:
			// A scheduled refresh rediscovers: providers may move their
			// JWK Set. The fetch runs on the source's context (Close and
			// Reconfigure cancel it) and the loop waits for it, so that
			// Close returns with no fetch of the loop in flight.
			m.shared(context.Background(), func() fetchResult { return m.fetch(m.ctx, true, true) })
			timer.Reset(time.Until(m.state.Load().next))
		}
	}
}
