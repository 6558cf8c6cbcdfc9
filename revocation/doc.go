// Package revocation takes back JSON Web Tokens before they expire, which
// signed tokens cannot do by themselves. It keeps two kinds of rule:
//
//   - deny one token by its "jti" (RFC 7519 §4.1.7) until the token would
//     have expired anyway, after which the rule forgets itself;
//   - void every token of a subject ("sub") issued before a time ("log out
//     everywhere", "password changed"): a token whose "iat" is before the
//     cutoff is revoked, and so is a token of that subject without "iat".
//
// Either rule may be scoped to one issuer ("iss"); without an issuer it
// applies to tokens of every issuer.
//
// Security property: a rule outlives every moment at which a token it
// matches could still verify. The verifier accepts a token while now <
// exp + leeway (RFC 7519 §4.1.4 with the clock skew it allows), so a rule
// is forgotten — swept from memory, let go by Redis's TTL, left out of
// [Store.List] — only at the exp of the last token it matches plus
// [Options.Leeway], the largest leeway of any issuer. For a jti rule given
// the token's exp that is exact. For a subject cutoff, and a jti rule
// without exp, the last token's exp is bounded through
// [Options.MaxTokenLifetime], which holds only if the verifier refuses
// tokens whose exp − iat exceeds it: a subject rule matches tokens with
// iat < before, so exp < before + MaxTokenLifetime; a token that verifies
// when a jti rule is added has iat at most the leeway ahead, so exp ≤ now
// + Leeway + MaxTokenLifetime. A token without iat has no issue time to
// bound: a subject cutoff denies it only while the rule is kept.
//
// A [Store] holds the rules of one process as an immutable snapshot behind an
// atomic pointer: [Store.Revoked], called for every request (cache hits
// included), is one atomic load and at most four map lookups, allocates
// nothing and never waits for a writer. Rules come from three layers: a
// revocation file (replaced as a whole on reload; a broken file keeps the
// previous rules), local additions (the admin API) and the shared set held
// in Redis by [Sync], which every replica loads at start, follows through a
// pub/sub channel, and reloads in full after every reconnection and
// periodically. The hot path never talks to Redis.
package revocation
