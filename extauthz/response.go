package extauthz

import (
	"bytes"
	"strings"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/tokengate/tokengate/gate"
)

// response translates d into Envoy's answer. Everything it returns is a
// copy: d goes back to its pool before gRPC marshals the response.
func response(d *gate.Decision) *authv3.CheckResponse {
	if d.Allow {
		return &authv3.CheckResponse{
			Status:       &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: okResponse(d)},
		}
	}
	code := codes.PermissionDenied
	if d.Status == 401 {
		code = codes.Unauthenticated
	}
	denied := &authv3.DeniedHttpResponse{
		Status: &typev3.HttpStatus{Code: typev3.StatusCode(d.Status)},
		Body:   d.Reason + "\n",
	}
	if d.Challenge != nil {
		denied.Headers = []*corev3.HeaderValueOption{setHeader("WWW-Authenticate", d.Challenge)}
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(code), Message: d.Reason},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: denied},
	}
}

// okResponse sets every header of d.Set, replacing the client's copies,
// and removes every other name of d.Remove and the "_" spelling of each
// (gate.Decision.Unset). Envoy removes after it sets (ext_authz.cc
// onComplete), so a name it sets must not be removed.
func okResponse(d *gate.Decision) *authv3.OkHttpResponse {
	ok := &authv3.OkHttpResponse{}
	if len(d.Set) > 0 {
		ok.Headers = make([]*corev3.HeaderValueOption, len(d.Set))
		for i, h := range d.Set {
			ok.Headers[i] = setHeader(string(h.Name), h.Value)
		}
	}
	if len(d.Unset) > 0 {
		ok.HeadersToRemove = strings.Split(string(d.Unset), ", ")
	}
	return ok
}

// setHeader is a header that replaces every value of its name. A value
// that is not UTF-8 (which a protobuf string cannot carry) goes as
// raw_value; the gate renders claim values as valid UTF-8, so this is a
// safeguard, not a path taken.
func setHeader(name string, value []byte) *corev3.HeaderValueOption {
	hv := &corev3.HeaderValue{Key: name}
	if utf8.Valid(value) {
		hv.Value = string(value)
	} else {
		hv.RawValue = bytes.Clone(value)
	}
	return &corev3.HeaderValueOption{Header: hv, AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD}
}
