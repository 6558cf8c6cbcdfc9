package gate

import (
	"encoding/base64"
	"sync"
	"unsafe"

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
	buf   []byte   // every byte the Token keeps, before its one copy
	names [][]byte // header names, parallel to ends
	ends  []int    // where each header value ends in buf
	strs  []span   // scopes, then claim values, in buf
	plain []byte
}

// span locates bytes in scratch.buf (and then in the Token's arena).
type span struct{ start, end int }

var scratchPool = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 1024)} }}

func acquireScratch() *scratch { return scratchPool.Get().(*scratch) }

func releaseScratch(sc *scratch) {
	if cap(sc.buf) > 64<<10 || cap(sc.plain) > 64<<10 {
		return // one huge token does not pin memory in the pool
	}
	clear(sc.names) // do not keep header names of an old state alive
	sc.buf, sc.names, sc.ends, sc.strs, sc.plain = sc.buf[:0], sc.names[:0], sc.ends[:0], sc.strs[:0], sc.plain[:0]
	scratchPool.Put(sc)
}

// newToken renders what a verified token contributes to decisions: the
// header values (each written exactly, or the token is refused), what
// route and revocation rules read, and facts for logs. It runs on a cache
// miss only. Everything is rendered into a pooled buffer first, then
// copied into one arena the Token's byte slices and strings share: a
// handful of allocations per token, whatever the number of headers,
// scopes and claim values.
func (st *state) newToken(r *verifier.Result, keepClaims bool) (*Token, error) {
	sc := acquireScratch()
	defer releaseScratch(sc)
	if err := st.renderHeaders(sc, r); err != nil {
		return nil, err
	}
	nHeaders := len(sc.ends)
	iss, sub, jti := sc.add(r.Issuer()), sc.add(r.Subject()), sc.add(r.ID())
	var payload span
	if keepClaims {
		payload = sc.add(r.Payload())
	}
	for _, s := range r.Scopes() {
		sc.strs = append(sc.strs, sc.add(s))
	}
	nScopes := len(sc.strs)
	// What claim rules read: per path, a run of sc.strs; claimEnds[i]
	// ends path i's run.
	claimEnds := make([]int, 0, 8)
	for _, p := range st.claimPaths {
		sc.addClaimStrings(r, p)
		claimEnds = append(claimEnds, len(sc.strs))
	}

	arena := make([]byte, len(sc.buf))
	copy(arena, sc.buf)
	bytesAt := func(sp span) []byte {
		if sp.end == sp.start {
			return nil
		}
		return arena[sp.start:sp.end:sp.end]
	}
	t := &Token{alg: r.Alg(), iss: bytesAt(iss), sub: bytesAt(sub), jti: bytesAt(jti), payload: bytesAt(payload)}
	if k := r.Key(); k != nil {
		t.kid, t.client = k.ID(), k.Client()
	}
	t.iat, t.hasIat = r.IssuedAtSeconds()
	if exp, ok := r.Expiry(); ok {
		t.exp, t.hasExp = float64(exp.UnixNano())/1e9, true
	}
	t.headers = make([]Header, nHeaders)
	start := 0
	for i, end := range sc.ends {
		t.headers[i] = Header{Name: sc.names[i], Value: arena[start:end:end]}
		start = end
	}
	if len(sc.strs) > 0 {
		strs := make([]string, len(sc.strs))
		for i, sp := range sc.strs {
			// The arena is never written again: a string may share it.
			strs[i] = unsafe.String(unsafe.SliceData(arena[sp.start:]), sp.end-sp.start)
		}
		t.scopes = strs[:nScopes:nScopes]
		if len(st.claimPaths) > 0 {
			t.claimValues = make([][]string, len(st.claimPaths))
			from := nScopes
			for i, end := range claimEnds {
				t.claimValues[i] = strs[from:end:end]
				from = end
			}
		}
	} else if len(st.claimPaths) > 0 {
		t.claimValues = make([][]string, len(st.claimPaths))
	}
	t.unset = appendRemovals(nil, st.remove, t.headers)
	t.size = t.cost(len(arena)+len(t.unset), len(sc.strs))
	return t, nil
}

// renderHeaders renders every configured header of r into sc: values in
// sc.buf, ended by sc.ends, named by sc.names.
func (st *state) renderHeaders(sc *scratch, r *verifier.Result) error {
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
			return ErrUnforwardable
		}
		if n := len(sc.buf) - start; n > max {
			return ErrClaimTooLarge
		} else if n > 0 {
			sc.header(m.name)
		}
	}
	if k := r.Key(); k != nil {
		for _, h := range [...]struct {
			name []byte
			v    string
		}{{st.keyIDHdr, k.ID()}, {st.clientHdr, k.Client()}} {
			if h.name == nil || h.v == "" {
				continue
			}
			if !textSafe([]byte(h.v)) || len(h.v) > max {
				return ErrUnforwardable
			}
			sc.buf = append(sc.buf, h.v...)
			sc.header(h.name)
		}
	}
	if st.payloadHdr != nil {
		// The payload as signed: base64url needs no escaping in a header,
		// and it is bounded by the token size limit, not MaxHeaderValue
		// (a cut payload would be garbage).
		sc.buf = base64.RawURLEncoding.AppendEncode(sc.buf, r.Payload())
		sc.header(st.payloadHdr)
	}
	return nil
}

// header ends the value just rendered into sc.buf as header name's.
func (sc *scratch) header(name []byte) {
	sc.names = append(sc.names, name)
	sc.ends = append(sc.ends, len(sc.buf))
}

// add copies b into sc.buf and returns where it is.
func (sc *scratch) add(b []byte) span {
	start := len(sc.buf)
	sc.buf = append(sc.buf, b...)
	return span{start, len(sc.buf)}
}

// addClaimStrings adds what a claim rule on p can match: the string at
// the path, or the strings directly inside an array there. [["admin"]]
// or {"admin": 1} is not "admin".
func (sc *scratch) addClaimStrings(r *verifier.Result, p verifier.Path) {
	c, ok := r.Claim(p)
	if !ok {
		return
	}
	switch c.Kind() {
	case verifier.KindString:
		sc.strs = append(sc.strs, sc.add(c.Str()))
	case verifier.KindArray:
		for j := 0; j < c.Len(); j++ {
			if e := c.Index(j); e.Kind() == verifier.KindString {
				sc.strs = append(sc.strs, sc.add(e.Str()))
			}
		}
	}
}

// cost estimates the bytes a Token holds, for the cache's budget: the
// struct, its arena, the headers and the strings that point into it.
func (t *Token) cost(arena, strs int) int {
	n := int(unsafe.Sizeof(Token{})) + arena + len(t.headers)*int(unsafe.Sizeof(Header{})) + strs*16
	n += len(t.claimValues) * 24
	return n
}
