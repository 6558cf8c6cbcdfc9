package keyring

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/tokengate/tokengate/internal/jsonx"
)

var strictStd = base64.StdEncoding.Strict()

// checkX5C enforces RFC 7517 §4.7: "x5c" is a non-empty array of standard
// (padded, not url-safe) base64 DER certificates, and "The key in the first
// certificate MUST match the public key represented by other members of the
// JWK". The chain is not validated: keys are trusted because they are
// configured, not because of who signed a certificate. "x5t" and
// "x5t#S256" (RFC 7517 §4.8, §4.9), when present with "x5c", must be the
// first certificate's digests.
func checkX5C(v jsonx.Value, material any) error {
	chain := v.Get("x5c")
	if !chain.Exists() {
		return nil
	}
	if chain.Len() == 0 {
		return errf(ErrMalformed, `"x5c" is empty`)
	}
	var first []byte
	i := 0
	for c := chain.First(); c.Exists(); c, i = c.Next(), i+1 {
		if c.Kind() != jsonx.String {
			return errf(ErrMalformed, `"x5c"[%d] is not a string`, i)
		}
		s := c.Str()
		if bytes.ContainsAny(s, "\r\n") {
			return errf(ErrMalformed, `"x5c"[%d] is not base64: contains a line break`, i)
		}
		der := make([]byte, strictStd.DecodedLen(len(s)))
		n, err := strictStd.Decode(der, s)
		if err != nil {
			return errf(ErrMalformed, `"x5c"[%d] is not standard padded base64`, i)
		}
		if _, err := x509.ParseCertificate(der[:n]); err != nil {
			return &detail{kind: ErrMalformed, msg: fmt.Sprintf(`"x5c"[%d] is not a certificate`, i), err: err}
		}
		if i == 0 {
			first = der[:n]
		}
	}
	cert, _ := x509.ParseCertificate(first)
	certPub, err := certPublicKey(cert)
	if err != nil {
		return &detail{kind: ErrCertMismatch, msg: `"x5c"[0] has no usable public key`, err: err}
	}
	eq, ok := material.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(certPub) {
		return errf(ErrCertMismatch, `the key in "x5c"[0] is not the JWK's key`)
	}
	for _, t := range []struct {
		name string
		sum  func([]byte) []byte
	}{
		{"x5t", func(b []byte) []byte { s := sha1.Sum(b); return s[:] }},
		{"x5t#S256", func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
	} {
		if !v.Get(t.name).Exists() {
			continue
		}
		got, err := b64Member(v, t.name)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, t.sum(first)) {
			return errf(ErrCertMismatch, "%q is not the digest of \"x5c\"[0]", t.name)
		}
	}
	return nil
}

// certPublicKey returns a certificate's public key, including Ed448 and
// ML-DSA keys, which crypto/x509 leaves unparsed.
func certPublicKey(cert *x509.Certificate) (any, error) {
	if cert.PublicKey != nil {
		return cert.PublicKey, nil
	}
	pub, isEd448, err := parseEd448SPKI(cert.RawSubjectPublicKeyInfo)
	if isEd448 {
		return pub, err
	}
	mpub, isMLDSA, err := parseMLDSASPKI(cert.RawSubjectPublicKeyInfo)
	if isMLDSA {
		return mpub, err
	}
	return nil, errors.New("unsupported public key algorithm")
}
