// Package frontendtest builds tokengate for the tests of its front ends
// the way `tokengate serve` does — a configuration file in a temporary
// directory, config.Load, Validate, build.New — with the files such a
// configuration names: an ES256 issuer key (es.jwks.json, kid "es"), an
// X25519 decryption key (enc.key.pem, kid "enc-1", ECDH-ES+A256KW) and a
// revocation file (revoked.json). It mints the tokens the tests send:
// signed, encrypted, and forged (the issuer's kid, another key); RawHTTP
// sends a request exactly as written.
package frontendtest

import (
	"bufio"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/build"
	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/jwe"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/signer"
)

// The issuer, key and file names a configuration given to New can use.
const (
	Issuer     = "https://idp.example.test"
	KID        = "es"
	KeyFile    = "es.jwks.json"
	EncKeyFile = "enc.key.pem"
	EncKID     = "enc-1"
	RevFile    = "revoked.json"
)

// Env is a built configuration and the means to mint tokens for it.
type Env struct {
	Dir        string
	ConfigPath string
	Config     *config.Config
	// Parts are built with KeepClaims (the net/http middleware hands the
	// claims to the application); nothing is started.
	Parts *build.Parts

	es, forger *signer.Signer
	enc        *ecdh.PublicKey
}

// New writes the key files, revoked.json (denying the jtis given) and
// cfg as config.yaml into a temporary directory, then loads and builds
// the configuration. The parts are closed when t ends.
func New(t testing.TB, cfg string, revokedJTIs ...string) *Env {
	t.Helper()
	e := &Env{Dir: t.TempDir()}
	priv, err := signer.GenerateKey(keyring.ES256)
	check(t, err)
	pub, err := signer.Public(priv)
	check(t, err)
	k, err := keyring.NewKey(pub, keyring.Options{ID: KID, Alg: keyring.ES256})
	check(t, err)
	jwks, err := keyring.MarshalJWKS(k)
	check(t, err)
	e.write(t, KeyFile, jwks)
	e.es, err = signer.New(keyring.ES256, priv, KID)
	check(t, err)
	other, err := signer.GenerateKey(keyring.ES256)
	check(t, err)
	e.forger, err = signer.New(keyring.ES256, other, KID)
	check(t, err)

	encPriv, err := ecdh.X25519().GenerateKey(rand.Reader)
	check(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(encPriv)
	check(t, err)
	e.write(t, EncKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	e.enc = encPriv.PublicKey()

	rules := []map[string]string{}
	for _, jti := range revokedJTIs {
		rules = append(rules, map[string]string{"jti": jti})
	}
	revoked, err := json.Marshal(map[string]any{"revocations": rules})
	check(t, err)
	e.write(t, RevFile, revoked)

	e.ConfigPath = filepath.Join(e.Dir, "config.yaml")
	e.write(t, "config.yaml", []byte(cfg))
	e.Config, err = config.Load(e.ConfigPath)
	check(t, err)
	check(t, e.Config.Validate())
	e.Parts, err = build.New(e.Config, build.Options{KeepClaims: true, Logger: slog.New(slog.DiscardHandler)})
	check(t, err)
	t.Cleanup(e.Parts.Close)
	return e
}

func (e *Env) write(t testing.TB, name string, data []byte) {
	t.Helper()
	check(t, os.WriteFile(filepath.Join(e.Dir, name), data, 0o600))
}

// Claims are a token's claims: iss is Issuer, sub "user-42", exp ten
// minutes and iat one minute from now, unless over says otherwise (a nil
// value removes a claim).
func Claims(over map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": Issuer, "sub": "user-42", "exp": now.Add(10 * time.Minute).Unix(), "iat": now.Add(-time.Minute).Unix()}
	maps.Copy(c, over)
	for k, v := range c {
		if v == nil {
			delete(c, k)
		}
	}
	return c
}

// Token is a token signed with the issuer's key.
func (e *Env) Token(t testing.TB, over map[string]any) string {
	t.Helper()
	return sign(t, e.es, over)
}

// Forged is a token signed with another key under the issuer's kid.
func (e *Env) Forged(t testing.TB, over map[string]any) string {
	t.Helper()
	return sign(t, e.forger, over)
}

// Encrypted is a signed token wrapped in a compact JWE for the
// decryption key (ECDH-ES+A256KW, A256GCM, cty JWT).
func (e *Env) Encrypted(t testing.TB, over map[string]any) string {
	t.Helper()
	out, err := jwe.Encrypt([]byte(e.Token(t, over)), jwe.ECDHESA256KW, jwe.A256GCM, e.enc, &jwe.EncryptOptions{Kid: EncKID})
	check(t, err)
	return string(out)
}

func sign(t testing.TB, s *signer.Signer, over map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(Claims(over))
	check(t, err)
	tok, err := s.Sign(payload)
	check(t, err)
	return tok
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// RawHTTP writes one HTTP/1.1 request to addr on a new connection exactly
// as given — the method and target are not cleaned or re-encoded by a
// client, and each header is one line, in order — and reads the answer.
// It adds Host and Connection: close.
func RawHTTP(t testing.TB, addr, method, target string, headers [][2]string) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	check(t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n", method, target)
	for _, h := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("\r\n")
	_, err = io.WriteString(conn, b.String())
	check(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s to %s: %v", method, target, addr, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}
