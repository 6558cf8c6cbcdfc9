package keyring

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"math/big"
	"sync"

	"github.com/cloudflare/circl/ecc/p384"
)

// ES384 (RFC 7518 §3.4: ECDSA on P-384 with SHA-384, signature R‖S) is
// verified here on circl's P-384 arithmetic instead of crypto/ecdsa, whose
// P-384 code has no assembly: circl's CombinedMult computes u1·G + u2·Q in
// one interleaved wNAF pass with a precomputed table for G, about twice as
// fast. verifyES384Stdlib keeps the crypto/ecdsa path for the tests and
// benchmarks that compare the two.
//
// CombinedMult is not constant time, which is fine for verification: every
// input — the public key, the signing input, the signature — is public, so
// the timing depends on nothing an attacker does not already hold. (Never
// use it with a secret scalar, i.e. for signing.)

// p384Size is the octet length of a P-384 field element and of its order n
// (both 384 bits), hence of R and S in a JWS signature.
const p384Size = 48

var (
	p384Curve = p384.P384()
	// p384Order is n, the order of the base point G. Shared and only read.
	p384Order = elliptic.P384().Params().N
	bigOne    = big.NewInt(1)
)

// es384Verifier holds the public point Q of one ES384 key. It is immutable
// and safe for concurrent use.
type es384Verifier struct {
	x, y *big.Int
}

// newES384Verifier takes the uncompressed point 04‖X‖Y (97 bytes) that
// initECDSA has already validated: on the curve and not the point at
// infinity (SEC 1 v2 §3.2.2), so Verify never needs to check Q again.
func newES384Verifier(uncompressed []byte) *es384Verifier {
	return &es384Verifier{
		x: new(big.Int).SetBytes(uncompressed[1 : 1+p384Size]),
		y: new(big.Int).SetBytes(uncompressed[1+p384Size:]),
	}
}

// es384Scratch is the per-call big.Int state, pooled so that a verification
// reuses the limbs of the previous one. All of it is public data.
type es384Scratch struct {
	r, s, e, w, u1, u2, q big.Int
	u1b, u2b              [p384Size]byte
}

var es384Pool = sync.Pool{New: func() any { return new(es384Scratch) }}

// verify is Key.verify for an ES384 key.
func (v *es384Verifier) verify(signingInput, sig []byte) bool {
	// RFC 7518 §3.4: R‖S, each exactly 48 octets; anything else (DER,
	// stripped leading zeros) is rejected before hashing.
	if len(sig) != 2*p384Size {
		return false
	}
	// SEC 1 v2 §4.1.4 step 2: H = SHA-384(M).
	d := sha512.Sum384(signingInput)
	return v.verifyDigest(&d, sig)
}

// verifyDigest runs SEC 1 v2 §4.1.4 steps 1 and 3–8 for the SHA-384 digest
// of the message and the JWS signature R‖S.
func (v *es384Verifier) verifyDigest(digest *[p384Size]byte, sig []byte) bool {
	if len(sig) != 2*p384Size {
		return false
	}
	st := es384Pool.Get().(*es384Scratch)
	ok := v.check(st, digest, sig)
	es384Pool.Put(st)
	return ok
}

func (v *es384Verifier) check(st *es384Scratch, digest *[p384Size]byte, sig []byte) bool {
	n := p384Order
	// Step 1: r and s must be integers in [1, n−1]. Out-of-range values
	// would otherwise be reduced mod n and give an attacker equivalent
	// encodings of one signature (and s = 0 has no inverse).
	r, s := &st.r, &st.s
	r.SetBytes(sig[:p384Size])
	s.SetBytes(sig[p384Size:])
	if r.Sign() == 0 || r.Cmp(n) >= 0 || s.Sign() == 0 || s.Cmp(n) >= 0 {
		return false
	}
	// Step 3 (via §4.1.3 step 5): e is the leftmost ⌈log2 n⌉ = 384 bits of
	// H. SHA-384 output is exactly 384 bits, so e is all of H, unshifted;
	// e may exceed n, which the reductions of step 4 take care of.
	st.e.SetBytes(digest[:])
	// Step 4: w = s⁻¹ mod n, u1 = e·w mod n, u2 = r·w mod n. n is prime
	// and 1 ≤ s < n, so gcd(s, n) = 1 = s·w + n·y; GCD into pooled Ints is
	// ModInverse with two allocations fewer.
	if st.q.GCD(&st.w, nil, s, n); st.q.Cmp(bigOne) != 0 {
		return false
	}
	if st.w.Sign() < 0 {
		st.w.Add(&st.w, n)
	}
	st.u1.Mul(&st.e, &st.w)
	st.q.QuoRem(&st.u1, n, &st.u1)
	st.u2.Mul(r, &st.w)
	st.q.QuoRem(&st.u2, n, &st.u2)
	// CombinedMult takes big-endian scalars; both are now in [0, n−1] and
	// are written at the fixed width of n (u1 = 0 is allowed: it happens
	// when e ≡ 0 mod n and is handled as the scalar 0).
	st.u1.FillBytes(st.u1b[:])
	st.u2.FillBytes(st.u2b[:])
	// Step 5: R = u1·G + u2·Q; reject R = O. circl returns the point at
	// infinity as (0, 0), which is not an affine point of P-384.
	x, y := p384Curve.CombinedMult(v.x, v.y, st.u1b[:], st.u2b[:])
	if x.Sign() == 0 && y.Sign() == 0 {
		return false
	}
	// Steps 6–8: v = xR mod n; accept iff v = r. xR < p < 2n, so at most
	// one subtraction reduces it.
	if x.Cmp(n) >= 0 {
		x.Sub(x, n)
	}
	return x.Cmp(r) == 0
}

// verifyES384Stdlib is the crypto/ecdsa ES384 path (what every other EC
// curve still uses, see initECDSA): the baseline that tests and benchmarks
// compare the circl path against.
func verifyES384Stdlib(pub *ecdsa.PublicKey, signingInput, sig []byte) bool {
	if len(sig) != 2*p384Size {
		return false
	}
	d := sha512.Sum384(signingInput)
	return verifyES384StdlibDigest(pub, &d, sig)
}

// verifyES384StdlibDigest is verifyES384Stdlib for a given digest.
func verifyES384StdlibDigest(pub *ecdsa.PublicKey, digest *[p384Size]byte, sig []byte) bool {
	if len(sig) != 2*p384Size {
		return false
	}
	der := derPool.Get().(*[160]byte)
	ok := ecdsa.VerifyASN1(pub, digest[:], appendDERSignature(der[:0], sig[:p384Size], sig[p384Size:]))
	derPool.Put(der)
	return ok
}
