package jwe

import (
	"crypto/sha256"
	"encoding/binary"
)

// concatKDF derives keyLen bytes from the shared secret z with the Concat
// KDF of NIST SP 800-56A §5.8.1 and SHA-256, as RFC 7518 §4.6.2 specifies:
//
//	OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo
//
// where AlgorithmID is the "enc" value for ECDH-ES and the "alg" value for
// ECDH-ES+AxxxKW, PartyUInfo and PartyVInfo are the decoded "apu" and "apv"
// (empty when absent), each prefixed with its 32-bit big-endian length, and
// SuppPubInfo is keydatalen in bits as a 32-bit big-endian integer.
// SuppPrivInfo is empty. Round i hashes counter(i) || Z || OtherInfo.
// buf is scratch space, returned grown so the caller can reuse it; the
// derived key is appended to dst.
func concatKDF(dst, buf, z []byte, algID string, apu, apv []byte, keyLen int) (out, scratch []byte) {
	buf = buf[:0]
	buf = append(buf, 0, 0, 0, 0) // counter, filled in per round
	buf = append(buf, z...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(algID)))
	buf = append(buf, algID...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(apu)))
	buf = append(buf, apu...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(apv)))
	buf = append(buf, apv...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(keyLen*8))
	for i, n := uint32(1), 0; n < keyLen; i++ {
		binary.BigEndian.PutUint32(buf[:4], i)
		sum := sha256.Sum256(buf)
		k := min(keyLen-n, len(sum))
		dst = append(dst, sum[:k]...)
		n += k
	}
	clear(buf) // holds Z
	return dst, buf
}
