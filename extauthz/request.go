package extauthz

import (
	"strings"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/tokengate/tokengate/gate"
)

// What the gate reads of a request, by header name.
type field uint8

const (
	fieldMethod field = iota
	fieldTarget
	fieldAuthorization
	fieldCookie
	fieldTraceParent
	fieldRequestID
)

// span is a value copied into scratch.buf.
type span struct {
	field      field
	start, end int
}

// scratch holds one Check's gate.Request and the bytes it points into:
// the proto's strings are copied once into buf (a gate.Request holds byte
// slices), and the slices are taken when every value is in.
type scratch struct {
	req   gate.Request
	buf   []byte
	spans []span
}

var scratchPool = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 2048)} }}

func acquireScratch() *scratch { return scratchPool.Get().(*scratch) }

func releaseScratch(sc *scratch) {
	if cap(sc.buf) > 64<<10 {
		return // one huge request does not stay pinned in the pool
	}
	sc.req.Reset()
	sc.buf, sc.spans = sc.buf[:0], sc.spans[:0]
	scratchPool.Put(sc)
}

func (sc *scratch) add(f field, v string) {
	start := len(sc.buf)
	sc.buf = append(sc.buf, v...)
	sc.spans = append(sc.spans, span{f, start, len(sc.buf)})
}

func (sc *scratch) addBytes(f field, v []byte) {
	start := len(sc.buf)
	sc.buf = append(sc.buf, v...)
	sc.spans = append(sc.spans, span{f, start, len(sc.buf)})
}

// read fills sc.req from Envoy's description of the HTTP request (nil
// when the check is not about one: no method and no path, refused).
func (sc *scratch) read(h *authv3.AttributeContext_HttpRequest) {
	sc.add(fieldMethod, h.GetMethod())
	sc.add(fieldTarget, h.GetPath())
	if raw := h.GetHeaderMap().GetHeaders(); len(raw) > 0 {
		sc.readLines(raw)
	} else {
		sc.readCombined(h.GetHeaders())
	}
	for _, s := range sc.spans {
		v := sc.buf[s.start:s.end:s.end]
		switch s.field {
		case fieldMethod:
			sc.req.Method = v
		case fieldTarget:
			sc.req.Target = v
		case fieldAuthorization:
			sc.req.AddAuthorization(v)
		case fieldCookie:
			sc.req.AddCookieHeader(v)
		case fieldTraceParent:
			sc.req.TraceParent = v
		case fieldRequestID:
			sc.req.RequestID = v
		}
	}
}

// readLines reads header_map (encode_raw_headers): one entry per header
// line, the value in raw_value (or value).
func (sc *scratch) readLines(lines []*corev3.HeaderValue) {
	for _, hv := range lines {
		f, ok := fieldOf(hv.GetKey())
		if !ok {
			continue
		}
		if raw := hv.GetRawValue(); raw != nil {
			sc.addBytes(f, raw)
		} else {
			sc.add(f, hv.GetValue())
		}
	}
}

// readCombined reads the headers map, where Envoy joined the lines of a
// name with ",". A combined Authorization value goes to the gate as it
// is (it counts the credentials in it); a combined Cookie value is split
// at the commas back into its lines.
func (sc *scratch) readCombined(headers map[string]string) {
	for k, v := range headers {
		f, ok := fieldOf(k)
		if !ok {
			continue
		}
		if f != fieldCookie {
			sc.add(f, v)
			continue
		}
		for line := range strings.SplitSeq(v, ",") {
			sc.add(fieldCookie, line)
		}
	}
}

// fieldOf maps a header name, in any case, to what the gate reads of it.
func fieldOf(name string) (field, bool) {
	switch {
	case strings.EqualFold(name, "authorization"):
		return fieldAuthorization, true
	case strings.EqualFold(name, "cookie"):
		return fieldCookie, true
	case strings.EqualFold(name, "traceparent"):
		return fieldTraceParent, true
	case strings.EqualFold(name, "x-request-id"):
		return fieldRequestID, true
	}
	return 0, false
}
