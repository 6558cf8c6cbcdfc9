package gate

import (
	"encoding/base64"
	"sync"

	"github.com/tokengate/tokengate/verifier"
)

type headerMapping struct {
	name   []byte
	path   verifier.Path
	scope  bool // the derived scope list rather than a claim
	format HeaderFormat
}

// scratch is a per-call buffer for rendering and decryption.
type scratch struct {
	buf   []byte
	ends  []int
	plain []byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 512)} }}

func acquireScratch() *scratch { return scratchPool.Get().(*scratch) }

func releaseScratch(sc *scratch) {
	if cap(sc.buf) > 64<<10 || cap(sc.plain) > 64<<10 {
		return // one huge token does not pin memory in the pool
	}
	sc.buf, sc.ends, sc.plain = sc.buf[:0], sc.ends[:0], sc.plain[:0]
	scratchPool.Put(sc)
}

// newToken renders what a verified token contributes to decisions: the
// header values (each written exactly, or the token is refused), what
// route and revocation rules read, and facts for logs. It runs on a cache
// miss only. The header values are rendered into a pooled buffer and
// copied once into the Token.
func (st *state) newToken(r *verifier.Result, keepClaims bool) (*Token, error) {
	sc := acquireScratch()
	defer releaseScratch(sc)
	t := &Token{alg: r.Alg()}
	names := make([][]byte, 0, len(st.headers)+3)
	max := st.cfg.MaxHeaderValue
	for i := range st.headers {
		m := &st.headers[i]
		start := len(sc.buf)
		var ok bool
		if m.scope {
			sc.buf, ok = appendScopes(sc.buf, r.Scopes(), m.format)
		} else if c, found := r.Claim(m.path); found {
			sc.buf, ok = appendClaim(sc.buf, c, m.format)
		} else {
			ok = true
		}
		if !ok {
			return nil, ErrUnforwardable
		}
		if n := len(sc.buf) - start; n > max {
			return nil, ErrClaimTooLarge
		} else if n > 0 {
			names = append(names, m.name)
			sc.ends = append(sc.ends, len(sc.buf))
		}
	}
	if k := r.Key(); k != nil {
		t.kid, t.client = k.ID(), k.Client()
		for _, h := range []struct {
			name []byte
			v    string
		}{{st.keyIDHdr, t.kid}, {st.clientHdr, t.client}} {
			if h.name == nil || h.v == "" {
				continue
			}
			if !textSafe([]byte(h.v)) || len(h.v) > max {
				return nil, ErrUnforwardable
			}
			sc.buf = append(sc.buf, h.v...)
			names = append(names, h.name)
			sc.ends = append(sc.ends, len(sc.buf))
		}
	}
	if st.payloadHdr != nil {
		// The payload as signed: base64url needs no escaping in a header,
		// and it is bounded by the token size limit, not MaxHeaderValue
		// (a cut payload would be garbage).
		sc.buf = base64.RawURLEncoding.AppendEncode(sc.buf, r.Payload())
		names = append(names, st.payloadHdr)
		sc.ends = append(sc.ends, len(sc.buf))
	}
	t.fill(r, st.claimPaths, keepClaims)
	values := make([]byte, len(sc.buf)) // one allocation for every value
	copy(values, sc.buf)
	t.headers = make([]Header, len(names))
	start := 0
	for i, end := range sc.ends {
		t.headers[i] = Header{Name: names[i], Value: values[start:end:end]}
		start = end
	}
	t.size = t.cost(len(values))
	return t, nil
}

// fill copies what revocation and route rules read.
func (t *Token) fill(r *verifier.Result, claimPaths []verifier.Path, keepClaims bool) {
	for _, s := range r.Scopes() {
		t.scopes = append(t.scopes, string(s))
	}
	t.iss, t.sub, t.jti = clone(r.Issuer()), clone(r.Subject()), clone(r.ID())
	t.iat, t.hasIat = r.IssuedAtSeconds()
	if exp, ok := r.Expiry(); ok {
		t.exp, t.hasExp = float64(exp.UnixNano())/1e9, true
	}
	if keepClaims {
		t.payload = clone(r.Payload())
	}
	t.claimValues = make([][]string, len(claimPaths))
	for i, p := range claimPaths {
		c, ok := r.Claim(p)
		if !ok {
			continue
		}
		// Only strings at the path, or strings directly inside an array
		// there, can meet a claim rule: [["admin"]] or {"admin": 1} is
		// not "admin".
		switch c.Kind() {
		case verifier.KindString:
			t.claimValues[i] = append(t.claimValues[i], string(c.Str()))
		case verifier.KindArray:
			for j := 0; j < c.Len(); j++ {
				if e := c.Index(j); e.Kind() == verifier.KindString {
					t.claimValues[i] = append(t.claimValues[i], string(e.Str()))
				}
			}
		}
	}
}

// cost estimates the bytes a Token holds, for the cache's budget.
func (t *Token) cost(values int) int {
	n := 160 + values + len(t.iss) + len(t.sub) + len(t.jti) + len(t.payload) + len(t.kid) + len(t.client)
	n += 48 * len(t.headers)
	for _, s := range t.scopes {
		n += 16 + len(s)
	}
	for _, vs := range t.claimValues {
		n += 24
		for _, v := range vs {
			n += 16 + len(v)
		}
	}
	return n
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
