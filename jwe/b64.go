package jwe

// Strict base64url (RFC 4648 §5) without padding, as RFC 7516 §2 requires
// ("with all trailing '=' characters omitted ... and without the inclusion
// of any line breaks, whitespace, or other additional characters").
// encoding/base64 silently skips '\r' and '\n'; this decoder rejects every
// byte outside the alphabet, every length no encoder produces and every
// non-canonical final character, so one token has exactly one decoding and
// a tampered encoding cannot decode to the same bytes. It never allocates
// beyond growing dst.

const invalidSym = 0xff

var decodeMap = func() (m [256]byte) {
	for i := range m {
		m[i] = invalidSym
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = byte(i)
	}
	return m
}()

// decodedLen is the number of bytes n base64url characters decode to.
func decodedLen(n int) int {
	return n/4*3 + [4]int{0, 0, 1, 2}[n%4]
}

// appendDecode appends the strict base64url decoding of src to dst; ok is
// false for any byte outside the alphabet, a length with len%4 == 1, or
// non-zero unused trailing bits.
func appendDecode(dst, src []byte) ([]byte, bool) {
	n := len(src)
	if n%4 == 1 {
		return dst, false
	}
	start := len(dst)
	dst = growTo(dst, start+decodedLen(n))
	out := dst[start:]
	o, i := 0, 0
	for ; i+4 <= n; i += 4 {
		a, b, c, d := decodeMap[src[i]], decodeMap[src[i+1]], decodeMap[src[i+2]], decodeMap[src[i+3]]
		if (a|b|c|d)&0xc0 != 0 { // invalidSym has the top bits set
			return dst[:start], false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		out[o], out[o+1], out[o+2] = byte(v>>16), byte(v>>8), byte(v)
		o += 3
	}
	switch n - i {
	case 2:
		a, b := decodeMap[src[i]], decodeMap[src[i+1]]
		if (a|b)&0xc0 != 0 || b&0x0f != 0 { // 4 unused bits must be zero
			return dst[:start], false
		}
		out[o] = a<<2 | b>>4
	case 3:
		a, b, c := decodeMap[src[i]], decodeMap[src[i+1]], decodeMap[src[i+2]]
		if (a|b|c)&0xc0 != 0 || c&0x03 != 0 { // 2 unused bits must be zero
			return dst[:start], false
		}
		out[o], out[o+1] = a<<2|b>>4, b<<4|c>>2
	}
	return dst, true
}

// decodeString is appendDecode for load-time code (JWK members).
func decodeString(s string) ([]byte, bool) {
	return appendDecode(nil, []byte(s))
}

// growTo returns b with length n, reusing its array when it is large enough.
func growTo(b []byte, n int) []byte {
	if n <= cap(b) {
		return b[:n]
	}
	nb := make([]byte, n, n+n/4)
	copy(nb, b)
	return nb
}
