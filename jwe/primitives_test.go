package jwe

import (
	"bytes"
	"crypto/aes"
	"crypto/ecdh"
	"encoding/hex"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyWrapRFC3394 checks the six test vectors of RFC 3394 §4 in both
// directions, and that any change to the wrapped key fails the integrity
// check (RFC 3394 §2.2.3).
func TestKeyWrapRFC3394(t *testing.T) {
	const (
		kek128 = "000102030405060708090A0B0C0D0E0F"
		kek192 = "000102030405060708090A0B0C0D0E0F1011121314151617"
		kek256 = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
		key128 = "00112233445566778899AABBCCDDEEFF"
		key192 = "00112233445566778899AABBCCDDEEFF0001020304050607"
		key256 = "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F"
	)
	tests := []struct{ section, kek, key, wrapped string }{
		{"4.1 128-bit key, 128-bit KEK (A128KW)", kek128, key128, "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
		{"4.2 128-bit key, 192-bit KEK", kek192, key128, "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},
		{"4.3 128-bit key, 256-bit KEK (A256KW)", kek256, key128, "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
		{"4.4 192-bit key, 192-bit KEK", kek192, key192, "031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2"},
		{"4.5 192-bit key, 256-bit KEK (A256KW)", kek256, key192, "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"},
		{"4.6 256-bit key, 256-bit KEK (A256KW)", kek256, key256, "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
	}
	for _, tt := range tests {
		t.Run(tt.section, func(t *testing.T) {
			block, err := aes.NewCipher(unhex(t, tt.kek))
			if err != nil {
				t.Fatal(err)
			}
			key, want := unhex(t, tt.key), unhex(t, tt.wrapped)
			if got := keyWrap(block, nil, key); !bytes.Equal(got, want) {
				t.Fatalf("wrap = %X, want %X", got, want)
			}
			got, ok := keyUnwrap(block, []byte("prefix"), want)
			if !ok || !bytes.Equal(got, append([]byte("prefix"), key...)) {
				t.Fatalf("unwrap = %X, %v", got, ok)
			}
			for i := range len(want) * 8 {
				bad := bytes.Clone(want)
				bad[i/8] ^= 1 << (i % 8)
				if out, ok := keyUnwrap(block, nil, bad); ok || len(out) != 0 {
					t.Fatalf("bit %d flipped: unwrap succeeded", i)
				}
			}
			for _, n := range []int{0, 8, 16, len(want) - 1, len(want) + 1} {
				if n > len(want) {
					continue
				}
				if _, ok := keyUnwrap(block, nil, want[:n]); ok {
					t.Fatalf("length %d accepted", n)
				}
			}
		})
	}
}

// TestConcatKDFRFC7518AppendixC is the ECDH-ES example of RFC 7518
// Appendix C: Bob's key, Alice's ephemeral key, apu "Alice", apv "Bob",
// enc A128GCM, derived key VqqN6vgjbSBcIijNcacQGg.
func TestConcatKDFRFC7518AppendixC(t *testing.T) {
	dec := func(s string) []byte {
		b, ok := decodeString(s)
		if !ok {
			t.Fatalf("bad base64url %q", s)
		}
		return b
	}
	bob, err := ecdh.P256().NewPrivateKey(dec("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bob.PublicKey().Bytes(), append(append([]byte{4}, dec("weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ")...), dec("e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck")...)) {
		t.Fatal("Bob's public key does not match Appendix C")
	}
	alice, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, dec("gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0")...), dec("SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps")...))
	if err != nil {
		t.Fatal(err)
	}
	z, err := bob.ECDH(alice)
	if err != nil {
		t.Fatal(err)
	}
	wantZ := []byte{158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196}
	if !bytes.Equal(z, wantZ) {
		t.Fatalf("Z = %v", z)
	}
	got, _ := concatKDF(nil, nil, z, "A128GCM", dec("QWxpY2U"), dec("Qm9i"), 16)
	if !bytes.Equal(got, dec("VqqN6vgjbSBcIijNcacQGg")) {
		t.Fatalf("derived %X", got)
	}
	// Multi-round output (64 bytes = two SHA-256 blocks) extends the first.
	long, _ := concatKDF(nil, nil, z, "A128GCM", dec("QWxpY2U"), dec("Qm9i"), 64)
	if len(long) != 64 {
		t.Fatalf("len %d", len(long))
	}
}

func TestUnpad(t *testing.T) {
	block := func(tail ...byte) []byte {
		b := bytes.Repeat([]byte{'x'}, 32-len(tail))
		return append(b, tail...)
	}
	tests := []struct {
		name string
		in   []byte
		n    int
		ok   bool
	}{
		{"one", block(1), 31, true},
		{"full block", block(bytes.Repeat([]byte{16}, 16)...), 16, true},
		{"three", block(3, 3, 3), 29, true},
		{"zero", block(0), 0, false},
		{"seventeen", block(bytes.Repeat([]byte{17}, 17)...), 0, false},
		{"255", block(255), 0, false},
		{"inconsistent", block(2, 3, 3), 0, false},
	}
	for _, tt := range tests {
		n, ok := unpad(tt.in)
		if ok != tt.ok || (ok && n != tt.n) {
			t.Errorf("%s: unpad = %d, %v", tt.name, n, ok)
		}
	}
}

func TestStrictBase64(t *testing.T) {
	for _, s := range []string{"QQ", "QUI", "QUJD", "", "-_-_"} {
		if _, ok := decodeString(s); !ok {
			t.Errorf("%q rejected", s)
		}
	}
	for _, s := range []string{
		"QR",    // non-canonical: unused bits set
		"QUJ",   // non-canonical
		"QQ==",  // padding
		"Q",     // impossible length
		"QU\nI", // line break (encoding/base64 would skip it)
		"QU I",  // space
		"QU+/",  // standard alphabet
	} {
		if _, ok := decodeString(s); ok {
			t.Errorf("%q accepted", s)
		}
	}
}
