package verifier_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/verifier"
)

// FuzzParsePath parses arbitrary claim paths and resolves them in
// arbitrary claims. Properties: a path re-encodes to the text it was
// parsed from; and what it finds — nothing, one value, or two places (a
// dotted path that is both a top-level name and a nested claim) — is what
// an independent reading with encoding/json finds, value for value.
func FuzzParsePath(f *testing.F) {
	doc := `{"sub":"u","realm_access.roles":["a"],"realm_access":{"roles":["b"]},"a/b":1,"m~n":2,"":{"":3},"list":[0,{"k":[4]}],"https://example.com/roles":["r"],"https://example":{"com/roles":["s"]}}`
	for _, p := range []string{
		"sub", "realm_access.roles", "/realm_access/roles", "/realm_access.roles", "/a~1b", "/m~0n", "/", "//", "/list/1/k/0",
		"/list/01", "/list/-", "/~", "/~2", "a..b", ".a", "a.", "https://example.com/roles", "/https:~1~1example.com~1roles", "list.0",
	} {
		f.Add(p, []byte(doc))
	}
	f.Fuzz(func(t *testing.T, s string, doc []byte) {
		if len(s) > 256 || len(doc) > 4096 {
			t.Skip()
		}
		p, err := verifier.ParsePath(s)
		if err != nil {
			if s != "" && (s[0] != '/' || !badTilde(s)) {
				t.Fatalf("ParsePath(%q) refused: %v", s, err)
			}
			return
		}
		if got := reencode(p); got != s {
			t.Fatalf("ParsePath(%q) re-encodes to %q", s, got)
		}
		raw, places, ok := verifier.ResolveIn(doc, p)
		if !ok {
			return
		}
		var root any
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		if dec.Decode(&root) != nil {
			t.Fatalf("jsonx accepted claims encoding/json refuses: %q", doc)
		}
		want, wantPlaces := referenceResolve(root.(map[string]any), p)
		if places != wantPlaces {
			t.Fatalf("%q in %s: %d places, reference %d", s, doc, places, wantPlaces)
		}
		if places == 1 {
			var got any
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			if d.Decode(&got) != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%q in %s: %s, reference %v", s, doc, raw, want)
			}
		}
	})
}

// badTilde reports whether a pointer has a "~" not followed by 0 or 1.
func badTilde(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '~' && (i+1 == len(s) || s[i+1] != '0' && s[i+1] != '1') {
			return true
		}
	}
	return false
}

func reencode(p verifier.Path) string {
	if p.IsPointer() {
		var b strings.Builder
		for _, part := range p.Parts() {
			b.WriteByte('/')
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(part))
		}
		return b.String()
	}
	if p.Parts() == nil {
		return p.String()
	}
	return strings.Join(p.Parts(), ".")
}

// referenceResolve is the path semantics written plainly over
// encoding/json's reading of the claims.
func referenceResolve(root map[string]any, p verifier.Path) (any, int) {
	if p.IsPointer() {
		var v any = root
		for _, tok := range p.Parts() {
			switch c := v.(type) {
			case map[string]any:
				var ok bool
				if v, ok = c[tok]; !ok {
					return nil, 0
				}
			case []any:
				i, err := strconv.Atoi(tok)
				if err != nil || tok != strconv.Itoa(i) || i < 0 || i >= len(c) {
					return nil, 0
				}
				v = c[i]
			default:
				return nil, 0
			}
		}
		return v, 1
	}
	var found []any
	if v, ok := root[p.String()]; ok {
		found = append(found, v)
	}
	if parts := p.Parts(); len(parts) > 1 {
		var v any = root
		for _, part := range parts {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			if v, ok = m[part]; !ok {
				v = nil
				break
			}
		}
		if v != nil || nestedExists(root, parts) {
			found = append(found, v)
		}
	}
	if len(found) == 1 {
		return found[0], 1
	}
	return nil, len(found)
}

// nestedExists tells a nested JSON null from an absent claim.
func nestedExists(root map[string]any, parts []string) bool {
	var v any = root
	for _, part := range parts {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[part]; !ok {
			return false
		}
	}
	return true
}
