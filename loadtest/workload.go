package loadtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokengate/tokengate/bench/sessions"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
)

// Credential kinds.
const (
	KindValid   = "valid"
	KindInvalid = "invalid" // bad signature, or an unknown session id
	KindExpired = "expired" // expired token, or an expired session
)

// Credential is one token or session id the generator sends.
type Credential struct {
	Kind     string            // KindValid, KindInvalid, KindExpired
	Alg      keyring.Algorithm // tokens only
	Value    string            // the token or the session id
	Expires  time.Time         // exp claim or session expiry
	Expected int               // the status a correct target answers

	hdrValue []byte // Authorization header value, or the session cookie value
}

// Workload is the set of credentials of a run and the keys that sign the
// tokens. It is immutable once built and safe for concurrent reads; Close
// removes a temporary key directory.
type Workload struct {
	// Sessions is true when credentials are session ids sent as
	// "Cookie: session=<id>", false for "Authorization: Bearer <token>".
	Sessions bool
	Creds    []Credential
	// Sources lists the generated verification keys for a keyring.
	Sources []keyring.Source
	// KeyDir holds the public keys and HMAC secrets.
	KeyDir string

	removeDir bool
}

const loadtestIssuer = "https://loadtest.tokengate.invalid"

// NewWorkload reads c.TokenFile, or mints c.Tokens credentials with c's
// mix: session ids when c.Target is a session target (valid ones drawn
// uniformly from the session data set, invalid ones random, expired ones
// random and stored by the target for the run), else tokens signed with
// one freshly generated key per algorithm.
func NewWorkload(c Config) (*Workload, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &Workload{Sessions: c.sessions()}
	if c.TokenFile != "" {
		if err := w.readFile(c.TokenFile); err != nil {
			return nil, err
		}
		if c.KeyDir != "" && !w.Sessions {
			w.KeyDir = c.KeyDir
			w.Sources, err = sourcesIn(c.KeyDir)
		}
		return w, err
	}
	n := c.Tokens
	rng := mrand.New(mrand.NewPCG(0x746f6b656e, 0x67617465)) // reproducible mixes
	kinds := make([]string, n)
	nInv := int(c.Invalid*float64(n) + 0.5)
	nExp := min(int(c.Expired*float64(n)+0.5), n-nInv)
	for i := range kinds {
		switch {
		case i < nInv:
			kinds[i] = KindInvalid
		case i < nInv+nExp:
			kinds[i] = KindExpired
		default:
			kinds[i] = KindValid
		}
	}
	rng.Shuffle(n, func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	now := time.Now()
	w.Creds = make([]Credential, n)
	for i := range w.Creds {
		cr := &w.Creds[i]
		cr.Kind = kinds[i]
		cr.Expected = 200
		cr.Expires = now.Add(24 * time.Hour).Truncate(time.Second)
		if cr.Kind != KindValid {
			cr.Expected = 401
		}
		if cr.Kind == KindExpired {
			cr.Expires = now.Add(-time.Hour).Truncate(time.Second)
		}
	}
	if w.Sessions {
		for i := range w.Creds {
			cr := &w.Creds[i]
			if cr.Kind == KindValid {
				k := rng.IntN(c.Rows)
				cr.Value = sessions.ID(k)
				cr.Expires = time.Unix(sessions.For(k).ExpiresAt, 0)
			} else {
				var b [32]byte
				_, _ = rand.Read(b[:])
				cr.Value = base64.RawURLEncoding.EncodeToString(b[:])
				if cr.Kind == KindExpired {
					// Sessions are checked at the data set's fixed clock.
					cr.Expires = sessions.Now.Add(-time.Hour).Truncate(time.Second)
				}
			}
			cr.hdrValue = []byte(cr.Value) // the cookie value
		}
		return w, nil
	}
	if err := w.mintTokens(c, rng, now); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// algCounts splits n by the mix with the largest-remainder method.
func algCounts(mix []AlgWeight, n int) []int {
	var sum float64
	for _, a := range mix {
		sum += a.Weight
	}
	counts := make([]int, len(mix))
	rest := make([]float64, len(mix))
	given := 0
	for i, a := range mix {
		exact := a.Weight / sum * float64(n)
		counts[i] = int(exact)
		rest[i] = exact - float64(counts[i])
		given += counts[i]
	}
	for ; given < n; given++ {
		best := 0
		for i := range rest {
			if rest[i] > rest[best] {
				best = i
			}
		}
		counts[best]++
		rest[best] = -1
	}
	return counts
}

func (w *Workload) mintTokens(c Config, rng *mrand.Rand, now time.Time) error {
	w.KeyDir = c.KeyDir
	if w.KeyDir == "" {
		dir, err := os.MkdirTemp("", "tokengate-loadtest-")
		if err != nil {
			return err
		}
		w.KeyDir, w.removeDir = dir, true
	} else if err := os.MkdirAll(w.KeyDir, 0o700); err != nil {
		return err
	}
	signers := map[keyring.Algorithm]*signer.Signer{}
	var public []*keyring.Key
	for _, a := range c.Algs {
		if signers[a.Alg] != nil {
			continue
		}
		kid := "loadtest-" + strings.ToLower(string(a.Alg))
		priv, err := w.privateKey(a.Alg, kid)
		if err != nil {
			return err
		}
		s, err := signer.New(a.Alg, priv, kid)
		if err != nil {
			return err
		}
		signers[a.Alg] = s
		if secret, ok := priv.([]byte); ok {
			path := filepath.Join(w.KeyDir, kid+".secret")
			if err := os.WriteFile(path, []byte(base64.RawURLEncoding.EncodeToString(secret)), 0o600); err != nil {
				return err
			}
			w.Sources = append(w.Sources, keyring.Source{Path: path, Secret: true, Encoding: keyring.SecretBase64URL, Alg: a.Alg, ID: kid})
			continue
		}
		pub, err := signer.Public(priv)
		if err != nil {
			return err
		}
		k, err := keyring.NewKey(pub, keyring.Options{ID: kid, Alg: a.Alg})
		if err != nil {
			return err
		}
		public = append(public, k)
	}
	if len(public) > 0 {
		jwks, err := keyring.MarshalJWKS(public...)
		if err != nil {
			return err
		}
		path := filepath.Join(w.KeyDir, "keys.jwks.json")
		if err := os.WriteFile(path, jwks, 0o600); err != nil {
			return err
		}
		w.Sources = append(w.Sources, keyring.Source{Path: path})
	}

	algs := make([]keyring.Algorithm, 0, len(w.Creds))
	for i, k := range algCounts(c.Algs, len(w.Creds)) {
		for range k {
			algs = append(algs, c.Algs[i].Alg)
		}
	}
	rng.Shuffle(len(algs), func(i, j int) { algs[i], algs[j] = algs[j], algs[i] })

	// Signing is slow for RSA: spread it over the CPUs.
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for g := range errs {
		wg.Go(func() {
			for i := g; i < len(w.Creds); i += len(errs) {
				cr := &w.Creds[i]
				cr.Alg = algs[i]
				iat := now
				if cr.Kind == KindExpired {
					iat = now.Add(-2 * time.Hour)
				}
				claims, _ := json.Marshal(map[string]any{
					"iss": loadtestIssuer, "sub": fmt.Sprintf("user-%d", i), "jti": fmt.Sprintf("lt-%d", i),
					"iat": iat.Unix(), "exp": cr.Expires.Unix(), "scope": "read",
				})
				tok, err := signers[cr.Alg].Sign(claims)
				if err != nil {
					errs[g] = err
					return
				}
				if cr.Kind == KindInvalid {
					tok = tamper(tok)
				}
				cr.Value = tok
				cr.hdrValue = []byte("Bearer " + tok)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// privateKey reuses the key of alg in a caller-given KeyDir (so an
// external sidecar configured with that directory keeps trusting the
// tokens), or generates one and, for a caller-given KeyDir, saves it.
func (w *Workload) privateKey(alg keyring.Algorithm, kid string) (any, error) {
	hmac := alg.Family() == keyring.FamilyHMAC
	path := filepath.Join(w.KeyDir, kid+".key.pem")
	if hmac {
		path = filepath.Join(w.KeyDir, kid+".secret")
	}
	if !w.removeDir {
		data, err := os.ReadFile(path)
		switch {
		case err == nil && hmac:
			return base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(data)))
		case err == nil:
			return signer.ParsePrivateKeyPEM(data)
		case !errors.Is(err, os.ErrNotExist):
			return nil, err
		}
	}
	priv, err := signer.GenerateKey(alg)
	if err != nil || hmac || w.removeDir {
		return priv, err // a secret is written below, with the public keys
	}
	pemBytes, err := signer.MarshalPrivateKeyPEM(priv)
	if err != nil {
		return nil, err
	}
	return priv, os.WriteFile(path, pemBytes, 0o600)
}

// tamper changes one character in the middle of the signature: still
// canonical base64url (only the last character carries padding bits), but
// the signature no longer verifies.
func tamper(tok string) string {
	b := []byte(tok)
	dot := strings.LastIndexByte(tok, '.')
	i := dot + 1 + (len(b)-dot-1)/2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// readFile reads one accepted credential per line; blank lines are
// skipped.
func (w *Workload) readFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("loadtest: token file: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		v := strings.TrimSpace(line)
		if v == "" {
			continue
		}
		cr := Credential{Kind: KindValid, Value: v, Expected: 200, hdrValue: []byte(v)}
		if !w.Sessions {
			cr.hdrValue = []byte("Bearer " + v)
			cr.Alg = headerAlg(v)
		}
		w.Creds = append(w.Creds, cr)
	}
	if len(w.Creds) == 0 {
		return fmt.Errorf("loadtest: token file %s holds no credentials", path)
	}
	return nil
}

// sourcesIn returns the keyring sources of a key directory written by an
// earlier run (KeyDir): its public keys and HMAC secrets.
func sourcesIn(dir string) ([]keyring.Source, error) {
	var out []keyring.Source
	secrets, err := filepath.Glob(filepath.Join(dir, "loadtest-*.secret"))
	if err != nil {
		return nil, err
	}
	for _, path := range secrets {
		kid := strings.TrimSuffix(filepath.Base(path), ".secret")
		alg, err := keyring.ParseAlgorithm(strings.ToUpper(strings.TrimPrefix(kid, "loadtest-")))
		if err != nil {
			return nil, fmt.Errorf("loadtest: %s: %w", path, err)
		}
		out = append(out, keyring.Source{Path: path, Secret: true, Encoding: keyring.SecretBase64URL, Alg: alg, ID: kid})
	}
	if jwks := filepath.Join(dir, "keys.jwks.json"); fileExists(jwks) {
		out = append(out, keyring.Source{Path: jwks})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("loadtest: no keys in %s", dir)
	}
	return out, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// headerAlg reads a compact JWS's "alg", for the report ("" when it
// cannot).
func headerAlg(tok string) keyring.Algorithm {
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &hdr) != nil {
		return ""
	}
	return keyring.Algorithm(hdr.Alg)
}

// WriteFile writes the credentials' values, one per line, for
// Config.TokenFile. Only accepted credentials make sense there.
func (w *Workload) WriteFile(path string) error {
	var b strings.Builder
	for _, c := range w.Creds {
		if c.Kind != KindValid {
			return errors.New("loadtest: a token file holds accepted credentials only")
		}
		b.WriteString(c.Value)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// Counts returns the number of credentials of each kind.
func (w *Workload) Counts() map[string]int {
	m := map[string]int{}
	for _, c := range w.Creds {
		m[c.Kind]++
	}
	return m
}

// AlgCounts returns the number of tokens per algorithm.
func (w *Workload) AlgCounts() map[string]int {
	m := map[string]int{}
	for _, c := range w.Creds {
		if c.Alg != "" {
			m[string(c.Alg)]++
		}
	}
	return m
}

// Close removes a temporary key directory.
func (w *Workload) Close() error {
	if w.removeDir && w.KeyDir != "" {
		return os.RemoveAll(w.KeyDir)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}
