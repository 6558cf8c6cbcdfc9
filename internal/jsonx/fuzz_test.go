package jsonx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// maxFuzzInput bounds fuzz inputs; headers and claims are far smaller.
const maxFuzzInput = 4096

// generous never trips on a fuzz input, so a failure under it can only be a
// strictness rule.
var generous = jsonx.Limits{MaxDepth: maxFuzzInput, MaxNodes: maxFuzzInput, MaxMembers: maxFuzzInput}

// FuzzParse checks Parse against encoding/json as an oracle, within the
// places where the two are meant to agree. encoding/json accepts duplicate
// names, unpaired surrogate escapes and invalid UTF-8, so those are the only
// reasons jsonx may reject what json.Valid accepts.
func FuzzParse(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzParse.
	f.Add([]byte(claimsJSON))
	f.Add([]byte("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}")) // RFC 7515 A.1.1
	f.Add([]byte(`{"sub":1,"s\u0075b":2}`))
	f.Add([]byte(`["\ud834\udd1e","\ud800",1-2]`))

	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > maxFuzzInput {
			return
		}
		var d jsonx.Doc
		// Default limits: must not panic; success implies validity.
		if err := d.Parse(src, jsonx.Limits{}); err == nil && !json.Valid(src) {
			t.Fatalf("Parse accepted invalid JSON %q", src)
		}

		err := d.Parse(src, generous)
		valid := json.Valid(src)
		switch {
		case err == nil && !valid:
			t.Fatalf("Parse accepted invalid JSON %q", src)
		case err != nil && valid:
			if !errors.Is(err, jsonx.ErrDuplicateName) && !errors.Is(err, jsonx.ErrSurrogate) &&
				!errors.Is(err, jsonx.ErrInvalidUTF8) {
				t.Fatalf("Parse(%q) = %v, but encoding/json accepts it", src, err)
			}
			return
		case err != nil:
			if d.Root().Exists() {
				t.Fatal("Root exists after failed Parse")
			}
			return
		}

		root := d.Root()
		// What parses is exactly the input minus JSON whitespace.
		if !bytes.Equal(root.Raw(), bytes.Trim(src, " \t\r\n")) {
			t.Fatalf("Raw = %q, input %q", root.Raw(), src)
		}
		var x any
		dec := json.NewDecoder(bytes.NewReader(src))
		dec.UseNumber()
		if err := dec.Decode(&x); err != nil {
			t.Fatalf("encoding/json cannot decode %q: %v", src, err)
		}
		check(t, root, x)
	})
}

// check compares v with encoding/json's decoding of the same text and checks
// the per-value invariants.
func check(t *testing.T, v jsonx.Value, x any) {
	t.Helper()
	switch v.Kind() {
	case jsonx.Null:
		if x != nil {
			t.Fatalf("null vs %v", x)
		}
	case jsonx.True, jsonx.False:
		if b, _ := v.Bool(); x != b {
			t.Fatalf("%s vs %v", v.Raw(), x)
		}
	case jsonx.String:
		s := v.Str()
		if !utf8.Valid(s) {
			t.Fatalf("Str %q is not valid UTF-8", s)
		}
		// jsonx rejected every string encoding/json would repair with
		// U+FFFD, so the decoded contents must agree exactly.
		if x != string(s) {
			t.Fatalf("Str %q vs %q", s, x)
		}
	case jsonx.Number:
		if n, ok := x.(json.Number); !ok || string(n) != string(v.Raw()) {
			t.Fatalf("number %s vs %v", v.Raw(), x)
		}
		checkNumber(t, v)
	case jsonx.Array:
		xs, ok := x.([]any)
		if !ok || len(xs) != v.Len() {
			t.Fatalf("array of %d vs %T %v", v.Len(), x, x)
		}
		i := 0
		for c := v.First(); c.Exists(); c = c.Next() {
			if !bytes.Equal(c.Raw(), v.Index(i).Raw()) {
				t.Fatalf("Index(%d) disagrees with iteration", i)
			}
			check(t, c, xs[i])
			i++
		}
		if i != v.Len() {
			t.Fatalf("iterated %d of %d elements", i, v.Len())
		}
	case jsonx.Object:
		m, ok := x.(map[string]any)
		// Names are unique, so the map lost nothing.
		if !ok || len(m) != v.Len() {
			t.Fatalf("object of %d vs %T %v", v.Len(), x, x)
		}
		i := 0
		for c := v.First(); c.Exists(); c = c.Next() {
			name := c.Name()
			if !utf8.Valid(name) {
				t.Fatalf("name %q is not valid UTF-8", name)
			}
			xv, ok := m[string(name)]
			if !ok {
				t.Fatalf("name %q not in encoding/json's map", name)
			}
			if g := v.GetBytes(name); !bytes.Equal(g.Raw(), c.Raw()) || g.Kind() != v.Get(string(name)).Kind() {
				t.Fatalf("Get(%q) disagrees with iteration", name)
			}
			if mn, mv := v.Member(i); !bytes.Equal(mn, name) || !bytes.Equal(mv.Raw(), c.Raw()) {
				t.Fatalf("Member(%d) disagrees with iteration", i)
			}
			check(t, c, xv)
			i++
		}
	default:
		t.Fatalf("value of kind %v", v.Kind())
	}
}

// checkNumber compares Float with strconv and Int with exact big.Rat
// arithmetic.
func checkNumber(t *testing.T, v jsonx.Value) {
	t.Helper()
	raw := string(v.Raw())
	f, fok := v.Float()
	sf, serr := strconv.ParseFloat(raw, 64)
	if fok && (math.IsInf(f, 0) || math.IsNaN(f) || serr != nil || f != sf || math.Signbit(f) != math.Signbit(sf)) {
		t.Fatalf("Float(%s) = %v, strconv says %v, %v", raw, f, sf, serr)
	}
	if !fok && serr == nil && math.Abs(sf) < 1e307 {
		t.Fatalf("Float(%s) refused %v", raw, sf)
	}

	n, iok := v.Int()
	if iok && n > -1<<53 && n < 1<<53 && (!fok || f != float64(n)) {
		t.Fatalf("Int(%s) = %d but Float = %v, %v", raw, n, f, fok)
	}
	// big.Rat is exact but expands the exponent: only use it when small.
	if e := bytes.IndexAny(v.Raw(), "eE"); e >= 0 && len(raw)-e > 5 {
		return
	}
	r, ok := new(big.Rat).SetString(raw)
	if !ok {
		t.Fatalf("big.Rat cannot parse %s", raw)
	}
	want := r.IsInt() && r.Num().IsInt64()
	if iok != want || (want && n != r.Num().Int64()) {
		t.Fatalf("Int(%s) = %d, %v; exact value %s", raw, n, iok, r.RatString())
	}
}
