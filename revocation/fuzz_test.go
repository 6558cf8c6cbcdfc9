package revocation

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseFile: no input panics; whatever parses validates and survives a
// round trip through the wire form.
func FuzzParseFile(f *testing.F) {
	for _, s := range []string{
		`{"revocations":[{"jti":"abc","exp":1795000000}]}`,
		`[{"sub":"u","iss":"https://i","before":"2026-11-23T08:00:00Z","reason":"r"}]`,
		`[{"sub":"u","before":1.5}]`, `[]`, `{}`, `[{"jti":"\u0000"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := ParseFile(data)
		if err != nil {
			return
		}
		for _, e := range es {
			if err := e.Validate(); err != nil {
				t.Fatalf("parsed rule does not validate: %v", err)
			}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseEntry(b, ParseOptions{})
			if err != nil {
				t.Fatalf("wire form %s does not parse: %v", b, err)
			}
			if back.Key() != e.Key() {
				t.Fatalf("round trip changed the key: %v → %v", e.Key(), back.Key())
			}
			if !e.Before.IsZero() && back.Before.Before(e.Before.Truncate(time.Second)) {
				t.Fatalf("round trip moved the cutoff earlier: %v → %v", e.Before, back.Before)
			}
		}
	})
}
