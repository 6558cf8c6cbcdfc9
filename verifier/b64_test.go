package verifier

import (
	"bytes"
	"encoding/base64"
	"testing"
)

func TestAppendDecode(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "", true},
		{"QQ", "A", true},
		{"QUI", "AB", true},
		{"QUJD", "ABC", true},
		{"QR", "", false},   // non-canonical: unused bits set
		{"QUJ", "", false},  // non-canonical: unused bits set
		{"Q", "", false},    // impossible length
		{"QQ==", "", false}, // padding
		{"Q+8", "", false},  // standard alphabet
		{"Q/8", "", false},  // standard alphabet
		{"QU\nJD", "", false},
		{"QU JD", "", false},
		{"QU\x00D", "", false},
		{"_-_-", "\xff\xef\xfe", true},
	}
	for _, tc := range tests {
		got, ok := appendDecode(nil, []byte(tc.in))
		if ok != tc.ok || (ok && string(got) != tc.want) {
			t.Errorf("appendDecode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzDecode checks the decoder against encoding/base64's strict raw URL
// decoder, minus the line breaks the standard library skips.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "QQ", "QUI", "QUJD", "QR", "QQ==", "Q+8", "QU\nJD", "eyJhbGciOiJIUzI1NiJ9"} {
		f.Add([]byte(s))
	}
	std := base64.RawURLEncoding.Strict()
	f.Fuzz(func(t *testing.T, in []byte) {
		got, ok := appendDecode([]byte("prefix"), in)
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatalf("prefix lost")
		}
		want, err := std.DecodeString(string(in))
		stdOK := err == nil && !bytes.ContainsAny(in, "\r\n")
		if ok != stdOK {
			t.Fatalf("appendDecode(%q) ok=%v, stdlib ok=%v (%v)", in, ok, stdOK, err)
		}
		if ok && !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("appendDecode(%q) = %x, stdlib %x", in, got, want)
		}
		if ok && base64.RawURLEncoding.EncodeToString(want) != string(in) {
			t.Fatalf("decoding is not canonical for %q", in)
		}
	})
}
