// Package b64url is the strict base64url decoder of JOSE: RFC 4648 §5
// without padding, as JWS (RFC 7515 §2) and JWE (RFC 7516 §2) require
// ("with all trailing '=' characters omitted ... and without the inclusion
// of any line breaks, whitespace, or other additional characters").
//
// encoding/base64 silently skips '\r' and '\n' and reports errors as a
// boxed integer, which may allocate. This decoder rejects every byte
// outside the alphabet, every length no encoder produces and every
// non-canonical final character, so one string has exactly one decoding (a
// cache keyed by the token cannot be fooled and signatures cannot be made
// malleable), and it never allocates beyond growing dst.
package b64url

import "encoding/binary"

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

// DecodedLen is the number of bytes n base64url characters decode to (for
// a length AppendDecode accepts).
func DecodedLen(n int) int {
	return n/4*3 + [4]int{0, 0, 1, 2}[n%4]
}

// AppendDecode appends the strict base64url decoding of src to dst. ok is
// false when src holds a byte outside the base64url alphabet (padding '=',
// '+', '/', whitespace, NUL, ...), has a length that no encoding produces
// (len%4 == 1), or has non-zero unused trailing bits (a non-canonical
// encoding); dst is then returned with its original length.
func AppendDecode(dst, src []byte) ([]byte, bool) {
	n := len(src)
	if n%4 == 1 {
		return dst, false
	}
	start := len(dst)
	want := start + DecodedLen(n)
	// Two spare bytes: the 8-character loop writes 8 bytes to keep 6.
	dst = GrowTo(dst, want+2)
	out := dst[start:]
	o, i := 0, 0
	for ; i+8 <= n; i += 8 {
		s := src[i : i+8 : i+8]
		a, b, c, d := decodeMap[s[0]], decodeMap[s[1]], decodeMap[s[2]], decodeMap[s[3]]
		e, f, g, h := decodeMap[s[4]], decodeMap[s[5]], decodeMap[s[6]], decodeMap[s[7]]
		if (a|b|c|d|e|f|g|h)&0xc0 != 0 {
			return dst[:start], false
		}
		v := uint64(a)<<58 | uint64(b)<<52 | uint64(c)<<46 | uint64(d)<<40 |
			uint64(e)<<34 | uint64(f)<<28 | uint64(g)<<22 | uint64(h)<<16
		binary.BigEndian.PutUint64(out[o:o+8:o+8], v)
		o += 6
	}
	dst = dst[:want]
	out = dst[start:]
	for ; i+4 <= n; i += 4 {
		a, b, c, d := decodeMap[src[i]], decodeMap[src[i+1]], decodeMap[src[i+2]], decodeMap[src[i+3]]
		if (a|b|c|d)&0xc0 != 0 { // valid symbols are < 64; invalidSym has the top bits set
			return dst[:start], false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		out[o], out[o+1], out[o+2] = byte(v>>16), byte(v>>8), byte(v)
		o += 3
	}
	switch n - i {
	case 2:
		a, b := decodeMap[src[i]], decodeMap[src[i+1]]
		if (a|b)&0xc0 != 0 || b&0x0f != 0 { // the last character's 4 unused bits must be zero
			return dst[:start], false
		}
		out[o] = a<<2 | b>>4
	case 3:
		a, b, c := decodeMap[src[i]], decodeMap[src[i+1]], decodeMap[src[i+2]]
		if (a|b|c)&0xc0 != 0 || c&0x03 != 0 { // the last character's 2 unused bits must be zero
			return dst[:start], false
		}
		out[o], out[o+1] = a<<2|b>>4, b<<4|c>>2
	}
	return dst, true
}

// GrowTo returns b with length n, reusing its array when it is large enough.
func GrowTo(b []byte, n int) []byte {
	if n <= cap(b) {
		return b[:n]
	}
	nb := make([]byte, n, n+n/4)
	copy(nb, b)
	return nb
}
