package verifier

// Strict base64url (RFC 4648 §5) without padding, as JWS requires (RFC 7515
// §2 "Base64url Encoding": "with all trailing '=' characters omitted ... and
// without the inclusion of any line breaks, whitespace, or other additional
// characters"). encoding/base64 silently skips '\r' and '\n' and reports
// errors as a boxed integer, which may allocate; this decoder rejects every
// byte outside the alphabet and never allocates.

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

// appendDecode appends the strict base64url decoding of src to dst. ok is
// false when src holds a byte outside the base64url alphabet (padding '=',
// '+', '/', whitespace, NUL, ...), has a length that no encoding produces
// (len%4 == 1), or has non-zero unused trailing bits (a non-canonical
// encoding: two strings must never decode to the same bytes, or a cache
// keyed by the token could be fooled and signatures become malleable).
func appendDecode(dst, src []byte) ([]byte, bool) {
	n := len(src)
	if n%4 == 1 {
		return dst, false
	}
	dst = growTo(dst, len(dst)+decodedLen(n))
	out := dst[len(dst)-decodedLen(n):]
	o := 0
	i := 0
	for ; i+4 <= n; i += 4 {
		a, b, c, d := decodeMap[src[i]], decodeMap[src[i+1]], decodeMap[src[i+2]], decodeMap[src[i+3]]
		// Valid symbols are < 64; invalidSym has the top bits set.
		if (a|b|c|d)&0xc0 != 0 {
			return dst[:len(dst)-len(out)], false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		out[o], out[o+1], out[o+2] = byte(v>>16), byte(v>>8), byte(v)
		o += 3
	}
	switch n - i {
	case 2:
		a, b := decodeMap[src[i]], decodeMap[src[i+1]]
		// The last character carries 4 unused bits, which must be zero.
		if (a|b)&0xc0 != 0 || b&0x0f != 0 {
			return dst[:len(dst)-len(out)], false
		}
		out[o] = a<<2 | b>>4
	case 3:
		a, b, c := decodeMap[src[i]], decodeMap[src[i+1]], decodeMap[src[i+2]]
		// The last character carries 2 unused bits, which must be zero.
		if (a|b|c)&0xc0 != 0 || c&0x03 != 0 {
			return dst[:len(dst)-len(out)], false
		}
		out[o], out[o+1] = a<<2|b>>4, b<<4|c>>2
	}
	return dst, true
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
