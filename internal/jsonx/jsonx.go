// Package jsonx is a strict, allocation-free JSON parser for untrusted input:
// JOSE headers (RFC 7515 §4), JWT claims sets (RFC 7519 §4) and JWKs.
//
// It implements the JSON grammar of RFC 8259 exactly and rejects every input
// that a general-purpose parser would tolerate or interpret ambiguously:
//
//   - exactly one value, surrounded only by JSON whitespace; nothing after it;
//   - numbers in the RFC 8259 §6 grammar only (no '+', leading zeros, '.5',
//     '5.', hex, NaN or Infinity);
//   - strings with valid escapes only, no raw control characters, valid UTF-8
//     (RFC 8259 §8.1) and no unpaired UTF-16 surrogate escapes (RFC 8259 §8.2);
//   - no duplicate member names in any object, compared after unescaping and
//     case-sensitively (RFC 7515 §5.2 step 4, RFC 7519 §4), so a name can have
//     only one meaning whichever parser reads the token next;
//   - nesting depth, total value count and per-container member count are
//     bounded while parsing ([Limits]), and recursion never exceeds the depth
//     limit.
//
// The parser builds a flat tape of nodes over the input and never copies it,
// except for strings containing escapes, which are unescaped into a scratch
// buffer owned by the [Doc]. After warm-up, parsing into a reused Doc, lookups,
// iteration and number conversion allocate nothing, on valid and on invalid
// input: every error is a package-level sentinel to be checked with
// [errors.Is], so an attacker cannot make the failure path allocate.
package jsonx

import (
	"bytes"
	"errors"
)

// Errors returned by [Doc.Parse]. They are sentinels: compare with errors.Is.
var (
	// ErrSyntax reports input that is not JSON text (RFC 8259 §2), including
	// empty input, invalid escapes and raw control characters in strings.
	ErrSyntax = errors.New("jsonx: syntax error")
	// ErrNumber reports a number outside the RFC 8259 §6 grammar.
	ErrNumber = errors.New("jsonx: malformed number")
	// ErrInvalidUTF8 reports a string whose raw bytes are not valid UTF-8.
	ErrInvalidUTF8 = errors.New("jsonx: invalid utf-8 in string")
	// ErrSurrogate reports a \u escape for a UTF-16 surrogate that is not
	// part of a valid high/low pair: it has no UTF-8 encoding.
	ErrSurrogate = errors.New("jsonx: unpaired surrogate escape in string")
	// ErrDuplicateName reports an object with two members of the same
	// unescaped name.
	ErrDuplicateName = errors.New("jsonx: duplicate member name")
	// ErrDepth reports nesting deeper than Limits.MaxDepth.
	ErrDepth = errors.New("jsonx: nesting too deep")
	// ErrTooManyNodes reports more values than Limits.MaxNodes.
	ErrTooManyNodes = errors.New("jsonx: too many values")
	// ErrTooManyMembers reports an object or array with more than
	// Limits.MaxMembers members or elements.
	ErrTooManyMembers = errors.New("jsonx: too many members")
	// ErrTrailingData reports anything but whitespace after the value.
	ErrTrailingData = errors.New("jsonx: data after top-level value")
	// ErrTooLarge reports input too long for the Doc's 32-bit offsets.
	ErrTooLarge = errors.New("jsonx: input too large")
)

// Kind is the type of a JSON value.
type Kind uint8

// Kinds of values. The zero Kind, Invalid, is the kind of a missing value.
const (
	Invalid Kind = iota
	Null
	False
	True
	Number
	String
	Object
	Array
)

var kindNames = [...]string{"invalid", "null", "false", "true", "number", "string", "object", "array"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// Default limits, used for fields of [Limits] that are zero or negative.
const (
	DefaultMaxDepth   = 16
	DefaultMaxNodes   = 512
	DefaultMaxMembers = 128
)

// Limits bounds what a document may contain. A zero or negative field takes
// its default. The limits are checked while parsing, so an oversized document
// fails as soon as it crosses one.
type Limits struct {
	MaxDepth   int // nesting depth of objects/arrays; default 16
	MaxNodes   int // total values in the document, the root included; default 512
	MaxMembers int // members in one object or elements in one array; default 128
}

// maxInput keeps every offset, including the end offset, within int32.
const maxInput = 1<<31 - 1

// span locates bytes in either the source or the Doc's scratch buffer.
type span struct{ off, n int32 }

const (
	flagValScratch  uint8 = 1 << iota // String content is in scratch, not src
	flagNameScratch                   // member name is in scratch, not src
	flagMember                        // node is a member of an object: name is set
)

// node is one value on the tape. Children of a container follow it directly;
// next links siblings (0 means none: the root, at 0, is nobody's sibling).
type node struct {
	start, end int32 // Raw: src[start:end]
	next       int32 // next sibling, 0 if last
	count      int32 // Object/Array: number of children
	val        span  // String: unescaped content
	name       span  // member name, if flagMember
	kind       Kind
	flags      uint8
}

// Doc holds a parsed document.
//
// A Doc is not safe for concurrent use; reuse one per goroutine (callers pool
// them). The zero Doc is ready to use. Values and byte slices obtained from a
// Doc stay valid until its next Parse or Reset. Parse does not copy src:
// Values may reference src, which must not change while the Doc is in use.
type Doc struct {
	nodes   []node
	scratch []byte // unescaped strings and names
	src     []byte
}

// Reset empties d, keeping its buffers for the next Parse. It drops the
// reference to the last source.
func (d *Doc) Reset() {
	d.nodes = d.nodes[:0]
	d.scratch = d.scratch[:0]
	d.src = nil
}

// Root returns the top-level value, or the zero Value if the last Parse
// failed or d is empty.
func (d *Doc) Root() Value {
	if len(d.nodes) == 0 {
		return Value{}
	}
	return Value{d: d, i: 0}
}

func (d *Doc) bytesOf(s span, inScratch bool) []byte {
	b := d.src
	if inScratch {
		b = d.scratch
	}
	end := s.off + s.n
	return b[s.off:end:end] // capped: appending to the result cannot clobber
}

// Value is a reference to one value in a Doc. The zero Value is Invalid and
// every method on it returns the zero result. A Value is only valid until the
// next Parse or Reset of its Doc.
type Value struct {
	d *Doc
	i int32
}

func (v Value) node() *node {
	if v.d == nil || v.i < 0 || int(v.i) >= len(v.d.nodes) {
		return nil
	}
	return &v.d.nodes[v.i]
}

// Kind returns the kind of v, Invalid for the zero Value.
func (v Value) Kind() Kind {
	if n := v.node(); n != nil {
		return n.kind
	}
	return Invalid
}

// Exists reports whether v refers to a value, that is Kind() != Invalid.
func (v Value) Exists() bool { return v.Kind() != Invalid }

// Raw returns the exact JSON text of v in the source, or nil.
func (v Value) Raw() []byte {
	n := v.node()
	if n == nil {
		return nil
	}
	return v.d.src[n.start:n.end:n.end]
}

// Str returns the unescaped content of a String, or nil if v is not a
// String. The result is valid UTF-8. It aliases the source or the Doc's
// scratch buffer: do not modify it, and copy it to keep it past the next
// Parse or Reset.
func (v Value) Str() []byte {
	n := v.node()
	if n == nil || n.kind != String {
		return nil
	}
	return v.d.bytesOf(n.val, n.flags&flagValScratch != 0)
}

// Bool returns the value of a True or False, and false for any other kind.
func (v Value) Bool() (val, ok bool) {
	switch v.Kind() {
	case True:
		return true, true
	case False:
		return false, true
	}
	return false, false
}

// Name returns the unescaped member name of v if v is a member of an
// object (as returned by Get, Member or iteration), else nil.
func (v Value) Name() []byte {
	n := v.node()
	if n == nil || n.flags&flagMember == 0 {
		return nil
	}
	return v.d.bytesOf(n.name, n.flags&flagNameScratch != 0)
}

// Len returns the number of elements of an Array or members of an Object,
// and 0 for any other kind.
func (v Value) Len() int {
	n := v.node()
	if n == nil || (n.kind != Object && n.kind != Array) {
		return 0
	}
	return int(n.count)
}

// First returns the first element of an Array or member of an Object, or the
// zero Value if v is empty or not a container. With Next it iterates without
// allocating:
//
//	for m := obj.First(); m.Exists(); m = m.Next() {
//		name, val := m.Name(), m
//	}
func (v Value) First() Value {
	n := v.node()
	if n == nil || n.count == 0 || (n.kind != Object && n.kind != Array) {
		return Value{}
	}
	return Value{d: v.d, i: v.i + 1}
}

// Next returns the sibling after v in its Array or Object, or the zero Value
// if v is the last one (or the root).
func (v Value) Next() Value {
	n := v.node()
	if n == nil || n.next == 0 {
		return Value{}
	}
	return Value{d: v.d, i: n.next}
}

// Index returns element i of an Array, or the zero Value if v is not an
// Array or i is out of range. It costs O(i).
func (v Value) Index(i int) Value {
	if v.Kind() != Array || i < 0 || i >= v.Len() {
		return Value{}
	}
	c := v.First()
	for ; i > 0; i-- {
		c = c.Next()
	}
	return c
}

// Member returns the unescaped name and the value of member i of an Object,
// or nil and the zero Value if v is not an Object or i is out of range. It
// costs O(i).
func (v Value) Member(i int) (name []byte, val Value) {
	if v.Kind() != Object || i < 0 || i >= v.Len() {
		return nil, Value{}
	}
	c := v.First()
	for ; i > 0; i-- {
		c = c.Next()
	}
	return c.Name(), c
}

// Get returns the member of an Object whose unescaped name is exactly name
// (byte-wise, case-sensitive: RFC 7519 §4 names are case-sensitive), or the
// zero Value if there is none or v is not an Object. Parse rejected duplicate
// names, so at most one member matches.
func (v Value) Get(name string) Value {
	if v.Kind() != Object {
		return Value{}
	}
	for c := v.First(); c.Exists(); c = c.Next() {
		n := &v.d.nodes[c.i]
		if int(n.name.n) == len(name) && string(v.d.bytesOf(n.name, n.flags&flagNameScratch != 0)) == name {
			return c
		}
	}
	return Value{}
}

// GetBytes is Get with a []byte name.
func (v Value) GetBytes(name []byte) Value {
	if v.Kind() != Object {
		return Value{}
	}
	for c := v.First(); c.Exists(); c = c.Next() {
		n := &v.d.nodes[c.i]
		if int(n.name.n) == len(name) && bytes.Equal(v.d.bytesOf(n.name, n.flags&flagNameScratch != 0), name) {
			return c
		}
	}
	return Value{}
}
