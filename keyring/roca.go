package keyring

import (
	"math/big"
	"sync"
)

// rocaPrimes are the small primes of the ROCA fingerprint test (Nemec et
// al., "The Return of Coppersmith's Attack", CCS 2017): the vulnerable
// library builds primes as k*M + (65537^a mod M), M a primorial, so the
// modulus is, modulo each of these primes, a power of 65537.
var rocaPrimes = [...]int{3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167}

// rocaPowers[i][r] reports whether r is a power of 65537 modulo rocaPrimes[i].
var rocaPowers = sync.OnceValue(func() [][]bool {
	sets := make([][]bool, len(rocaPrimes))
	for i, p := range rocaPrimes {
		sets[i] = make([]bool, p)
		for x := 1; !sets[i][x]; x = x * (65537 % p) % p {
			sets[i][x] = true
		}
	}
	return sets
})

// rocaFingerprint reports whether n has the ROCA structure. A random
// modulus passes every one of the 38 residue tests with negligible
// probability.
func rocaFingerprint(n *big.Int) bool {
	sets := rocaPowers()
	nb := n.Bytes()
	for i, p := range rocaPrimes {
		r := 0
		for _, b := range nb {
			r = (r<<8 | int(b)) % p
		}
		if !sets[i][r] {
			return false
		}
	}
	return true
}
