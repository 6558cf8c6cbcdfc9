package sidecar

import (
	"encoding/json"
	"time"

	"github.com/tokengate/tokengate/keyring"
	"github.com/valyala/fasthttp"
)

// HandleAdmin serves the admin listener:
//
//	/healthz  200 while the process runs
//	/readyz   200 when keys are loaded, 503 otherwise; JSON with the reload state
//	/metrics  Prometheus text format
//	/keys     kid, alg, source, size and (public keys) fingerprint of each key;
//	          never key material nor anything derived from a secret; behind the
//	          rule of /revocations (admin bearer token, else loopback only)
//	/revocations  list, add and remove revocation rules (see handleRevocations)
func (s *Server) HandleAdmin(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/healthz":
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("ok\n")
	case "/readyz":
		s.readyz(ctx)
	case "/metrics":
		// client_golang's handler: content negotiation (text,
		// OpenMetrics, protobuf for native histograms), gzip.
		s.metricsHandler(ctx)
	case "/keys":
		// It tells an attacker which kids, algs and issuers to forge for:
		// the same rule as /revocations.
		if s.adminAuthorized(ctx) {
			s.keysList(ctx)
		}
	case "/revocations":
		s.handleRevocations(ctx)
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetBodyString("not found\n")
	}
}

type readyReport struct {
	Ready      bool   `json:"ready"`
	Generation uint64 `json:"keyring_generation"`
	Keys       int    `json:"keys"`
	LastReload string `json:"last_key_reload,omitempty"`
	// LastError is the last failed key reload; the previous keys stay in
	// use, so it does not make the sidecar unready.
	LastError string `json:"last_key_reload_error,omitempty"`
	// RefusedKeys names each key of a key file that was not loaded (the
	// file's other keys are in use), with the reason.
	RefusedKeys     []string `json:"refused_keys,omitempty"`
	ConfigError     string   `json:"last_config_reload_error,omitempty"`
	ConfigReloadsOK uint64   `json:"config_loads"`
	// Revocation state: informative only. A broken revocation file keeps
	// its previous rules and a Redis outage keeps every rule in memory, so
	// neither makes the sidecar unready (it would only fail good tokens).
	// IdentityProviders is the state of each remote key source; one that
	// never answered makes the sidecar unready, one that fails after
	// answering keeps its last good keys and does not.
	IdentityProviders []providerState `json:"identity_providers,omitempty"`
	Revocations       *int            `json:"revocation_rules,omitempty"`
	RevocationFile    string          `json:"last_revocation_file_error,omitempty"`
	RevocationRedis   *redisState     `json:"revocation_redis,omitempty"`
}

func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	ks, gs := s.keys.Status(), s.gate.Status()
	rep := readyReport{
		Ready:           ks.Keys > 0 && gs.Applied > 0,
		Generation:      ks.Generation,
		Keys:            ks.Keys,
		ConfigReloadsOK: gs.Applied,
	}
	for _, r := range ks.Remotes {
		rep.Ready = rep.Ready && r.Ready // a provider that never answered
		p := providerState{Issuer: r.Issuer, URL: r.URL, JWKSURL: r.JWKSURL, Ready: r.Ready, Keys: r.Keys,
			ConsecutiveFailures: r.ConsecutiveFailures}
		if !r.LastSuccess.IsZero() {
			p.LastSuccess = r.LastSuccess.UTC().Format(time.RFC3339)
		}
		if !r.NextRefresh.IsZero() {
			p.NextRefresh = r.NextRefresh.UTC().Format(time.RFC3339)
		}
		if r.LastError != nil {
			p.LastError = r.LastError.Error()
		}
		p.RefusedKeys = errorStrings(r.Refused)
		rep.IdentityProviders = append(rep.IdentityProviders, p)
	}
	if !ks.LastReload.IsZero() {
		rep.LastReload = ks.LastReload.UTC().Format(time.RFC3339)
	}
	if ks.LastError != nil {
		rep.LastError = ks.LastError.Error()
	}
	rep.RefusedKeys = errorStrings(ks.Refused)
	if s.revs != nil {
		n := s.revs.Len()
		rep.Revocations = &n
		if _, err := s.revs.FileStatus(); err != nil {
			rep.RevocationFile = err.Error()
		}
		rep.RevocationRedis = s.redisState()
	}
	if gs.LastError != nil {
		rep.ConfigError = gs.LastError.Error()
	}
	if !rep.Ready {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	}
	writeJSON(ctx, rep)
}

type providerState struct {
	Issuer              string `json:"issuer,omitempty"`
	URL                 string `json:"url"`
	JWKSURL             string `json:"jwks_uri,omitempty"`
	Ready               bool   `json:"ready"`
	Keys                int    `json:"keys"`
	LastSuccess         string `json:"last_success,omitempty"`
	NextRefresh         string `json:"next_refresh,omitempty"`
	LastError           string `json:"last_error,omitempty"`
	ConsecutiveFailures int    `json:"consecutive_failures,omitempty"`
	// RefusedKeys names each member of the provider's last good key set
	// that was not loaded; its other keys are in use.
	RefusedKeys []string `json:"refused_keys,omitempty"`
}

func errorStrings(errs []*keyring.KeyError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

type keyInfo struct {
	KID    string `json:"kid"`
	Alg    string `json:"alg"`
	Source string `json:"source"`
	Bits   int    `json:"bits"`
	// Fingerprint names a public key; an HMAC key has none (a hash of a
	// secret lets guesses of a weak one be tested offline).
	Fingerprint string `json:"fingerprint,omitempty"`
	Issuer      string `json:"issuer,omitempty"`
	Client      string `json:"client,omitempty"`
}

func (s *Server) keysList(ctx *fasthttp.RequestCtx) {
	snap := s.keys.Snapshot()
	out := struct {
		Generation uint64    `json:"generation"`
		Keys       []keyInfo `json:"keys"`
	}{Generation: snap.Generation(), Keys: []keyInfo{}}
	for _, k := range snap.Keys() {
		out.Keys = append(out.Keys, keyInfo{
			KID: k.ID(), Alg: string(k.Alg()), Source: k.Source(), Bits: k.Bits(),
			Fingerprint: k.Fingerprint(), Issuer: k.Issuer(), Client: k.Client(),
		})
	}
	writeJSON(ctx, out)
}

func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	ctx.SetContentType("application/json")
	enc := json.NewEncoder(ctx)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
