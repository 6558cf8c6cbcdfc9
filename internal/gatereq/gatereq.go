// Package gatereq is what tokengate's front ends share around the gate:
// filling a gate.Request from string values — net/http headers, protobuf
// fields — for those that receive strings (the net/http middleware, the
// Envoy ext_authz gRPC service), and the header names a proxy must remove
// from an allowed request (gate.Decision.Unset, prepared by the gate, is what
// X-Envoy-Auth-Headers-To-Remove, ext_authz's headers_to_remove).
//
// A gate.Request holds byte slices; each value is copied once into one
// reused buffer, and the slices are taken when every value is in, so a
// request costs no allocation once the buffer has grown.
package gatereq

import (
	"strings"
	"sync"

	"github.com/tokengate/tokengate/gate"
)

// Field is what the gate reads of a value.
type Field uint8

// The fields.
const (
	Method Field = iota
	Target
	Authorization
	Cookie
	TraceParent
	RequestID
)

// HeaderField maps a header name, in any letter case, to the field the
// gate reads from it; ok is false for a header the gate does not read.
func HeaderField(name string) (f Field, ok bool) {
	switch {
	case strings.EqualFold(name, "Authorization"):
		return Authorization, true
	case strings.EqualFold(name, "Cookie"):
		return Cookie, true
	case strings.EqualFold(name, "Traceparent"):
		return TraceParent, true
	case strings.EqualFold(name, "X-Request-Id"):
		return RequestID, true
	}
	return 0, false
}

type span struct {
	field      Field
	start, end int
}

// Builder collects the values of one request. It is not safe for
// concurrent use; take one per request from Acquire.
type Builder struct {
	req   gate.Request
	buf   []byte
	spans []span
}

var pool = sync.Pool{New: func() any { return &Builder{buf: make([]byte, 0, 2048)} }}

// Acquire returns an empty Builder from a pool; pair it with Release.
func Acquire() *Builder { return pool.Get().(*Builder) }

// Release empties b and returns it to the pool; the Request it built
// must not be used afterwards.
func Release(b *Builder) {
	if cap(b.buf) > 64<<10 {
		return // one huge request does not stay pinned in the pool
	}
	b.req.Reset()
	b.buf, b.spans = b.buf[:0], b.spans[:0]
	pool.Put(b)
}

// Add records one value: the method, the target, or one header line.
func (b *Builder) Add(f Field, v string) {
	start := len(b.buf)
	b.buf = append(b.buf, v...)
	b.spans = append(b.spans, span{f, start, len(b.buf)})
}

// AddBytes is Add for a value held as bytes.
func (b *Builder) AddBytes(f Field, v []byte) {
	start := len(b.buf)
	b.buf = append(b.buf, v...)
	b.spans = append(b.spans, span{f, start, len(b.buf)})
}

// Request fills and returns the gate.Request of every value added, in
// order (Authorization and Cookie lines each count).
func (b *Builder) Request() *gate.Request {
	r := &b.req
	for _, s := range b.spans {
		v := b.buf[s.start:s.end:s.end]
		switch s.field {
		case Method:
			r.Method = v
		case Target:
			r.Target = v
		case Authorization:
			r.AddAuthorization(v)
		case Cookie:
			r.AddCookieHeader(v)
		case TraceParent:
			r.TraceParent = v
		case RequestID:
			r.RequestID = v
		}
	}
	return r
}
