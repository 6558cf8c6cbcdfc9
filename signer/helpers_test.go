package signer_test

import "encoding/base64"

func signatureBytes(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
