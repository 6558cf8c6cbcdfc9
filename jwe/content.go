package jwe

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"hash"
)

// Content encryption, RFC 7518 §5: AES_CBC_HMAC_SHA2 (§5.2) and AES-GCM
// (§5.3). The Additional Authenticated Data is always the ASCII bytes of
// the encoded protected header (RFC 7516 §5.1 step 14, §5.2 step 15).

// newGCM returns AES-GCM with the RFC 7518 §5.3 parameters: 96-bit IV and
// 128-bit tag, the only ones accepted.
func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// cbcHash returns the HMAC hash of an AES_CBC_HMAC_SHA2 enc.
func cbcHash(enc ContentEncryption) func() hash.Hash {
	if enc == A256CBCHS512 {
		return sha512.New
	}
	return sha256.New
}

// cbcTag computes T = HMAC(MAC_KEY, A || IV || E || AL) truncated to
// T_LEN (RFC 7518 §5.2.2.1 steps 4-6) into out.
func cbcTag(enc ContentEncryption, macKey, aad, iv, ct []byte, out *[64]byte) []byte {
	m := hmac.New(cbcHash(enc), macKey)
	m.Write(aad)
	m.Write(iv)
	m.Write(ct)
	var al [8]byte // AL: the number of bits in A as a 64-bit big-endian integer
	binary.BigEndian.PutUint64(al[:], uint64(len(aad))*8)
	m.Write(al[:])
	return m.Sum(out[:0])[:enc.tagLen()]
}

// openContent authenticates and decrypts ct under cek and appends the
// plaintext to dst. body is ciphertext || tag, with the tag in its last
// enc.tagLen() bytes. aead, if not nil, is a ready AES-GCM for cek. On
// failure dst is returned unchanged and nothing was written past its length.
func openContent(dst []byte, enc ContentEncryption, cek []byte, aead cipher.AEAD, iv, body, aad []byte) ([]byte, bool) {
	if enc.isGCM() {
		if aead == nil {
			var err error
			if aead, err = newGCM(cek); err != nil {
				return dst, false
			}
		}
		out, err := aead.Open(dst, iv, body, aad)
		if err != nil {
			return dst, false
		}
		return out, true
	}

	// RFC 7518 §5.2.2.2: verify the tag before anything is decrypted, so no
	// padding oracle can exist; compare in constant time (hmac.Equal).
	half := len(cek) / 2
	macKey, encKey := cek[:half], cek[half:]
	ct, tag := body[:len(body)-enc.tagLen()], body[len(body)-enc.tagLen():]
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return dst, false
	}
	var sum [64]byte
	if !hmac.Equal(cbcTag(enc, macKey, aad, iv, ct, &sum), tag) {
		return dst, false
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return dst, false
	}
	start := len(dst)
	dst = growTo(dst, start+len(ct))
	out := dst[start:]
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ct)
	// PKCS #7 padding (RFC 7518 §5.2.2.1 step 2), checked without branching
	// on the padding bytes; it can only fail for a sender that authenticated
	// a badly padded message.
	n, ok := unpad(out)
	if !ok {
		clear(out)
		return dst[:start], false
	}
	return dst[:start+n], true
}

// unpad returns the length of the PKCS #7 padded block sequence b without
// its padding, in constant time with respect to the padding value.
func unpad(b []byte) (int, bool) {
	p := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, p) & subtle.ConstantTimeLessOrEq(p, aes.BlockSize)
	tail := b[len(b)-aes.BlockSize:]
	for i := range aes.BlockSize {
		// Byte tail[i] is padding iff i >= BlockSize-p; then it must equal p.
		inPad := subtle.ConstantTimeLessOrEq(aes.BlockSize, i+p)
		good &= subtle.ConstantTimeSelect(inPad, subtle.ConstantTimeByteEq(tail[i], byte(p)), 1)
	}
	if good != 1 {
		return 0, false
	}
	return len(b) - p, true
}

// sealContent encrypts plaintext under cek and returns ciphertext and tag.
func sealContent(enc ContentEncryption, cek, iv, plaintext, aad []byte) (ct, tag []byte, err error) {
	if enc.isGCM() {
		aead, err := newGCM(cek)
		if err != nil {
			return nil, nil, err
		}
		out := aead.Seal(nil, iv, plaintext, aad)
		return out[:len(out)-aead.Overhead()], out[len(out)-aead.Overhead():], nil
	}
	half := len(cek) / 2
	macKey, encKey := cek[:half], cek[half:]
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, nil, err
	}
	p := aes.BlockSize - len(plaintext)%aes.BlockSize
	ct = make([]byte, len(plaintext)+p)
	copy(ct, plaintext)
	for i := len(plaintext); i < len(ct); i++ {
		ct[i] = byte(p)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
	var sum [64]byte
	tag = append([]byte(nil), cbcTag(enc, macKey, aad, iv, ct, &sum)...)
	return ct, tag, nil
}
