// Command naive is the reference a user would write instead of tokengate:
// a net/http server whose /verify parses the bearer token with
// github.com/golang-jwt/jwt/v5 into MapClaims, checks the signature, the
// expiry and the issuer, and answers 200 with the same headers the sidecar
// sets (X-Auth-Subject, X-Auth-Issuer, X-Auth-Scope, X-Auth-Expires), or
// 401. No cache, no pooling: the straightforward code from the library's
// README. cmd/benchrun measures it next to tokengate over HTTP.
//
// It trusts the keys of a `tokengate loadtest --key-dir` directory:
// loadtest-<alg>.key.pem (ECDSA, Ed25519, RSA) and loadtest-<alg>.secret
// (HMAC, base64url), with the key id as the file name.
//
// It lives in a module of its own so that golang-jwt never enters
// tokengate's go.mod.
package main

import (
	"crypto"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	keyDir := flag.String("key-dir", "", "directory of a tokengate loadtest --key-dir")
	issuer := flag.String("issuer", "", "required iss ('' accepts any)")
	flag.Parse()
	keys, err := loadKeys(*keyDir)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("serving naive at http://%s/verify\n", ln.Addr())
	http.HandleFunc("/verify", verify(keys, *issuer))
	log.Fatal(http.Serve(ln, nil))
}

func verify(keys map[string]any, issuer string) http.HandlerFunc {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}),
		jwt.WithExpirationRequired(),
	}
	if issuer != "" {
		opts = append(opts, jwt.WithIssuer(issuer))
	}
	keyFunc := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, errors.New("unknown kid")
	}
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "Bearer ") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(strings.TrimPrefix(auth, "Bearer "), claims, keyFunc, opts...)
		if err != nil || !tok.Valid {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		sub, _ := claims.GetSubject()
		iss, _ := claims.GetIssuer()
		exp, _ := claims.GetExpirationTime()
		scope, _ := claims["scope"].(string)
		h := w.Header()
		h.Set("X-Auth-Subject", sub)
		h.Set("X-Auth-Issuer", iss)
		h.Set("X-Auth-Scope", scope)
		if exp != nil {
			h.Set("X-Auth-Expires", strconv.FormatInt(exp.Unix(), 10))
		}
		w.WriteHeader(http.StatusOK)
	}
}

// loadKeys reads every loadtest-*.key.pem and loadtest-*.secret in dir,
// keyed by kid (the file name without its extension).
func loadKeys(dir string) (map[string]any, error) {
	keys := map[string]any{}
	pems, _ := filepath.Glob(filepath.Join(dir, "loadtest-*.key.pem"))
	for _, path := range pems {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		kid := strings.TrimSuffix(filepath.Base(path), ".key.pem")
		var pub crypto.PublicKey
		if ec, err := jwt.ParseECPrivateKeyFromPEM(data); err == nil {
			pub = &ec.PublicKey
		} else if ed, err := jwt.ParseEdPrivateKeyFromPEM(data); err == nil {
			pub = ed.(interface{ Public() crypto.PublicKey }).Public()
		} else if rsa, err := jwt.ParseRSAPrivateKeyFromPEM(data); err == nil {
			pub = &rsa.PublicKey
		} else {
			return nil, fmt.Errorf("%s: not an EC, Ed25519 or RSA private key", path)
		}
		keys[kid] = pub
	}
	secrets, _ := filepath.Glob(filepath.Join(dir, "loadtest-*.secret"))
	for _, path := range secrets {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		secret, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(data)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		keys[strings.TrimSuffix(filepath.Base(path), ".secret")] = secret
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no keys in %q", dir)
	}
	return keys, nil
}
