package jwe_test

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"

	"github.com/tokengate/tokengate/jwe"
)

// BenchmarkDecrypt measures a full Decrypt of a nested JWT per key
// management algorithm (A128GCM content), and per content encryption with
// dir, next to the raw AES-GCM open it is built on.
func BenchmarkDecrypt(b *testing.B) {
	f := fixedKeys(b)
	d := newDecrypter(b, f.set, jwe.Options{})
	cases := []combo{
		{"dir-16", jwe.Direct, jwe.A128GCM},
		{"dir-32", jwe.Direct, jwe.A256GCM},
		{"dir-32", jwe.Direct, jwe.A128CBCHS256},
		{"dir-64", jwe.Direct, jwe.A256CBCHS512},
		{"a128kw", jwe.A128KW, jwe.A128GCM},
		{"a256kw", jwe.A256KW, jwe.A128GCM},
		{"ECDH-ES/P-256", jwe.ECDHES, jwe.A128GCM},
		{"ECDH-ES/P-384", jwe.ECDHES, jwe.A128GCM},
		{"ECDH-ES/X25519", jwe.ECDHES, jwe.A128GCM},
		{"ECDH-ES+A128KW/P-256", jwe.ECDHESA128KW, jwe.A128GCM},
		{"ECDH-ES+A256KW/X25519", jwe.ECDHESA256KW, jwe.A128GCM},
		{"rsa", jwe.RSAOAEP256, jwe.A128GCM},
	}
	for _, c := range cases {
		tok := encrypt(b, f, c, innerJWT, nil)
		b.Run(c.String(), func(b *testing.B) {
			b.ReportAllocs()
			var dst []byte
			for b.Loop() {
				var err error
				if dst, _, err = d.AppendDecrypt(dst[:0], tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}

	// Baseline: the primitive alone, AES-128-GCM open of the same size.
	b.Run("baseline/aes128gcm-open", func(b *testing.B) {
		block, _ := aes.NewCipher(make([]byte, 16))
		aead, _ := cipher.NewGCM(block)
		iv, aad := make([]byte, 12), []byte("aad")
		ct := aead.Seal(nil, iv, []byte(innerJWT), aad)
		var dst []byte
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if dst, err = aead.Open(dst[:0], iv, ct, aad); err != nil {
				b.Fatal(err)
			}
		}
	})

	// A forged token is refused at the same cost as a valid one is opened.
	b.Run("forged/a128kw/A128GCM", func(b *testing.B) {
		tok := forgeTag(encrypt(b, f, combo{"a128kw", jwe.A128KW, jwe.A128GCM}, innerJWT, nil))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := d.Decrypt(tok); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}
