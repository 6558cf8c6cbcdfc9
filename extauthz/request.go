package extauthz

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/internal/gatereq"
)

// read fills b from Envoy's description of the HTTP request (nil when
// the check is not about one: no method and no path, refused).
func read(b *gatereq.Builder, h *authv3.AttributeContext_HttpRequest) *gate.Request {
	b.Add(gatereq.Method, h.GetMethod())
	b.Add(gatereq.Target, h.GetPath())
	if lines := h.GetHeaderMap().GetHeaders(); len(lines) > 0 {
		readLines(b, lines)
	} else {
		readCombined(b, h.GetHeaders())
	}
	return b.Request()
}

// readLines reads header_map (encode_raw_headers): one entry per header
// line, the value in raw_value (or value).
func readLines(b *gatereq.Builder, lines []*corev3.HeaderValue) {
	for _, hv := range lines {
		f, ok := gatereq.HeaderField(hv.GetKey())
		if !ok {
			continue
		}
		if raw := hv.GetRawValue(); raw != nil {
			b.AddBytes(f, raw)
		} else {
			b.Add(f, hv.GetValue())
		}
	}
}

// readCombined reads the headers map, where Envoy joined the lines of a
// name with ",". The gate reads such values as the lines they were: the
// credentials in a combined Authorization value, the cookies of a
// combined Cookie value.
func readCombined(b *gatereq.Builder, headers map[string]string) {
	for k, v := range headers {
		if f, ok := gatereq.HeaderField(k); ok {
			b.Add(f, v)
		}
	}
}
