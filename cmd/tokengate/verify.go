package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tokengate/tokengate/build"
	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/gate"
)

// maxTokenInput bounds a token read from standard input or a file: more
// than any limits.max_token_size allows (1 MiB), so the gate, not this
// reader, says it is too large.
const maxTokenInput = 2 << 20

// runVerify asks the same gate /verify asks, built from the same
// configuration by the same builder: JWE decryption, revocation (the file,
// and Redis when configured and reachable), route rules for --method and
// --path, and exactly the headers /verify would set.
func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "[--config FILE] [--method GET] [--path /] [--json] TOKEN | - | @FILE", stderr)
	cfgPath := fs.String("config", "", "configuration file (default: the built-in config.yaml)")
	method := fs.String("method", "GET", "method of the request being authorised (route rules)")
	path := fs.String("path", "/", "request target being authorised: path and query (route rules)")
	asJSON := fs.Bool("json", false, "print the decision as JSON")
	if err := parseArgs(fs, args, "TOKEN"); err != nil {
		return err
	}
	token, err := readToken(fs.Arg(0))
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, false)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	parts, err := build.New(cfg, build.Options{Logger: log, KeepClaims: true})
	if err != nil {
		return err
	}
	defer parts.Close()
	if parts.RevocationSync != nil {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Revocation.Redis.StartupWait)
		err := parts.SyncRevocationsOnce(ctx)
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "note: revocations in Redis at %s were NOT consulted (%v); only the file's rules were\n", cfg.Revocation.Redis.Addr, err)
		}
	}
	req := gate.AcquireRequest()
	defer gate.ReleaseRequest(req)
	req.Method, req.Target = []byte(*method), []byte(*path)
	var d gate.Decision
	placeToken(req, cfg, token)
	parts.Gate.Check(req, time.Now(), &d)
	if *asJSON {
		printDecisionJSON(stdout, &d)
	} else {
		printDecision(stdout, &d)
	}
	if !d.Allow {
		return exitError{1}
	}
	return nil
}

// readToken reads the token argument: the token itself, "-" for standard
// input, "@FILE" for a file (a large token cannot be an argument).
func readToken(arg string) ([]byte, error) {
	var r io.Reader
	switch {
	case arg == "-":
		r = os.Stdin
	case strings.HasPrefix(arg, "@"):
		f, err := os.Open(arg[1:])
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	default:
		return []byte(strings.TrimSpace(arg)), nil
	}
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(r), maxTokenInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxTokenInput {
		return nil, fmt.Errorf("the token is larger than %d bytes", maxTokenInput)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, errors.New("no token given")
	}
	return b, nil
}

// placeToken puts the token where the configuration reads tokens from:
// the Authorization header, else the cookie, else the query parameter.
func placeToken(req *gate.Request, cfg *config.Config, token []byte) {
	switch {
	case cfg.Token.Header:
		req.AddAuthorization(append([]byte("Bearer "), token...))
	case cfg.Token.Cookie != "":
		req.AddCookieHeader(append([]byte(cfg.Token.Cookie+"="), token...))
	default:
		sep := "?"
		if bytes.IndexByte(req.Target, '?') >= 0 {
			sep = "&"
		}
		req.Target = append(append([]byte(nil), req.Target...), sep+cfg.Token.Query+"="+string(token)...)
	}
}

func printDecision(w io.Writer, d *gate.Decision) {
	if d.Allow {
		fmt.Fprintf(w, "%d allowed (%s)", d.Status, d.Outcome)
		if t := d.Token; t != nil {
			fmt.Fprintf(w, ": %s, kid %q", t.Alg(), t.KeyID())
		}
		fmt.Fprintln(w)
		for _, h := range d.Set {
			fmt.Fprintf(w, "%s: %s\n", h.Name, h.Value)
		}
	} else {
		fmt.Fprintf(w, "%d denied: %s (%s", d.Status, d.Reason, d.Outcome)
		if d.Err != nil {
			fmt.Fprintf(w, ", %s", gate.Label(d.Err))
		}
		fmt.Fprintln(w, ")")
		if d.Challenge != nil {
			fmt.Fprintf(w, "WWW-Authenticate: %s\n", d.Challenge)
		}
	}
	if t := d.Token; t != nil && t.Claims() != nil {
		var out bytes.Buffer
		if json.Indent(&out, t.Claims(), "", "  ") == nil {
			fmt.Fprintf(w, "claims: %s\n", out.Bytes())
		}
	}
}

type decisionJSON struct {
	Allow     bool              `json:"allow"`
	Status    int               `json:"status"`
	Outcome   string            `json:"outcome"`
	Code      string            `json:"error,omitempty"`
	Reason    string            `json:"reason,omitempty"`
	Label     string            `json:"label,omitempty"`
	Challenge string            `json:"www_authenticate,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Alg       string            `json:"alg,omitempty"`
	KeyID     string            `json:"kid,omitempty"`
	Claims    json.RawMessage   `json:"claims,omitempty"`
}

func printDecisionJSON(w io.Writer, d *gate.Decision) {
	out := decisionJSON{Allow: d.Allow, Status: d.Status, Outcome: d.Outcome.String(), Code: d.Code, Reason: d.Reason,
		Challenge: string(d.Challenge)}
	if d.Err != nil {
		out.Label = gate.Label(d.Err)
	}
	if d.Allow && len(d.Set) > 0 {
		out.Headers = map[string]string{}
		for _, h := range d.Set {
			out.Headers[string(h.Name)] = string(h.Value)
		}
	}
	if t := d.Token; t != nil {
		out.Alg, out.KeyID, out.Claims = string(t.Alg()), t.KeyID(), t.Claims()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

// runCheck builds everything serve builds, and fails where serve would
// fail before binding its ports: configuration, key files, identity
// providers (fetched once, unless --offline), admin token, revocation
// file, decryption keys, route and header rules.
func runCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "[--config FILE] [--offline]", stderr)
	cfgPath := fs.String("config", "", "configuration file (default: the built-in config.yaml)")
	offline := fs.Bool("offline", false, "do not fetch identity providers' key sets or contact Redis (their keys are not checked)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, false)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	parts, err := build.New(cfg, build.Options{Logger: log, Offline: *offline})
	if err != nil {
		return err
	}
	defer parts.Close()
	n := parts.Keys.Snapshot().Len()
	fmt.Fprintf(stdout, "configuration OK: %d %s, /verify on %s, admin on %s\n", n, plural(n, "key", "keys"), cfg.Listen.Verify, cfg.Listen.Admin)
	if *offline {
		remote := 0
		for _, is := range cfg.Issuers {
			if is.Discovery || is.JWKSURL != "" {
				remote++
			}
		}
		if remote > 0 {
			fmt.Fprintf(stdout, "offline: %d identity %s NOT fetched, Redis not contacted\n", remote, plural(remote, "provider", "providers"))
		}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
