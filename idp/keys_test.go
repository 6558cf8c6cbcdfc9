package idp_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
)

var b64url = base64.RawURLEncoding

// rsaKey is a provider's RS256 signing key: the private key, a self-signed
// certificate for it (providers publish one in "x5c") and its kid.
type rsaKey struct {
	kid  string
	priv *rsa.PrivateKey
	cert []byte // DER
}

// newRSAKey generates a 2048-bit key; an empty kid becomes the
// certificate's SHA-1 thumbprint ("x5t"), as Entra ID names its keys.
func newRSAKey(t *testing.T, kid, subject string) *rsaKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: subject},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	k := &rsaKey{kid: kid, priv: priv, cert: cert}
	if k.kid == "" {
		k.kid = k.x5t()
	}
	return k
}

func (k *rsaKey) n() string { return b64url.EncodeToString(k.priv.N.Bytes()) }

func (k *rsaKey) e() string { return b64url.EncodeToString(big.NewInt(int64(k.priv.E)).Bytes()) }

func (k *rsaKey) x5c() []string { return []string{base64.StdEncoding.EncodeToString(k.cert)} }

func (k *rsaKey) x5t() string { s := sha1.Sum(k.cert); return b64url.EncodeToString(s[:]) }

func (k *rsaKey) x5tS256() string { s := sha256.Sum256(k.cert); return b64url.EncodeToString(s[:]) }

// sign returns a compact JWS over claims with exactly the given header
// (a JSON object, members in the provider's order), signed RS256.
func (k *rsaKey) sign(t *testing.T, header string, claims map[string]any) string {
	t.Helper()
	tok, err := k.jws(header, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// jws is sign for goroutines other than the test's.
func (k *rsaKey) jws(header string, claims map[string]any) (string, error) {
	s, err := signer.New(keyring.RS256, k.priv, k.kid)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return s.SignRaw([]byte(header), payload)
}

// object writes a JSON object with string members in the order given
// (name, value, name, value, …): JOSE headers as providers order them.
func object(pairs ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(pairs[i])
		value, _ := json.Marshal(pairs[i+1])
		b.Write(name)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return b.String()
}
