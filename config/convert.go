package config

import (
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/gate"
	"github.com/tokengate/tokengate/keyring"
	"github.com/tokengate/tokengate/verifier"
)

// The conversions below are pure: they read c, copy every slice and map
// they hand out, and touch no file, variable or global. Call them on a
// Config that passed Validate; on one that did not, they still return
// something, but values Validate would refuse are passed on as they are
// (or made invalid, like an unknown secret encoding) so that the receiving
// package refuses them too.

// Keyring returns the keyring configuration: the key sources, in order.
// Logger, Now, OnReload and Debounce are the caller's to set. The
// development key (DevKeysDir) is not among the sources; serve adds it.
func (c *Config) Keyring() keyring.Config {
	sources := make([]keyring.Source, 0, len(c.Keys))
	for _, k := range c.Keys {
		s := keyring.Source{
			Alg:    keyring.Algorithm(k.Alg),
			ID:     k.KID,
			Issuer: k.Issuer,
			Client: k.Client,
		}
		for _, a := range k.Algs {
			s.Algs = append(s.Algs, keyring.Algorithm(a))
		}
		switch {
		case k.File != "":
			s.Path = k.File
		case k.SecretFile != "":
			s.Path, s.Secret = k.SecretFile, true
		case k.SecretEnv != "":
			s.Env, s.Secret = k.SecretEnv, true
		case k.JWKS != "":
			s.Inline = []byte(k.JWKS)
		}
		if k.Encoding != "" {
			enc, err := keyring.ParseSecretEncoding(k.Encoding)
			if err != nil {
				enc = keyring.SecretEncoding(255) // fail closed: keyring.New refuses it
			}
			s.Encoding = enc
		}
		sources = append(sources, s)
	}
	for _, is := range c.Issuers {
		if rc := c.remoteConfig(is); rc != nil {
			sources = append(sources, keyring.Source{Remote: rc})
		}
	}
	kc := keyring.Config{Sources: sources, RemoteStartupTimeout: c.JWKS.StartupTimeout}
	if strings.EqualFold(c.JWKS.Startup, "not_ready") {
		kc.RemoteStartup = keyring.StartNotReady
	}
	return kc
}

// remoteConfig is the identity-provider key source of one issuer, or nil
// when the issuer has neither discovery nor jwks_url.
func (c *Config) remoteConfig(is Issuer) *keyring.RemoteConfig {
	if is.JWKSURL == "" && !is.Discovery {
		return nil
	}
	rc := &keyring.RemoteConfig{
		JWKSURL:         is.JWKSURL,
		Issuer:          is.Issuer,
		Discover:        is.Discovery,
		Alg:             keyring.Algorithm(is.Alg),
		Client:          is.Client,
		MinRefresh:      c.JWKS.MinRefresh,
		MaxRefresh:      c.JWKS.MaxRefresh,
		DefaultRefresh:  c.JWKS.DefaultRefresh,
		RefetchInterval: c.JWKS.RefetchInterval,
		Timeout:         c.JWKS.Timeout,
		MaxSize:         int(c.JWKS.MaxSize),
		MinBackoff:      c.JWKS.MinBackoff,
		MaxBackoff:      c.JWKS.MaxBackoff,
		AllowHTTP:       c.JWKS.AllowHTTP,
		CAFile:          c.JWKS.CAFile,
		UserAgent:       c.JWKS.UserAgent,
	}
	for _, a := range is.Algs {
		rc.Algs = append(rc.Algs, keyring.Algorithm(a))
	}
	return rc
}

// VerifierOptions returns the verifier options: the claims policy and the
// token size limit. Claims limits and the clock are left at their defaults.
func (c *Config) VerifierOptions() verifier.Options {
	p := c.Policy
	opts := verifier.Options{
		Policy: verifier.Policy{
			Issuers:         cloneList(p.Issuers),
			Audiences:       cloneList(p.Audiences),
			Leeway:          p.Leeway,
			AllowMissingExp: !p.RequireExp,
			Type:            p.Type,
			RequiredClaims:  cloneList(p.RequiredClaims),
			RefuseIDTokens:  p.RefuseIDTokens,
		},
		MaxTokenSize: int(c.Limits.MaxTokenSize),
	}
	if len(c.Issuers) > 0 {
		opts.Policy.PerIssuer = make(map[string]verifier.Policy, len(c.Issuers))
		for _, is := range c.Issuers {
			ip := verifier.Policy{
				Audiences:            cloneList(orList(is.Audiences, p.Audiences)),
				Leeway:               p.Leeway,
				AllowMissingExp:      is.AllowMissingExp,
				AllowMissingAudience: is.AllowMissingAud,
				Type:                 is.Type,
				RequiredClaims:       cloneList(orList(is.RequiredClaims, p.RequiredClaims)),
				RefuseIDTokens:       p.RefuseIDTokens,
			}
			if is.Leeway != nil {
				ip.Leeway = *is.Leeway
			}
			if is.CheckAudience != nil && !*is.CheckAudience {
				ip.Audiences = nil // no audience check for this issuer
			}
			if is.RefuseIDTokens != nil {
				ip.RefuseIDTokens = *is.RefuseIDTokens
			}
			if ip.Type == "" {
				ip.Type = p.Type
			}
			opts.Policy.PerIssuer[is.Issuer] = ip
		}
	}
	return opts
}

func orList(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}

// Gate returns the decision's configuration: token sources, claim
// headers, route rules and the cache. (Listener limits are the HTTP front
// end's: see Limits.)
func (c *Config) Gate() gate.Config {
	gc := gate.Config{
		Realm: c.Realm,
		Token: gate.TokenSources{
			Header: c.Token.Header,
			Cookie: c.Token.Cookie,
			Query:  c.Token.Query,
		},
		ClientHeader:         c.Headers.Client,
		KeyIDHeader:          c.Headers.KeyID,
		PayloadHeader:        c.Headers.Payload,
		MaxHeaderValue:       int(c.Headers.MaxValueLength),
		AllowASCIILookalikes: c.Paths.AllowASCIILookalikes,
		Cache: gate.CacheConfig{
			MaxBytes:      int64(c.Cache.MaxSize),
			NegativeTTL:   c.Cache.NegativeTTL,
			AdmitFirstUse: c.Cache.AdmitFirstUse,
		},
	}
	for _, h := range c.Headers.Claims {
		gc.Headers = append(gc.Headers, gate.HeaderMapping{Claim: h.Claim, Header: h.Header, Format: gate.HeaderFormat(h.Format)})
	}
	for _, r := range c.Routes {
		route := gate.Route{
			Prefix:  r.Prefix,
			Methods: cloneList(r.Methods),
			Public:  r.Public,
			Scopes:  cloneList(r.Scopes),
		}
		if r.Claims != nil {
			route.Claims = make(map[string][]string, len(r.Claims))
			for name, vals := range r.Claims {
				route.Claims[name] = cloneList(vals)
			}
		}
		gc.Routes = append(gc.Routes, route)
	}
	return gc
}

// Logger returns a logger writing to w in log.format at log.level. An
// unknown level means info and an unknown format text (Validate refuses
// both).
func (c *Config) Logger(w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(c.Log.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(c.Log.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// cloneList copies a list; an empty list becomes nil, which every
// receiving package treats as "not set".
func cloneList(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
