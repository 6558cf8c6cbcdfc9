package sidecar

import (
	"time"

	"github.com/valyala/fasthttp"
)

// hdrRequestStart is when the proxy received the request, stamped by the
// recipes: nginx "t=${msec}" (seconds with milliseconds), Caddy
// "t={time.now.unix_ms}"; Heroku's router and New Relic's convention use
// the same header in milliseconds or microseconds.
var hdrRequestStart = []byte("X-Request-Start")

// staleRequest reports whether the request waited longer than
// Limits.MaxQueueTime between the proxy and this handler (in the kernel's
// socket buffers, where no in-handler counter sees a queue form). A
// missing, unreadable or future stamp never makes a request stale.
func (s *Server) staleRequest(ctx *fasthttp.RequestCtx, now time.Time) bool {
	if s.limits.MaxQueueTime <= 0 {
		return false
	}
	v := ctx.Request.Header.PeekBytes(hdrRequestStart)
	if len(v) == 0 {
		return false
	}
	start, ok := parseRequestStart(v)
	return ok && now.Sub(start) > s.limits.MaxQueueTime
}

// parseRequestStart reads "t=<time>" (or a bare "<time>") since the Unix
// epoch: seconds with an optional fraction ("1700000000.123", nginx's
// $msec), or whole milliseconds (13 digits) or microseconds (16 digits).
// It allocates nothing.
func parseRequestStart(v []byte) (time.Time, bool) {
	if len(v) > 2 && v[0] == 't' && v[1] == '=' {
		v = v[2:]
	}
	var whole, frac, scale int64 = 0, 0, 1
	digits, i := 0, 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		if digits == 18 {
			return time.Time{}, false
		}
		whole = whole*10 + int64(v[i]-'0')
		digits++
	}
	if i < len(v) && v[i] == '.' {
		for i++; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			if scale < 1e9 {
				frac = frac*10 + int64(v[i]-'0')
				scale *= 10
			}
		}
	}
	if i != len(v) || digits == 0 {
		return time.Time{}, false
	}
	switch {
	case scale > 1 || digits <= 10: // seconds
		return time.Unix(whole, frac*(1e9/scale)), true
	case digits <= 13: // milliseconds
		return time.UnixMilli(whole), true
	default: // microseconds
		return time.UnixMicro(whole), true
	}
}

// shedStale answers a request that waited longer than
// Limits.MaxQueueTime: 503 with Retry-After, as for MaxInFlight, without
// reading its token. The proxy has likely given up on it or is about to;
// verifying it would only delay the requests behind it.
func (s *Server) shedStale(ctx *fasthttp.RequestCtx) {
	s.metrics.ObserveStale()
	ctx.Response.Header.SetCanonical(hdrRetryAfter, retryAfterOne)
	ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	ctx.Response.AppendBodyString("request waited too long, retry later\n")
}
