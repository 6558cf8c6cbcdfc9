package gate_test

import (
	"strconv"
	"testing"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

// BenchmarkCheck times what a request costs the gate: a cache hit (path,
// route, revocation check, headers), and a miss per algorithm (the cache
// off: verification and rendering), each next to its floor measured in
// the same run — the verifier's full Verify of the same token (what a
// miss cannot avoid). The transports' own costs are in their packages.
func BenchmarkCheck(b *testing.B) {
	b.Run("hit", func(b *testing.B) {
		e := newEnv(b, nil)
		benchCheck(b, e.g, sign(b, e.es, nil), true)
	})
	for _, alg := range []keyring.Algorithm{keyring.HS256, keyring.RS256, keyring.ES256, keyring.Ed25519, keyring.MLDSA44} {
		priv, err := signer.GenerateKey(alg)
		if err != nil {
			b.Fatal(err)
		}
		pubOrSecret := priv
		if alg.Family() != keyring.FamilyHMAC {
			if pubOrSecret, err = signer.Public(priv); err != nil {
				b.Fatal(err)
			}
		}
		k, err := keyring.NewKey(pubOrSecret, keyring.Options{ID: "k", Alg: alg})
		if err != nil {
			b.Fatal(err)
		}
		snap, err := keyring.NewSnapshot(1, k)
		if err != nil {
			b.Fatal(err)
		}
		s, err := signer.New(alg, priv, "k")
		if err != nil {
			b.Fatal(err)
		}
		tok := sign(b, s, nil)
		vo := verifier.Options{Policy: verifier.DefaultPolicy(), Now: fixedClock}
		cfg := gate.DefaultConfig()
		cfg.Cache.MaxBytes = 0
		g, err := gate.New(cfg, vo, gate.Options{Keys: snap, Now: fixedClock})
		if err != nil {
			b.Fatal(err)
		}
		b.Run("miss-"+string(alg), func(b *testing.B) { benchCheck(b, g, tok, false) })
		b.Run("floor-verify-"+string(alg), func(b *testing.B) {
			v, err := verifier.New(snap, vo)
			if err != nil {
				b.Fatal(err)
			}
			r := verifier.AcquireResult()
			defer verifier.ReleaseResult(r)
			token := []byte(tok)
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Verify(r, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchCheck(b *testing.B, g *gate.Gate, tok string, hit bool) {
	method, target, auth := []byte("GET"), []byte("/orders/7?x=1"), []byte("Bearer "+tok)
	gr, d := gate.AcquireRequest(), gate.AcquireDecision()
	run := func() {
		gr.Reset()
		gr.Method, gr.Target = method, target
		gr.AddAuthorization(auth)
		g.Check(gr, testNow, d)
		if !d.Allow {
			b.Fatalf("%d %s", d.Status, d.Reason)
		}
	}
	if hit {
		run()
		run() // stored on its second sighting
		g.WaitCache()
	}
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
	if hit && d.Cache != gate.CacheHit {
		b.Fatal("not served from the cache")
	}
}

// BenchmarkCheckNewTokens times what every request with a token never
// seen before costs with the cache on (verify, render, offer to the
// cache) next to the same with the cache off: the price of storing
// entries that may never be hit.
func BenchmarkCheckNewTokens(b *testing.B) {
	const n = 1 << 16
	toks := make([][]byte, n)
	s, err := signer.New(keyring.HS256, hsSecret, "hs")
	if err != nil {
		b.Fatal(err)
	}
	for i := range toks {
		toks[i] = []byte("Bearer " + sign(b, s, map[string]any{"jti": strconv.Itoa(i)}))
	}
	for _, mb := range []int64{0, 64 << 20} {
		name := "cache-off"
		if mb > 0 {
			name = "cache-on"
		}
		b.Run(name+"-HS256", func(b *testing.B) {
			e := newEnv(b, func(c *gate.Config) { c.Cache.MaxBytes = mb })
			gr, d := gate.AcquireRequest(), gate.AcquireDecision()
			method, target := []byte("GET"), []byte("/orders/7")
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				gr.Reset()
				gr.Method, gr.Target = method, target
				gr.AddAuthorization(toks[i%n])
				i++
				e.g.Check(gr, testNow, d)
				if !d.Allow {
					b.Fatal(d.Reason)
				}
			}
		})
	}
}
