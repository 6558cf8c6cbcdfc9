package keyring

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// ErrAlgNotAllowed reports a key whose alg is not in its source's Algs
// allow-list.
var ErrAlgNotAllowed = errors.New("keyring: alg not allowed for this source")

// Source is one place keys come from. Exactly one of Path, Env, Inline and
// Remote is set.
type Source struct {
	// Path is a file holding a JWK, a JWK Set, PEM public keys or
	// certificates, or (Secret) an HMAC secret.
	Path string
	// Env names an environment variable holding an HMAC secret; Secret
	// must be set. The variable is read at every reload.
	Env string
	// Inline is a JWK, JWK Set or PEM document given in the configuration.
	// (Secrets belong in a file or the environment, not in config.)
	Inline []byte
	// Secret marks Path or Env as an HMAC secret in Encoding.
	Secret   bool
	Encoding SecretEncoding
	// Alg binds keys without an "alg" (RSA, HMAC); a JWK's own "alg" must
	// equal it when both are set. See Options.Alg.
	Alg Algorithm
	// Algs, when not empty, is the allow-list for this source: a key
	// whose alg is not in it fails the load.
	Algs []Algorithm
	// ID is the kid of the source's single key (not allowed for a JWK
	// Set); Issuer restricts the source's keys to one "iss"; Client labels
	// them. See Options.
	ID, Issuer, Client string
	// Remote is a JWK Set fetched over https, directly or through OpenID
	// Connect discovery. Its alg, allow-list, issuer and client are set in
	// the RemoteConfig; the other fields of the Source stay empty. The
	// ring keeps the last good document in memory and Reload builds the
	// snapshot from it; Start refreshes it.
	Remote *RemoteConfig
}

// clone copies what the caller could change under the ring.
func (s Source) clone() Source {
	s.Inline = bytes.Clone(s.Inline)
	s.Algs = append([]Algorithm(nil), s.Algs...)
	if s.Remote != nil {
		rc := *s.Remote
		rc.Algs = slices.Clone(rc.Algs)
		s.Remote = &rc
	}
	return s
}

func (s Source) name(i int) string {
	switch {
	case s.Remote != nil:
		return s.Remote.URL()
	case s.Path != "":
		return s.Path
	case s.Env != "":
		return "env:" + s.Env
	}
	return "inline#" + strconv.Itoa(i)
}

func (s Source) validate() error {
	n := 0
	for _, set := range []bool{s.Path != "", s.Env != "", s.Inline != nil, s.Remote != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("exactly one of path, env, inline and remote must be set")
	}
	if s.Remote != nil {
		if s.Secret || s.Encoding != SecretRaw || s.Alg != "" || len(s.Algs) > 0 || s.ID != "" || s.Issuer != "" || s.Client != "" {
			return errors.New("a remote source takes its alg, algs, issuer and client from its RemoteConfig: set only Remote")
		}
		return errors.Join(s.Remote.validate()...)
	}
	if s.Env != "" && !s.Secret {
		return errors.New("an environment variable can only hold an HMAC secret (set secret)")
	}
	if s.Inline != nil && s.Secret {
		return errors.New("inline HMAC secrets are not accepted: use a file or an environment variable")
	}
	if !s.Secret && s.Encoding != SecretRaw {
		return errors.New("an encoding applies to secrets only")
	}
	if s.Encoding > SecretHex {
		return fmt.Errorf("unknown secret encoding %d", s.Encoding)
	}
	if s.Alg != "" {
		if _, ok := LookupAlgorithm([]byte(s.Alg)); !ok {
			return fmt.Errorf("unsupported alg %q", string(s.Alg))
		}
	}
	for _, a := range s.Algs {
		if _, ok := LookupAlgorithm([]byte(a)); !ok {
			return fmt.Errorf("unsupported alg %q in algs", string(a))
		}
	}
	if s.Alg != "" && len(s.Algs) > 0 && !algAllowed(s.Algs, s.Alg) {
		return fmt.Errorf("alg %s is not in the source's algs", s.Alg)
	}
	if s.Secret && s.Alg == "" {
		return errors.New("an HMAC secret needs an alg (HS256, HS384 or HS512)")
	}
	return nil
}

func algAllowed(algs []Algorithm, a Algorithm) bool {
	for _, x := range algs {
		if x == a {
			return true
		}
	}
	return false
}

// keySource is one place the ring takes keys from: a file, an environment
// variable or inline configuration (localSource), or an identity provider
// (remote). A reload asks each source for the keys it holds now; a source
// keeps whatever state it needs (a remote source its last good document, a
// file its last good keys). A new kind of source (a Kubernetes Secret,
// Vault) implements this and plugs into New and Reconfigure; nothing else
// in the ring changes. The ring serialises calls to current.
type keySource interface {
	current() sourceKeys
	// stop releases what the source holds (goroutines, connections).
	stop()
}

// sourceKeys is what a source contributes to a reload.
type sourceKeys struct {
	keys    []*Key      // for the next snapshot
	skipped []Skipped   // members not for signature verification
	refused []*KeyError // keys of the source's document that were refused
	// err is a problem with the source as a whole: keys are then its
	// last good ones (or none, for a deleted file).
	err error
	// fatal marks an err with nothing to fall back on (the source never
	// loaded): the reload fails and changes nothing.
	fatal bool
}
