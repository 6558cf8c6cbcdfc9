//go:build !race

package jsonx_test

import (
	"testing"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// TestZeroAllocs pins the package's central promise: once a Doc has been
// warmed up, Parse, lookups, iteration and number conversion allocate
// nothing, whether the input is valid or not (an attacker chooses which).
func TestZeroAllocs(t *testing.T) {
	inputs := []struct {
		name string
		src  string
		ok   bool
	}{
		{"claims", claimsJSON, true},
		{"rfc7515 header", "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}", true},
		{"escapes", `{"s\u0075b":"\ud834\udd1e\n\"","x":"\u00e9"}`, true},
		{"long number", `[0.` + "00000000000000000000000000000000000000001e41, 1e400, -0]", true},
		{"syntax error", `{"a":1,}`, false},
		{"number error", `{"exp":1-2}`, false},
		{"utf8 error", "{\"a\":\"\xff\"}", false},
		{"surrogate error", `{"a":"\ud800"}`, false},
		{"duplicate", `{"sub":"a","s\u0075b":"b"}`, false},
		{"depth", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", false},
		{"trailing", `{} {}`, false},
		{"empty", ``, false},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			src := []byte(in.src)
			var d jsonx.Doc
			if err := d.Parse(src, jsonx.Limits{}); (err == nil) != in.ok { // warm up
				t.Fatalf("Parse = %v, want ok=%v", err, in.ok)
			}
			allocs := testing.AllocsPerRun(100, func() {
				if d.Parse(src, jsonx.Limits{}) != nil {
					return
				}
				walk(d.Root())
				root := d.Root()
				_ = root.Get("sub").Str()
				_ = root.GetBytes([]byte("iss")).Str()
				_, _ = root.Get("exp").Int()
				_, _ = root.Get("exp").Float()
				_ = root.Get("aud").Index(1).Str()
				_, _ = root.Member(2)
			})
			if allocs != 0 {
				t.Errorf("%v allocs per Parse and walk, want 0", allocs)
			}
		})
	}
}

// walk touches every value through the iteration API.
func walk(v jsonx.Value) {
	_ = v.Raw()
	_ = v.Str()
	_ = v.Name()
	_, _ = v.Float()
	_, _ = v.Int()
	_, _ = v.Bool()
	for c := v.First(); c.Exists(); c = c.Next() {
		walk(c)
	}
}
