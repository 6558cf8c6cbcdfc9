package verifier

import "github.com/tokengate/tokengate/internal/b64url"

// appendDecode is the strict base64url decoding JWS requires (RFC 7515 §2),
// shared with the jwe package: see internal/b64url.
func appendDecode(dst, src []byte) ([]byte, bool) { return b64url.AppendDecode(dst, src) }
