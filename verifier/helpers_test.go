package verifier_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

// testNow is the fixed clock of every test: 2026-01-02T03:04:05Z.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedClock() time.Time { return testNow }

// algCase is one signing algorithm with a key pair bound to it.
type algCase struct {
	name   string // subtest name: the alg, or "EdDSA-Ed448"
	alg    keyring.Algorithm
	signer *signer.Signer
	key    *keyring.Key
}

var (
	fixtureOnce sync.Once
	fixtureAlgs []algCase
	fixtureErr  error
	// fixturePrivate holds each fixture's private key by case name.
	fixturePrivate = map[string]any{}
)

// algFixtures returns one key per supported algorithm (two for EdDSA:
// Ed25519 and Ed448). Keys are generated once per test binary: RSA key
// generation is slow.
func algFixtures(t testing.TB) []algCase {
	t.Helper()
	fixtureOnce.Do(func() {
		for _, alg := range keyring.Algorithms {
			priv, err := signer.GenerateKey(alg)
			if err != nil {
				fixtureErr = err
				return
			}
			fixtureAlgs = append(fixtureAlgs, mustCase(string(alg), alg, priv))
		}
		priv, err := signer.GenerateEd448()
		if err != nil {
			fixtureErr = err
			return
		}
		fixtureAlgs = append(fixtureAlgs, mustCase("EdDSA-Ed448", keyring.EdDSA, priv))
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureAlgs
}

func mustCase(name string, alg keyring.Algorithm, priv any) algCase {
	fixturePrivate[name] = priv
	kid := "kid-" + name
	s, err := signer.New(alg, priv, kid)
	if err != nil {
		panic(err)
	}
	pub, err := signer.Public(priv)
	if err != nil {
		panic(err)
	}
	k, err := keyring.NewKey(pub, keyring.Options{ID: kid, Alg: alg, Source: "test"})
	if err != nil {
		panic(err)
	}
	return algCase{name: name, alg: alg, signer: s, key: k}
}

func caseFor(t testing.TB, name string) algCase {
	for _, c := range algFixtures(t) {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no fixture %s", name)
	return algCase{}
}

// snapshotOf builds a static key set.
func snapshotOf(t testing.TB, keys ...*keyring.Key) *keyring.Snapshot {
	t.Helper()
	s, err := keyring.NewSnapshot(1, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// allKeys is a snapshot holding every fixture key.
func allKeys(t testing.TB) *keyring.Snapshot {
	var keys []*keyring.Key
	for _, c := range algFixtures(t) {
		keys = append(keys, c.key)
	}
	return snapshotOf(t, keys...)
}

func newVerifier(t testing.TB, keys verifier.KeySet, p verifier.Policy) *verifier.Verifier {
	t.Helper()
	v, err := verifier.New(keys, verifier.Options{Policy: p, Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// claims returns a realistic claim set valid at testNow, with overrides
// (a nil value deletes the claim).
func claims(over map[string]any) []byte {
	c := map[string]any{
		"iss":          "https://idp.example.com",
		"sub":          "user-42",
		"aud":          []string{"api://orders", "api://billing"},
		"exp":          testNow.Add(10 * time.Minute).Unix(),
		"iat":          testNow.Add(-time.Minute).Unix(),
		"nbf":          testNow.Add(-time.Minute).Unix(),
		"jti":          "5f0c6a2e-8d59-4c8e-9a51-0b1d6b3f7a10",
		"scope":        "orders:read orders:write",
		"realm_access": map[string]any{"roles": []string{"admin", "auditor"}},
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return b
}

func mint(t testing.TB, c algCase, payload []byte) []byte {
	t.Helper()
	tok, err := c.signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(tok)
}

// mintRaw signs exactly the given header JSON and payload.
func mintRaw(t testing.TB, c algCase, header string, payload []byte) []byte {
	t.Helper()
	tok, err := c.signer.SignRaw([]byte(header), payload)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(tok)
}

func header(alg, kid string, extra string) string {
	h := fmt.Sprintf(`{"alg":%q,"kid":%q`, alg, kid)
	if extra != "" {
		h += "," + extra
	}
	return h + "}"
}

// rawJSON puts literal JSON (such as null) into a claims override.
func rawJSON(s string) json.RawMessage { return json.RawMessage(s) }

func asVerifierError(err error, target **verifier.Error) bool { return errors.As(err, target) }

func withSignatureB(tok []byte, sig string) []byte {
	for i := len(tok) - 1; i >= 0; i-- {
		if tok[i] == '.' {
			return append(append([]byte{}, tok[:i+1]...), sig...)
		}
	}
	return tok
}
