package jsonx_test

import (
	"encoding/json"
	"testing"

	"github.com/tokengate/tokengate/internal/jsonx"
)

// claimsJSON is a realistic access-token claims set (Keycloak-style, ~400
// bytes), as the verifier sees it after base64url decoding.
const claimsJSON = `{"iss":"https://auth.example.com/realms/production","sub":"8f14e45f-ceea-467f-a0e6-1d2c3b4a5f60",` +
	`"aud":["orders-api","billing-api","account"],"exp":1767225600,"iat":1767222000,"nbf":1767222000,` +
	`"jti":"b3c1a2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d","azp":"web-frontend","scope":"openid profile email orders:read orders:write",` +
	`"realm_access":{"roles":["offline_access","uma_authorization","customer","order-manager"]},"email_verified":true}`

// BenchmarkParseClaims parses the claims set and reads the registered
// claims a verifier needs. The encoding/json baseline (map[string]any, which
// the style guide forbids on the hot path) is next to it for scale.
func BenchmarkParseClaims(b *testing.B) {
	src := []byte(claimsJSON)
	b.Run("jsonx", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		var d jsonx.Doc
		for b.Loop() {
			if err := d.Parse(src, jsonx.Limits{}); err != nil {
				b.Fatal(err)
			}
			root := d.Root()
			_ = root.Get("iss").Str()
			_ = root.Get("sub").Str()
			for a := root.Get("aud").First(); a.Exists(); a = a.Next() {
				_ = a.Str()
			}
			if _, ok := root.Get("exp").Int(); !ok {
				b.Fatal("exp")
			}
			_, _ = root.Get("nbf").Int()
			_, _ = root.Get("iat").Int()
			_ = root.Get("realm_access").Get("roles").Len()
		}
	})
	b.Run("jsonx-parse-only", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		var d jsonx.Doc
		for b.Loop() {
			if err := d.Parse(src, jsonx.Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-valid", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if !json.Valid(src) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding-json-map", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(src, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkParseError measures the failure path, which an attacker controls.
func BenchmarkParseError(b *testing.B) {
	src := []byte(claimsJSON[:len(claimsJSON)-1] + `,"sub":"x"}`)
	b.ReportAllocs()
	var d jsonx.Doc
	for b.Loop() {
		if d.Parse(src, jsonx.Limits{}) == nil {
			b.Fatal("duplicate accepted")
		}
	}
}
