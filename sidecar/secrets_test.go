package sidecar_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testenv"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/revocation"
	"github.com/tokengate/tokengate/signer"
	"github.com/tokengate/tokengate/verifier"
)

// TestSecretsNeverInResponsesOrLogs guards against APISIX CVE-2022-29266,
// where an error message carried the key: every answer of the running
// sidecar to a table of attack tokens, every admin answer and every log
// line at debug level is searched for the HMAC secret (raw, base64,
// base64url, hex), for every whole token sent and for every signature
// segment.
func TestSecretsNeverInResponsesOrLogs(t *testing.T) {
	var logs testenv.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store := revocation.NewStore(revocation.Options{Logger: logger})
	f := newFixtureOpts(t, nil, func(vo *verifier.Options, so *serverOptions) {
		so.Logger, so.Revocations, so.AdminToken = logger, store, []byte("admin-token-0123456789")
	})
	verifyURL, adminURL := serve(t, f)
	secret := bytes.Repeat([]byte("billing-secret-0"), 3)

	// A token signed with the secret and variants an attacker would send.
	good := sign(t, f.client, map[string]any{"jti": "j-1"})
	h, p, s := splitToken(good)
	flip := []byte(s)
	flip[3] ^= 1
	wrong, _ := signer.New(keyring.HS256, bytes.Repeat([]byte("another-secret!!"), 3), "client-billing")
	tokens := []string{
		good,
		h + "." + p + "." + string(flip),      // bad signature
		h + "." + p + ".",                     // no signature
		enc(`{"alg":"none"}`) + "." + p + ".", // alg none
		enc(`{"alg":"HS256","kid":"es"}`) + "." + p + "." + s, // alg confusion attempt
		enc(`{"alg":"HS256","kid":"client-billing","crit":["x"]}`) + "." + p + "." + s,
		h + "." + enc(`{"sub":"x","exp":1e300}`) + "." + s, // out-of-range exp
		sign(t, wrong, nil), // another key, same kid
		sign(t, f.client, map[string]any{"exp": testNow.Add(-time.Hour).Unix()}), // expired
		strings.Repeat("A", 9000), // too large
		"a.b.c", "....", h + "." + p + "." + s + "." + s,
		string(secret), base64.RawURLEncoding.EncodeToString(secret),
	}
	var seen bytes.Buffer
	record := func(resp *http.Response) {
		for k, vs := range resp.Header {
			seen.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen.Write(b)
	}
	for _, tok := range tokens {
		req, _ := http.NewRequest("GET", verifyURL+"/verify", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			if tok != good && resp.StatusCode == 200 {
				t.Errorf("attack token accepted: %.40s…", tok)
			}
			record(resp)
		}
		req, _ = http.NewRequest("GET", verifyURL+"/verify", nil)
		req.Header.Set("Cookie", "access_token="+tok)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			record(resp)
		}
	}
	// Revoke the good token, then hit every admin endpoint.
	req, _ := http.NewRequest("POST", adminURL+"/revocations", strings.NewReader(`{"jti":"j-1"}`))
	req.Header.Set("Authorization", "Bearer admin-token-0123456789")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		record(resp)
	}
	req, _ = http.NewRequest("GET", verifyURL+"/verify", nil)
	req.Header.Set("Authorization", "Bearer "+good)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		record(resp)
	}
	for _, path := range []string{"/keys", "/metrics", "/readyz", "/revocations", "/healthz"} {
		req, _ := http.NewRequest("GET", adminURL+path, nil)
		req.Header.Set("Authorization", "Bearer admin-token-0123456789")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			record(resp)
		}
	}
	// A key file holding the secret in a broken encoding: the errors name
	// the file, never its content. The first load's error is returned (its
	// caller reports it); a failed reload's is logged.
	bad := filepath.Join(t.TempDir(), "bad.secret")
	os.WriteFile(bad, []byte(base64.StdEncoding.EncodeToString(secret)), 0o600)
	src := keyring.Config{Logger: logger, Sources: []keyring.Source{{Path: bad, Secret: true, Alg: keyring.HS256, Encoding: keyring.SecretBase64}}}
	ring, err := keyring.New(src)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bad, append([]byte("!!"), secret...), 0o600)
	if err := ring.Reload(); err == nil {
		t.Fatal("a broken base64 secret reloaded")
	} else {
		seen.WriteString(err.Error())
	}
	if _, err := keyring.New(src); err == nil || !strings.Contains(err.Error(), "bad.secret") {
		t.Fatalf("a broken base64 secret loaded, or its error does not name the file: %v", err)
	} else {
		seen.WriteString(err.Error())
	}

	haystack := seen.String() + logs.String()
	needles := map[string]string{
		"secret (raw)":       string(secret),
		"secret (base64)":    base64.StdEncoding.EncodeToString(secret),
		"secret (base64url)": base64.RawURLEncoding.EncodeToString(secret),
		"secret (hex)":       hex.EncodeToString(secret),
		"secret (prefix)":    string(secret[:16]),
		"admin token":        "admin-token-0123456789",
	}
	for _, tok := range tokens[:9] {
		needles["token "+tok[:20]] = tok
		_, _, sig := splitToken(tok)
		if len(sig) >= 16 {
			needles["signature of "+tok[:20]] = sig
		}
	}
	for what, n := range needles {
		if n != "" && strings.Contains(haystack, n) {
			t.Errorf("%s appears in a response or log line", what)
		}
	}
	if !strings.Contains(logs.String(), "bad.secret") {
		t.Errorf("the failed load is not logged with its source: %s", logs.String())
	}
}

func splitToken(tok string) (h, p, s string) {
	parts := strings.SplitN(tok, ".", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return parts[0], parts[1], parts[2]
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
