package jsonx

import (
	"bytes"
	"unicode/utf8"
)

// Parse parses src as exactly one JSON value under lim, replacing whatever d
// held. On error d is left empty (Root is Invalid) and the error is one of
// the package's sentinels. src is not copied and must not change while d is
// in use.
func (d *Doc) Parse(src []byte, lim Limits) error {
	d.Reset()
	if len(src) > maxInput {
		return ErrTooLarge
	}
	d.src = src
	p := parser{
		d:          d,
		src:        src,
		maxDepth:   orDefault(lim.MaxDepth, DefaultMaxDepth),
		maxNodes:   orDefault(lim.MaxNodes, DefaultMaxNodes),
		maxMembers: orDefault(lim.MaxMembers, DefaultMaxMembers),
	}
	if err := p.parse(); err != nil {
		d.Reset()
		return err
	}
	return nil
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

type parser struct {
	d          *Doc
	src        []byte
	pos        int
	maxDepth   int
	maxNodes   int
	maxMembers int
}

func (p *parser) parse() error {
	p.skipWS()
	// RFC 8259 §2: JSON-text = ws value ws. Empty input has no value.
	// A UTF-8 byte order mark is not whitespace (RFC 8259 §8.1: it MUST NOT
	// be added; we do not exercise the permission to ignore it).
	if p.pos == len(p.src) {
		return ErrSyntax
	}
	if err := p.value(0); err != nil {
		return err
	}
	p.skipWS()
	// RFC 8259 §2: exactly one value. Accepting trailing bytes would let two
	// parsers disagree about what was signed (RFC 7515 §5.2 step 3 requires
	// the header to be a completely valid JSON object).
	if p.pos != len(p.src) {
		return ErrTrailingData
	}
	return nil
}

// skipWS skips JSON whitespace only: space, tab, line feed, carriage return
// (RFC 8259 §2). Form feed, vertical tab and Unicode spaces are not accepted.
func (p *parser) skipWS() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses one value at p.pos (which must not be whitespace) inside a
// container at depth depth (0 for the root).
func (p *parser) value(depth int) error {
	// Bound the tape before growing it: total work and memory are linear in
	// MaxNodes whatever the input length.
	if len(p.d.nodes) >= p.maxNodes {
		return ErrTooManyNodes
	}
	if p.pos >= len(p.src) {
		return ErrSyntax
	}
	idx := len(p.d.nodes)
	p.d.nodes = append(p.d.nodes, node{start: int32(p.pos)})
	var kind Kind
	switch c := p.src[p.pos]; c {
	case '{':
		return p.object(idx, depth+1)
	case '[':
		return p.array(idx, depth+1)
	case '"':
		s, esc, err := p.str()
		if err != nil {
			return err
		}
		n := &p.d.nodes[idx]
		n.val = s
		if esc {
			n.flags |= flagValScratch
		}
		kind = String
	case 't':
		kind = True
		if !p.literal("true") {
			return ErrSyntax
		}
	case 'f':
		kind = False
		if !p.literal("false") {
			return ErrSyntax
		}
	case 'n':
		kind = Null
		if !p.literal("null") {
			return ErrSyntax
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+', '.':
		if err := p.number(); err != nil {
			return err
		}
		kind = Number
	default:
		return ErrSyntax
	}
	n := &p.d.nodes[idx]
	n.kind = kind
	n.end = int32(p.pos)
	return nil
}

// literal consumes lit (true, false or null; RFC 8259 §3: lowercase only).
func (p *parser) literal(lit string) bool {
	if len(p.src)-p.pos < len(lit) || string(p.src[p.pos:p.pos+len(lit)]) != lit {
		return false
	}
	p.pos += len(lit)
	return true
}

func (p *parser) object(idx, depth int) error {
	// Recursion depth never exceeds maxDepth: checked before descending.
	if depth > p.maxDepth {
		return ErrDepth
	}
	p.pos++ // '{'
	p.skipWS()
	var count, prev int32
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
	} else {
		for {
			if p.pos >= len(p.src) || p.src[p.pos] != '"' {
				return ErrSyntax // RFC 8259 §4: member names are strings
			}
			if int(count) >= p.maxMembers {
				return ErrTooManyMembers
			}
			name, esc, err := p.str()
			if err != nil {
				return err
			}
			// RFC 7515 §5.2 step 4 and RFC 7519 §4: reject duplicate member
			// names instead of keeping the first or the last, so no two
			// parsers can read different claims from the same token. Names
			// are compared unescaped ("s\u0075b" is "sub") and byte-wise
			// (names are case-sensitive, RFC 7519 §4). The pairwise compare
			// is bounded by MaxMembers² per object and by MaxNodes·MaxMembers
			// per document; comparing lengths first keeps it cheap.
			if count > 0 && p.dupName(int32(idx+1), name, esc) {
				return ErrDuplicateName
			}
			p.skipWS()
			if p.pos >= len(p.src) || p.src[p.pos] != ':' {
				return ErrSyntax
			}
			p.pos++
			p.skipWS()
			child := int32(len(p.d.nodes))
			if err := p.value(depth); err != nil {
				return err
			}
			c := &p.d.nodes[child]
			c.name = name
			c.flags |= flagMember
			if esc {
				c.flags |= flagNameScratch
			}
			if prev != 0 {
				p.d.nodes[prev].next = child
			}
			prev = child
			count++
			p.skipWS()
			if p.pos >= len(p.src) {
				return ErrSyntax
			}
			if p.src[p.pos] == '}' {
				p.pos++
				break
			}
			// RFC 8259 §4: members are separated by ',' and there is no
			// trailing comma (the next iteration requires a '"').
			if p.src[p.pos] != ',' {
				return ErrSyntax
			}
			p.pos++
			p.skipWS()
		}
	}
	n := &p.d.nodes[idx]
	n.kind = Object
	n.count = count
	n.end = int32(p.pos)
	return nil
}

// dupName reports whether a member from first on (following next links)
// already has the given name.
func (p *parser) dupName(first int32, name span, esc bool) bool {
	d := p.d
	nb := d.bytesOf(name, esc)
	for c := first; ; {
		n := &d.nodes[c]
		if n.name.n == name.n && bytes.Equal(d.bytesOf(n.name, n.flags&flagNameScratch != 0), nb) {
			return true
		}
		if n.next == 0 {
			return false
		}
		c = n.next
	}
}

func (p *parser) array(idx, depth int) error {
	// Recursion depth never exceeds maxDepth: checked before descending.
	if depth > p.maxDepth {
		return ErrDepth
	}
	p.pos++ // '['
	p.skipWS()
	var count, prev int32
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
	} else {
		for {
			if int(count) >= p.maxMembers {
				return ErrTooManyMembers
			}
			child := int32(len(p.d.nodes))
			if err := p.value(depth); err != nil {
				return err
			}
			if prev != 0 {
				p.d.nodes[prev].next = child
			}
			prev = child
			count++
			p.skipWS()
			if p.pos >= len(p.src) {
				return ErrSyntax
			}
			if p.src[p.pos] == ']' {
				p.pos++
				break
			}
			// RFC 8259 §5: elements are separated by ','; after one, a value
			// must follow (no trailing comma: value rejects ']').
			if p.src[p.pos] != ',' {
				return ErrSyntax
			}
			p.pos++
			p.skipWS()
		}
	}
	n := &p.d.nodes[idx]
	n.kind = Array
	n.count = count
	n.end = int32(p.pos)
	return nil
}

// plain marks the string bytes that need no attention: printable ASCII other
// than '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str parses a string at p.pos (a '"') and returns where its unescaped
// content is: in src if esc is false, else in the Doc's scratch buffer.
func (p *parser) str() (s span, esc bool, err error) {
	src, d := p.src, p.d
	i := p.pos + 1
	start, seg, soff := i, i, 0
	for {
		for i < len(src) && plain[src[i]] {
			i++
		}
		if i >= len(src) {
			return span{}, false, ErrSyntax // unterminated
		}
		switch c := src[i]; {
		case c == '"':
			p.pos = i + 1
			if !esc {
				return span{off: int32(start), n: int32(i - start)}, false, nil
			}
			d.scratch = append(d.scratch, src[seg:i]...)
			return span{off: int32(soff), n: int32(len(d.scratch) - soff)}, true, nil
		case c == '\\':
			if !esc {
				esc = true
				soff = len(d.scratch)
			}
			d.scratch = append(d.scratch, src[seg:i]...)
			if i, err = p.escape(i); err != nil {
				return span{}, false, err
			}
			seg = i
		case c < 0x20:
			// RFC 8259 §7: control characters U+0000..U+001F MUST be escaped.
			return span{}, false, ErrSyntax
		default:
			// RFC 8259 §8.1: JSON text exchanged between systems MUST be
			// UTF-8. DecodeRune also rejects overlong forms and encoded
			// surrogates, so every Str() is valid UTF-8.
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size == 1 {
				return span{}, false, ErrInvalidUTF8
			}
			i += size
		}
	}
}

// escape decodes the escape sequence at src[i] (a '\\') into the scratch
// buffer and returns the index after it.
func (p *parser) escape(i int) (int, error) {
	src, d := p.src, p.d
	if i+1 >= len(src) {
		return 0, ErrSyntax
	}
	var c byte
	// RFC 8259 §7: only these escapes exist; anything else ("\a", "\x41",
	// "\'", "\u12") is an error, not a literal character.
	switch src[i+1] {
	case '"', '\\', '/':
		c = src[i+1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r, ok := hex4(src, i+2)
		if !ok {
			return 0, ErrSyntax
		}
		i += 6
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			// A low surrogate must follow a high one (RFC 8259 §7).
			return 0, ErrSurrogate
		case r >= 0xD800 && r <= 0xDBFF:
			// RFC 8259 §7: a character outside the BMP is a surrogate pair.
			// A high surrogate not followed by a low one has no UTF-8
			// encoding (RFC 8259 §8.2 "unpredictable" behaviour); reject it
			// rather than substitute U+FFFD, so no two parsers disagree.
			if i+1 >= len(src) || src[i] != '\\' || src[i+1] != 'u' {
				return 0, ErrSurrogate
			}
			lo, ok := hex4(src, i+2)
			if !ok {
				return 0, ErrSyntax
			}
			if lo < 0xDC00 || lo > 0xDFFF {
				return 0, ErrSurrogate
			}
			r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
			i += 6
		}
		d.scratch = utf8.AppendRune(d.scratch, r)
		return i, nil
	default:
		return 0, ErrSyntax
	}
	d.scratch = append(d.scratch, c)
	return i + 2, nil
}

// hex4 decodes the four hex digits at src[i:i+4].
func hex4(src []byte, i int) (rune, bool) {
	if len(src)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range src[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// numberTail marks bytes that may not directly follow a number: they would
// make it a different, non-JSON token ("1-2", "0x1F", "01", "1.2.3", "1e5e5",
// "Infinity"-like suffixes). Reporting them as ErrNumber rather than as a
// separator error makes the failure explicit.
var numberTail = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	t['.'], t['+'], t['-'], t['_'] = true, true, true, true
	return t
}()

// number parses a number per RFC 8259 §6:
//
//	number = [ minus ] int [ frac ] [ exp ]
//	int    = zero / ( digit1-9 *DIGIT )
//	frac   = decimal-point 1*DIGIT
//	exp    = e [ minus / plus ] 1*DIGIT
//
// No leading '+', no leading zeros, no '.5' or '5.', no hex, no NaN/Infinity:
// lenient number syntax is a classic parser-differential vector.
func (p *parser) number() error {
	src, i := p.src, p.pos
	if src[i] == '-' {
		i++
	}
	switch {
	case i >= len(src):
		return ErrNumber
	case src[i] == '0':
		i++
	case src[i] >= '1' && src[i] <= '9':
		i = digits(src, i+1)
	default:
		return ErrNumber // '+', '.', "-x"
	}
	if i < len(src) && src[i] == '.' {
		j := digits(src, i+1)
		if j == i+1 {
			return ErrNumber
		}
		i = j
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		j := digits(src, i)
		if j == i {
			return ErrNumber
		}
		i = j
	}
	if i < len(src) && numberTail[src[i]] {
		return ErrNumber
	}
	p.pos = i
	return nil
}

func digits(src []byte, i int) int {
	for i < len(src) && src[i] >= '0' && src[i] <= '9' {
		i++
	}
	return i
}
