// Package jwe decrypts compact JSON Web Encryption (RFC 7516 §7.1) tokens,
// in particular nested JWTs (RFC 7519 §5.2, §11.2): a signed JWT encrypted
// to the verifier. Decrypt returns the inner JWS, which the caller then
// verifies exactly as an unencrypted token; decryption alone proves nothing
// about who made the token.
//
// Supported key management (RFC 7518 §4): dir, A128KW and A256KW (RFC 3394
// AES Key Wrap), ECDH-ES, ECDH-ES+A128KW and ECDH-ES+A256KW on P-256,
// P-384, P-521 and X25519 (RFC 8037), and RSA-OAEP-256 with keys of at
// least 2048 bits. Supported content encryption (RFC 7518 §5): A128GCM,
// A256GCM, A128CBC-HS256 and A256CBC-HS512.
//
// Security properties:
//
//   - Every key is bound to one "alg" when it is loaded, and is looked up
//     by (kid, alg); a header never picks the algorithm for a key
//     (RFC 8725 §3.1). Keys come only from the KeySet: "jwk", "jku", "x5u"
//     and "x5c" header members are ignored.
//   - Size limits on the token, the header, the encrypted key and the
//     ciphertext are checked on the encoded lengths before anything is
//     decoded or decrypted.
//   - Base64url is strict (no padding, whitespace or non-canonical trailing
//     bits) and the header is parsed by a strict JSON parser that rejects
//     duplicate member names (RFC 7516 §5.2).
//   - Refused with a precise reason: RSA1_5 (Bleichenbacher padding oracle,
//     RFC 8725 §3.2), PBES2 (a sender-chosen iteration count), "zip"
//     (decompression bombs, RFC 8725 §3.6), any "crit" and unknown alg/enc.
//   - ECDH-ES: the ephemeral key must be a valid point on the recipient
//     key's own curve (invalid-curve attacks); X25519 low-order points are
//     refused. RSA-OAEP and AES key unwrap failures continue with a random
//     CEK and fail at the tag like any other forgery (RFC 7516 §11.5);
//     CBC-HMAC verifies the tag in constant time before decrypting, so no
//     padding oracle exists. One error, ErrDecrypt, covers every
//     cryptographic failure.
//   - Errors are package-level *Error values with a client-safe reason and
//     a metric label: they never carry token bytes, plaintext or keys.
package jwe
