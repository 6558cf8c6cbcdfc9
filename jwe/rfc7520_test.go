package jwe_test

import (
	"errors"
	"testing"

	"github.com/tokengate/tokengate/jwe"
)

// TestRFC7520 decrypts the RFC 7520 §5 ("JOSE Cookbook") JWE examples that
// tokengate supports and checks that the others are refused with their
// reason. Source and license: testdata/rfc7520/README.md.
func TestRFC7520(t *testing.T) {
	tests := []struct {
		file string
		alg  jwe.KeyAlgorithm // bind the key to this alg (the JWKs have none, except oct keys)
		want error
	}{
		{"5_1.rsa_v15.json", jwe.RSAOAEP256, jwe.ErrRSA1_5},        // §5.1 RSA1_5: refused before any key is used
		{"5_3.pbes2.json", "", jwe.ErrPBES2},                       // §5.3 PBES2-HS512+A256KW
		{"5_4.ecdh-es_a128kw_a128gcm.json", jwe.ECDHESA128KW, nil}, // §5.4 P-384
		{"5_5.ecdh-es_a128cbc-hs256.json", jwe.ECDHES, nil},        // §5.5 P-256
		{"5_6.dir_a128gcm.json", "", nil},                          // §5.6 JWK "alg":"A128GCM" → dir bound to A128GCM
		{"5_8.a128kw_a128gcm.json", "", nil},                       // §5.8
		{"5_9.zip.json", "", jwe.ErrZip},                           // §5.9 "zip":"DEF"
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			v := loadVector(t, tt.file)
			var set *jwe.KeySet
			if v.Input.Key != nil {
				k, err := jwe.ParseJWK(v.Input.Key, tt.alg)
				if err != nil {
					t.Fatalf("§%s key: %v", v.Section, err)
				}
				if set, err = jwe.NewKeySet(k); err != nil {
					t.Fatal(err)
				}
			}
			// The cookbook tokens carry no "cty": they are not nested JWTs.
			d := newDecrypter(t, set, jwe.Options{AllowAnyContentType: true})
			pt, hdr, err := d.Decrypt([]byte(v.Output.Compact))
			if tt.want != nil {
				if !errors.Is(err, tt.want) || pt != nil {
					t.Fatalf("§%s: got (%q, %v), want %v", v.Section, pt, err, tt.want)
				}
				if jwe.Label(err) != v.Expected {
					t.Errorf("label %q, want %q", jwe.Label(err), v.Expected)
				}
				return
			}
			if err != nil {
				t.Fatalf("§%s: %v", v.Section, err)
			}
			if string(pt) != v.Input.Plaintext {
				t.Fatalf("§%s: plaintext %q", v.Section, pt)
			}
			if string(hdr.Alg) != v.Input.Alg || string(hdr.Enc) != v.Input.Enc || hdr.Cty != "" {
				t.Errorf("§%s: header %+v", v.Section, hdr)
			}

			// By default a nested JWT is required: the same token fails.
			strict := newDecrypter(t, set, jwe.Options{})
			if _, _, err := strict.Decrypt([]byte(v.Output.Compact)); !errors.Is(err, jwe.ErrContentType) {
				t.Errorf("§%s without cty: %v, want ErrContentType", v.Section, err)
			}
		})
	}
}

func TestRejectionReasons(t *testing.T) {
	// The exact reasons the issue asked for; clients and docs depend on them.
	for err, want := range map[*jwe.Error]string{
		jwe.ErrZip:    "compression not supported: zip bombs",
		jwe.ErrRSA1_5: "RSA1_5 is not supported (padding oracle, RFC 8725 section 3.2)",
		jwe.ErrPBES2:  "PBES2 is not supported (attacker-controlled iteration count)",
	} {
		if err.Reason() != want {
			t.Errorf("reason %q, want %q", err.Reason(), want)
		}
	}
}
