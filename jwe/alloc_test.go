//go:build !race

package jwe_test

import (
	"testing"

	"github.com/tokengate/tokengate/jwe"
)

// TestAllocs pins the allocation counts of the request path: dir with
// AES-GCM, whose AEAD is built when the key is loaded, allocates nothing;
// a rejected header allocates nothing either (errors are package values).
func TestAllocs(t *testing.T) {
	f := fixedKeys(t)
	d := newDecrypter(t, f.set, jwe.Options{})
	ok := encrypt(t, f, combo{"dir-16", jwe.Direct, jwe.A128GCM}, innerJWT, nil)
	zip := withHeader(ok, `{"alg":"dir","enc":"A128GCM","cty":"JWT","zip":"DEF"}`)
	forged := forgeTag(ok)
	dst := make([]byte, 0, 256)
	for _, tt := range []struct {
		name string
		tok  []byte
	}{{"dir A128GCM", ok}, {"zip rejected", zip}, {"forged tag", forged}} {
		d.AppendDecrypt(dst[:0], tt.tok) // warm the pool
		if n := testing.AllocsPerRun(200, func() { d.AppendDecrypt(dst[:0], tt.tok) }); n != 0 {
			t.Errorf("%s: %v allocations, want 0", tt.name, n)
		}
	}
}
