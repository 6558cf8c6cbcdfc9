// Package keyring loads, validates and serves the keys tokengate verifies
// JWS signatures with.
//
// It reads JSON Web Keys and JWK Sets (RFC 7517; key types and parameters
// of RFC 7518 §6 and RFC 8037 §2, and the "AKP" key type of RFC 9964 for
// ML-DSA), PEM public keys, PKCS #1 RSA public keys and X.509 certificates
// (including Ed448 SubjectPublicKeyInfo, RFC 8410, and ML-DSA, RFC 9881),
// and HMAC secrets. Algorithms: HS*, RS*, PS*, ES256/384/512 (ES384 on
// circl's P-384 with every SEC 1 §4.1.4 check), EdDSA and the
// fully-specified Ed25519 and Ed448 (RFC 9864), and ML-DSA-44/65/87.
// Public keys without a "kid" are named by their RFC 7638 thumbprint (an
// HMAC secret without one has none and is found by its alg). All JSON goes through a strict parser that refuses duplicate
// member names, and every base64url member must be unpadded and canonical.
//
// # One key, one algorithm
//
// A Key is bound to exactly one JWS algorithm when it is loaded, from its
// "alg", its curve or the configuration, and verifies only that algorithm:
// the token header never chooses how a key is used (RFC 8725 §3.1). An RSA
// key without an alg is bound to the one RSA algorithm its source's
// allow-list admits; with none or several, RSA and HMAC keys without an
// explicit alg are refused rather than guessed (RS256 and PS256 keys look
// alike), and an "alg" the package does not know,
// "none" included, is an error. Key material is validated once, at load
// time: RSA 2048-8192 bits with an odd exponent of at least 65537 and no
// ROCA fingerprint, EC points on their curve, Ed25519/Ed448 points that
// decode, HMAC secrets at least as long as the hash. Private keys are
// refused: a verification keyring holds public keys and HMAC secrets only.
// In a JWK Set, keys that are not for signature verification ("use" other
// than "sig", "key_ops" without "verify", encryption algs, key-agreement
// curves, other key types) are skipped and reported, not loaded.
//
// # Snapshots and reloads
//
// A Snapshot is an immutable, indexed set of keys with a generation
// number; Snapshot.Find, the request-path lookup by issuer, kid and alg,
// allocates nothing. A Ring holds the current Snapshot behind an
// atomic.Pointer: readers do one atomic load and never wait. Ring.Reload
// (and Ring.Watch, which calls it when files change) reads every source,
// builds and validates a complete new Snapshot and swaps it in as a whole.
// A document with some bad keys (too weak, off the curve, a duplicate kid,
// private material...) contributes its usable keys and reports each
// refused one (Status.Refused, RemoteStatus.Refused), so a key its owner
// removed stops verifying even when the new document holds a key tokengate
// refuses. A document that is unusable as a whole (half-written, not a key
// document, no usable key at all) keeps its source's last good keys and is
// reported with every bad source and key named. A key file that is still
// missing after Config.MissingFileGrace is taken as deleted and its keys
// are removed (a file missing for a moment, as during a volume swap, keeps
// them). Unchanged keys keep the generation (the generation digests each key's
// material and bindings, not the documents' bytes, so a reordered or
// reformatted key set is no change); a changed set gets the next
// generation, and a key removed from the input no longer verifies anything
// once the swap is done. Callers that cache results by generation therefore
// stop honouring tokens signed by a removed key at once. Key material never
// appears in errors or logs: keys are named by source, kid and fingerprint,
// and an HMAC key by source, kid and size only (nothing derived from a
// secret is ever shown: its hash would let a weak secret be guessed).
//
// # Remote key sources
//
// A Source with a RemoteConfig takes its keys from an identity provider:
// a JWK Set URL, or an OpenID Provider whose "jwks_uri" is found by
// discovery (OpenID Connect Discovery 1.0 §4; the discovered "issuer" must
// equal the configured one byte for byte, §4.3). Only https is used (plain
// http only for a loopback development server, with AllowHTTP); redirects
// never leave https and are capped; every document, discovery included, is
// bounded while it is read. A fetched document is accepted only if it is a
// JWK Set with at least one usable key whose alg is in the source's
// required allow-list (its other bad members are refused one by one); keys are scoped to the configured issuer, so a key
// published by one provider never verifies another issuer's tokens.
//
// Each remote source keeps the keys of its last good document in memory,
// and Reload builds one snapshot from the files and those keys under one
// generation; a document with other keys yields a new generation and an
// unchanged one (a 304 answer to If-None-Match, the same bytes, or the
// same keys in another order) does not. A failed fetch (network error, non-2xx status,
// oversized or invalid document) keeps the last good keys and retries with
// exponential backoff and jitter; errors name the URL and, for HTTP
// errors, the status and the start of the body. New fetches every remote
// source concurrently and, by default, waits until all succeeded
// (Config.RemoteStartup); Ring.Start runs a refresh loop per source that
// follows the provider's Cache-Control max-age within [MinRefresh,
// MaxRefresh]; Ring.Refetch serves the unknown-kid case at most once per
// RefetchInterval per source, shared by all concurrent callers, skipping
// kids the last fetches proved absent and delaying (not dropping) a new
// kid's refetch to the end of the interval; Ring.Ready
// and Status.Remotes report each source's state.
package keyring
