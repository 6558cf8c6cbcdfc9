package keyring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FetchError is a failed request of a remote key source. Its message names
// the URL and, for an HTTP error status, the status and the start of the
// response body; it never contains key material.
type FetchError struct {
	URL        string
	StatusCode int    // HTTP status of an error response; 0 if none
	Body       string // start of an error response's body, clipped
	Err        error  // the cause, if any
}

func (e *FetchError) Error() string {
	var b strings.Builder
	b.WriteString("keyring: GET ")
	b.WriteString(e.URL)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
		if t := http.StatusText(e.StatusCode); t != "" {
			b.WriteString(" ")
			b.WriteString(t)
		}
		if e.Body != "" {
			fmt.Fprintf(&b, ", body %q", e.Body)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *FetchError) Unwrap() error { return e.Err }

// checkRedirect refuses redirects that leave https, and long chains.
func (m *remote) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	for _, v := range via {
		if v.URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: refusing a redirect from https to %s", ErrInsecureURL, req.URL.Redacted())
		}
	}
	if err := checkURL(req.URL, m.cfg.AllowHTTP); err != nil {
		return fmt.Errorf("redirect to %s: %w", req.URL.Redacted(), err)
	}
	return nil
}

type response struct {
	code   int
	body   []byte
	header http.Header
}

// get1 makes one GET request: 2xx answers are read up to MaxSize, 304 is
// returned without a body, anything else is a FetchError.
func (m *remote) get1(ctx context.Context, target, accept, ifNoneMatch string) (*response, error) {
	if err := checkRawURL(target, m.cfg.AllowHTTP); err != nil {
		return nil, &FetchError{URL: target, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, &FetchError{URL: target, Err: err}
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", m.cfg.UserAgent)
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it repeats the URL
		}
		return nil, &FetchError{URL: target, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return &response{code: resp.StatusCode, header: resp.Header}, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, &FetchError{URL: target, StatusCode: resp.StatusCode, Body: clipBody(snippet)}
	}
	limit := m.cfg.MaxSize
	if resp.ContentLength > int64(limit) {
		return nil, &FetchError{URL: target, Err: errf(ErrTooLarge, "document of %d bytes, at most %d", resp.ContentLength, limit)}
	}
	// Enforce the limit while reading: a server without Content-Length (or
	// a compressed body) must not make the loader buffer more.
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, &FetchError{URL: target, Err: err}
	}
	if len(body) > limit {
		return nil, &FetchError{URL: target, Err: errf(ErrTooLarge, "document larger than %d bytes", limit)}
	}
	return &response{code: resp.StatusCode, body: body, header: resp.Header}, nil
}

// clipBody keeps the start of an error response for the message: valid
// UTF-8, whitespace collapsed, at most 100 bytes.
func clipBody(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if len(s) > 100 {
		cut := 100
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// refreshDelay reads Cache-Control (RFC 9111 §5.2.2): max-age minus Age
// (§4.2.3), no-cache or no-store mean "as soon as allowed", and without
// either the default; the result is clamped into [MinRefresh, MaxRefresh].
func (m *remote) refreshDelay(h http.Header) time.Duration {
	c := m.cfg
	d := c.DefaultRefresh
	noCache, maxAge := false, int64(-1)
	for _, v := range h.Values("Cache-Control") {
		for dir := range strings.SplitSeq(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-cache", "no-store":
				noCache = true
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
				switch {
				case err == nil && n >= 0:
					maxAge = n
				case errors.Is(err, strconv.ErrRange) && n > 0:
					// §1.2.2: too large to represent means "very long".
					maxAge = n
				}
			}
		}
	}
	switch {
	case noCache:
		d = c.MinRefresh
	case maxAge >= 0:
		if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && age > 0 {
			maxAge = max(maxAge-age, 0)
		}
		if maxAge > int64(c.MaxRefresh/time.Second) {
			d = c.MaxRefresh
		} else {
			d = time.Duration(maxAge) * time.Second
		}
	}
	return min(max(d, c.MinRefresh), c.MaxRefresh)
}

// backoff returns the delay after n consecutive failures: MinBackoff
// doubled n-1 times, at most MaxBackoff, with "equal jitter" (a random
// point in its upper half) so that sidecars that failed together do not
// retry together.
func (m *remote) backoff(n int) time.Duration {
	d := m.cfg.MinBackoff
	for i := 1; i < n && d < m.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, m.cfg.MaxBackoff)
	half := d / 2
	return d - half + rand.N(half+1)
}
