package extauthz_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/extauthz"
)

// FuzzHeaderRepresentations: Envoy describes the same request either with
// every header line in header_map (encode_raw_headers) or with the lines
// of a name joined by "," in the headers map. Whatever the lines hold, the
// two must never disagree on letting the request through, nor on the
// status: a request the joined form makes ambiguous is refused in both.
func FuzzHeaderRepresentations(f *testing.F) {
	s := newService(f, extauthz.Options{})
	tok := s.env.Token(f, map[string]any{"scope": "read"})
	f.Add("GET", "/orders/7", "Bearer "+tok, "", "", "")
	f.Add("GET", "/orders/7", "Bearer "+tok, "Bearer "+tok, "", "")
	f.Add("get", "/admin/x", "Bearer "+tok, "", "a=1", "tg_session="+tok)
	f.Add("POST", "/public/x", "", "", "tg_session="+tok, "")
	f.Add("GET", "/orders?x=1", "bearer "+tok, "garbage", "", "")
	f.Add("GET", "/orders", "Bearer "+tok[:20]+","+tok[20:], "", "", "")
	f.Add("DELETE", "/admin/%2e%2e/x", "Basic YTpi", "Bearer "+tok, "x=1,tg_session="+tok, "")
	f.Fuzz(func(t *testing.T, method, path, auth1, auth2, cookie1, cookie2 string) {
		if len(method)+len(path)+len(auth1)+len(auth2)+len(cookie1)+len(cookie2) > 16<<10 {
			return
		}
		var lines [][2]string
		combined := map[string]string{}
		for _, h := range [][2]string{{"authorization", auth1}, {"authorization", auth2}, {"cookie", cookie1}, {"cookie", cookie2}} {
			if h[1] == "" {
				continue
			}
			lines = append(lines, h)
			if prev, ok := combined[h[0]]; ok {
				combined[h[0]] = prev + "," + h[1]
			} else {
				combined[h[0]] = h[1]
			}
		}
		raw, err := s.srv.Check(context.Background(), rawCheckRequest(method, path, lines))
		if err != nil {
			t.Fatal(err)
		}
		joined, err := s.srv.Check(context.Background(), checkRequest(method, path, combined))
		if err != nil {
			t.Fatal(err)
		}
		rawOK, joinedOK := raw.GetOkResponse() != nil, joined.GetOkResponse() != nil
		if rawOK != joinedOK || raw.GetDeniedResponse().GetStatus().GetCode() != joined.GetDeniedResponse().GetStatus().GetCode() {
			t.Fatalf("lines %q: allowed %v (%s), joined %q: allowed %v (%s)", lines, rawOK, strings.TrimSpace(raw.GetDeniedResponse().GetBody()),
				combined, joinedOK, strings.TrimSpace(joined.GetDeniedResponse().GetBody()))
		}
	})
}
