package jwe

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// AES Key Wrap, RFC 3394 §2.2 (the index-based formulation of §2.2.1 and
// §2.2.2), as used by A128KW and A256KW (RFC 7518 §4.4) and by
// ECDH-ES+AxxxKW (RFC 7518 §4.6).

// kwIV is the default initial value, RFC 3394 §2.2.3.1.
var kwIV = [8]byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}

// keyWrap wraps key (a multiple of 8 bytes, at least 16) under the KEK
// block and appends the len(key)+8 byte result to dst.
func keyWrap(kek cipher.Block, dst, key []byte) []byte {
	n := len(key) / 8
	start := len(dst)
	dst = growTo(dst, start+len(key)+8)
	out := dst[start:]
	r := out[8:]
	copy(r, key)
	var b [16]byte
	copy(b[:8], kwIV[:])
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			// B = AES(K, A | R[i]); A = MSB(64, B) ^ t; R[i] = LSB(64, B)
			copy(b[8:], r[(i-1)*8:i*8])
			kek.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(b[:8])^t)
			copy(r[(i-1)*8:i*8], b[8:])
		}
	}
	copy(out[:8], b[:8])
	return dst
}

// keyUnwrap unwraps wrapped (n+1 64-bit blocks, n >= 2) under the KEK block
// and appends the n*8 byte key to dst. ok is false when the integrity check
// value is not the RFC 3394 §2.2.3.1 default IV; the comparison is constant
// time (RFC 3394 §2.2.2 step 3), and on failure the unwrapped bytes are
// erased before returning.
func keyUnwrap(kek cipher.Block, dst, wrapped []byte) ([]byte, bool) {
	if len(wrapped)%8 != 0 || len(wrapped) < 24 {
		return dst, false
	}
	n := len(wrapped)/8 - 1
	start := len(dst)
	dst = growTo(dst, start+n*8)
	r := dst[start:]
	copy(r, wrapped[8:])
	var b [16]byte
	copy(b[:8], wrapped[:8])
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			// B = AES-1(K, (A ^ t) | R[i]); A = MSB(64, B); R[i] = LSB(64, B)
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(b[:8])^t)
			copy(b[8:], r[(i-1)*8:i*8])
			kek.Decrypt(b[:], b[:])
			copy(r[(i-1)*8:i*8], b[8:])
		}
	}
	if subtle.ConstantTimeCompare(b[:8], kwIV[:]) != 1 {
		clear(r)
		return dst[:start], false
	}
	return dst, true
}
