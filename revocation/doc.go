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
