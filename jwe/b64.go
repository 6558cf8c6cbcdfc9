package jwe

import "github.com/tokengate/tokengate/internal/b64url"

// The strict base64url of RFC 7516 §2, shared with the verifier (see
// internal/b64url): one encoding per byte string, nothing skipped.
func appendDecode(dst, src []byte) ([]byte, bool) { return b64url.AppendDecode(dst, src) }

func decodedLen(n int) int { return b64url.DecodedLen(n) }

func growTo(b []byte, n int) []byte { return b64url.GrowTo(b, n) }

// decodeString is appendDecode for load-time code (JWK members).
func decodeString(s string) ([]byte, bool) {
	return appendDecode(nil, []byte(s))
}
