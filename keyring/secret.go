package keyring

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
)

// SecretEncoding is how an HMAC secret is written in its file or
// environment variable.
type SecretEncoding uint8

// Secret encodings.
const (
	// SecretRaw uses the bytes as they are, minus one trailing "\n" or
	// "\r\n" (what editors and `echo` add).
	SecretRaw SecretEncoding = iota
	// SecretBase64 is standard base64 (RFC 4648 §4), padded or not; line
	// breaks (as `openssl rand -base64` writes) are ignored.
	SecretBase64
	// SecretBase64URL is base64url (RFC 4648 §5), padded or not.
	SecretBase64URL
	// SecretHex is hexadecimal, either case.
	SecretHex
)

var secretEncodingNames = [...]string{"raw", "base64", "base64url", "hex"}

func (e SecretEncoding) String() string {
	if int(e) < len(secretEncodingNames) {
		return secretEncodingNames[e]
	}
	return "SecretEncoding(" + strconv.Itoa(int(e)) + ")"
}

// ParseSecretEncoding maps "raw" (or ""), "base64", "base64url" and "hex"
// to a SecretEncoding.
func ParseSecretEncoding(s string) (SecretEncoding, error) {
	if s == "" {
		return SecretRaw, nil
	}
	for i, n := range secretEncodingNames {
		if s == n {
			return SecretEncoding(i), nil
		}
	}
	return 0, fmt.Errorf("keyring: unknown secret encoding %q (raw, base64, base64url, hex)", s)
}

// UnmarshalText implements encoding.TextUnmarshaler for configuration.
func (e *SecretEncoding) UnmarshalText(b []byte) error {
	v, err := ParseSecretEncoding(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (e SecretEncoding) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// ParseSecret makes an HMAC key from a secret in the given encoding. o.Alg
// (HS256, HS384 or HS512) is required and the decoded secret must be at
// least as long as its hash (RFC 7518 §3.2). Errors never contain the
// secret's bytes.
func ParseSecret(data []byte, enc SecretEncoding, o Options) (*Key, error) {
	fail := func(err error) (*Key, error) {
		return nil, &KeyError{Source: o.Source, Index: -1, KID: o.ID, Err: err}
	}
	if len(data) > MaxDocumentSize {
		return fail(errf(ErrTooLarge, "%d bytes, at most %d", len(data), MaxDocumentSize))
	}
	secret, err := DecodeSecret(data, enc)
	if err != nil {
		return fail(err)
	}
	if len(secret) == 0 {
		return fail(errf(ErrInvalidKey, "secret is empty"))
	}
	if o.Alg == "" {
		return fail(errf(ErrInvalidKey, "an HMAC secret needs an explicit alg (HS256, HS384 or HS512)"))
	}
	k, err := newKey(secret, o)
	clear(secret)
	if err != nil {
		return fail(err)
	}
	return k, nil
}

// DecodeSecret decodes an HMAC secret's bytes as stored in a file or an
// environment variable: one trailing newline is dropped, then the encoding
// applies (base64 forms padded or not, strictly). Errors never contain the
// secret's bytes.
func DecodeSecret(data []byte, enc SecretEncoding) ([]byte, error) {
	s := trimNewline(data)
	var (
		secret []byte
		err    error
	)
	switch enc {
	case SecretRaw:
		secret = bytes.Clone(s)
	case SecretBase64:
		secret, err = decodeB64Secret(base64.StdEncoding, s)
	case SecretBase64URL:
		secret, err = decodeB64Secret(base64.URLEncoding, s)
	case SecretHex:
		secret = make([]byte, hex.DecodedLen(len(s)))
		// hex errors quote the offending byte: report only that it failed.
		if _, herr := hex.Decode(secret, s); herr != nil || len(s)%2 != 0 {
			err = errf(ErrMalformed, "secret is not valid hex")
		}
	default:
		err = errf(ErrMalformed, "unknown secret encoding %d", enc)
	}
	return secret, err
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// decodeB64Secret decodes padded or unpadded base64 (the alphabet of enc),
// strictly. The error carries no offsets or bytes.
func decodeB64Secret(enc *base64.Encoding, s []byte) ([]byte, error) {
	if !bytes.ContainsRune(s, '=') {
		enc = enc.WithPadding(base64.NoPadding)
	}
	enc = enc.Strict()
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, s)
	if err != nil {
		clear(out)
		return nil, errf(ErrMalformed, "secret is not valid base64")
	}
	return out[:n], nil
}
