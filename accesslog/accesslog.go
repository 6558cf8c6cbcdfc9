// Package accesslog writes one structured record (log/slog) per decision of
// the gate: off, for refusals only (the default), or for every request. It
// is a gate.Observer, so every front end logs alike.
//
// A record holds the decision, status and reason, the token's alg, kid and
// issuer, the subject (as it is, hashed, or not at all: it may be personal
// data), the method and normalised path, the latency, whether the cache
// answered, and the trace id of a W3C traceparent and the X-Request-Id the
// proxy sent. Never the token, never a secret, never a claim other than
// those. Records are limited per second, so a flood of bad tokens cannot
// fill a disk; the records left out are counted. With the default mode an
// allowed request costs one comparison and allocates nothing.
package accesslog

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokengate/tokengate/gate"
)

// Mode says which decisions are logged.
type Mode uint8

// The modes.
const (
	Off    Mode = iota
	Denied      // refusals only (the default)
	All
)

// ParseMode reads "off", "denied" or "all".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "off":
		return Off, nil
	case "denied", "":
		return Denied, nil
	case "all":
		return All, nil
	}
	return Off, fmt.Errorf("accesslog: unknown mode %q (off, denied or all)", s)
}

// Subject says how a token's subject appears in records.
type Subject uint8

// The subject modes.
const (
	SubjectHash  Subject = iota // a keyed hash: the same subject reads the same within one process
	SubjectPlain                // as it is
	SubjectOff                  // left out
)

// ParseSubject reads "hash", "plain" or "off".
func ParseSubject(s string) (Subject, error) {
	switch strings.ToLower(s) {
	case "hash", "":
		return SubjectHash, nil
	case "plain":
		return SubjectPlain, nil
	case "off":
		return SubjectOff, nil
	}
	return SubjectOff, fmt.Errorf("accesslog: unknown subject mode %q (hash, plain or off)", s)
}

// Options configure a Log.
type Options struct {
	Mode    Mode
	Subject Subject
	// PerSecond bounds the records written per second; the others are
	// counted as dropped. 0 means DefaultPerSecond.
	PerSecond int
	// Logger receives the records (at info level). Required unless Mode
	// is Off.
	Logger *slog.Logger
	// Now is the clock of latencies and of the per-second limit; nil
	// means time.Now.
	Now func() time.Time
}

// DefaultPerSecond is the record limit when Options.PerSecond is 0.
const DefaultPerSecond = 100

// Log is the access log. It is safe for concurrent use.
type Log struct {
	mode    Mode
	subject Subject
	limit   int64
	log     *slog.Logger
	now     func() time.Time
	key     [32]byte // keys the subject hash; random per process

	window           atomic.Int64 // Unix second of the current window
	count            atomic.Int64 // records in it
	written, dropped atomic.Uint64
}

// New returns a Log.
func New(o Options) (*Log, error) {
	if o.Mode != Off && o.Logger == nil {
		return nil, errors.New("accesslog: a logger is required")
	}
	if o.PerSecond < 0 {
		return nil, errors.New("accesslog: negative records per second")
	}
	if o.PerSecond == 0 {
		o.PerSecond = DefaultPerSecond
	}
	l := &Log{mode: o.Mode, subject: o.Subject, limit: int64(o.PerSecond), log: o.Logger, now: o.Now}
	if l.now == nil {
		l.now = time.Now
	}
	if _, err := rand.Read(l.key[:]); err != nil {
		return nil, err
	}
	return l, nil
}

// Written and Dropped count the records written and those the per-second
// limit left out.
func (l *Log) Written() uint64 { return l.written.Load() }
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Observe logs one decision (gate.Observer).
func (l *Log) Observe(r *gate.Request, d *gate.Decision) {
	if l.mode == Off || l.mode == Denied && d.Allow {
		return
	}
	now := l.now()
	if !l.admit(now) {
		l.dropped.Add(1)
		return
	}
	l.written.Add(1)
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs,
		slog.String("decision", d.Outcome.String()),
		slog.Int("status", d.Status),
	)
	if d.Reason != "" {
		attrs = append(attrs, slog.String("reason", d.Reason))
	}
	if d.Err != nil {
		attrs = append(attrs, slog.String("label", gate.Label(d.Err)))
	}
	attrs = append(attrs, slog.String("method", clip(r.Method, 32)))
	if d.Path != nil {
		attrs = append(attrs, slog.String("path", clip(d.Path, 512)))
	} else {
		attrs = append(attrs, slog.String("target", clip(r.Target, 512))) // not normalisable: as sent
	}
	if t := d.Token; t != nil {
		attrs = append(attrs, slog.String("alg", string(t.Alg())), slog.String("kid", t.KeyID()), slog.String("iss", t.Issuer()))
		if sub := l.subjectOf(t.Subject()); sub != "" {
			attrs = append(attrs, slog.String("sub", sub))
		}
	}
	if !r.Received.IsZero() {
		attrs = append(attrs, slog.Duration("latency", now.Sub(r.Received)))
	}
	attrs = append(attrs, slog.String("cache", cacheNames[d.Cache]))
	if id := traceID(r.TraceParent); id != "" {
		attrs = append(attrs, slog.String("trace_id", id))
	}
	if len(r.RequestID) > 0 {
		attrs = append(attrs, slog.String("request_id", clip(r.RequestID, 128)))
	}
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
}

var cacheNames = [...]string{gate.CacheNone: "none", gate.CacheHit: "hit", gate.CacheNegative: "negative", gate.CacheMiss: "miss"}

// admit counts a record against the current second's limit.
func (l *Log) admit(now time.Time) bool {
	sec := now.Unix()
	if w := l.window.Load(); w != sec && l.window.CompareAndSwap(w, sec) {
		l.count.Store(0)
	}
	return l.count.Add(1) <= l.limit
}

func (l *Log) subjectOf(sub string) string {
	switch {
	case sub == "" || l.subject == SubjectOff:
		return ""
	case l.subject == SubjectPlain:
		return clip([]byte(sub), 256)
	}
	m := hmac.New(sha256.New, l.key[:])
	m.Write([]byte(sub))
	return "h:" + hex.EncodeToString(m.Sum(nil)[:12])
}

// traceID returns the trace-id of a W3C traceparent (version-traceid-
// parentid-flags, https://www.w3.org/TR/trace-context/#traceparent-header),
// or "" when v is not one.
func traceID(v []byte) string {
	if len(v) < 55 || v[2] != '-' || v[35] != '-' {
		return ""
	}
	id := v[3:35]
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ""
		}
	}
	if string(id) == "00000000000000000000000000000000" {
		return ""
	}
	return string(id)
}

// clip copies at most n bytes of a request value into a string (the slog
// handlers escape what they must).
func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// Collectors are the access log's counters, for the metrics registry:
// tokengate_access_log_records_total{result="written|dropped"}.
func (l *Log) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "tokengate_access_log_records_total",
			Help:        "Access log records, written or dropped by the per-second limit (log.access_per_second).",
			ConstLabels: prometheus.Labels{"result": "written"},
		}, func() float64 { return float64(l.Written()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "tokengate_access_log_records_total",
			Help:        "Access log records, written or dropped by the per-second limit (log.access_per_second).",
			ConstLabels: prometheus.Labels{"result": "dropped"},
		}, func() float64 { return float64(l.Dropped()) }),
	}
}
