package keyring

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"sync"
	"time"
)

// fetchRemotes fetches each source once, concurrently, without rebuilding
// the ring; with retry, failed sources are retried with backoff until ctx
// is done or they fail in a way retrying cannot cure (incurable). It
// returns the last error of each source that has no document.
func fetchRemotes(ctx context.Context, ms []*remote, retry bool) error {
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			for {
				res, _ := m.shared(ctx, func() fetchResult { return m.fetch(ctx, true, false) })
				errs[i] = res.err
				if res.err == nil || !retry || incurable(res.err) {
					return
				}
				t := time.NewTimer(time.Until(m.state.Load().next))
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Wait()
	var out []error
	for i, m := range ms {
		if !m.ready() {
			// The last completed attempt says more than "deadline
			// exceeded" while waiting for one.
			err := m.state.Load().status.LastError
			if err == nil {
				err = errs[i]
			}
			if err == nil {
				err = &FetchError{URL: m.name, Err: ctx.Err()}
			}
			out = append(out, notReadyError{err})
		}
	}
	return errors.Join(out...)
}

// incurable reports a fetch error that retrying cannot cure: the discovery
// document names another issuer (OIDC Discovery §4.3), a URL the provider
// gave (a discovered jwks_uri, a redirect) is not allowed, or its TLS
// certificate is not trusted. Start-up reports these at once instead of
// retrying until the timeout; the refresh loop still retries them (the
// provider or the trust store may be fixed while tokengate runs).
func incurable(err error) bool {
	if errors.Is(err, ErrIssuerMismatch) || errors.Is(err, ErrInsecureURL) {
		return true
	}
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// notReadyError marks the last error of a remote source without a
// document; the error names the URL already.
type notReadyError struct{ err error }

func (e notReadyError) Error() string {
	if incurable(e.err) {
		return e.err.Error() + " (retrying cannot cure this: fix the configuration or the provider)"
	}
	return e.err.Error()
}

func (e notReadyError) Unwrap() []error { return []error{ErrRemoteNotReady, e.err} }

// Start runs one refresh loop per remote source until ctx is done or the
// ring is closed, and returns at once. Each loop fetches when the last
// answer's Cache-Control (or the backoff after a failure) says so, and a
// changed document rebuilds the snapshot (serialised with Reload and
// Reconfigure; unchanged documents keep the generation). Sources added
// later by Reconfigure get a loop too while ctx lasts. Calling Start while
// loops run is a no-op; after ctx ended, Start may be called again.
func (r *Ring) Start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runCtx != nil && r.runCtx.Err() == nil {
		return
	}
	r.runCtx = ctx
	for _, m := range *r.remoteList.Load() {
		m.startLoop(ctx)
	}
}

// Close stops the refresh loops and any fetch in flight and waits for the
// loops to return. The ring keeps serving its last snapshot; Reload still
// works from the documents in memory, but remote sources are fetched no
// more.
func (r *Ring) Close() error {
	r.stopAll()
	r.loops.Wait()
	return nil
}

// stopAll ends every remote source of the ring.
func (r *Ring) stopAll() {
	r.cancel()
	if list := r.remoteList.Load(); list != nil {
		for _, m := range *list {
			m.stop()
		}
	}
}

// RefreshRemotes fetches every remote source now (rediscovering), ignoring
// RefetchInterval and the schedule, and rebuilds the snapshot if a document
// changed: for an operator's "reload keys now". It waits for the fetches
// (or ctx) and returns the errors of those that failed; their last good
// documents stay in use.
func (r *Ring) RefreshRemotes(ctx context.Context) error {
	list := r.remoteList.Load()
	if list == nil {
		return nil
	}
	errs := make([]error, len(*list))
	var wg sync.WaitGroup
	for i, m := range *list {
		wg.Go(func() {
			res, _ := m.shared(ctx, func() fetchResult { return m.fetch(m.ctx, true, true) })
			errs[i] = res.err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Ready reports whether the ring has a snapshot and every remote source
// has fetched a document at least once. A source whose later fetches fail
// stays ready: its last good keys are in use (see Status for the errors).
// It never blocks.
func (r *Ring) Ready() bool {
	if r.snap.Load() == nil {
		return false
	}
	if list := r.remoteList.Load(); list != nil {
		for _, m := range *list {
			if !m.ready() {
				return false
			}
		}
	}
	return true
}

func (r *Ring) remoteStatuses() []RemoteStatus {
	list := r.remoteList.Load()
	if list == nil || len(*list) == 0 {
		return nil
	}
	out := make([]RemoteStatus, len(*list))
	for i, m := range *list {
		out[i] = m.status()
	}
	return out
}

// publishRemotes makes the remote sources of r.srcs visible to the
// lock-free readers (Status, Ready, Refetch). Called under r.mu (or before
// the ring is shared).
func (r *Ring) publishRemotes() {
	var list []*remote
	for _, s := range r.srcs {
		if m, ok := s.(*remote); ok {
			list = append(list, m)
		}
	}
	r.remoteList.Store(&list)
}
