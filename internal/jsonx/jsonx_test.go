package jsonx_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/jsonx"
)

func parse(t *testing.T, src string) *jsonx.Doc {
	t.Helper()
	var d jsonx.Doc
	if err := d.Parse([]byte(src), jsonx.Limits{}); err != nil {
		t.Fatalf("Parse(%q) = %v", src, err)
	}
	return &d
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		src  string
		kind jsonx.Kind
	}{
		// RFC 7515 Appendix A.1.1: the JWS Protected Header, byte for byte,
		// with its CRLF and leading space.
		{"rfc7515 A.1 header", "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}", jsonx.Object},
		// RFC 7515 Appendix A.1.1: the JWS Payload (a JWT claims set).
		{"rfc7515 A.1 payload", "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}", jsonx.Object},
		{"null", "null", jsonx.Null},
		{"true", "true", jsonx.True},
		{"false", "false", jsonx.False},
		{"zero", "0", jsonx.Number},
		{"negative zero", "-0", jsonx.Number},
		{"fraction", "-12.5e+3", jsonx.Number},
		{"exponent", "1E-7", jsonx.Number},
		{"zero fraction", "0.0", jsonx.Number},
		{"empty string", `""`, jsonx.String},
		{"utf8 string", `"héllo ✓ 𝄞"`, jsonx.String},
		{"empty object", "{}", jsonx.Object},
		{"empty array", "[]", jsonx.Array},
		{"whitespace around", " \t\r\n{ \"a\" : [ 1 , 2 ] }\n", jsonx.Object},
		{"nested", `{"a":{"b":{"c":[[],{}]}}}`, jsonx.Object},
		{"same name in different objects", `{"a":{"x":1},"b":{"x":2}}`, jsonx.Object},
		{"case differs", `{"sub":1,"SUB":2,"Sub":3}`, jsonx.Object},
		{"empty name", `{"":1}`, jsonx.Object},
		{"escaped nul", `"\u0000"`, jsonx.String},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parse(t, tt.src)
			root := d.Root()
			if got := root.Kind(); got != tt.kind {
				t.Errorf("Kind = %v, want %v", got, tt.kind)
			}
			want := strings.Trim(tt.src, " \t\r\n")
			if got := string(root.Raw()); got != want {
				t.Errorf("Raw = %q, want %q", got, want)
			}
		})
	}
}

func TestRFC7515Header(t *testing.T) {
	d := parse(t, "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}")
	root := d.Root()
	if got := string(root.Get("alg").Str()); got != "HS256" {
		t.Errorf("alg = %q", got)
	}
	if got := string(root.GetBytes([]byte("typ")).Str()); got != "JWT" {
		t.Errorf("typ = %q", got)
	}
	if root.Get("ALG").Exists() {
		t.Error(`Get("ALG") exists: names must be case-sensitive (RFC 7519 §4)`)
	}
	if root.Get("kid").Exists() {
		t.Error(`Get("kid") exists`)
	}
	if root.Len() != 2 {
		t.Errorf("Len = %d", root.Len())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want error
	}{
		// RFC 8259 §2: JSON-text = ws value ws.
		{"empty", "", jsonx.ErrSyntax},
		{"only whitespace", " \r\n\t", jsonx.ErrSyntax},
		{"two values", "{} {}", jsonx.ErrTrailingData},
		{"trailing garbage", `{"a":1}x`, jsonx.ErrTrailingData},
		{"trailing nul", "{}\x00", jsonx.ErrTrailingData},
		{"trailing close", "[]]", jsonx.ErrTrailingData},
		{"number then number", "1 2", jsonx.ErrTrailingData},
		{"form feed is not whitespace", "\f{}", jsonx.ErrSyntax},
		{"vertical tab is not whitespace", "{}\v", jsonx.ErrTrailingData},
		{"nbsp is not whitespace", "\u00a0{}", jsonx.ErrSyntax},
		{"bom", "\ufeff{}", jsonx.ErrSyntax},
		{"unclosed object", `{"a":1`, jsonx.ErrSyntax},
		{"unclosed array", `[1,2`, jsonx.ErrSyntax},
		{"missing colon", `{"a" 1}`, jsonx.ErrSyntax},
		{"missing value", `{"a":}`, jsonx.ErrSyntax},
		{"trailing comma object", `{"a":1,}`, jsonx.ErrSyntax},
		{"trailing comma array", `[1,]`, jsonx.ErrSyntax},
		{"leading comma", `[,1]`, jsonx.ErrSyntax},
		{"unquoted name", `{a:1}`, jsonx.ErrSyntax},
		{"single quotes", `{'a':1}`, jsonx.ErrSyntax},
		{"number name", `{1:1}`, jsonx.ErrSyntax},
		{"comment", `{/*x*/}`, jsonx.ErrSyntax},
		{"capital True", `True`, jsonx.ErrSyntax},
		{"truncated true", `tru`, jsonx.ErrSyntax},
		{"truex", `[truex]`, jsonx.ErrSyntax},
		{"undefined", `undefined`, jsonx.ErrSyntax},
		{"NaN", `NaN`, jsonx.ErrSyntax},
		{"nan", `nan`, jsonx.ErrSyntax},
		{"Infinity", `Infinity`, jsonx.ErrSyntax},

		// RFC 8259 §6 number grammar.
		{"plus sign", `+1`, jsonx.ErrNumber},
		{"leading dot", `.5`, jsonx.ErrNumber},
		{"trailing dot", `5.`, jsonx.ErrNumber},
		{"leading zero", `01`, jsonx.ErrNumber},
		{"negative leading zero", `-01`, jsonx.ErrNumber},
		{"lone minus", `-`, jsonx.ErrNumber},
		{"minus space", `- 1`, jsonx.ErrNumber},
		{"double minus", `--1`, jsonx.ErrNumber},
		{"minus Infinity", `-Infinity`, jsonx.ErrNumber},
		{"hex", `0x1F`, jsonx.ErrNumber},
		{"fastjson 1-2", `1-2`, jsonx.ErrNumber},
		{"1-2 in array", `[1-2]`, jsonx.ErrNumber},
		{"two dots", `1.2.3`, jsonx.ErrNumber},
		{"empty exponent", `1e`, jsonx.ErrNumber},
		{"signed empty exponent", `1e+`, jsonx.ErrNumber},
		{"double exponent", `1e5e5`, jsonx.ErrNumber},
		{"dot exponent", `1.e5`, jsonx.ErrNumber},
		{"exponent dot", `1e5.0`, jsonx.ErrNumber},
		{"number in object", `{"exp":+1}`, jsonx.ErrNumber},
		{"underscore", `1_000`, jsonx.ErrNumber},

		// RFC 8259 §7 strings.
		{"unterminated string", `"abc`, jsonx.ErrSyntax},
		{"raw newline", "\"a\nb\"", jsonx.ErrSyntax},
		{"raw tab", "\"a\tb\"", jsonx.ErrSyntax},
		{"raw nul", "\"a\x00b\"", jsonx.ErrSyntax},
		{"raw 0x1f", "\"\x1f\"", jsonx.ErrSyntax},
		{"bad escape", `"\a"`, jsonx.ErrSyntax},
		{"single quote escape", `"\'"`, jsonx.ErrSyntax},
		{"hex escape", `"\x41"`, jsonx.ErrSyntax},
		{"short unicode escape", `"\u12"`, jsonx.ErrSyntax},
		{"bad hex", `"\u12g4"`, jsonx.ErrSyntax},
		{"escape at end", `"\`, jsonx.ErrSyntax},
		{"uppercase U", `"\U0041"`, jsonx.ErrSyntax},

		// RFC 8259 §8.1: UTF-8 only.
		{"invalid byte", "\"\xff\"", jsonx.ErrInvalidUTF8},
		{"truncated sequence", "\"\xc3\"", jsonx.ErrInvalidUTF8},
		{"overlong slash", "\"\xc0\xaf\"", jsonx.ErrInvalidUTF8},
		{"encoded surrogate", "\"\xed\xa0\x80\"", jsonx.ErrInvalidUTF8},
		{"beyond U+10FFFF", "\"\xf4\x90\x80\x80\"", jsonx.ErrInvalidUTF8},
		{"invalid in name", "{\"\xff\":1}", jsonx.ErrInvalidUTF8},
		{"latin1", "\"caf\xe9\"", jsonx.ErrInvalidUTF8},
		{"non-ascii outside string", "[\xc3\xa9]", jsonx.ErrSyntax},

		// RFC 8259 §7/§8.2: surrogates must pair.
		{"lone high", `"\ud800"`, jsonx.ErrSurrogate},
		{"lone high then text", `"\ud800abcdef"`, jsonx.ErrSurrogate},
		{"lone low", `"\udc00"`, jsonx.ErrSurrogate},
		{"reversed pair", `"\udc00\ud800"`, jsonx.ErrSurrogate},
		{"high then high", `"\ud800\ud800"`, jsonx.ErrSurrogate},
		{"high then bmp", `"\ud800\u0041"`, jsonx.ErrSurrogate},
		{"high then other escape", `"\ud800\n"`, jsonx.ErrSurrogate},
		{"high then bad hex", `"\ud800\uzzzz"`, jsonx.ErrSyntax},
		{"high at end", `"\ud800`, jsonx.ErrSurrogate},

		// RFC 7515 §5.2 step 4, RFC 7519 §4: duplicate names.
		{"duplicate", `{"sub":1,"sub":2}`, jsonx.ErrDuplicateName},
		{"duplicate not adjacent", `{"sub":1,"iss":"a","aud":[],"sub":2}`, jsonx.ErrDuplicateName},
		{"duplicate escaped", `{"sub":1,"s\u0075b":2}`, jsonx.ErrDuplicateName},
		{"duplicate both escaped", `{"\u0073ub":1,"s\u0075b":2}`, jsonx.ErrDuplicateName},
		{"duplicate escaped first", `{"\u0061lg":"none","alg":"HS256"}`, jsonx.ErrDuplicateName},
		{"duplicate solidus escape", `{"a/b":1,"a\/b":2}`, jsonx.ErrDuplicateName},
		{"duplicate surrogate pair", `{"𝄞":1,"\ud834\udd1e":2}`, jsonx.ErrDuplicateName},
		{"duplicate empty", `{"":1,"":2}`, jsonx.ErrDuplicateName},
		{"duplicate nested", `{"a":{"b":{"c":1,"c":2}}}`, jsonx.ErrDuplicateName},
		{"duplicate in array", `[{},{"x":1,"x":1}]`, jsonx.ErrDuplicateName},
		{"duplicate with same value", `{"alg":"HS256","alg":"HS256"}`, jsonx.ErrDuplicateName},
	}
	var d jsonx.Doc
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Parse([]byte(tt.src), jsonx.Limits{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q) = %v, want %v", tt.src, err, tt.want)
			}
			if d.Root().Exists() {
				t.Error("Root exists after failed Parse")
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	for _, err := range []error{
		jsonx.ErrSyntax, jsonx.ErrNumber, jsonx.ErrInvalidUTF8, jsonx.ErrSurrogate,
		jsonx.ErrDuplicateName, jsonx.ErrDepth, jsonx.ErrTooManyNodes,
		jsonx.ErrTooManyMembers, jsonx.ErrTrailingData, jsonx.ErrTooLarge,
	} {
		msg := err.Error()
		if !strings.HasPrefix(msg, "jsonx: ") || strings.ToLower(msg) != msg {
			t.Errorf("error message %q: want lowercase with prefix %q", msg, "jsonx: ")
		}
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"plain", `"abc"`, "abc"},
		{"empty", `""`, ""},
		{"quote", `"a\"b"`, `a"b`},
		{"backslash", `"a\\b"`, `a\b`},
		{"solidus", `"a\/b"`, "a/b"},
		{"controls", `"\b\f\n\r\t"`, "\b\f\n\r\t"},
		{"bmp escape", `"\u00e9\u00E9"`, "éé"},
		{"escape at start and end", `"\u0041bc\u0044"`, "AbcD"},
		{"nul escape", `"\u0000"`, "\x00"},
		{"del raw", "\"\x7f\"", "\x7f"},
		{"euro", `"\u20ac"`, "€"},
		{"U+FFFF", `"\uffff"`, "\uffff"},
		{"surrogate pair", `"\ud834\udd1e"`, "𝄞"},
		{"surrogate pair upper", `"\uD83D\uDE00"`, "😀"},
		{"max code point", `"\udbff\udfff"`, "\U0010ffff"},
		{"min supplementary", `"\ud800\udc00"`, "\U00010000"},
		{"raw utf8", `"日本語"`, "日本語"},
		{"raw replacement char", `"�"`, "\ufffd"},
		{"mixed", `"a\u00e9😀\n"`, "aé😀\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parse(t, tt.src)
			v := d.Root()
			if got := string(v.Str()); got != tt.want {
				t.Errorf("Str = %q, want %q", got, tt.want)
			}
			if string(v.Raw()) != tt.src {
				t.Errorf("Raw = %q, want %q", v.Raw(), tt.src)
			}
		})
	}
	// Several escaped strings in one document must not overwrite each other
	// in the scratch buffer.
	d := parse(t, `{"\u0061":"\u0062","c":"\u0064\u0065","\u00e9":["\n","x"]}`)
	root := d.Root()
	for name, want := range map[string]string{"a": "b", "c": "de"} {
		if got := string(root.Get(name).Str()); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := string(root.Get("é").Index(0).Str()); got != "\n" {
		t.Errorf("é[0] = %q", got)
	}
	if got := root.Get("a").Kind(); got != jsonx.String {
		t.Errorf("Kind = %v", got)
	}
	if root.Str() != nil || root.Get("é").Str() != nil {
		t.Error("Str of non-string is not nil")
	}
}

func TestLimits(t *testing.T) {
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	array := func(n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat("0,", n), ",") + "]"
	}
	object := func(n int) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"k`)
			b.WriteString(strings.Repeat("x", i))
			b.WriteString(`":0`)
		}
		b.WriteByte('}')
		return b.String()
	}
	tests := []struct {
		name string
		src  string
		lim  jsonx.Limits
		want error
	}{
		{"default depth ok", nested(16), jsonx.Limits{}, nil},
		{"default depth exceeded", nested(17), jsonx.Limits{}, jsonx.ErrDepth},
		{"deep attack", nested(100000), jsonx.Limits{}, jsonx.ErrDepth},
		{"depth 1 flat", `{"a":1,"b":2}`, jsonx.Limits{MaxDepth: 1}, nil},
		{"depth 1 nested", `{"a":[]}`, jsonx.Limits{MaxDepth: 1}, jsonx.ErrDepth},
		{"depth objects", `{"a":{"b":{"c":{}}}}`, jsonx.Limits{MaxDepth: 3}, jsonx.ErrDepth},
		{"depth objects ok", `{"a":{"b":{"c":{}}}}`, jsonx.Limits{MaxDepth: 4}, nil},
		{"scalar root at depth 1", `"x"`, jsonx.Limits{MaxDepth: 1}, nil},
		{"nodes ok", array(3), jsonx.Limits{MaxNodes: 4}, nil},
		{"nodes exceeded", array(4), jsonx.Limits{MaxNodes: 4}, jsonx.ErrTooManyNodes},
		{"nodes across containers", `[[1,2],[3,4]]`, jsonx.Limits{MaxNodes: 6}, jsonx.ErrTooManyNodes},
		{"default nodes exceeded", "[" + strings.Repeat("[0,0,0,0],", 120) + "0]", jsonx.Limits{MaxMembers: 1000}, jsonx.ErrTooManyNodes},
		{"members ok", array(128), jsonx.Limits{}, nil},
		{"members exceeded", array(129), jsonx.Limits{}, jsonx.ErrTooManyMembers},
		{"object members ok", object(3), jsonx.Limits{MaxMembers: 3}, nil},
		{"object members exceeded", object(4), jsonx.Limits{MaxMembers: 3}, jsonx.ErrTooManyMembers},
		{"default object members exceeded", object(129), jsonx.Limits{}, jsonx.ErrTooManyMembers},
		{"negative means default", nested(17), jsonx.Limits{MaxDepth: -1}, jsonx.ErrDepth},
	}
	var d jsonx.Doc
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Parse([]byte(tt.src), tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFloat(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		want   float64
		wantOK bool
	}{
		{"zero", "0", 0, true},
		{"negative zero", "-0", math.Copysign(0, -1), true},
		{"negative zero fraction", "-0.0e5", math.Copysign(0, -1), true},
		{"integer", "1300819380", 1300819380, true},
		{"1.5e9", "1.5e9", 1.5e9, true},
		{"fraction", "-12.25", -12.25, true},
		{"2^53+1 rounds", "9007199254740993", 9007199254740992, true},
		{"2^63", "9223372036854775808", 9223372036854775808, true},
		{"1e300", "1e300", 1e300, true},
		{"-1e300", "-1e300", -1e300, true},
		{"9.99e307", "9.99e307", 9.99e307, true},
		{"many digits below limit", "0.000001e313", 1e307, true},
		{"1e308 refused", "1e308", 0, false},
		{"max float refused", "1.7976931348623157e308", 0, false},
		{"1e400", "1e400", 0, false},
		{"-1e400", "-1e400", 0, false},
		{"huge exponent", "1e99999999999999999999999", 0, false},
		{"long mantissa", "1" + strings.Repeat("0", 400), 0, false},
		{"underflow to zero", "1e-400", 0, true},
		{"huge negative exponent", "1e-99999999999999999999999", 0, true},
		{"zero with huge exponent", "0e99999", 0, true},
		{"smallest denormal", "5e-324", 5e-324, true},
		{"long number", "0." + strings.Repeat("0", 50) + "1e51", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parse(t, tt.src)
			got, ok := d.Root().Float()
			if ok != tt.wantOK || got != tt.want || math.Signbit(got) != math.Signbit(tt.want) {
				t.Errorf("Float(%s) = %v, %v; want %v, %v", tt.src, got, ok, tt.want, tt.wantOK)
			}
		})
	}
	d := parse(t, `["1",true,null,{},[]]`)
	for v := d.Root().First(); v.Exists(); v = v.Next() {
		if f, ok := v.Float(); ok || f != 0 {
			t.Errorf("Float of %s = %v, %v", v.Kind(), f, ok)
		}
	}
	if _, ok := (jsonx.Value{}).Float(); ok {
		t.Error("Float of zero Value")
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		src    string
		want   int64
		wantOK bool
	}{
		{"0", 0, true},
		{"-0", 0, true},
		{"1300819380", 1300819380, true},
		{"-42", -42, true},
		{"1e3", 1000, true},
		{"1E+3", 1000, true},
		{"10.0", 10, true},
		{"10.50e1", 105, true},
		{"1.5e9", 1500000000, true},
		{"1000e-3", 1, true},
		{"0.00e99999999999", 0, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"922337203685477580.7e1", math.MaxInt64, true},
		{"9223372036854775808", 0, false}, // 2^63
		{"-9223372036854775809", 0, false},
		{"1e19", 0, false},
		{"1e18", 1e18, true},
		{"99999999999999999999", 0, false},
		{"1.5", 0, false},
		{"1e-1", 0, false},
		{"1300819380.5", 0, false},
		{"1e99999999999999999999", 0, false},
		{"1e-99999999999999999999", 0, false},
		{"0.1e1", 1, true},
		{"100000000000000000000e-20", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			d := parse(t, tt.src)
			got, ok := d.Root().Int()
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Int(%s) = %d, %v; want %d, %v", tt.src, got, ok, tt.want, tt.wantOK)
			}
		})
	}
	d := parse(t, `"1"`)
	if _, ok := d.Root().Int(); ok {
		t.Error("Int of string")
	}
}

func TestNavigation(t *testing.T) {
	d := parse(t, `{"a":[10,"x",{"b":null}],"c":true,"d":false,"e":{}}`)
	root := d.Root()
	if root.Len() != 4 {
		t.Fatalf("Len = %d", root.Len())
	}
	a := root.Get("a")
	if a.Kind() != jsonx.Array || a.Len() != 3 {
		t.Fatalf("a = %v len %d", a.Kind(), a.Len())
	}
	if n, ok := a.Index(0).Int(); !ok || n != 10 {
		t.Errorf("a[0] = %d, %v", n, ok)
	}
	if string(a.Index(1).Str()) != "x" {
		t.Errorf("a[1] = %q", a.Index(1).Str())
	}
	if a.Index(2).Get("b").Kind() != jsonx.Null {
		t.Errorf("a[2].b = %v", a.Index(2).Get("b").Kind())
	}
	if a.Index(3).Exists() || a.Index(-1).Exists() {
		t.Error("Index out of range exists")
	}
	if string(a.Raw()) != `[10,"x",{"b":null}]` {
		t.Errorf("a.Raw = %s", a.Raw())
	}
	if b, ok := root.Get("c").Bool(); !b || !ok {
		t.Error("c not true")
	}
	if b, ok := root.Get("d").Bool(); b || !ok {
		t.Error("d not false")
	}
	if _, ok := a.Bool(); ok {
		t.Error("Bool of array")
	}
	if e := root.Get("e"); e.Kind() != jsonx.Object || e.Len() != 0 || e.First().Exists() {
		t.Error("e not an empty object")
	}

	var names []string
	for m := root.First(); m.Exists(); m = m.Next() {
		names = append(names, string(m.Name()))
	}
	if got := strings.Join(names, ","); got != "a,c,d,e" {
		t.Errorf("names = %s", got)
	}
	for i := range root.Len() {
		name, v := root.Member(i)
		if string(name) != names[i] || !bytes.Equal(v.Raw(), root.Get(names[i]).Raw()) {
			t.Errorf("Member(%d) = %q", i, name)
		}
	}
	if name, v := root.Member(4); name != nil || v.Exists() {
		t.Error("Member out of range exists")
	}
	if name, v := a.Member(0); name != nil || v.Exists() {
		t.Error("Member of array exists")
	}
	if a.Index(0).Name() != nil || root.Name() != nil {
		t.Error("Name of non-member")
	}
	if root.Next().Exists() {
		t.Error("root has a sibling")
	}
	if a.Get("a").Exists() || a.GetBytes([]byte("a")).Exists() {
		t.Error("Get on array")
	}
	if root.Index(0).Exists() {
		t.Error("Index on object")
	}

	var zero jsonx.Value
	if zero.Exists() || zero.Kind() != jsonx.Invalid || zero.Len() != 0 || zero.Raw() != nil ||
		zero.Str() != nil || zero.Get("a").Exists() || zero.First().Exists() || zero.Next().Exists() {
		t.Error("zero Value is not Invalid")
	}

	// Values do not survive Reset.
	d.Reset()
	if d.Root().Exists() || root.Exists() {
		t.Error("Value exists after Reset")
	}
}

// TestStrAliasing checks that a Str result cannot be appended into the
// source or the scratch buffer behind it.
func TestStrAliasing(t *testing.T) {
	src := []byte(`["ab","c\nd","ef"]`)
	var d jsonx.Doc
	if err := d.Parse(src, jsonx.Limits{}); err != nil {
		t.Fatal(err)
	}
	root := d.Root()
	_ = append(root.Index(0).Str(), "XX"...)
	_ = append(root.Index(1).Str(), "YY"...)
	if string(src) != `["ab","c\nd","ef"]` || string(root.Index(2).Str()) != "ef" {
		t.Errorf("append through Str clobbered data: %s", src)
	}
}

func TestReuse(t *testing.T) {
	var d jsonx.Doc
	if err := d.Parse([]byte(`{"a":"\u0041","b":[1,2,3]}`), jsonx.Limits{}); err != nil {
		t.Fatal(err)
	}
	if err := d.Parse([]byte(`{"a":`), jsonx.Limits{}); !errors.Is(err, jsonx.ErrSyntax) {
		t.Fatalf("Parse = %v", err)
	}
	if d.Root().Exists() {
		t.Fatal("Root exists after failed Parse")
	}
	if err := d.Parse([]byte(`{"x":"\u0042"}`), jsonx.Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := string(d.Root().Get("x").Str()); got != "B" {
		t.Errorf("x = %q", got)
	}
	if d.Root().Get("a").Exists() {
		t.Error("member of previous document visible")
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[jsonx.Kind]string{
		jsonx.Invalid: "invalid", jsonx.Null: "null", jsonx.False: "false", jsonx.True: "true",
		jsonx.Number: "number", jsonx.String: "string", jsonx.Object: "object", jsonx.Array: "array",
		jsonx.Kind(200): "invalid",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
