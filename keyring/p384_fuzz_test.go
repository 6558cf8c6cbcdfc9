package keyring

// Internal differential tests of the ES384 verifier on circl (p384.go)
// against the crypto/ecdsa path it replaced: a fuzz target, and crafted
// scalars that drive circl's CombinedMult into its exceptional additions
// (doublings, P + (−P), the point at infinity, u1 = 0, xR ≥ n), which random
// inputs never reach. They sit in package keyring to reach the digest-level
// entry points; the public-API tests are in p384_test.go.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// VerifyES384Stdlib exports the crypto/ecdsa baseline to the external tests
// and benchmarks in p384_test.go (test builds only).
var VerifyES384Stdlib = verifyES384Stdlib

// FuzzES384MatchesStdlib checks that the circl ES384 path and crypto/ecdsa
// always agree. Seeds (testdata/fuzz/FuzzES384MatchesStdlib) hold a P-384
// public key (04‖X‖Y), a signing input and a signature: valid signatures
// of a throwaway key and their mutations in r, s, message, length and key.
// A 48-byte message is also tried as the digest itself, which lets the
// fuzzer choose e directly (e = 0, e ≥ n, …).
func FuzzES384MatchesStdlib(f *testing.F) {
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(msg) > 4096 || len(sig) > 256 {
			t.Skip("larger than any seed needs")
		}
		cp, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), pub)
		if err != nil {
			return // not a P-384 point: nothing to verify under (FuzzParseKeys covers loading)
		}
		k, err := NewKey(cp, Options{ID: "fuzz"})
		if err != nil {
			t.Fatalf("valid P-384 point refused: %v", err)
		}
		if k.Alg() != ES384 {
			t.Fatalf("P-384 key bound to %s", k.Alg())
		}
		got, want := k.Verify(msg, sig), verifyES384Stdlib(cp, msg, sig)
		if got != want {
			t.Fatalf("circl %v, crypto/ecdsa %v\npub %x\nmsg %x\nsig %x", got, want, pub, msg, sig)
		}
		if got {
			// A mutated signature never verifies.
			bad := bytes.Clone(sig)
			bad[len(bad)-1] ^= 1
			if k.Verify(msg, bad) || verifyES384Stdlib(cp, msg, bad) {
				t.Fatalf("signature with its last bit flipped verifies\npub %x\nmsg %x\nsig %x", pub, msg, sig)
			}
		}
		if len(msg) == p384Size {
			v := newES384Verifier(pub)
			d := (*[p384Size]byte)(msg)
			if got, want := v.verifyDigest(d, sig), verifyES384StdlibDigest(cp, d, sig); got != want {
				t.Fatalf("digest level: circl %v, crypto/ecdsa %v\npub %x\ndigest %x\nsig %x", got, want, pub, msg, sig)
			}
		}
	})
}

// TestES384FuzzSeeds checks that the seed corpus says what its file names
// say: "valid_as_digest*" seeds are valid signatures of the 48-byte message
// taken as the digest (and not of its hash), other "valid*" seeds of the
// message, and "bad_*" seeds verify under neither reading.
func TestES384FuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzES384MatchesStdlib")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var valid, bad int
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 4 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a 3-argument go test fuzz v1 file", e.Name())
		}
		var args [3][]byte
		for i, l := range lines[1:] {
			q, ok := strings.CutPrefix(l, "[]byte(")
			q, ok2 := strings.CutSuffix(q, ")")
			s, err := strconv.Unquote(q)
			if !ok || !ok2 || err != nil {
				t.Fatalf("%s line %d: %q", e.Name(), i+2, l)
			}
			args[i] = []byte(s)
		}
		pub, msg, sig := args[0], args[1], args[2]
		hashed, digest := false, false
		if cp, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), pub); err == nil {
			hashed = verifyES384Stdlib(cp, msg, sig)
			if len(msg) == p384Size {
				digest = verifyES384StdlibDigest(cp, (*[p384Size]byte)(msg), sig)
			}
		}
		switch name := e.Name(); {
		case strings.HasPrefix(name, "valid_as_digest"):
			if !digest || hashed {
				t.Errorf("%s: valid as digest %v, as message %v; want true, false", name, digest, hashed)
			}
			valid++
		case strings.HasPrefix(name, "valid"):
			if !hashed {
				t.Errorf("%s: does not verify", name)
			}
			valid++
		case strings.HasPrefix(name, "bad_"):
			if hashed || digest {
				t.Errorf("%s: verifies (as message %v, as digest %v)", name, hashed, digest)
			}
			bad++
		default:
			t.Errorf("%s: name must start with valid or bad_", name)
		}
	}
	if valid == 0 || bad == 0 {
		t.Errorf("%d valid and %d bad seeds; want both", valid, bad)
	}
}

// TestES384UsesCircl pins the routing in initECDSA: ES384 keys verify with
// es384Verifier, the other curves keep crypto/ecdsa.
func TestES384UsesCircl(t *testing.T) {
	for _, c := range []struct {
		curve elliptic.Curve
		circl bool
	}{{elliptic.P256(), false}, {elliptic.P384(), true}, {elliptic.P521(), false}} {
		d := big.NewInt(7)
		//lint:ignore SA1019 crafting scalars needs the raw point API; test only
		x, y := c.curve.ScalarBaseMult(d.Bytes())
		//lint:ignore SA1019 a key built from raw coordinates, as a JWK parser would; test only
		k, err := NewKey(&ecdsa.PublicKey{Curve: c.curve, X: x, Y: y}, Options{ID: "k"})
		if err != nil {
			t.Fatal(err)
		}
		name := runtime.FuncForPC(reflect.ValueOf(k.verify).Pointer()).Name()
		if got := strings.Contains(name, "es384Verifier"); got != c.circl {
			t.Errorf("%s key verifies with %s", c.curve.Params().Name, name)
		}
	}
}

// p384Point is an affine P-384 point; (0, 0) is the point at infinity, as
// crypto/elliptic and circl both encode it.
type p384Point struct{ x, y *big.Int }

func (p p384Point) inf() bool { return p.x.Sign() == 0 && p.y.Sign() == 0 }

// stdMul is k·P with crypto/elliptic (the reference arithmetic).
func stdMul(p p384Point, k *big.Int) p384Point {
	c := elliptic.P384()
	kk := new(big.Int).Mod(k, c.Params().N)
	if kk.Sign() == 0 || p.inf() {
		return p384Point{new(big.Int), new(big.Int)}
	}
	//lint:ignore SA1019 reference point arithmetic for the differential test
	x, y := c.ScalarMult(p.x, p.y, kk.Bytes())
	return p384Point{x, y}
}

func stdAdd(p, q p384Point) p384Point {
	switch {
	case p.inf():
		return q
	case q.inf():
		return p
	}
	//lint:ignore SA1019 reference point arithmetic for the differential test
	x, y := elliptic.P384().Add(p.x, p.y, q.x, q.y)
	return p384Point{x, y}
}

func stdNeg(p p384Point) p384Point {
	if p.inf() {
		return p
	}
	return p384Point{p.x, new(big.Int).Sub(elliptic.P384().Params().P, p.y)}
}

var p384G = p384Point{elliptic.P384().Params().Gx, elliptic.P384().Params().Gy}

// es384Case is a crafted digest-level input with a known answer.
type es384Case struct {
	name   string
	q      p384Point
	digest [p384Size]byte
	sig    []byte
	valid  bool
	u1, u2 *big.Int  // the scalars the verification will compute
	r      p384Point // u1·G + u2·Q, or the point at infinity
}

func fill48(v *big.Int) []byte { return v.FillBytes(make([]byte, p384Size)) }

// craftES384 builds the signature for which a verifier computes exactly the
// scalars u1 and u2 (u2 ≠ 0) and the point R = u1·G + u2·Q (SEC 1 §4.1.4
// step 5). Given R, it solves for the rest: r = xR mod n, s = r·u2⁻¹,
// e = u1·s, Q = u2⁻¹·(R − u1·G) (or q, when the caller knows it). When R
// is the point at infinity, r is rInf instead and the signature must be
// rejected. ok is false when no signature exists (r = 0, or Q would be the
// point at infinity).
func craftES384(name string, R p384Point, u1, u2, rInf *big.Int, q *p384Point) (c es384Case, ok bool) {
	n := p384Order
	u2inv := new(big.Int).ModInverse(u2, n)
	r := new(big.Int).Mod(R.x, n)
	if R.inf() {
		r = rInf
	}
	if r.Sign() == 0 {
		return c, false
	}
	s := new(big.Int).Mul(r, u2inv)
	s.Mod(s, n)
	e := new(big.Int).Mul(u1, s)
	e.Mod(e, n)
	if q == nil {
		q = new(p384Point)
		*q = stdMul(stdAdd(R, stdNeg(stdMul(p384G, u1))), u2inv)
	}
	if q.inf() {
		return c, false
	}
	c = es384Case{name: name, q: *q, valid: !R.inf(), u1: new(big.Int).Mod(u1, n), u2: new(big.Int).Mod(u2, n), r: R}
	e.FillBytes(c.digest[:])
	c.sig = append(fill48(r), fill48(s)...)
	return c, true
}

// TestES384CraftedScalars runs crafted inputs through both verifiers and,
// for each, checks circl's R = u1·G + u2·Q against crypto/elliptic.
func TestES384CraftedScalars(t *testing.T) {
	t.Parallel() // about 1.5 s, 10 s with -race: crypto/elliptic is the slow part
	n := p384Order
	nm := func(k int64) *big.Int { return new(big.Int).Sub(n, big.NewInt(k)) }
	seed := func(s string) *big.Int {
		h := sha512.Sum384([]byte(s))
		v := new(big.Int).SetBytes(h[:])
		return v.Mod(v, n)
	}
	// Scalars around the wNAF windows (7 for G, 5 for Q in circl) and
	// around n, where the last additions of the ladder double or cancel.
	u1s := []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), big.NewInt(3), big.NewInt(63), big.NewInt(65),
		nm(1), nm(2), nm(63), nm(64), nm(126), seed("u1")}
	u2s := []*big.Int{big.NewInt(1), big.NewInt(2), big.NewInt(3), big.NewInt(15), big.NewInt(17),
		nm(1), nm(2), nm(15), nm(30), seed("u2")}
	// Keys with a known discrete log d, Q = d·G: with small d the G and Q
	// halves of the ladder hit the same points.
	ds := []*big.Int{big.NewInt(1), big.NewInt(2), nm(1), seed("d")}

	var cases []es384Case
	for _, d := range ds {
		q := stdMul(p384G, d)
		for _, u1 := range u1s {
			for _, u2 := range u2s {
				k := new(big.Int).Mul(u2, d)
				k.Add(k, u1)
				R := stdMul(p384G, k) // R = (u1 + u2·d)·G
				c, ok := craftES384(fmt.Sprintf("d=%x/u1=%x/u2=%x", d, u1, u2), R, u1, u2, seed("r"), &q)
				if !ok {
					t.Fatalf("d=%x u1=%x u2=%x: no signature", d, u1, u2)
				}
				cases = append(cases, c)
			}
		}
	}
	// R at infinity (u1 ≡ −u2·d) through each kind of last addition.
	for _, u2 := range u2s {
		for _, d := range ds {
			u1 := new(big.Int).Mul(u2, d)
			u1.Neg(u1).Mod(u1, n)
			q := stdMul(p384G, d)
			c, _ := craftES384(fmt.Sprintf("infinity/d=%x/u2=%x", d, u2), p384Point{new(big.Int), new(big.Int)}, u1, u2, seed("r"+u2.String()), &q)
			cases = append(cases, c)
		}
	}
	// xR ≥ n: v = xR − n (SEC 1 §4.1.4 step 7). Also r = n − 1 when n − 1
	// is an x-coordinate. The signature with r = xR itself is out of range.
	p := elliptic.P384().Params().P
	for _, x0 := range []*big.Int{new(big.Int).Add(n, big.NewInt(1)), nm(1)} {
		R, ok := liftX(x0, p)
		for i := int64(1); !ok && x0.Cmp(n) > 0; i++ {
			R, ok = liftX(new(big.Int).Add(x0, big.NewInt(i)), p)
		}
		if !ok {
			t.Logf("%x is not an x-coordinate on P-384; skipped", x0)
			continue
		}
		for _, u := range [][2]*big.Int{{seed("a"), seed("b")}, {big.NewInt(0), seed("c")}, {nm(1), nm(1)}} {
			c, ok := craftES384(fmt.Sprintf("xR=%x/u1=%x/u2=%x", R.x, u[0], u[1]), R, u[0], u[1], nil, nil)
			if !ok {
				t.Fatalf("xR=%x: no signature", R.x)
			}
			cases = append(cases, c)
			if R.x.Cmp(n) >= 0 {
				bad := c
				bad.name += "/r=xR"
				bad.valid = false
				bad.sig = append(fill48(R.x), c.sig[p384Size:]...)
				cases = append(cases, bad)
			}
		}
	}
	// e ≥ n: the digest n is e ≡ 0, so u1 = 0 as with the all-zero digest.
	for _, c := range cases {
		if c.u1.Sign() == 0 && c.valid {
			alt := c
			alt.name += "/digest=n"
			n.FillBytes(alt.digest[:])
			cases = append(cases, alt)
			break
		}
	}

	var valid, invalid int
	for _, c := range cases {
		pub := append([]byte{4}, append(fill48(c.q.x), fill48(c.q.y)...)...)
		cp, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), pub)
		if err != nil {
			t.Fatalf("%s: crafted key: %v", c.name, err)
		}
		v := newES384Verifier(pub)
		got, std := v.verifyDigest(&c.digest, c.sig), verifyES384StdlibDigest(cp, &c.digest, c.sig)
		if got != c.valid || std != c.valid {
			t.Errorf("%s: circl %v, crypto/ecdsa %v, want %v", c.name, got, std, c.valid)
		}
		if c.valid {
			valid++
		} else {
			invalid++
		}
		// The point itself, from the scalars the verifier derives.
		x, y := p384Curve.CombinedMult(c.q.x, c.q.y, fill48(c.u1), fill48(c.u2))
		if x.Cmp(c.r.x) != 0 || y.Cmp(c.r.y) != 0 {
			t.Errorf("%s: CombinedMult = (%x, %x), crypto/elliptic (%x, %x)", c.name, x, y, c.r.x, c.r.y)
		}
	}
	t.Logf("%d crafted signatures accepted by both, %d rejected by both", valid, invalid)
}

// liftX returns a point with x-coordinate x, if there is one.
func liftX(x, p *big.Int) (p384Point, bool) {
	if x.Cmp(p) >= 0 {
		return p384Point{}, false
	}
	// y² = x³ − 3x + b
	y2 := new(big.Int).Exp(x, big.NewInt(3), p)
	y2.Sub(y2, new(big.Int).Mul(big.NewInt(3), x))
	y2.Add(y2, elliptic.P384().Params().B)
	y2.Mod(y2, p)
	y := new(big.Int).ModSqrt(y2, p)
	if y == nil {
		return p384Point{}, false
	}
	return p384Point{new(big.Int).Set(x), y}, true
}
